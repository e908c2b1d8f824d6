/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * BPF unit test harness (in the style of Cilium's bpf/tests): a test is a
 * program that includes a bpf/lib header, builds its input in the packet
 * the runner hands it (UT_PKT_LEN zero bytes), calls the helper and checks
 * the result. It returns 0 on success, else the source line of the failed
 * check. The including object picks the context (lib/ctx/xdp.h or skb.h)
 * and UT_SEC, so that every test runs at both hooks.
 */
#ifndef AIGW_UT_H
#define AIGW_UT_H

#define UT_PKT_LEN 512 /* what tests/bpf/bpf_unit.cpp passes in */

#define UT_ASSERT(c)                     \
	do {                             \
		if (!(c))                \
			return __LINE__; \
	} while (0)

/* SEC(UT_SEC) int test_NAME(ctx) running ut_NAME(ctx). */
#define UT_TEST(name)                                  \
	SEC(UT_SEC) int test_##name(struct __ctx_buff *ctx) \
	{                                              \
		return ut_##name(ctx);                 \
	}

/* The runner's buffer, all UT_PKT_LEN bytes of it, or NULL. */
static __always_inline __u8 *ut_buf(struct __ctx_buff *ctx)
{
	__u8 *d = ctx_data(ctx);

	if ((void *)(d + UT_PKT_LEN) > ctx_data_end(ctx))
		return NULL;
	return d;
}

/* Cut the packet to len bytes (after it was written). */
static __always_inline int ut_trim(struct __ctx_buff *ctx, __u32 len)
{
	return ctx_adjust_tail(ctx, (int)len - (int)ctx_full_len(ctx)) ? -1 : 0;
}

static __always_inline void ut_eth(__u8 *d, __u16 proto)
{
	struct ethhdr *eth = (struct ethhdr *)d;

	eth->h_dest[0] = 0x02;
	eth->h_source[0] = 0x02;
	eth->h_source[5] = 0x01;
	eth->h_proto = bpf_htons(proto);
}

/* IPv6 header after Ethernet: payload plen bytes, next header nh. */
static __always_inline void ut_ipv6(__u8 *d, __u16 plen, __u8 nh)
{
	struct ipv6hdr *ip6 = (struct ipv6hdr *)(d + ETH_HLEN);

	*(__be32 *)ip6 = bpf_htonl(0x60000000);
	ip6->payload_len = bpf_htons(plen);
	ip6->nexthdr = nh;
	ip6->hop_limit = 64;
	ip6->saddr.in6_u.u6_addr8[0] = 0xfc;
	ip6->saddr.in6_u.u6_addr8[15] = 1;
	ip6->daddr.in6_u.u6_addr8[0] = 0xfc;
	ip6->daddr.in6_u.u6_addr8[15] = 2;
}

#endif
