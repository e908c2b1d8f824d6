/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Next-hop caches (struct aigw_nh_cache): bpf_fib_lookup's successful
 * answers kept per CPU, valid while the datapath generation is unchanged
 * (the agent bumps it on every apply and every route, neighbour or link
 * change) and for datapath.nexthop_cache_ms, on the coarse clock (the time
 * of the last tick: ~6 ns against ~36 ns for the precise one on a VM, and a
 * tick's error is nothing against the bound). The headend keeps one entry
 * per policy (aigw_nh_cache), the endpoint one per flow (aigw_ep_nh, a
 * direct-mapped per-CPU array). */
#ifndef AIGW_BPF_NHCACHE_H
#define AIGW_BPF_NHCACHE_H

#include "lib/maps.h"

/* Is entry nc (may be NULL) valid for a packet of len bytes under g at
 * time now (bpf_ktime_get_coarse_ns)? */
static __always_inline bool aigw_nh_valid(const struct aigw_nh_cache *nc,
					  const struct aigw_globals *g, __u32 len, __u64 now)
{
	return nc && nc->gen == g->gen && len <= nc->mtu && now < nc->expires_ns;
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

/* Fill entry nc from a successful FIB answer, valid from now under g. */
static __always_inline void aigw_nh_from_fib(struct aigw_nh_cache *nc,
					     const struct aigw_globals *g,
					     const struct bpf_fib_lookup *fib, __u64 now)
{
	nc->expires_ns = now + (__u64)g->nh_cache_ms * 1000000ULL;
	nc->gen = g->gen;
	nc->ifindex = fib->ifindex;
	nc->mtu = fib->mtu_result;
	__builtin_memcpy(nc->smac, fib->smac, ETH_ALEN);
	__builtin_memcpy(nc->dmac, fib->dmac, ETH_ALEN);
}

/* The lookup's inputs, taken before the lookup overwrites them. */
static __always_inline void aigw_ep_nh_key_of(struct aigw_ep_nh_key *k,
					      const struct bpf_fib_lookup *fib, __u32 flags)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = fib->family;
	k->ifindex = fib->ifindex;
	k->tbid = (flags & BPF_FIB_LOOKUP_TBID) ? fib->tbid : 0;
	if (fib->family == AF_INET6_) {
		__builtin_memcpy(k->dst, fib->ipv6_dst, sizeof(k->dst));
		__builtin_memcpy(k->src, fib->ipv6_src, sizeof(k->src));
		k->flowinfo = fib->flowinfo;
	} else {
		__builtin_memcpy(k->dst, &fib->ipv4_dst, sizeof(fib->ipv4_dst));
		__builtin_memcpy(k->src, &fib->ipv4_src, sizeof(fib->ipv4_src));
		k->flowinfo = fib->tos;
	}
}

/* The slot of key k: its 32-bit words, each times its own odd constant,
 * summed (independent multiplies: no chain of twelve), then the sum's high
 * bits, where every word's every bit has reached. */
static __always_inline __u32 aigw_ep_nh_index(const struct aigw_ep_nh_key *k)
{
	const __u32 *w = (const __u32 *)k;
	__u32 h = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*k) / sizeof(__u32)); i++)
		h += w[i] * (0x9e3779b1U + 2U * i * 0x85ebca6bU);
	return h >> (32 - AIGW_EP_NH_BITS);
}

static __always_inline bool aigw_ep_nh_key_eq(const struct aigw_ep_nh_key *a,
					      const struct aigw_ep_nh_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 diff = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / sizeof(__u32)); i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/* ctx_fib_lookup through the cache: a hit fills the fields the callers use
 * (ifindex, MACs, mtu_result) and returns SUCCESS; a packet larger than the
 * cached MTU takes the full lookup, which answers FRAG_NEEDED. The slot is
 * this CPU's, written in place (XDP runs to completion on it). now: the
 * packet's bpf_ktime_get_coarse_ns(). A global function: the key lives in
 * its own stack frame, not the caller's. */
__noinline int aigw_fib_cached(struct __ctx_buff *ctx, struct bpf_fib_lookup *fib, __u32 flags,
			       __u64 now)
{
	__u32 zero = 0, idx;
	const struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);
	struct aigw_ep_nh_key k;
	struct aigw_ep_nh_slot *s;
	int r;

	if (!fib)
		return BPF_FIB_LKUP_RET_NOT_FWDED;
	if (!g || !g->nh_cache_ms)
		return ctx_fib_lookup(ctx, fib, flags);
	aigw_ep_nh_key_of(&k, fib, flags);
	idx = aigw_ep_nh_index(&k);
	s = bpf_map_lookup_elem(&aigw_ep_nh, &idx);
	if (!s)
		return ctx_fib_lookup(ctx, fib, flags);
	if (aigw_ep_nh_key_eq(&s->key, &k) && aigw_nh_valid(&s->nc, g, fib->tot_len, now))
		return aigw_nh_to_fib(&s->nc, fib);
	r = ctx_fib_lookup(ctx, fib, flags);
	if (r != BPF_FIB_LKUP_RET_SUCCESS)
		return r;
	s->key = k;
	aigw_nh_from_fib(&s->nc, g, fib, now);
	return r;
}

#endif
