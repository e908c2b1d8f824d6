/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The endpoint's next-hop cache (struct aigw_ep_nh_key): bpf_fib_lookup's
 * successful answers kept per CPU and per flow, valid while the datapath
 * generation is unchanged (the agent bumps it on every apply and every
 * route, neighbour or link change) and for datapath.nexthop_cache_ms. */
#ifndef AIGW_BPF_NHCACHE_H
#define AIGW_BPF_NHCACHE_H

#include "lib/maps.h"

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

/* ctx_fib_lookup through the cache: a hit fills the fields the callers use
 * (ifindex, MACs, mtu_result) and returns SUCCESS; a packet larger than the
 * cached MTU takes the full lookup, which answers FRAG_NEEDED. A global
 * function: the key and value live in its own stack frame, not the
 * caller's. */
__noinline int aigw_fib_cached(struct __ctx_buff *ctx, struct bpf_fib_lookup *fib, __u32 flags)
{
	__u32 zero = 0;
	const struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);
	struct aigw_ep_nh_key k;
	struct aigw_nh_cache *nc, v;
	int r;

	if (!fib)
		return BPF_FIB_LKUP_RET_NOT_FWDED;
	if (!g || !g->nh_cache_ms)
		return ctx_fib_lookup(ctx, fib, flags);
	aigw_ep_nh_key_of(&k, fib, flags);
	nc = bpf_map_lookup_elem(&aigw_ep_nh, &k);
	if (nc && nc->gen == g->gen && fib->tot_len <= nc->mtu &&
	    bpf_ktime_get_ns() < nc->expires_ns) {
		fib->ifindex = nc->ifindex;
		fib->mtu_result = nc->mtu;
		__builtin_memcpy(fib->smac, nc->smac, ETH_ALEN);
		__builtin_memcpy(fib->dmac, nc->dmac, ETH_ALEN);
		return BPF_FIB_LKUP_RET_SUCCESS;
	}
	r = ctx_fib_lookup(ctx, fib, flags);
	if (r != BPF_FIB_LKUP_RET_SUCCESS)
		return r;
	__builtin_memset(&v, 0, sizeof(v));
	v.expires_ns = bpf_ktime_get_ns() + (__u64)g->nh_cache_ms * 1000000ULL;
	v.gen = g->gen;
	v.ifindex = fib->ifindex;
	v.mtu = fib->mtu_result;
	__builtin_memcpy(v.smac, fib->smac, ETH_ALEN);
	__builtin_memcpy(v.dmac, fib->dmac, ETH_ALEN);
	bpf_map_update_elem(&aigw_ep_nh, &k, &v, BPF_ANY);
	return r;
}

#endif
