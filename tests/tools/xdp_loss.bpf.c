// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The WAN impairment stage's loss (this kernel has no netem): drops RoCEv2
 * datagrams (UDP to port 4791, IPv4 or IPv6 without extension headers,
 * bare or inside an IPv6 / SRv6 tunnel: one Routing header, then IPv6 or
 * IPv4) with probability loss / 2^32, from a seeded generator, so a run is
 * repeatable packet for packet on one CPU; and, to lose exactly the
 * packets a test names, the datagrams numbered drop_from ..
 * drop_from + drop_count - 1 in the order seen (from 0). Everything else
 * passes. With corrupt set, the chosen datagrams pass changed instead of
 * being dropped: the first two 16-bit words after the BTH swapped, which
 * leaves the UDP checksum (a one's complement sum) right and the ICRC
 * wrong, as a bit error a router's memory adds after the link's FCS.
 * aigw-xdp-loss sets loss and seed, attaches it, and reads the counters.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define IPPROTO_UDP_ 17
#define ROCEV2_PORT 4791

__u64 seed = 0;
__u32 loss = 0;    /* drop probability x 2^32 */
__u64 state = 0;   /* xorshift64* state; 0 = take seed */
__u64 seen = 0;    /* RoCEv2 datagrams looked at */
__u64 dropped = 0;
__u64 drop_from = 0;
__u64 drop_count = 0;
__u32 corrupt = 0;
__u64 corrupted = 0;

#define BTH_LEN 12

static __always_inline __u32 next_random(void)
{
	__u64 x = state ? state : (seed | 1);

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	state = x;
	return (__u32)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

#define NEXTHDR_ROUTING_ 43
#define NEXTHDR_IPV6_ 41
#define NEXTHDR_IPV4_ 4

/* The UDP header of an IPv4 packet at ip, or 0. */
static __always_inline struct udphdr *udp4(struct iphdr *ip, void *end)
{
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP_ || ip->ihl < 5)
		return 0;
	return (void *)ip + ip->ihl * 4;
}

/* The UDP header of an IPv6 packet at ip6 (tunnel: the inner packet's,
 * behind at most one Routing header), or 0. */
static __always_inline struct udphdr *udp6(struct ipv6hdr *ip6, void *end)
{
	void *p = ip6 + 1;
	__u8 nh;

	if ((void *)(ip6 + 1) > end)
		return 0;
	nh = ip6->nexthdr;
	if (nh == NEXTHDR_ROUTING_) {
		__u8 *rh = p;

		if ((void *)(rh + 2) > end)
			return 0;
		nh = rh[0];
		p += ((__u32)rh[1] + 1) * 8;
	}
	if (nh == NEXTHDR_IPV6_) {
		struct ipv6hdr *in = p;

		if ((void *)(in + 1) > end || in->nexthdr != IPPROTO_UDP_)
			return 0;
		return (void *)(in + 1);
	}
	if (nh == NEXTHDR_IPV4_)
		return udp4(p, end);
	return nh == IPPROTO_UDP_ && p == (void *)(ip6 + 1) ? p : 0;
}

static __always_inline struct udphdr *udp_of(void *data, void *end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6_))
		return udp6((void *)(eth + 1), end);
	if (eth->h_proto == bpf_htons(ETH_P_IP_))
		return udp4((void *)(eth + 1), end);
	return 0;
}

SEC("xdp")
int xdp_loss(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct udphdr *udp = udp_of(data, end);

	if (!udp || (void *)(udp + 1) > end || udp->dest != bpf_htons(ROCEV2_PORT))
		return XDP_PASS;
	__u64 n = __sync_fetch_and_add(&seen, 1);

	if ((n >= drop_from && n - drop_from < drop_count) || (loss && next_random() < loss)) {
		if (corrupt) {
			__u16 *w = (void *)(udp + 1) + BTH_LEN;

			if ((void *)(w + 2) > end)
				return XDP_PASS;
			__u16 t = w[0];
			w[0] = w[1];
			w[1] = t;
			__sync_fetch_and_add(&corrupted, 1);
			return XDP_PASS;
		}
		__sync_fetch_and_add(&dropped, 1);
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
