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

/* lookup3 over the flow key: addresses (IPv4 zero-filled), ports, protocol,
 * VRF and RoCEv2 destination QP (so a host pair's queue pairs spread). */
static __always_inline __u32 aigw_path_hash(const struct aigw_flow_key *key)
{
	const __u32 *s = (const __u32 *)key->src;
	const __u32 *t = (const __u32 *)key->dst;
	__u32 a = AIGW_PATH_HASH_SEED + key->proto + s[0];
	__u32 b = AIGW_PATH_HASH_SEED + s[1];
	__u32 c = AIGW_PATH_HASH_SEED + s[2];

	AIGW_HASH_MIX(a, b, c);
	a += s[3];
	b += t[0];
	c += t[1];
	AIGW_HASH_MIX(a, b, c);
	a += t[2];
	b += t[3];
	c += (__u32)key->sport << 16 | key->dport;
	AIGW_HASH_MIX(a, b, c);
	a += key->vrf;
	b += (__u32)key->dqp[0] << 16 | (__u32)key->dqp[1] << 8 | key->dqp[2];
	AIGW_HASH_FINAL(a, b, c);
	return c;
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
