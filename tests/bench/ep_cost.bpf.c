// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What the endpoint's own per-packet steps cost (issue 9: "measure each map
 * lookup's cost"), each through the datapath's helper as the endpoint calls
 * it, on the datapath's maps (lib/maps.h, created unpinned and filled by
 * aigw-bench-ops). Each program repeats its step OPS times, then drops the
 * frame; aigw-bench-ops prints (program - its base) / OPS, and fails when
 * a step missed (ep_misses).
 *
 *   ep_empty    nothing: the base of the memo and counter rows
 *   ep_base     the FIB lookup's inputs only: the base of ep_nh_hit
 *   ep_nh_hit   aigw_fib_cached on a hit: the next-hop cache (lib/nhcache.h)
 *   ep_if_memo  aigw_iface_get on a hit: the interface memo (lib/memo.h)
 *   ep_sid_memo aigw_sid_get on a hit: the SID memo (lib/memo.h)
 *   ep_stats_rx aigw_stats_rx: the ingress port's rx counter (lib/stats.h)
 *
 * The next-hop cache misses on its first call and once a second after
 * (the runner's 1 s validity): such a call pays a full bpf_fib_lookup, a
 * negligible share over a run's millions of calls.
 */
#include "lib/ctx/xdp.h"
#include "lib/nhcache.h"
#include "lib/memo.h"
#include "lib/stats.h"
#include "bench_abi.h"

#define OPS 16

/* The FIB lookup's port and destination, the SID: set before load. */
struct bench_op_cfg ep_cfg = {};

/* As the endpoint fills it (aigw_fib_ipv6): the key bytes in 64-bit stores. */
static __always_inline void ep_fib(struct bpf_fib_lookup *fib)
{
	__u32 src[4] = {};

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET6_;
	fib->tot_len = 100;
	aigw_fib_put_key(fib, ep_cfg.ifindex, 0, src, (const __u32 *)ep_cfg.fib_dst, 4);
}

/* Steps that missed, for the runner to check. A global, not a register:
 * a count the verifier tracks would keep every path of every step apart. */
__u64 ep_misses = 0;

static __always_inline void ep_hit(bool hit)
{
	if (!hit)
		ep_misses++;
}

SEC("xdp")
int ep_empty(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int ep_base(struct xdp_md *ctx)
{
	struct bpf_fib_lookup fib AIGW_FIB_ALIGNED;

#pragma unroll
	for (int i = 0; i < OPS; i++) {
		ep_fib(&fib);
		barrier_var(fib.ifindex);
		ep_hit(fib.ifindex != 0);
	}
	return XDP_DROP;
}

SEC("xdp")
int ep_nh_hit(struct xdp_md *ctx)
{
	struct bpf_fib_lookup fib AIGW_FIB_ALIGNED;

#pragma unroll
	for (int i = 0; i < OPS; i++) {
		ep_fib(&fib);
		ep_hit(aigw_fib_cached(ctx, &fib, 0) == BPF_FIB_LKUP_RET_SUCCESS);
	}
	return XDP_DROP;
}

SEC("xdp")
int ep_if_memo(struct xdp_md *ctx)
{
#pragma unroll
	for (int i = 0; i < OPS; i++)
		ep_hit(aigw_iface_get(ep_cfg.ifindex, 0, AIGW_IF_MEMO_RX) != NULL);
	return XDP_DROP;
}

SEC("xdp")
int ep_sid_memo(struct xdp_md *ctx)
{
	struct in6_addr da;

	__builtin_memcpy(&da, ep_cfg.sid, sizeof(da));
#pragma unroll
	for (int i = 0; i < OPS; i++)
		ep_hit(aigw_sid_get(&da) != NULL);
	return XDP_DROP;
}

SEC("xdp")
int ep_stats_rx(struct xdp_md *ctx)
{
	const struct aigw_iface_cfg *cfg = aigw_iface_get(ep_cfg.ifindex, 0, AIGW_IF_MEMO_RX);
	struct aigw_ctx c;

	if (!cfg)
		return XDP_ABORTED;
#pragma unroll
	for (int i = 0; i < OPS; i++) {
		aigw_stats_rx(&c, ctx, cfg);
		ep_hit(c.st != NULL);
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
