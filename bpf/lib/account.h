/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Accounting of decided packets: aigw_usage (every packet), aigw_apn_usage
 * (packets with an APN ID), the aigw_flows entry (when the bank says flows
 * are on: counters, TCP flags, and the decision it caches for lib/decide.h).
 */
#ifndef AIGW_BPF_ACCOUNT_H
#define AIGW_BPF_ACCOUNT_H

#include "lib/decision.h"
#include "lib/hh.h"
#include "lib/paths.h"

#define AIGW_EEXIST 17 /* errno: BPF_NOEXIST found the key (another CPU won) */

/* tcp_flags shares an aligned 32-bit word with tenant and cls: the atomic OR
 * goes through that word. */
#define AIGW_FLOW_FLAGS_WORD __builtin_offsetof(struct aigw_flow, tenant)
_Static_assert(__builtin_offsetof(struct aigw_flow, tcp_flags) == AIGW_FLOW_FLAGS_WORD + 3 &&
		       AIGW_FLOW_FLAGS_WORD % 4 == 0,
	       "flow tcp_flags word");

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
	f->pinned = d->pinned;
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

/* After the decision: the APN the packet carries, the steering slot (the
 * flow's path when the policy has several), the heavy-hitter sketch, and
 * the usage and APN app-group counters. */
static __always_inline void aigw_decision_finish(const struct aigw_cls_pkt *k,
						 const struct aigw_cls_meta *m,
						 struct aigw_decision *d, bool fresh)
{
	__u32 zero = 0;
	const struct aigw_hh_cfg *hc = bpf_map_lookup_elem(&aigw_hh_cfg, &zero);

	aigw_decision_apn(k, d, fresh);
	if (d->apn_mode == AIGW_APN_MODE_SEEN) /* endpoint: nothing is applied but the count */
		d->act.flags &= AIGW_ACT_F_APN;
	if (fresh)
		d->pinned = 0;
	if (d->act.flags & AIGW_ACT_F_POLICY)
		d->slot = d->act.policy_slot;
	if (d->slot != AIGW_POLICY_SLOT_NONE) /* the flow entry records the path's slot */
		aigw_path_pick(&k->key, d, hc, fresh);
	if (hc && hc->mult)
		aigw_hh_add(&k->key, k->l3_len, d->slot, hc, d->now);
	aigw_usage_add(k, &d->act);
	if (d->act.apn_len)
		aigw_apn_usage_add(k, d, m->app_group_bits);
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
	now = d->now;
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

#endif
