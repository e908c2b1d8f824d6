/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-packet decision: the flow cache (a flow's decision is reused while its
 * generation matches aigw_globals.gen, so cached packets skip the bit-vector
 * lookup), else a classification; either way the packet is counted
 * (lib/account.h).
 */
#ifndef AIGW_BPF_DECIDE_H
#define AIGW_BPF_DECIDE_H

#include "lib/account.h"
#include "lib/apn.h"

/* The endpoint's per-packet classification state, kept off its stack (the
 * stack is short: the endpoint's own frame plus the classifier's would not
 * fit). Defined in every object that decides, so the objects keep the
 * same map set. Datapath-private, not pinned; per CPU (XDP runs to completion). */
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
	d->pinned = f->pinned;
	__builtin_memcpy(d->act.apn, f->apn, AIGW_APN_MAX_ID_LEN);
	aigw_decision_finish(k, m, d, false);
	if (d->pinned && f->policy_slot != d->slot) /* moved to its placed path */
		f->policy_slot = d->slot;
	aigw_flow_count(f, k, d->now);
	return 1;
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
