/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Heavy hitters (abi.h "elephants"): a per-CPU HashPipe over L3 bytes per
 * flow key and window. Independent of aigw_flows: it counts every decided
 * packet whether or not its flow has an entry, so a full flow table (10^6
 * mice) hides no elephant. Cost per packet: one multiply-hash of the key and
 * one per-CPU slot for a flow that stays in stage 0; up to AIGW_HH_STAGES
 * slots and a 64-byte swap per stage when a new key evicts the resident.
 */
#ifndef AIGW_BPF_HH_H
#define AIGW_BPF_HH_H

#include "lib/maps.h"

/* 64-bit hash of the 48-byte key: three independent multiplies (the key's
 * words paired), then a mix; the rows of the stages are disjoint 16-bit
 * fields of it. Not keyed: an attacker who aims flows at one row can only
 * evict (never inflate) counts, and stage 0 keeps the largest on. */
static __always_inline __u64 aigw_hh_hash(const struct aigw_flow_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 a = (w[0] ^ w[3]) * 0x9e3779b97f4a7c15ULL;
	__u64 b = (w[1] ^ w[4]) * 0xc2b2ae3d27d4eb4fULL;
	__u64 c = (w[2] ^ w[5]) * 0x165667b19e3779f9ULL;
	__u64 h = a ^ ((b << 21) | (b >> 43)) ^ ((c << 42) | (c >> 22));

	h ^= h >> 31;
	h *= 0xd6e8feb86659fd93ULL;
	return h ^ (h >> 32);
}

static __always_inline __u32 aigw_hh_row(__u64 h, __u32 stage)
{
	return (__u32)(h >> (16 * stage)) & (AIGW_HH_ROWS - 1);
}

static __always_inline bool aigw_hh_same(const struct aigw_flow_key *a, const struct aigw_flow_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4] &&
	       x[5] == y[5];
}

static __always_inline void aigw_hh_swap(struct aigw_hh_slot *a, struct aigw_hh_slot *b)
{
	__u64 *x = (__u64 *)a, *y = (__u64 *)b;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / 8); i++) {
		__u64 t = x[i];

		x[i] = y[i];
		y[i] = t;
	}
}

static __always_inline struct aigw_hh_slot *aigw_hh_at(__u32 half, __u32 stage, __u32 row)
{
	__u32 idx = (half * AIGW_HH_STAGES + stage) * AIGW_HH_ROWS + row;

	return bpf_map_lookup_elem(&aigw_hh, &idx);
}

/* Stages 1..: the carried flow merges with its own count, takes an empty
 * slot, or swaps with a smaller resident. */
static __always_inline void aigw_hh_carry_on(struct aigw_hh_slot *c, __u32 half, __u32 epoch)
{
#pragma unroll
	for (__u32 st = 1; st < AIGW_HH_STAGES; st++) {
		struct aigw_hh_slot *s = aigw_hh_at(half, st, aigw_hh_row(aigw_hh_hash(&c->key), st));

		if (!s)
			return;
		if (s->epoch != epoch) {
			aigw_hh_swap(s, c);
			return;
		}
		if (aigw_hh_same(&s->key, &c->key)) {
			s->bytes += c->bytes;
			s->packets += c->packets;
			return;
		}
		if (s->bytes < c->bytes)
			aigw_hh_swap(s, c);
	}
}

/* Count one packet of `key` (l3 bytes, taking policy slot `slot`) at time
 * now. A global function: its own frame. */
__noinline int aigw_hh_add(const struct aigw_flow_key *key, __u32 bytes, __u32 slot, __u64 now,
			   __u64 mult)
{
	struct aigw_hh_slot *s, *c;
	__u32 carry = AIGW_HH_CARRY, epoch, half;
	__u64 e, h;

	if (!key || !mult)
		return 0;
	e = AIGW_HH_EPOCH(now, mult);
	epoch = (__u32)e;
	half = epoch & 1;
	h = aigw_hh_hash(key);
	s = aigw_hh_at(half, 0, aigw_hh_row(h, 0));
	if (!s)
		return 0;
	if (s->epoch == epoch && aigw_hh_same(&s->key, key)) {
		s->bytes += bytes;
		s->packets++;
		s->slot = slot;
		return 0;
	}
	c = bpf_map_lookup_elem(&aigw_hh, &carry);
	if (!c)
		return 0;
	/* the packet's flow into stage 0 (through the carry), the resident out */
	__builtin_memcpy(&c->key, key, sizeof(c->key));
	c->bytes = bytes;
	c->packets = 1;
	c->epoch = epoch;
	c->slot = slot;
	aigw_hh_swap(s, c);
	if (c->epoch == epoch)
		aigw_hh_carry_on(c, half, epoch);
	return 0;
}

#endif
