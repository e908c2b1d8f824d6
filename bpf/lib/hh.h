/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Heavy hitters (abi.h "elephants"): a per-CPU set-associative table over
 * L3 bytes per flow fingerprint and window. Independent of aigw_flows: it
 * counts every decided packet whether or not its flow has an entry, so a
 * full flow table (10^6 mice) hides no elephant. Cost per packet: one
 * multiply-hash of the key and one bucket of AIGW_HH_WAYS slots, 64 bytes
 * (a new flow reads the one block, not one row per stage: the cost of a
 * flood of new flows is the cache misses); a key written (LRU) once a
 * window per CPU for a flow that reaches key_bytes.
 */
#ifndef AIGW_BPF_HH_H
#define AIGW_BPF_HH_H

#include "lib/maps.h"

/* A name being written (fingerprint and value), off the stack.
 * Datapath-private, not pinned. */
struct aigw_hh_naming {
	__u64 fp;
	struct aigw_hh_key v;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_hh_naming);
} aigw_hh_scratch SEC(".maps");

/* 64-bit fingerprint of the 48-byte key: three independent multiplies (the
 * key's words paired), then a mix. Not keyed: an attacker who aims flows at
 * one bucket can only evict (never inflate) counts. */
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

/* The bucket of a fingerprint: its low bits (the fingerprint's high bits
 * stay for telling flows apart within it). */
static __always_inline struct aigw_hh_slot *aigw_hh_bucket(struct aigw_hh_half *h, __u64 fp)
{
	return &h->slot[((__u32)fp & (AIGW_HH_BUCKETS - 1)) * AIGW_HH_WAYS];
}

/* The flow's key, once its count reaches key_bytes in this window. */
static __always_inline void aigw_hh_name(const struct aigw_flow_key *key, __u64 fp, __u32 before,
					 __u32 after, __u32 key_bytes, __u32 epoch, __u32 slot)
{
	struct aigw_hh_naming *n;
	__u32 zero = 0;

	if (before >= key_bytes || after < key_bytes)
		return;
	n = bpf_map_lookup_elem(&aigw_hh_scratch, &zero);
	if (!n)
		return;
	n->fp = fp;
	__builtin_memcpy(&n->v.key, key, sizeof(n->v.key));
	n->v.slot = slot;
	n->v.epoch = epoch;
	bpf_map_update_elem(&aigw_hh_keys, &n->fp, &n->v, BPF_ANY);
}

/*
 * Count one packet of `key` (l3 bytes, taking policy slot `slot`) at time
 * now: a flow found in its bucket counts there; a new flow takes a slot
 * whose window is over, else the slot of the smallest resident (which has
 * fewer bytes than an elephant of the window, unless the bucket holds
 * AIGW_HH_WAYS larger flows). A count never exceeds the flow's bytes. A
 * global function: its own frame.
 */
__noinline int aigw_hh_add(const struct aigw_flow_key *key, __u32 bytes, __u32 slot,
			   const struct aigw_hh_cfg *cfg, __u64 now)
{
	struct aigw_hh_slot *b, *s, *victim;
	struct aigw_hh_half *h;
	__u32 epoch, half, before, after, low = ~0U;
	__u64 fp;

	if (!key || !cfg || !cfg->mult)
		return 0;
	epoch = (__u32)AIGW_HH_EPOCH(now, cfg->mult);
	half = epoch & 1;
	h = bpf_map_lookup_elem(&aigw_hh, &half);
	if (!h)
		return 0;
	fp = aigw_hh_hash(key);
	b = aigw_hh_bucket(h, fp);
	victim = b;
#pragma unroll
	for (__u32 w = 0; w < AIGW_HH_WAYS; w++) {
		s = &b[w];
		if (s->epoch != epoch) { /* free: taken unless the flow is further on */
			if (low) {
				victim = s;
				low = 0;
			}
			continue;
		}
		if (s->fp == fp) {
			before = s->bytes;
			after = before + bytes;
			if (after < before) /* 4 GiB in a window on one CPU: saturate */
				after = ~0U;
			s->bytes = after;
			aigw_hh_name(key, fp, before, after, cfg->key_bytes, epoch, slot);
			return 0;
		}
		if (s->bytes < low) {
			victim = s;
			low = s->bytes;
		}
	}
	aigw_hh_name(key, fp, 0, bytes, cfg->key_bytes, epoch, slot);
	victim->fp = fp;
	victim->bytes = bytes;
	victim->epoch = epoch;
	return 0;
}

#endif
