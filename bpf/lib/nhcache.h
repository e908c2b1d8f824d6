/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Next-hop caches (struct aigw_nh_cache): bpf_fib_lookup's successful
 * answers kept per CPU, valid while the datapath generation is unchanged
 * (the agent bumps it on every apply and every route, neighbour or link
 * change) and for datapath.nexthop_cache_ms on the caches' own clock
 * (aigw_nh_clock). The headend keeps one entry per policy (aigw_nh_cache),
 * the endpoint one per flow (aigw_ep_nh, a direct-mapped per-CPU array). */
#ifndef AIGW_BPF_NHCACHE_H
#define AIGW_BPF_NHCACHE_H

#include "lib/maps.h"

/* The running kernel's HZ, from its configuration (libbpf reads
 * /boot/config-RELEASE or /proc/config.gz); 0 when neither is there (the
 * loader then gives libbpf CONFIG_HZ=0: it refuses to load without). A
 * constant for the verifier, which removes the other clock's code. */
extern unsigned int CONFIG_HZ __kconfig __weak;

/* The caches' clock: jiffies when HZ is known (bpf_jiffies64, inlined by
 * the verifier: ~0.2 ns), else the coarse clock (a helper call: ~3 ns on
 * the bench VM, tests/bench aigw-bench-ops). Both advance once a tick, and
 * a tick's error is nothing against the bound. */
static __always_inline __u64 aigw_nh_clock(void)
{
	return CONFIG_HZ ? bpf_jiffies64() : bpf_ktime_get_coarse_ns();
}

/* datapath.nexthop_cache_ms in aigw_nh_clock's units, rounded up. */
static __always_inline __u64 aigw_nh_ttl(const struct aigw_globals *g)
{
	if (CONFIG_HZ)
		return ((__u64)g->nh_cache_ms * CONFIG_HZ + 999) / 1000;
	return (__u64)g->nh_cache_ms * 1000000ULL;
}

/* Is entry nc (may be NULL) valid for a packet of len bytes under g at
 * time now (aigw_nh_clock)? */
static __always_inline bool aigw_nh_valid(const struct aigw_nh_cache *nc,
					  const struct aigw_globals *g, __u32 len, __u64 now)
{
	return nc && nc->gen == g->gen && len <= nc->mtu && now < nc->expires;
}

/* The fields of a FIB answer the callers use, from a valid entry. */
static __always_inline int aigw_nh_to_fib(const struct aigw_nh_cache *nc,
					  struct bpf_fib_lookup *fib)
{
	fib->ifindex = nc->ifindex;
	fib->mtu_result = nc->mtu;
	__builtin_memcpy(fib->smac, nc->smac, ETH_ALEN);
	__builtin_memcpy(fib->dmac, nc->dmac, ETH_ALEN);
	return BPF_FIB_LKUP_RET_SUCCESS;
}

/* Fill entry nc from a successful FIB answer, valid from now
 * (aigw_nh_clock) under g. */
static __always_inline void aigw_nh_from_fib(struct aigw_nh_cache *nc,
					     const struct aigw_globals *g,
					     const struct bpf_fib_lookup *fib, __u64 now)
{
	nc->expires = now + aigw_nh_ttl(g);
	nc->gen = g->gen;
	nc->ifindex = fib->ifindex;
	nc->mtu = fib->mtu_result;
	__builtin_memcpy(nc->smac, fib->smac, ETH_ALEN);
	__builtin_memcpy(nc->dmac, fib->dmac, ETH_ALEN);
}

/* A struct bpf_fib_lookup given to aigw_fib_cached is declared with this. */
#define AIGW_FIB_ALIGNED __attribute__((aligned(8)))

/* The key's words (struct aigw_ep_nh_key) */
#define AIGW_EP_NH_WORDS (sizeof(struct aigw_ep_nh_key) / sizeof(__u64))
/* ... of which this many are struct bpf_fib_lookup's own bytes, from ifindex on */
#define AIGW_EP_NH_FIB_WORDS 5

_Static_assert(__builtin_offsetof(struct bpf_fib_lookup, ifindex) % 8 == 0 &&
		       __builtin_offsetof(struct bpf_fib_lookup, ipv6_dst) + 16 ==
			       __builtin_offsetof(struct bpf_fib_lookup, ifindex) +
				       8 * AIGW_EP_NH_FIB_WORDS &&
		       __builtin_offsetof(struct aigw_ep_nh_key, tbid) == 8 * AIGW_EP_NH_FIB_WORDS,
	       "the next-hop key's first words are bpf_fib_lookup's");

/* Two 32-bit words as the 64-bit word that holds lo then hi in memory. */
static __always_inline __u64 aigw_u64_pair(__u32 lo, __u32 hi)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u64)lo | (__u64)hi << 32;
#else
	return (__u64)lo << 32 | hi;
#endif
}

/* Write fib's key bytes (ifindex, flowinfo / tos, the addresses: IPv6
 * words 4, IPv4 1, the rest zero) in 64-bit stores. aigw_fib_cached reads
 * them in 64-bit words, and a load that spans two smaller stores is not
 * forwarded from the store buffer: it waits for them to reach the cache. */
static __always_inline void aigw_fib_put_key(struct bpf_fib_lookup *fib, __u32 ifindex,
					     __u32 info, const __u32 *src, const __u32 *dst,
					     int words)
{
	__u64 *w = (__u64 *)&fib->ifindex;

	w[0] = aigw_u64_pair(ifindex, info);
	w[1] = aigw_u64_pair(src[0], words > 1 ? src[1] : 0);
	w[2] = words > 1 ? aigw_u64_pair(src[2], src[3]) : 0;
	w[3] = aigw_u64_pair(dst[0], words > 1 ? dst[1] : 0);
	w[4] = words > 1 ? aigw_u64_pair(dst[2], dst[3]) : 0;
}

/* Word i of the key of a lookup of fib with flags: the lookup's own input
 * bytes, then table and family (struct aigw_ep_nh_key). */
static __always_inline __u64 aigw_ep_nh_word(const struct bpf_fib_lookup *fib, __u32 flags,
					     int i)
{
	const __u64 *w = (const __u64 *)&fib->ifindex;
	__u64 tbid = (flags & BPF_FIB_LOOKUP_TBID) ? fib->tbid : 0;

	if (i < AIGW_EP_NH_FIB_WORDS)
		return w[i];
	return tbid | (__u64)fib->family << 32;
}

/*
 * ctx_fib_lookup through the cache: a hit fills the fields the callers use
 * (ifindex, MACs, mtu_result) and returns SUCCESS; a packet larger than the
 * cached MTU takes the full lookup, which answers FRAG_NEEDED. The slot is
 * this CPU's, written in place (XDP runs to completion on it). fib: zeroed,
 * its key bytes written by aigw_fib_put_key, declared AIGW_FIB_ALIGNED (the
 * key is read in 64-bit words where it lies; the verifier rejects a
 * misaligned stack access). The slot: the high bits of the sum of the key's
 * words, each times its own odd constant (independent multiplies, no
 * chain). Inlined: it keeps no copy of the key, so it needs no stack frame
 * of its own (aigw-bench-ops times a hit).
 */
static __always_inline int aigw_fib_cached(struct __ctx_buff *ctx, struct bpf_fib_lookup *fib,
					   __u32 flags)
{
	__u32 zero = 0, idx;
	const struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);
	struct aigw_ep_nh_slot *s;
	__u64 *k, h = 0, diff = 0, now;
	int r;

	if (!g || !g->nh_cache_ms)
		return ctx_fib_lookup(ctx, fib, flags);
#pragma unroll
	for (int i = 0; i < (int)AIGW_EP_NH_WORDS; i++)
		h += aigw_ep_nh_word(fib, flags, i) *
		     (0x9e3779b97f4a7c15ULL + 2ULL * i * 0xc2b2ae3d27d4eb4fULL);
	idx = h >> (64 - AIGW_EP_NH_BITS);
	s = bpf_map_lookup_elem(&aigw_ep_nh, &idx);
	if (!s)
		return ctx_fib_lookup(ctx, fib, flags);
	k = (__u64 *)&s->key;
	now = aigw_nh_clock();
#pragma unroll
	for (int i = 0; i < (int)AIGW_EP_NH_WORDS; i++)
		diff |= k[i] ^ aigw_ep_nh_word(fib, flags, i);
	if (!diff && aigw_nh_valid(&s->nc, g, fib->tot_len, now))
		return aigw_nh_to_fib(&s->nc, fib);
	/* A miss: the slot takes this key, before the lookup overwrites its
	 * inputs (ifindex, flowinfo), and stays invalid unless it succeeds. */
#pragma unroll
	for (int i = 0; i < (int)AIGW_EP_NH_WORDS; i++)
		k[i] = aigw_ep_nh_word(fib, flags, i);
	s->nc.expires = 0;
	r = ctx_fib_lookup(ctx, fib, flags);
	if (r == BPF_FIB_LKUP_RET_SUCCESS)
		aigw_nh_from_fib(&s->nc, g, fib, now);
	return r;
}

#endif
