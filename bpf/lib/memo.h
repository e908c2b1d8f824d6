/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-CPU memos of the agent's own tables: what a lookup in aigw_ifaces
 * (hash) or in the SID maps (hash, then LPM trie) answered, found or not,
 * kept in a direct-mapped per-CPU array. On the bench VM a hash lookup costs
 * 25-35 ns and an LPM lookup ~50, a per-CPU array lookup ~1
 * (tests/bench, aigw-bench-ops). Only the agent writes those tables, and it
 * bumps aigw_globals.gen once an apply has written everything (the
 * "generation" module, last of the datapath's): an entry is valid while gen
 * is the one read BEFORE the lookup that filled it. Datapath-private, not
 * pinned (each object has its own; a new load starts empty). XDP runs to
 * completion on its CPU, so a slot is written in place.
 */
#ifndef AIGW_BPF_MEMO_H
#define AIGW_BPF_MEMO_H

#include "lib/addr.h"
#include "lib/barrier.h"
#include "lib/maps.h"

/* ------------------------------------------------------------- interfaces */

/* Slots per half; a power of two. A router has few ports. */
#define AIGW_IF_MEMO_WAYS 32

/* Halves of the interface memo: a packet's ingress port and the port it
 * leaves by never share a slot, so the pointer to the ingress port's entry
 * stays what it was while the egress port is looked up. */
enum aigw_if_memo_half {
	AIGW_IF_MEMO_RX = 0,
	AIGW_IF_MEMO_TX = 1,
};

struct aigw_if_memo {
	struct aigw_iface_key key;
	__u32 gen;
	__u32 found;
	struct aigw_iface_cfg cfg;
};
_Static_assert(sizeof(struct aigw_if_memo) == 48, "if_memo size");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * AIGW_IF_MEMO_WAYS);
	__type(key, __u32);
	__type(value, struct aigw_if_memo);
} aigw_if_memo SEC(".maps");

/* ------------------------------------------------------------------- SIDs */

/* Slots; a power of two. SIDs with arguments give one entry per argument
 * value seen, so the memo is larger than a SID table usually is. */
#define AIGW_SID_MEMO_SLOTS 1024

struct aigw_sid_memo {
	__u8 da[16];
	__u32 gen;
	__u32 found;
	struct aigw_sid_entry sid;
};
_Static_assert(sizeof(struct aigw_sid_memo) == 64, "sid_memo size");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIGW_SID_MEMO_SLOTS);
	__type(key, __u32);
	__type(value, struct aigw_sid_memo);
} aigw_sid_memo SEC(".maps");

/* ------------------------------------------------------------------------ */

/* The current generation in *gen; false when the globals are missing (then
 * nothing is memoised). */
static __always_inline bool aigw_memo_gen(__u32 *gen)
{
	__u32 zero = 0;
	const struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);
	__u32 v;

	if (!g)
		return false;
	v = g->gen;
	AIGW_BARRIER_VAR(v); /* read before the lookup that follows */
	*gen = v;
	return true;
}

/* The port's entry for ifindex and VID vlan (0: untagged), NULL if none;
 * half: enum aigw_if_memo_half. The entry lives in this CPU's memo slot:
 * valid for the rest of this program run. */
static __always_inline const struct aigw_iface_cfg *aigw_iface_get(__u32 ifindex, __u16 vlan,
								   __u32 half)
{
	struct aigw_iface_key key = { .ifindex = ifindex, .vlan = vlan };
	const struct aigw_iface_cfg *cfg;
	struct aigw_if_memo *m;
	__u32 gen, idx;

	idx = ((ifindex ^ ((__u32)vlan << 5)) & (AIGW_IF_MEMO_WAYS - 1)) +
	      (half ? AIGW_IF_MEMO_WAYS : 0);
	m = aigw_memo_gen(&gen) ? bpf_map_lookup_elem(&aigw_if_memo, &idx) : NULL;
	if (!m)
		return bpf_map_lookup_elem(&aigw_ifaces, &key);
	if (m->gen == gen && m->key.ifindex == ifindex && m->key.vlan == vlan)
		return m->found ? &m->cfg : NULL;
	cfg = bpf_map_lookup_elem(&aigw_ifaces, &key);
	m->key = key;
	m->gen = gen;
	m->found = cfg != NULL;
	if (!cfg)
		return NULL;
	m->cfg = *cfg;
	return &m->cfg;
}

/* The SID memo's slot for destination da. */
static __always_inline __u32 aigw_sid_memo_index(const struct in6_addr *da)
{
	const __u32 *w = (const __u32 *)da;
	__u32 h = 0;

#pragma unroll
	for (int i = 0; i < 4; i++)
		h = (h ^ w[i]) * 0x9e3779b1U;
	return (h ^ (h >> 16)) & (AIGW_SID_MEMO_SLOTS - 1);
}

/* The local SID destination da hits: a whole-address SID (aigw_sid_exact),
 * else the longest locator+function block holding it (aigw_sids), else
 * NULL. The entry lives in this CPU's memo slot; the caller copies it. */
static __always_inline const struct aigw_sid_entry *aigw_sid_get(const struct in6_addr *da)
{
	struct aigw_sid_key sk = { .prefixlen = 128 };
	const struct aigw_sid_entry *e;
	struct aigw_sid_memo *m;
	__u32 gen, idx = aigw_sid_memo_index(da);

	m = aigw_memo_gen(&gen) ? bpf_map_lookup_elem(&aigw_sid_memo, &idx) : NULL;
	if (m && m->gen == gen && aigw_addr6_eq(da, m->da))
		return m->found ? &m->sid : NULL;
	e = bpf_map_lookup_elem(&aigw_sid_exact, da);
	if (!e) {
		__builtin_memcpy(sk.addr, da, sizeof(sk.addr));
		e = bpf_map_lookup_elem(&aigw_sids, &sk);
	}
	if (!m)
		return e;
	__builtin_memcpy(m->da, da, sizeof(m->da));
	m->gen = gen;
	m->found = e != NULL;
	if (!e)
		return NULL;
	m->sid = *e;
	return &m->sid;
}

#endif
