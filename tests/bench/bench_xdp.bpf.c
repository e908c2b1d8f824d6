// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark helpers (tests/bench): the trivial baselines the datapath is
 * compared with, and the sink that receives what the programs under test
 * redirect.
 *
 *   bench_drop      XDP_DROP                          (harness floor)
 *   bench_pass      XDP_PASS                          (baseline of pass paths)
 *   bench_redirect  bpf_redirect_map() into a DEVMAP_HASH, key bench_cfg.
 *                   redirect_ifindex, no packet change (baseline of the
 *                   forwarding paths: same map type and egress port as
 *                   aigw's aigw_tx)
 *   bench_encap     reference "bare" H.Encaps: IPv4 in, the outer headers
 *                   copied from a template (bench_encap map), bpf_fib_lookup
 *                   for the first SID (same parameters as aigw's headend),
 *                   MACs from the FIB, bpf_redirect_map() - no policy lookup,
 *                   no counters, no TTL/MSS/MTU handling
 *   bench_vary      a new flow every frame: the inner UDP ports of an
 *                   IPv4 frame from a per-CPU counter, then a tail call
 *                   into the program under test (bench_next[0]); to
 *                   measure the cost of per-flow state for new keys
 *   bench_sink      on the peer of an egress veth: counts every frame,
 *                   classifies it (length as expected? SRv6 with the
 *                   expected outer destination?), restores the original
 *                   test frame into frames of the expected length when
 *                   told to (see below) and drops them (or passes them to
 *                   the kernel, for captures).
 *
 * Why the sink restores frames: in BPF_PROG_TEST_RUN live-frames mode the
 * kernel copies the test frame into a page only when the page is first
 * allocated; a recycled page gets its data/data_end pointers reset but keeps
 * whatever the program under test wrote into it (measured on 6.18: with
 * repeat 1M, ~4k pages serve 1M frames). A program that rewrites its input
 * (inner TTL, Segments Left, the bytes a decapsulation moves the Ethernet
 * header onto) would see its own output on the next use of the page and take
 * another path. The frames of the forwarding paths all end up here, in the
 * same page: the sink moves data back to where the test frame started (the
 * programs under test only push or pull headers at the front) and writes the
 * original bytes again before the page goes back to the pool. Pass paths
 * (the kernel stack) do not modify the frames of these fixtures.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench_abi.h"

#define ETH_P_IPV6_ 0x86DD
#define NEXTHDR_ROUTING_ 43
#define SRH_TYPE_4 4

struct bench_cfg bench_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_orig);
} bench_orig SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_sink_ctr);
} bench_sink_ctr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_encap);
} bench_encap_tmpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} bench_tx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_next SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_vary_ctr SEC(".maps");

SEC("xdp")
int bench_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bench_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&bench_tx, bench_cfg.redirect_ifindex, XDP_DROP);
}

SEC("xdp")
int bench_encap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct bpf_fib_lookup fib = {};
	const struct bench_encap *t;
	struct ipv6hdr *ip6;
	__u32 key = 0, len, inner_len;
	__u64 *dst;
	const __u64 *src;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(0x0800))
		return XDP_PASS;
	t = bpf_map_lookup_elem(&bench_encap_tmpl, &key);
	if (!t)
		return XDP_PASS;
	len = t->encap_len;
	if (len < 40 || len > BENCH_ENCAP_MAX || len % 8)
		return XDP_PASS;
	inner_len = bpf_ntohs(ip->tot_len);

	fib.family = 10; /* AF_INET6 */
	fib.l4_protocol = t->has_srh ? 43 : 4;
	fib.tot_len = inner_len + len;
	fib.ifindex = ctx->ingress_ifindex;
	__builtin_memcpy(fib.ipv6_src, t->hdr + 8, 16);
	__builtin_memcpy(fib.ipv6_dst, t->hdr + 24, 16);
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;

	if (bpf_xdp_adjust_head(ctx, -(int)len))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	ip6 = (void *)(eth + 1);
	if ((void *)(ip6 + 1) > data_end)
		return XDP_DROP;
	dst = (__u64 *)ip6;
	src = (const __u64 *)t->hdr;
	for (int i = 0; i < BENCH_ENCAP_MAX / 8; i++) {
		if (i * 8 >= len || (void *)(dst + i + 1) > data_end)
			break;
		dst[i] = src[i];
	}
	ip6->payload_len = bpf_htons(len - 40 + inner_len);
	if (t->has_srh) {
		__u8 *srh = (void *)(ip6 + 1);

		if ((void *)(srh + 1) > data_end)
			return XDP_DROP;
		srh[0] = 4; /* IPv4 inside */
	} else {
		ip6->nexthdr = 4;
	}
	__builtin_memcpy(eth->h_dest, fib.dmac, 6);
	__builtin_memcpy(eth->h_source, fib.smac, 6);
	eth->h_proto = bpf_htons(ETH_P_IPV6_);
	return bpf_redirect_map(&bench_tx, fib.ifindex, XDP_DROP);
}

/* Source port = the counter's low 16 bits, destination port 1024 + the
 * next 15: 2^31 flows before one comes back. The UDP checksum goes stale:
 * nothing on the forwarding path checks it. */
SEC("xdp")
int bench_vary(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 key = 0, *n = bpf_map_lookup_elem(&bench_vary_ctr, &key);

	if (!n || (void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(0x0800) ||
	    ip->ihl != 5 || ip->protocol != 17)
		return XDP_DROP;
	*n += 1;
	udp->source = bpf_htons((__u16)*n);
	udp->dest = bpf_htons((__u16)(1024 + ((*n >> 16) & 0x7fff)));
	bpf_tail_call(ctx, &bench_next, 0);
	return XDP_DROP;
}

static __always_inline void bench_classify(struct bench_sink_ctr *c, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	__u8 *srh = (void *)(ip6 + 1);
	__u64 *d, *e;

	if ((void *)(srh + 4) > data_end || eth->h_proto != bpf_htons(ETH_P_IPV6_))
		return;
	if (ip6->nexthdr != NEXTHDR_ROUTING_) {
		c->ipv6_no_srh++;
		return;
	}
	if (srh[2] != SRH_TYPE_4)
		return;
	c->srv6++;
	if (!bench_cfg.expect_dst_set)
		return;
	d = (__u64 *)&ip6->daddr;
	e = (__u64 *)bench_cfg.expect_dst;
	if (d[0] == e[0] && d[1] == e[1])
		c->srv6_dst_ok++;
}

/* Write the original test frame back (see the top of the file). */
static __always_inline int bench_restore(struct xdp_md *ctx, const struct bench_orig *o)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = o->len;
	long delta = (long)(data_end - data) - (long)len;
	__u8 *p;

	if (len > BENCH_ORIG_MAX)
		return -1;
	if (delta < 0) { /* headers were pulled: move data back to the start */
		if (delta < -BENCH_ORIG_MAX || bpf_xdp_adjust_head(ctx, (int)delta))
			return -1;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		delta = 0;
	}
	if (delta > BENCH_ORIG_MAX)
		return -1;
	p = (__u8 *)data + delta;
	for (int i = 0; i < BENCH_ORIG_MAX / 8; i++) {
		__u32 off = i * 8;

		if (off + 8 > len)
			break;
		if ((void *)(p + off + 8) > data_end)
			return -1;
		*(__u64 *)(p + off) = *(const __u64 *)(o->data + off);
	}
	for (int j = 0; j < 8; j++) {
		__u32 off = (len & ~7u) + j;

		if (off >= len || off >= BENCH_ORIG_MAX)
			break;
		if ((void *)(p + off + 1) > data_end)
			return -1;
		p[off] = o->data[off];
	}
	return 0;
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 key = 0, len = data_end - data;
	struct bench_sink_ctr *c = bpf_map_lookup_elem(&bench_sink_ctr, &key);
	const struct bench_orig *o = bpf_map_lookup_elem(&bench_orig, &key);

	if (!c)
		return XDP_DROP;
	c->frames++;
	c->bytes += len;
	if (bench_cfg.expect_len && len == bench_cfg.expect_len)
		c->len_ok++;
	bench_classify(c, data, data_end);
	/* Only the frames of the test (by length): the kernel of the bench
	 * namespace may send a stray frame of its own (MLD...) meanwhile. */
	if (o && o->len && len == bench_cfg.expect_len) {
		if (bench_restore(ctx, o))
			c->restore_failed++;
		else
			c->restored++;
	}
	return bench_cfg.sink_pass ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
