// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* XDP stamp for tests/bench/route_change.sh: on the sink veth of a WAN next
 * hop, counts every frame and records bpf_ktime_get_ns() (CLOCK_MONOTONIC) of
 * the first and the last one; drops them. The script resets the map (all
 * zero) before a route change and reads it afterwards (bpftool). Compiled by
 * the script itself (clang -target bpf), like aigw-xdp-gen. */
#include <linux/bpf.h>

#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

struct stamp {
	__u64 frames;
	__u64 first_ns;
	__u64 last_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stamp);
} stamp SEC(".maps");

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)BPF_FUNC_ktime_get_ns;

SEC("xdp")
int xdp_stamp(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct stamp *s = bpf_map_lookup_elem(&stamp, &key);
	__u64 now = bpf_ktime_get_ns();

	if (!s)
		return XDP_DROP;
	__sync_fetch_and_add(&s->frames, 1);
	__sync_val_compare_and_swap(&s->first_ns, 0, now);
	s->last_ns = now;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
