/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Multipath policies (abi.h "multipath policies"): the path of a flow is
 * a bucket of its policy's table, chosen by a hash of the flow key, so every
 * packet of a flow takes the same path while the table stays; the agent
 * fills the table by weighted Maglev hashing.
 */
#ifndef AIGW_BPF_PATHS_H
#define AIGW_BPF_PATHS_H

#include "lib/decision.h"
#include "lib/hash.h"
#include "lib/maps.h"

/* Not the flow label's seed: the WAN's ECMP hashes the label, and a path's
 * flows should not share label bits. */
#define AIGW_PATH_HASH_SEED 0x70617468 /* "path" */

/* lookup3 over the flow key: addresses (IPv4 zero-filled), ports and
 * protocol; the VRF and the RoCEv2 destination QP (so a host pair's queue
 * pairs spread) enter through the seed. */
static __always_inline __u32 aigw_path_hash(const struct aigw_flow_key *key)
{
	__u32 qp = (__u32)key->dqp[0] << 16 | (__u32)key->dqp[1] << 8 | key->dqp[2];
	__u32 seed = AIGW_PATH_HASH_SEED ^ key->vrf ^ (qp * 0x9e3779b1u);

	return aigw_flow_hash6_seeded((const __u32 *)key->src, (const __u32 *)key->dst,
				      (__u32)key->sport << 16 | key->dport, key->proto, seed);
}

/* The bucket table's path for this flow (slot is the group's first). A
 * malformed group (never written so by the agent) leaves the first path. */
static __always_inline __u32 aigw_path_hashed(const struct aigw_flow_key *key, __u32 slot,
					      const struct aigw_path_group *g)
{
	__u32 b = (__u32)(((__u64)aigw_path_hash(key) * AIGW_PATH_BUCKETS) >> 32);

	if (b >= AIGW_PATH_BUCKETS)
		return slot;
	b = g->bucket[b];
	if (b >= g->npaths || b >= AIGW_MAX_PATHS)
		return slot;
	return g->slot[b] ? g->slot[b] : slot;
}

static __always_inline bool aigw_path_in(const struct aigw_path_group *g, __u32 slot)
{
#pragma unroll
	for (__u32 i = 0; i < AIGW_MAX_PATHS; i++)
		if (i < g->npaths && g->slot[i] == slot)
			return true;
	return false;
}

/* A pinned flow's path: cur, which becomes the target (a released pin's:
 * the hash path) once the flow has been idle longer than the gap. The
 * precise clock: the coarse one moves by ticks, longer than the gaps that
 * matter. `now_slot` is the path the flow has without the pin (recorded or
 * hashed), `hashed` its hash path (0 = not known: not released). */
static __always_inline __u32 aigw_pin_follow(struct aigw_path_pin *p, __u32 now_slot,
					     __u32 hashed)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 target = p->target ? p->target : hashed;
	__u32 cur = p->cur;

	if (!cur) {
		cur = now_slot;
	} else if (target && cur != target && now - p->last_ns > p->gap_ns) {
		cur = target;
		p->moves++;
	}
	p->cur = cur;
	p->home = !p->target && hashed && cur == hashed;
	p->last_ns = now;
	return cur;
}

/* The hash path of a flow of the policy whose first slot is head. */
static __always_inline __u32 aigw_path_hashed_at(const struct aigw_flow_key *key, __u32 head)
{
	const struct aigw_path_group *g = bpf_map_lookup_elem(&aigw_path_groups, &head);

	return g ? aigw_path_hashed(key, head, g) : 0;
}

/*
 * The slot of the path that carries this flow, into d->slot (in: the
 * policy's slot), and d->pinned. A fresh decision on a multipath policy
 * hashes into the bucket table, unless the agent pinned the flow (looked up
 * only while pins exist). A cached one keeps the path it recorded
 * (d->act.policy_slot, the flow entry's; the generation changes whenever
 * the groups change or pins are added), a pinned one follows its pin.
 */
static __always_inline void aigw_path_pick(const struct aigw_flow_key *key, struct aigw_decision *d,
					   const struct aigw_hh_cfg *cfg, bool fresh)
{
	const struct aigw_path_group *g;
	const struct aigw_policy *pol;
	struct aigw_path_pin *pin;
	__u32 slot = d->slot, hashed;

	if (!fresh) {
		if (d->act.policy_slot)
			d->slot = d->act.policy_slot;
		if (!d->pinned)
			return;
		pin = bpf_map_lookup_elem(&aigw_path_pins, key);
		if (pin)
			d->slot = aigw_pin_follow(pin, d->slot,
						  pin->target ? 0 : aigw_path_hashed_at(key, pin->head));
		return;
	}
	d->pinned = 0;
	pol = bpf_map_lookup_elem(&aigw_policies, &slot);
	if (!pol || !(pol->flags & AIGW_POL_F_MULTIPATH))
		return;
	g = bpf_map_lookup_elem(&aigw_path_groups, &slot);
	if (!g)
		return;
	hashed = aigw_path_hashed(key, slot, g);
	d->slot = hashed;
	if (!cfg || !cfg->npins)
		return;
	pin = bpf_map_lookup_elem(&aigw_path_pins, key);
	if (!pin || pin->head != slot || (pin->target && !aigw_path_in(g, pin->target)))
		return;
	if (pin->cur && !aigw_path_in(g, pin->cur)) /* its path is gone: from the hash path */
		pin->cur = 0;
	d->pinned = 1;
	d->slot = aigw_pin_follow(pin, hashed, hashed);
}

#endif
