// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What one operation of the endpoint's per-packet work costs (tests/bench,
 * aigw-bench-ops): each program repeats one operation OPS times on the same
 * key, then drops the frame. aigw-bench-ops runs them with
 * BPF_PROG_TEST_RUN and prints (program - op_base) / OPS. The maps have the
 * datapath's key and value types and are filled as the bench's
 * configuration fills the datapath's (see aigw-bench-ops).
 *
 *   op_base        nothing (the floor every figure is taken from)
 *   op_array       ARRAY lookup                  (aigw_globals)
 *   op_pcpu_array  PERCPU_ARRAY lookup           (aigw_if_stats)
 *   op_hash8       HASH, 8-byte key              (aigw_ifaces)
 *   op_lpm128      LPM_TRIE, 128-bit address     (aigw_sids)
 *   op_lru48       LRU_PERCPU_HASH, 48-byte key  (aigw_ep_nh until it became
 *                  a direct-mapped per-CPU array)
 *   op_pcpu_hash48 PERCPU_HASH, 48-byte key      (the same without LRU)
 *   op_ktime       bpf_ktime_get_ns()            (next-hop cache expiry)
 *   op_ktime_coarse bpf_ktime_get_coarse_ns()
 *   op_jiffies     bpf_jiffies64()
 *   op_adjust_head bpf_xdp_adjust_head() -8 then +8 (one pair per op: what
 *                  an encapsulation or decapsulation pays in the helper)
 *   op_fib6        bpf_fib_lookup(), IPv6         (the lookup the cache saves)
 *   op_redirect    bpf_redirect_map() into a DEVMAP_HASH (aigw_tx)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "aigw/abi.h"
#include "bench_abi.h"

#define OPS 16
#define AF_INET6_ 10

/* Inputs the runner sets before load: the FIB lookup's port and
 * destination (a permanent neighbour in the runner's namespace). */
struct bench_op_cfg op_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_globals);
} op_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIGW_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct aigw_if_stats);
} op_pcpu_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_IFACES);
	__type(key, struct aigw_iface_key);
	__type(value, struct aigw_iface_cfg);
} op_hash8_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AIGW_DEFAULT_SIDS);
	__type(key, struct aigw_sid_key);
	__type(value, struct aigw_sid_entry);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} op_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, AIGW_EP_NH_ENTRIES);
	__type(key, struct aigw_ep_nh_key);
	__type(value, struct aigw_nh_cache);
} op_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, AIGW_EP_NH_ENTRIES);
	__type(key, struct aigw_ep_nh_key);
	__type(value, struct aigw_nh_cache);
} op_pcpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, AIGW_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} op_tx SEC(".maps");

/* Keys the runner filled in: a hit every time. */
static __always_inline void op_sid_key(struct aigw_sid_key *k)
{
	k->prefixlen = 128;
	__builtin_memcpy(k->addr, op_cfg.sid, sizeof(k->addr));
}

static __always_inline void op_nh_key(struct aigw_ep_nh_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->dst, op_cfg.sid, sizeof(k->dst));
	k->family = AF_INET6_;
}

/* Count hits so that a lookup that misses shows (the runner checks). */
static __always_inline int op_done(__u32 hits)
{
	return hits == OPS ? XDP_DROP : XDP_ABORTED;
}

/* One op, OPS times: the loop is unrolled so no loop overhead is in it. */
#define OP_REPEAT(stmt)                                                                            \
	({                                                                                         \
		__u32 hits = 0;                                                                    \
		_Pragma("unroll") for (int i = 0; i < OPS; i++) { stmt; }                          \
		hits;                                                                              \
	})

SEC("xdp")
int op_base(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int op_array(struct xdp_md *ctx)
{
	__u32 zero = 0;

	return op_done(OP_REPEAT(hits += !!bpf_map_lookup_elem(&op_arr, &zero)));
}

SEC("xdp")
int op_pcpu_array(struct xdp_md *ctx)
{
	__u32 slot = 1;

	return op_done(OP_REPEAT(hits += !!bpf_map_lookup_elem(&op_pcpu_arr, &slot)));
}

SEC("xdp")
int op_hash8(struct xdp_md *ctx)
{
	struct aigw_iface_key k = { .ifindex = op_cfg.ifindex };

	return op_done(OP_REPEAT(hits += !!bpf_map_lookup_elem(&op_hash8_map, &k)));
}

SEC("xdp")
int op_lpm128(struct xdp_md *ctx)
{
	struct aigw_sid_key k;

	op_sid_key(&k);
	return op_done(OP_REPEAT(hits += !!bpf_map_lookup_elem(&op_lpm, &k)));
}

SEC("xdp")
int op_lru48(struct xdp_md *ctx)
{
	struct aigw_ep_nh_key k;

	op_nh_key(&k);
	return op_done(OP_REPEAT(hits += !!bpf_map_lookup_elem(&op_lru, &k)));
}

SEC("xdp")
int op_pcpu_hash48(struct xdp_md *ctx)
{
	struct aigw_ep_nh_key k;

	op_nh_key(&k);
	return op_done(OP_REPEAT(hits += !!bpf_map_lookup_elem(&op_pcpu_hash, &k)));
}

SEC("xdp")
int op_ktime(struct xdp_md *ctx)
{
	return op_done(OP_REPEAT(hits += bpf_ktime_get_ns() != 0));
}

SEC("xdp")
int op_ktime_coarse(struct xdp_md *ctx)
{
	return op_done(OP_REPEAT(hits += bpf_ktime_get_coarse_ns() != 0));
}

SEC("xdp")
int op_adjust_head(struct xdp_md *ctx)
{
	long err = 0;

	/* Errors or'ed, not branched on: one path for the verifier. */
	OP_REPEAT({
		err |= bpf_xdp_adjust_head(ctx, -8);
		err |= bpf_xdp_adjust_head(ctx, 8);
	});
	return op_done(err ? 0 : OPS);
}

SEC("xdp")
int op_jiffies(struct xdp_md *ctx)
{
	return op_done(OP_REPEAT(hits += bpf_jiffies64() != 0));
}

SEC("xdp")
int op_fib6(struct xdp_md *ctx)
{
	struct bpf_fib_lookup fib;

	return op_done(OP_REPEAT({
		__builtin_memset(&fib, 0, sizeof(fib));
		fib.family = AF_INET6_;
		fib.ifindex = op_cfg.ifindex;
		__builtin_memcpy(fib.ipv6_dst, op_cfg.fib_dst, sizeof(fib.ipv6_dst));
		hits += bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) == BPF_FIB_LKUP_RET_SUCCESS;
	}));
}

SEC("xdp")
int op_redirect(struct xdp_md *ctx)
{
	return op_done(OP_REPEAT(hits += bpf_redirect_map(&op_tx, op_cfg.ifindex, 0) ==
					 XDP_REDIRECT));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
