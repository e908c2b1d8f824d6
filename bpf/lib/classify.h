/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet classification with aggregated bit vectors (abi.h, "Classification"):
 * one bitmap per field (interface slot, source and destination prefix,
 * protocol, source and destination port, DSCP, APN ID), ANDed; the lowest set
 * bit is the first matching rule. Only the words whose aggregate bit is set in
 * every field are visited. Every bitmap that must exist but is missing (a rule
 * set being rewritten, a corrupt map) makes the result "no rule": the bank's
 * default decision applies.
 */
#ifndef AIGW_BPF_CLASSIFY_H
#define AIGW_BPF_CLASSIFY_H

#include "lib/stats.h"

#define AIGW_CLS_BANK_BITS 32 /* the bank leads every classification prefix key */
#define AIGW_WORD_BITS 64

/* A packet as classification and accounting see it. key is the flow key,
 * in the packet's own orientation; the classifier swaps source and
 * destination itself for AIGW_DIR_IN (rules are written from the customer
 * side). */
struct aigw_cls_pkt {
	struct aigw_flow_key key;
	__u32 l3_len;    /* IP total length: the bytes accounted */
	__u8 dscp;       /* DSCP as received */
	__u8 tcp_flags;
	__u8 has_ports;  /* TCP/UDP/SCTP first fragment or unfragmented: ports are valid */
	__u8 apn_len;    /* APN ID the classification sees (4/8/16), 0 = none */
	__u8 apn[AIGW_APN_MAX_ID_LEN];
};
_Static_assert(sizeof(struct aigw_cls_pkt) == sizeof(struct aigw_flow_key) + 24, "cls_pkt size");

/* The bank packets use now (0 or 1). */
static __always_inline __u32 aigw_cls_bank(void)
{
	__u32 zero = 0;
	const __u32 *b = bpf_map_lookup_elem(&aigw_cls_active, &zero);

	return b ? (*b & 1) : 0;
}

static __always_inline const struct aigw_cls_bitmap *aigw_cls_misc_bv(__u32 bank, __u32 id)
{
	struct aigw_cls_id_key k = { .bank = bank, .id = id };

	return bpf_map_lookup_elem(&aigw_cls_misc, &k);
}

/* Source / destination address bitmap: the longest prefix, else the
 * family's "no prefix matched" bitmap. */
static __always_inline const struct aigw_cls_bitmap *
aigw_cls_addr_bv(const struct aigw_cls_meta *m, __u32 bank, __u8 family, const __u8 *addr, bool src)
{
	const struct aigw_cls_bitmap *bv;

	if (family == 4) {
		struct aigw_cls_pfx4_key k = {
			.prefixlen = AIGW_CLS_BANK_BITS + 32,
			.bank_be = bpf_htonl(bank),
		};

		__builtin_memcpy(k.addr, addr, sizeof(k.addr));
		bv = bpf_map_lookup_elem(src ? (void *)&aigw_cls_src4 : (void *)&aigw_cls_dst4, &k);
		if (!bv)
			bv = aigw_cls_misc_bv(bank, src ? m->bv_src4_none : m->bv_dst4_none);
	} else {
		struct aigw_cls_pfx6_key k = {
			.prefixlen = AIGW_CLS_BANK_BITS + 128,
			.bank_be = bpf_htonl(bank),
		};

		__builtin_memcpy(k.addr, addr, sizeof(k.addr));
		bv = bpf_map_lookup_elem(src ? (void *)&aigw_cls_src6 : (void *)&aigw_cls_dst6, &k);
		if (!bv)
			bv = aigw_cls_misc_bv(bank, src ? m->bv_src6_none : m->bv_dst6_none);
	}
	return bv;
}

/* Port bitmap: port -> interval id -> bitmap; packets without ports use the
 * field's "no port" bitmap. */
static __always_inline const struct aigw_cls_bitmap *
aigw_cls_port_bv(const struct aigw_cls_meta *m, __u32 bank, bool has_ports, __be16 port, bool src)
{
	struct aigw_cls_id_key k = { .bank = bank };
	__u32 idx = bank * AIGW_CLS_PORTS + bpf_ntohs(port);
	const __u32 *id;

	if (!has_ports)
		return aigw_cls_misc_bv(bank, src ? m->bv_no_sport : m->bv_no_dport);
	id = bpf_map_lookup_elem(src ? (void *)&aigw_cls_sport : (void *)&aigw_cls_dport, &idx);
	if (!id)
		return NULL;
	k.id = *id;
	return bpf_map_lookup_elem(&aigw_cls_portbv, &k);
}

/*
 * Words in use, read afresh from memory for every bound check. A loop that
 * ends on "j >= nwords" teaches the verifier a different range of nwords at
 * every exit; kept in a register that outlives the loop, each range is a
 * state of its own for all the code after it (exponential in the loops).
 * A fresh load is a new value that dies at the check.
 */
static __always_inline __u32 aigw_cls_nwords(const __u32 *nwords)
{
	__u32 n = *(const volatile __u32 *)nwords;

	return n > AIGW_CLS_WORDS ? AIGW_CLS_WORDS : n;
}

/* dst = x | y over the words in use, word by word in a bpf_loop callback:
 * verified once, however many times the mask loop below calls it. */
struct aigw_cls_or_args {
	struct aigw_cls_bitmap *dst;
	const struct aigw_cls_bitmap *x, *y;
};

static long aigw_cls_or_word(__u64 j, void *arg)
{
	struct aigw_cls_or_args *o = arg;

	if (j >= AIGW_CLS_WORDS)
		return 1;
	o->dst->w[j] = o->x->w[j] | o->y->w[j];
	return 0;
}

static __always_inline void aigw_cls_bv_or(struct aigw_cls_bitmap *dst,
					   const struct aigw_cls_bitmap *x,
					   const struct aigw_cls_bitmap *y, __u32 nwords)
{
	struct aigw_cls_or_args o = { .dst = dst, .x = x, .y = y };

#pragma unroll
	for (int a = 0; a < AIGW_CLS_AGG_WORDS; a++)
		dst->agg[a] = x->agg[a] | y->agg[a];
	bpf_loop(nwords, aigw_cls_or_word, &o, 0);
}

enum aigw_cls_apn_result {
	AIGW_CLS_APN_MISSING = -1, /* a bitmap that must exist does not: no rule */
	AIGW_CLS_APN_WILD = 0,     /* bv_apn_wild alone */
	AIGW_CLS_APN_SCRATCH = 1,  /* the OR is in aigw_cls_scratch */
};

/*
 * APN field of a packet with an APN ID: the rules without an APN condition
 * (bv_apn_wild) OR, for every mask of the ID's length, the rules whose value
 * equals ID & mask. When any mask entry matches, the OR is built in the
 * per-CPU scratch bitmap. A global function: verified once, on its own.
 */
__noinline int aigw_cls_apn_or(const struct aigw_cls_pkt *k, __u32 bank)
{
	const struct aigw_cls_bitmap *wild;
	struct aigw_cls_bitmap *acc = NULL;
	struct aigw_cls_scratch *sc;
	struct aigw_cls_apn_key ak = {};
	const struct aigw_cls_meta *m;
	__u32 nmasks, zero = 0;

	if (!k)
		return AIGW_CLS_APN_MISSING;
	bank &= 1;
	m = bpf_map_lookup_elem(&aigw_cls_meta, &bank);
	if (!m)
		return AIGW_CLS_APN_MISSING;
	if (!m->nrules || !m->apn_nmasks)
		return AIGW_CLS_APN_WILD;
	wild = aigw_cls_misc_bv(bank, m->bv_apn_wild);
	if (!wild)
		return AIGW_CLS_APN_MISSING;
	nmasks = m->apn_nmasks;
	ak.bank = bank;
	for (__u32 i = 0; i < AIGW_APN_MAX_MASKS; i++) {
		const struct aigw_cls_bitmap *e;
		const __u64 *id = (const __u64 *)k->apn, *mask = (const __u64 *)m->apn_masks[i];
		__u64 *out = (__u64 *)ak.id;

		if (i >= nmasks)
			break;
		if (m->apn_mask_len[i] != k->apn_len)
			continue;
		ak.mask_idx = i;
		out[0] = id[0] & mask[0];
		out[1] = id[1] & mask[1];
		e = bpf_map_lookup_elem(&aigw_cls_apn, &ak);
		if (!e)
			continue;
		if (!acc) {
			/* First match: scratch = wild | e. */
			sc = bpf_map_lookup_elem(&aigw_cls_scratch, &zero);
			if (!sc)
				return AIGW_CLS_APN_MISSING;
			acc = &sc->apn;
			aigw_cls_bv_or(acc, wild, e, aigw_cls_nwords(&m->nwords));
		} else {
			aigw_cls_bv_or(acc, acc, e, aigw_cls_nwords(&m->nwords));
		}
	}
	return acc ? AIGW_CLS_APN_SCRATCH : AIGW_CLS_APN_WILD;
}

/* The APN field's bitmap, NULL when missing. apn_or: what aigw_cls_apn_or
 * returned for the packet (called beforehand, by the caller of
 * aigw_classify: calls nested one level deeper would not fit the stack). */
static __always_inline const struct aigw_cls_bitmap *
aigw_cls_apn_bv(const struct aigw_cls_meta *m, __u32 bank, const struct aigw_cls_pkt *k, int apn_or)
{
	struct aigw_cls_scratch *sc;
	__u32 zero = 0;
	int r = apn_or;

	if (!k->apn_len)
		return aigw_cls_misc_bv(bank, m->bv_apn_none);
	if (r == AIGW_CLS_APN_WILD)
		return aigw_cls_misc_bv(bank, m->bv_apn_wild);
	if (r != AIGW_CLS_APN_SCRATCH)
		return NULL;
	sc = bpf_map_lookup_elem(&aigw_cls_scratch, &zero);
	return sc ? &sc->apn : NULL;
}

/* Index of the lowest set bit of a non-zero word, without branches (BPF has
 * no ctz; branches here would multiply the verifier's paths): the count of
 * the ones below it, by a SWAR popcount. */
static __always_inline __u32 aigw_lowest_bit(__u64 v)
{
	__u64 t = (v & -v) - 1;

	t = t - ((t >> 1) & 0x5555555555555555ULL);
	t = (t & 0x3333333333333333ULL) + ((t >> 2) & 0x3333333333333333ULL);
	t = (t + (t >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (t * 0x0101010101010101ULL) >> 56;
}

/*
 * The bit-vector walk, in two global functions. Each field's bitmap comes
 * from a different map, and the verifier tells map value pointers apart by
 * map: walked inline, every combination (IPv4/IPv6, ports or not, APN
 * cases...) would be verified through the whole loop again. As arguments of a
 * global function they are plain memory, verified once. A function takes at
 * most five arguments, hence two steps: the AND of four fields into scratch,
 * then the AND of that with the other four.
 */

/* The walk's state, for bpf_loop callbacks: one call per aggregate word
 * (load its candidates) or per candidate word. Loops of bpf_loop are
 * verified once; open-coded, the verifier would go through every one of the
 * 4 x 64 iterations. */
struct aigw_cls_walk {
	struct aigw_cls_scratch *s;
	const struct aigw_cls_bitmap *b[4];
	__u64 cand;  /* candidate words of the current aggregate word, not yet visited */
	__u32 a;     /* next aggregate word */
	__u32 base;  /* first word of the current aggregate word */
	__u32 rule;  /* step 2: the first matching rule bit */
	__u32 pad;
};
#define AIGW_CLS_WALK_STEPS (AIGW_CLS_AGG_WORDS + AIGW_CLS_WORDS)

/* Step 1 callback: s->and4 = b0 & b1 & b2 & b3, the aggregate and the
 * candidate words (those whose aggregate bit survives; others stay stale). */
static long aigw_cls_and4_step(__u64 i, void *arg)
{
	struct aigw_cls_walk *w = arg;
	struct aigw_cls_scratch *s = w->s;
	const struct aigw_cls_bitmap *b0 = w->b[0], *b1 = w->b[1], *b2 = w->b[2], *b3 = w->b[3];
	__u32 a = w->a, j;

	if (!w->cand) {
		if (a >= AIGW_CLS_AGG_WORDS || a * AIGW_WORD_BITS >= aigw_cls_nwords(&s->nwords))
			return 1;
		w->cand = b0->agg[a] & b1->agg[a] & b2->agg[a] & b3->agg[a];
		s->and4.agg[a] = w->cand;
		w->base = a * AIGW_WORD_BITS;
		w->a = a + 1;
		return 0;
	}
	j = w->base + aigw_lowest_bit(w->cand);
	w->cand &= w->cand - 1;
	if (j >= aigw_cls_nwords(&s->nwords) || j >= AIGW_CLS_WORDS) {
		w->cand = 0; /* the rest of this aggregate word is past the end too */
		return 0;
	}
	s->and4.w[j] = b0->w[j] & b1->w[j] & b2->w[j] & b3->w[j];
	return 0;
}

/* Step 2 callback: the first word of s->and4 & b4..b7 with a bit set. */
static long aigw_cls_first_step(__u64 i, void *arg)
{
	struct aigw_cls_walk *w = arg;
	const struct aigw_cls_scratch *s = w->s;
	const struct aigw_cls_bitmap *b4 = w->b[0], *b5 = w->b[1], *b6 = w->b[2], *b7 = w->b[3];
	__u32 a = w->a, j;
	__u64 v;

	if (!w->cand) {
		if (a >= AIGW_CLS_AGG_WORDS || a * AIGW_WORD_BITS >= aigw_cls_nwords(&s->nwords))
			return 1;
		w->cand = s->and4.agg[a] & b4->agg[a] & b5->agg[a] & b6->agg[a] & b7->agg[a];
		w->base = a * AIGW_WORD_BITS;
		w->a = a + 1;
		return 0;
	}
	j = w->base + aigw_lowest_bit(w->cand);
	w->cand &= w->cand - 1;
	if (j >= aigw_cls_nwords(&s->nwords) || j >= AIGW_CLS_WORDS) {
		w->cand = 0;
		return 0;
	}
	v = s->and4.w[j] & b4->w[j] & b5->w[j] & b6->w[j] & b7->w[j];
	if (!v)
		return 0;
	w->rule = j * AIGW_WORD_BITS + aigw_lowest_bit(v);
	return 1;
}

/* Step 1 (see above). */
__noinline int aigw_cls_and4(struct aigw_cls_scratch *s, const struct aigw_cls_bitmap *b0,
			     const struct aigw_cls_bitmap *b1, const struct aigw_cls_bitmap *b2,
			     const struct aigw_cls_bitmap *b3)
{
	struct aigw_cls_walk w = { .s = s, .b = { b0, b1, b2, b3 } };

	if (!s || !b0 || !b1 || !b2 || !b3)
		return -1;
	bpf_loop(AIGW_CLS_WALK_STEPS, aigw_cls_and4_step, &w, 0);
	return 0;
}

/* Step 2: the lowest rule bit set in s->and4 & b4 & b5 & b6 & b7, or
 * AIGW_CLS_NO_RULE. */
__noinline __u32 aigw_cls_first(struct aigw_cls_scratch *s, const struct aigw_cls_bitmap *b4,
				const struct aigw_cls_bitmap *b5, const struct aigw_cls_bitmap *b6,
				const struct aigw_cls_bitmap *b7)
{
	struct aigw_cls_walk w = { .s = s, .b = { b4, b5, b6, b7 }, .rule = AIGW_CLS_NO_RULE };

	if (!s || !b4 || !b5 || !b6 || !b7)
		return AIGW_CLS_NO_RULE;
	bpf_loop(AIGW_CLS_WALK_STEPS, aigw_cls_first_step, &w, 0);
	return w.rule;
}

/*
 * First-match classification of k against bank: *out is the matching rule's
 * decision, else the bank's default. apn_or: aigw_cls_apn_or's answer for a
 * packet with an APN ID. A global function: verified once, on
 * its own. Returns 0, or -1 when no bank metadata exists (*out zeroed: tenant
 * 0, class 0, no action).
 */
__noinline int aigw_classify(const struct aigw_cls_pkt *k, __u32 bank, int apn_or,
			     struct aigw_cls_action *out)
{
	const struct aigw_cls_bitmap *b0, *b1, *b2, *b3, *b4, *b5, *b6, *b7;
	const struct aigw_cls_action *act;
	const struct aigw_cls_meta *m;
	struct aigw_cls_scratch *sc;
	const __u8 *src, *dst;
	__be16 sport, dport;
	__u32 nwords, idx, rule, zero = 0;

	if (!k || !out)
		return -1;
	bank &= 1;
	m = bpf_map_lookup_elem(&aigw_cls_meta, &bank);
	if (!m) {
		__builtin_memset(out, 0, sizeof(*out));
		out->rule_id = AIGW_CLS_NO_RULE;
		return -1;
	}
	*out = m->dflt;
	if (!m->nrules)
		return 0;
	nwords = m->nwords;
	if (nwords > AIGW_CLS_WORDS)
		nwords = AIGW_CLS_WORDS;

	/* Rules are written from the customer side. */
	if (k->key.dir == AIGW_DIR_IN) {
		src = k->key.dst;
		dst = k->key.src;
		sport = k->key.dport;
		dport = k->key.sport;
	} else {
		src = k->key.src;
		dst = k->key.dst;
		sport = k->key.sport;
		dport = k->key.dport;
	}

	idx = bank * AIGW_MAX_IFACES + (k->key.ifslot < AIGW_MAX_IFACES ? k->key.ifslot : 0);
	b0 = bpf_map_lookup_elem(&aigw_cls_iface, &idx);
	b1 = aigw_cls_addr_bv(m, bank, k->key.family, src, true);
	b2 = aigw_cls_addr_bv(m, bank, k->key.family, dst, false);
	idx = bank * AIGW_CLS_PROTOS + k->key.proto;
	b3 = bpf_map_lookup_elem(&aigw_cls_proto, &idx);
	sc = bpf_map_lookup_elem(&aigw_cls_scratch, &zero);
	if (!sc)
		return 0;
	sc->nwords = nwords;
	if (aigw_cls_and4(sc, b0, b1, b2, b3))
		return 0;
	idx = bank * AIGW_CLS_DSCPS + (k->dscp & (AIGW_CLS_DSCPS - 1));
	b4 = bpf_map_lookup_elem(&aigw_cls_dscp, &idx);
	b5 = aigw_cls_port_bv(m, bank, k->has_ports, sport, true);
	b6 = aigw_cls_port_bv(m, bank, k->has_ports, dport, false);
	b7 = aigw_cls_apn_bv(m, bank, k, apn_or);
	sc = bpf_map_lookup_elem(&aigw_cls_scratch, &zero);
	if (!sc)
		return 0;
	rule = aigw_cls_first(sc, b4, b5, b6, b7);
	if (rule == AIGW_CLS_NO_RULE || rule >= AIGW_CLS_MAX_RULES)
		return 0;
	rule += bank * AIGW_CLS_MAX_RULES;
	act = bpf_map_lookup_elem(&aigw_cls_rules, &rule);
	if (act)
		*out = *act;
	return 0;
}

#endif
