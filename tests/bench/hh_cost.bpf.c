// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What the heavy-hitter sketch adds to a packet (issue 11: <= +15 ns for a
 * hot flow, <= +35 ns with a new key every packet), without the rest of the
 * path around it: each program calls the datapath's own aigw_hh_add
 * (bpf/lib/hh.h) OPS times, then drops the frame; aigw-bench-ops prints
 * (program - hh_base) / OPS. hh_base builds the same keys and skips the
 * call.
 *
 *   hh_base  the keys only
 *   hh_hot   one flow, found in stage 0 every time
 *   hh_new   a new flow every call (ports from a per-CPU counter): the
 *            sketch is full of other flows, the HashPipe insertion path
 *
 * The sketch's windows are 40 ms (as aigwd runs them) on the real clock, so
 * a long run crosses windows and starts from an empty half as the datapath
 * does. The maps are the datapath's (lib/maps.h), created unpinned.
 */
#include "lib/ctx/xdp.h"
#include "lib/hh.h"

#define OPS 16

struct aigw_hh_cfg hh_bench_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} hh_bench_ctr SEC(".maps");

/* The run's first key: the counter advances OPS a run, so hh_new never
 * repeats a key within 2^32 / OPS runs. */
static __always_inline int hh_bench_key(struct aigw_flow_key *k, __u32 *next)
{
	__u32 zero = 0, *c = bpf_map_lookup_elem(&hh_bench_ctr, &zero);

	if (!c)
		return -1;
	__builtin_memset(k, 0, sizeof(*k));
	k->family = 4;
	k->proto = 17;
	k->src[0] = 192;
	k->src[1] = 0;
	k->src[2] = 2;
	k->src[3] = 1;
	k->dst[0] = 198;
	k->dst[1] = 51;
	k->dst[2] = 100;
	k->dst[3] = 1;
	*next = *c;
	*c += OPS;
	return 0;
}

static __always_inline void hh_bench_ports(struct aigw_flow_key *k, __u32 n)
{
	k->sport = (__u16)n;
	k->dport = (__u16)(n >> 16);
}

enum hh_bench_mode { HH_BASE, HH_HOT, HH_NEW };

/* OPS keys of the run (the hot one, or new ones), each counted unless base. */
static __always_inline int hh_bench_run(enum hh_bench_mode mode)
{
	struct aigw_flow_key k;
	__u32 n;

	if (hh_bench_key(&k, &n))
		return XDP_ABORTED;
	__u64 now = bpf_ktime_get_ns();
#pragma unroll
	for (int i = 0; i < OPS; i++) {
		hh_bench_ports(&k, mode == HH_HOT ? 7 : n + i);
		if (mode == HH_BASE)
			barrier_var(k.sport);
		else
			aigw_hh_add(&k, 1000, 1, &hh_bench_cfg, now);
	}
	return now ? XDP_DROP : XDP_ABORTED;
}

SEC("xdp")
int hh_base(struct xdp_md *ctx)
{
	return hh_bench_run(HH_BASE);
}

SEC("xdp")
int hh_hot(struct xdp_md *ctx)
{
	return hh_bench_run(HH_HOT);
}

SEC("xdp")
int hh_new(struct xdp_md *ctx)
{
	return hh_bench_run(HH_NEW);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
