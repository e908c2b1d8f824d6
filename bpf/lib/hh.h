/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Heavy hitters (abi.h "elephants"): a per-CPU HashPipe over L3 bytes per
 * flow fingerprint and window, looked up in every stage before inserting.
 * Independent of aigw_flows: it counts every decided packet whether or not
 * its flow has an entry, so a full flow table (10^6 mice) hides no
 * elephant. Cost per packet: one multiply-hash of the key and one to four
 * per-CPU slots; a swap of two words per stage when a new flow finds every
 * row taken; a key written (LRU) once a window per CPU for a flow that
 * reaches key_bytes.
 */
#ifndef AIGW_BPF_HH_H
#define AIGW_BPF_HH_H

#include "lib/maps.h"

/* A name being written (fingerprint and value) and the slot carried from
 * stage to stage, off the stack: the callers' frames fill it.
 * Datapath-private, not pinned. */
struct aigw_hh_naming {
	__u64 fp;
	struct aigw_hh_key v;
	struct aigw_hh_slot carry;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_hh_naming);
} aigw_hh_scratch SEC(".maps");

/* 64-bit fingerprint of the 48-byte key: three independent multiplies (the
 * key's words paired), then a mix; the rows of the stages are disjoint
 * 16-bit fields of it. Not keyed: an attacker who aims flows at one row can
 * only evict (never inflate) counts. */
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

static __always_inline __u32 aigw_hh_row(__u64 fp, __u32 stage)
{
	return (__u32)(fp >> (16 * stage)) & (AIGW_HH_ROWS - 1);
}

static __always_inline struct aigw_hh_slot *aigw_hh_at(struct aigw_hh_half *h, __u32 stage,
						       __u32 row)
{
	return &h->slot[(stage * AIGW_HH_ROWS + row) & (AIGW_HH_HALF_SLOTS - 1)];
}

static __always_inline void aigw_hh_swap(struct aigw_hh_slot *a, struct aigw_hh_slot *b)
{
	__u64 *x = (__u64 *)a, *y = (__u64 *)b;
	__u64 t0 = x[0], t1 = x[1];

	x[0] = y[0];
	x[1] = y[1];
	y[0] = t0;
	y[1] = t1;
}

/* Stages 1..: the carried flow takes an empty slot or swaps with a smaller
 * resident. */
static __always_inline void aigw_hh_carry_on(struct aigw_hh_slot *c, struct aigw_hh_half *h,
					     __u32 epoch)
{
#pragma unroll
	for (__u32 st = 1; st < AIGW_HH_STAGES; st++) {
		struct aigw_hh_slot *s = aigw_hh_at(h, st, aigw_hh_row(c->fp, st));

		if (s->epoch != epoch) {
			*s = *c;
			return;
		}
		if (s->bytes < c->bytes)
			aigw_hh_swap(s, c);
	}
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
 * now. Unlike a switch's single pass, every stage is looked at first: a
 * flow found anywhere is counted there (so a flow is in one slot, not in
 * fragments that compete with mice), a new flow takes the first empty row;
 * only when all its rows are taken does it enter stage 0 and push the
 * resident on (HashPipe). A global function: its own frame.
 */
__noinline int aigw_hh_add(const struct aigw_flow_key *key, __u32 bytes, __u32 slot,
			   const struct aigw_hh_cfg *cfg, __u64 now)
{
	struct aigw_hh_slot *s, *empty = 0;
	struct aigw_hh_naming *n;
	struct aigw_hh_half *h;
	__u32 epoch, half, before, after, zero = 0;
	__u64 fp;

	if (!key || !cfg || !cfg->mult)
		return 0;
	epoch = (__u32)AIGW_HH_EPOCH(now, cfg->mult);
	half = epoch & 1;
	h = bpf_map_lookup_elem(&aigw_hh, &half);
	if (!h)
		return 0;
	fp = aigw_hh_hash(key);
#pragma unroll
	for (__u32 st = 0; st < AIGW_HH_STAGES; st++) {
		s = aigw_hh_at(h, st, aigw_hh_row(fp, st));
		if (s->epoch != epoch) {
			if (!empty)
				empty = s;
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
	}
	aigw_hh_name(key, fp, 0, bytes, cfg->key_bytes, epoch, slot);
	if (empty) {
		empty->fp = fp;
		empty->bytes = bytes;
		empty->epoch = epoch;
		return 0;
	}
	n = bpf_map_lookup_elem(&aigw_hh_scratch, &zero);
	if (!n)
		return 0;
	/* the packet's flow into stage 0 (through the carry), the resident on */
	n->carry.fp = fp;
	n->carry.bytes = bytes;
	n->carry.epoch = epoch;
	aigw_hh_swap(aigw_hh_at(h, 0, aigw_hh_row(fp, 0)), &n->carry);
	aigw_hh_carry_on(&n->carry, h, epoch);
	return 0;
}

#endif
