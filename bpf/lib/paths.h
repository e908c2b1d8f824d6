/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Multipath policies (abi.h "multipath policies"): the path of a flow is
 * a bucket of its policy's table, chosen by a hash of the flow key, so every
 * packet of a flow takes the same path while the table stays; the agent
 * fills the table by weighted Maglev hashing.
 */
#ifndef AIGW_BPF_PATHS_H
#define AIGW_BPF_PATHS_H

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

/* The slot of the path that carries this flow: slot itself unless it is a
 * multipath policy's. A group that is missing or malformed (never written
 * so by the agent) leaves the first path. */
static __always_inline __u32 aigw_path_pick(const struct aigw_flow_key *key, __u32 slot)
{
	const struct aigw_policy *pol = bpf_map_lookup_elem(&aigw_policies, &slot);
	const struct aigw_path_group *g;
	__u32 b;

	if (!pol || !(pol->flags & AIGW_POL_F_MULTIPATH))
		return slot;
	g = bpf_map_lookup_elem(&aigw_path_groups, &slot);
	if (!g)
		return slot;
	b = (__u32)(((__u64)aigw_path_hash(key) * AIGW_PATH_BUCKETS) >> 32);
	if (b >= AIGW_PATH_BUCKETS)
		return slot;
	b = g->bucket[b];
	if (b >= g->npaths || b >= AIGW_MAX_PATHS)
		return slot;
	return g->slot[b] ? g->slot[b] : slot;
}

#endif
