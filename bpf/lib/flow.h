/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-packet decision and accounting: the flow cache (a flow's decision is
 * reused while its generation matches aigw_globals.gen, so cached packets
 * skip the bit-vector lookup), the APN ID the packet carries, and the
 * counters: aigw_usage (every packet), aigw_apn_usage (packets with an APN
 * ID), aigw_flows (when the bank says flows are on).
 */
#ifndef AIGW_BPF_FLOW_H
#define AIGW_BPF_FLOW_H

#include "lib/classify.h"
#include "lib/parse.h"
#include "lib/srh.h"
#include "lib/apn.h"

#define AIGW_EEXIST 17 /* errno: BPF_NOEXIST found the key (another CPU won) */

/* Which APN ID a packet carries out of the gateway (headend, by the
 * customer port's APN trust flags) or was seen with (endpoint). */
enum aigw_apn_mode {
	AIGW_APN_MODE_REWRITE = 0, /* the decision's APN (set_apn), whatever the host sent */
	AIGW_APN_MODE_TRUST = 1,   /* the host's ID if it sent one, else the decision's */
	AIGW_APN_MODE_STRIP = 2,   /* none: the host's option was stripped, nothing imposed */
	AIGW_APN_MODE_SEEN = 3,    /* endpoint: the ID the packet arrived with */
};

/* What the program does with a packet, and what it carries. */
struct aigw_decision {
	struct aigw_cls_action act; /* the decision; AIGW_ACT_F_APN with apn/apn_len = the APN
				     * carried (out) or seen (in), cleared when there is none */
	__u32 slot;                 /* in: the prefix lookup's policy slot (0 = none);
				     * out: the slot that steers (policy override applied) */
	__u8 apn_mode;              /* in: enum aigw_apn_mode */
	__u8 pad[3];
	__u32 gen;                  /* in: aigw_globals.gen, read BEFORE the bank (the agent
				     * flips the bank, then bumps gen: a decision stored under
				     * a gen was made with that gen's bank or a later one) */
};

#define NEXTHDR_SCTP 132

/* Ports valid for classification: TCP/UDP/SCTP, not a later fragment. */
static __always_inline bool aigw_has_ports(const struct aigw_pkt *p)
{
	return p->l4_off && (p->l4_proto == NEXTHDR_TCP || p->l4_proto == NEXTHDR_UDP ||
			     p->l4_proto == NEXTHDR_SCTP);
}

/* The transport part of the classification packet. SCTP ports sit where
 * TCP/UDP ones do; the parser reads only TCP/UDP. */
static __always_inline void aigw_cls_l4(struct xdp_md *ctx, const struct aigw_pkt *p,
					struct aigw_cls_pkt *k)
{
	k->key.proto = p->l4_proto;
	k->l3_len = p->l3_len;
	k->tcp_flags = p->tcp_flags;
	if (!aigw_has_ports(p))
		return;
	k->has_ports = 1;
	k->key.sport = p->sport;
	k->key.dport = p->dport;
	if (p->l4_proto == NEXTHDR_SCTP) {
		__be16 *ports = aigw_pkt_ptr(ctx, p->l4_off, 2 * sizeof(__be16));

		if (ports) {
			k->key.sport = ports[0];
			k->key.dport = ports[1];
		} else {
			k->has_ports = 0;
		}
	}
}

/* The endpoint's per-packet classification state, kept off its stack (the
 * stack is short: the endpoint's own frame plus the classifier's would not
 * fit). Datapath-private, not pinned; per CPU (XDP runs to completion). */
struct aigw_acct_state {
	struct aigw_cls_pkt k;
	struct aigw_decision d;
	struct aigw_pkt p;
	struct aigw_apn apn; /* the outer packet's APN option */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_acct_state);
} aigw_acct_state SEC(".maps");

/* tcp_flags shares an aligned 32-bit word with tenant and cls: the atomic OR
 * goes through that word. */
#define AIGW_FLOW_FLAGS_WORD __builtin_offsetof(struct aigw_flow, tenant)
_Static_assert(__builtin_offsetof(struct aigw_flow, tcp_flags) == AIGW_FLOW_FLAGS_WORD + 3 &&
		       AIGW_FLOW_FLAGS_WORD % 4 == 0,
	       "flow tcp_flags word");

static __always_inline bool aigw_apn_len_ok(__u32 len)
{
	return len == 4 || len == 8 || len == 16;
}

static __always_inline void aigw_decision_set_apn(struct aigw_cls_action *act, const __u8 *id,
						  __u32 len)
{
	act->flags |= AIGW_ACT_F_APN;
	act->apn_len = len;
	__builtin_memcpy(act->apn, id, AIGW_APN_MAX_ID_LEN);
}

static __always_inline void aigw_decision_no_apn(struct aigw_cls_action *act)
{
	act->flags &= ~AIGW_ACT_F_APN;
	act->apn_len = 0;
	__builtin_memset(act->apn, 0, AIGW_APN_MAX_ID_LEN);
}

/* The APN ID a packet carries, from the decision and what the packet came
 * with. fresh: the decision was just classified (else it came from the flow
 * cache, which holds the APN carried by the flow's earlier packets). */
static __always_inline void aigw_decision_apn(const struct aigw_cls_pkt *k, struct aigw_decision *d,
					      bool fresh)
{
	struct aigw_cls_action *act = &d->act;

	switch (d->apn_mode) {
	case AIGW_APN_MODE_STRIP:
		aigw_decision_no_apn(act);
		return;
	case AIGW_APN_MODE_SEEN:
		aigw_decision_no_apn(act);
		if (k->apn_len)
			aigw_decision_set_apn(act, k->apn, k->apn_len);
		return;
	case AIGW_APN_MODE_TRUST:
		if (k->apn_len) {
			aigw_decision_set_apn(act, k->apn, k->apn_len);
			return;
		}
		break;
	}
	if (fresh && (!(act->flags & AIGW_ACT_F_APN) || !aigw_apn_len_ok(act->apn_len)))
		aigw_decision_no_apn(act);
}

/* The app-group of an APN ID: its leading app_group_bits, right-aligned. */
static __always_inline __u64 aigw_app_group(const __u8 *id, __u32 len, __u32 bits)
{
	__u64 v = 0;

	if (bits > len * 8)
		bits = len * 8;
	if (bits > 64)
		bits = 64;
	if (!bits)
		return 0;
#pragma unroll
	for (int i = 0; i < 8; i++)
		v = (v << 8) | id[i]; /* IDs are zero-filled past len */
	return v >> (64 - bits);
}

static __always_inline void aigw_apn_usage_add(const struct aigw_cls_pkt *k,
					       const struct aigw_decision *d, __u32 bits)
{
	struct aigw_apn_usage_key uk = {
		.app_group = aigw_app_group(d->act.apn, d->act.apn_len, bits),
		.dir = k->key.dir,
	};
	struct aigw_ctr one = { .packets = 1, .bytes = k->l3_len };
	struct aigw_ctr *c = bpf_map_lookup_elem(&aigw_apn_usage, &uk);
	long r;

	if (!c) {
		r = bpf_map_update_elem(&aigw_apn_usage, &uk, &one, BPF_NOEXIST);
		if (!r)
			return;
		if (r != -AIGW_EEXIST) {
			aigw_event(AIGW_EV_APN_TABLE_FULL, k->l3_len);
			return;
		}
		c = bpf_map_lookup_elem(&aigw_apn_usage, &uk);
		if (!c)
			return;
	}
	aigw_ctr_add(c, k->l3_len);
}

static __always_inline void aigw_usage_add(const struct aigw_cls_pkt *k,
					   const struct aigw_cls_action *act)
{
	__u32 tenant = act->tenant < AIGW_MAX_TENANTS ? act->tenant : AIGW_TENANT_NONE;
	__u32 cls = act->cls < AIGW_MAX_CLASSES ? act->cls : AIGW_CLASS_BEST_EFFORT;
	__u32 dir = k->key.dir < AIGW_DIR_MAX ? k->key.dir : AIGW_DIR_OUT;
	__u32 idx = AIGW_USAGE_INDEX(dir, tenant, cls);
	struct aigw_ctr *c = bpf_map_lookup_elem(&aigw_usage, &idx);

	if (c)
		aigw_ctr_add(c, k->l3_len);
}

/* The decision part of a flow entry. */
static __always_inline void aigw_flow_set_decision(struct aigw_flow *f, const struct aigw_cls_pkt *k,
						   const struct aigw_decision *d, __u32 gen)
{
	f->rule_id = d->act.rule_id;
	f->policy_slot = d->slot;
	f->gen = gen;
	f->tenant = d->act.tenant;
	f->cls = d->act.cls;
	f->apn_len = d->act.apn_len;
	f->dscp = (d->act.flags & AIGW_ACT_F_REMARK) ? d->act.dscp : k->dscp;
	f->flags = d->act.flags;
	__builtin_memcpy(f->apn, d->act.apn, AIGW_APN_MAX_ID_LEN);
}

static __always_inline void aigw_flow_count(struct aigw_flow *f, const struct aigw_cls_pkt *k,
					    __u64 now)
{
	__sync_fetch_and_add(&f->packets, 1);
	__sync_fetch_and_add(&f->bytes, k->l3_len);
	f->last_ns = now;
	if ((f->tcp_flags & k->tcp_flags) != k->tcp_flags) {
		__u32 bits = 0;

		((__u8 *)&bits)[3] = k->tcp_flags;
		__sync_fetch_and_or((__u32 *)((__u8 *)f + AIGW_FLOW_FLAGS_WORD), bits);
	}
}

/* A new flow entry (built in the per-CPU scratch: the stack is short); the
 * table being full is counted, never a drop. */
static __always_inline void aigw_flow_create(const struct aigw_cls_pkt *k,
					     const struct aigw_decision *d, __u32 gen, __u64 now)
{
	struct aigw_cls_scratch *sc;
	struct aigw_flow *nf, *f;
	__u32 zero = 0;
	long r;

	sc = bpf_map_lookup_elem(&aigw_cls_scratch, &zero);
	if (!sc)
		return;
	nf = &sc->flow;
	nf->packets = 1;
	nf->bytes = k->l3_len;
	nf->first_ns = now;
	nf->last_ns = now;
	aigw_flow_set_decision(nf, k, d, gen);
	nf->tcp_flags = k->tcp_flags;
	nf->pad = 0;
	nf->pad2 = 0;
	r = bpf_map_update_elem(&aigw_flows, &k->key, nf, BPF_NOEXIST);
	if (!r)
		return;
	if (r != -AIGW_EEXIST) {
		aigw_event(AIGW_EV_FLOW_TABLE_FULL, k->l3_len);
		return;
	}
	f = bpf_map_lookup_elem(&aigw_flows, &k->key);
	if (f)
		aigw_flow_count(f, k, now);
}

/* After the decision: the APN the packet carries, the steering slot, and
 * the usage and APN app-group counters. */
static __always_inline void aigw_decision_finish(const struct aigw_cls_pkt *k,
						 const struct aigw_cls_meta *m,
						 struct aigw_decision *d, bool fresh)
{
	aigw_decision_apn(k, d, fresh);
	if (d->apn_mode == AIGW_APN_MODE_SEEN) /* endpoint: nothing is applied but the count */
		d->act.flags &= AIGW_ACT_F_APN;
	if (d->act.flags & AIGW_ACT_F_POLICY)
		d->slot = d->act.policy_slot;
	aigw_usage_add(k, &d->act);
	if (d->act.apn_len)
		aigw_apn_usage_add(k, d, m->app_group_bits);
}

static __always_inline __u32 aigw_cls_gen(void)
{
	__u32 zero = 0;
	const struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);

	return g ? g->gen : 0;
}

/*
 * The flow cache: when flows are on and k's flow holds a decision of the
 * current generation, take it, finish and count the packet (flow entry
 * included) and return 1: the bit-vector lookup is skipped. Else 0: the
 * caller classifies, then calls aigw_account. A global function.
 */
__noinline int aigw_flow_cached(const struct aigw_cls_pkt *k, __u32 bank, struct aigw_decision *d)
{
	const struct aigw_cls_meta *m;
	struct aigw_flow *f;

	if (!k || !d)
		return 0;
	bank &= 1;
	m = bpf_map_lookup_elem(&aigw_cls_meta, &bank);
	if (!m || !m->flows_on)
		return 0;
	f = bpf_map_lookup_elem(&aigw_flows, &k->key);
	if (!f || f->gen != d->gen)
		return 0;
	d->act.rule_id = f->rule_id;
	d->act.policy_slot = f->policy_slot;
	d->act.tenant = f->tenant;
	d->act.cls = f->cls;
	d->act.flags = f->flags;
	d->act.dscp = f->dscp;
	d->act.apn_len = f->apn_len;
	__builtin_memcpy(d->act.apn, f->apn, AIGW_APN_MAX_ID_LEN);
	aigw_decision_finish(k, m, d, false);
	aigw_flow_count(f, k, bpf_ktime_get_coarse_ns());
	return 1;
}

/*
 * After a classification (d->act fresh from aigw_classify): finish the
 * decision and count the packet; the flow entry, when flows are on, is
 * created or takes the new decision. A global function.
 */
__noinline int aigw_account(const struct aigw_cls_pkt *k, __u32 bank, struct aigw_decision *d)
{
	const struct aigw_cls_meta *m;
	struct aigw_flow *f;
	__u64 now;
	__u32 gen;

	if (!k || !d)
		return -1;
	bank &= 1;
	m = bpf_map_lookup_elem(&aigw_cls_meta, &bank);
	if (!m) {
		aigw_decision_apn(k, d, true);
		aigw_usage_add(k, &d->act);
		return 0;
	}
	aigw_decision_finish(k, m, d, true);
	if (!m->flows_on)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	gen = d->gen;
	f = bpf_map_lookup_elem(&aigw_flows, &k->key);
	if (!f) {
		aigw_flow_create(k, d, gen, now);
		return 0;
	}
	aigw_flow_set_decision(f, k, d, gen);
	aigw_flow_count(f, k, now);
	return 0;
}

/*
 * Decide what happens to packet k and count it: the flow's cached decision
 * when it is current, else a classification against bank (calls side by
 * side, not nested: the stack is short).
 */
static __always_inline void aigw_decide(const struct aigw_cls_pkt *k, __u32 bank,
					struct aigw_decision *d)
{
	if (aigw_flow_cached(k, bank, d))
		return;
	aigw_classify(k, bank, k->apn_len ? aigw_cls_apn_or(k, bank) : AIGW_CLS_APN_WILD, &d->act);
	aigw_account(k, bank, d);
}

#endif
