/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The unit tests, written once against __ctx_buff: unit_xdp.bpf.c and
 * unit_tc.bpf.c compile them for each hook. See unit.h. */
#ifndef AIGW_UT_TESTS_H
#define AIGW_UT_TESTS_H

#include "lib/parse.h"
#include "lib/srh.h"
#include "lib/csum.h"
#include "lib/decap.h"
#include "lib/apn.h"
#include "unit.h"

/* Mock: the ICMP rate limiter's clock is the test's (ut_now), so that the
 * token bucket can be walked through time. Only lib/icmp.h sees it. */
static __u64 ut_now;
static __always_inline __u64 ut_ktime_get_ns(void)
{
	return *(volatile __u64 *)&ut_now;
}
#define bpf_ktime_get_ns ut_ktime_get_ns
#include "lib/icmp.h"
#undef bpf_ktime_get_ns

/* ------------------------------------------------------------ csum.h */
/* Independent of csum.h: the RFC 1071 sum over a 20-byte IPv4 header. A
 * header with a correct checksum sums to 0xffff. */
static __always_inline bool ut_ipv4_csum_ok(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 s = 0;

#pragma unroll
	for (int i = 0; i < IPV4_HLEN / 2; i++)
		s += w[i];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* Incremental updates (TTL decrement, 32-bit address rewrite, ECN to CE)
 * against a full recomputation, over a sweep of values. */
static __always_inline int ut_csum(struct __ctx_buff *ctx)
{
	struct iphdr ip = {};
	__u32 x = 0x12345678;

	ip.version = 4;
	ip.ihl = 5;
	ip.tot_len = bpf_htons(1400);
	ip.ttl = 255;
	ip.protocol = NEXTHDR_UDP;
	ip.saddr = bpf_htonl(0xc0000201);
	ip.daddr = bpf_htonl(0xcb007101);
	ip.check = aigw_ipv4_csum(&ip);
	UT_ASSERT(ut_ipv4_csum_ok(&ip));
	for (int i = 0; i < 64; i++) {
		__be32 old = ip.saddr;

		x = x * 1103515245 + 12345;
		aigw_ipv4_dec_ttl(&ip);
		UT_ASSERT(ut_ipv4_csum_ok(&ip));
		ip.saddr = x ^ (x << 7);
		aigw_csum_replace4(&ip.check, old, ip.saddr);
		UT_ASSERT(ut_ipv4_csum_ok(&ip));
		ip.tos = (__u8)(x >> 8) & ~AIGW_ECN_MASK;
		ip.tos |= AIGW_ECN_ECT_0;
		ip.check = 0;
		ip.check = aigw_ipv4_csum(&ip);
		aigw_ecn_decap_ipv4(&ip, AIGW_ECN_CE);
		UT_ASSERT((ip.tos & AIGW_ECN_MASK) == AIGW_ECN_CE);
		UT_ASSERT(ut_ipv4_csum_ok(&ip));
	}
	return 0;
}
UT_TEST(csum)

/* The checksum verification, against the independent sum, with options:
 * any changed byte of the header, options included, is caught. */
#define UT_V4_OPT_WORDS 2
static __always_inline int ut_ipv4_csum_verify(struct __ctx_buff *ctx)
{
	__u8 *d = ut_buf(ctx);
	struct iphdr *ip;
	__u32 s = 0;
	__u16 *w;

	if (!d)
		return __LINE__;
	ip = (struct iphdr *)(d + ETH_HLEN);
	ip->version = 4;
	ip->ihl = IPV4_HLEN / 4;
	ip->tot_len = bpf_htons(IPV4_HLEN);
	ip->ttl = 9;
	ip->saddr = bpf_htonl(0xc0000201);
	ip->check = aigw_ipv4_csum(ip);
	UT_ASSERT(ut_ipv4_csum_ok(ip));
	UT_ASSERT(aigw_ipv4_csum_ok(ip, d + UT_PKT_LEN));
	ip->ttl = 8;
	UT_ASSERT(!aigw_ipv4_csum_ok(ip, d + UT_PKT_LEN));
	/* IHL 7: two words of options (NOPs, then a byte to change). */
	ip->ihl = IPV4_HLEN / 4 + UT_V4_OPT_WORDS;
	ip->check = 0;
	d[ETH_HLEN + IPV4_HLEN] = TCPOPT_NOP_;
	d[ETH_HLEN + IPV4_HLEN + 4] = TCPOPT_NOP_;
	w = (__u16 *)ip;
#pragma unroll
	for (int i = 0; i < (IPV4_HLEN + UT_V4_OPT_WORDS * 4) / 2; i++)
		s += w[i];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	ip->check = (__u16)~s;
	UT_ASSERT(aigw_ipv4_csum_ok(ip, d + UT_PKT_LEN));
	d[ETH_HLEN + IPV4_HLEN + 4] = 0x44; /* the last option word changed */
	UT_ASSERT(!aigw_ipv4_csum_ok(ip, d + UT_PKT_LEN));
	/* A header running past the packet end is never right. */
	UT_ASSERT(!aigw_ipv4_csum_ok(ip, d + ETH_HLEN + IPV4_HLEN));
	return 0;
}
UT_TEST(ipv4_csum_verify)

/* ------------------------------------------------------------ srh.h */
#define UT_SRH3_LEN (AIGW_SRH_FIXED_LEN + 3 * AIGW_SID_LEN)

static __always_inline int ut_srh_check(struct __ctx_buff *ctx)
{
	struct {
		struct aigw_srh h; /* segments not read by the check */
	} s = {};

	s.h.type = IPV6_SRCRT_TYPE_4;
	s.h.hdrlen = UT_SRH3_LEN / 8 - 1; /* 6: three segments */
	s.h.last_entry = 2;
	s.h.segments_left = 2;
	UT_ASSERT(aigw_srh_check(&s.h) == 0);
	s.h.segments_left = 3; /* LE + 1: H.Encaps.Red */
	UT_ASSERT(aigw_srh_check(&s.h) == 0);
	s.h.segments_left = 4;
	UT_ASSERT(aigw_srh_check(&s.h) == AIGW_DROP_SRH_SL_EXCEEDS_LE);
	s.h.segments_left = 0;
	s.h.hdrlen = 5; /* room for 2.5 segments */
	UT_ASSERT(aigw_srh_check(&s.h) == AIGW_DROP_SRH_BAD_LEN);
	s.h.hdrlen = 255;
	s.h.last_entry = 255; /* 256 segments need 4104 bytes, 2048 declared */
	UT_ASSERT(aigw_srh_check(&s.h) == AIGW_DROP_SRH_BAD_LEN);
	s.h.last_entry = 126; /* 8 + 127 * 16 = 2040 <= 2048 */
	s.h.segments_left = 127;
	UT_ASSERT(aigw_srh_check(&s.h) == 0);
	return 0;
}
UT_TEST(srh_check)

/* End on a packet: Ethernet, IPv6, SRH with 3 segments, SL 2. */
static __always_inline int ut_srh_end(struct __ctx_buff *ctx)
{
	__u8 *d = ut_buf(ctx);
	__u32 srh_off = ETH_HLEN + AIGW_IPV6_HDR_LEN;
	struct ipv6hdr *ip6;
	struct aigw_srh *srh;
	struct aigw_pkt p;

	if (!d)
		return __LINE__;
	ut_eth(d, ETH_P_IPV6);
	ut_ipv6(d, UT_SRH3_LEN, NEXTHDR_ROUTING);
	srh = (struct aigw_srh *)(d + srh_off);
	srh->nexthdr = NEXTHDR_NONE;
	srh->hdrlen = 6;
	srh->type = IPV6_SRCRT_TYPE_4;
	srh->segments_left = 2;
	srh->last_entry = 2;
	for (int i = 0; i < 3; i++)
		d[srh_off + 8 + i * 16 + 15] = 0xa0 + i; /* SegList[i] = ...:a<i> */
	if (ut_trim(ctx, srh_off + UT_SRH3_LEN))
		return __LINE__;
	UT_ASSERT(aigw_parse(ctx, &p) == 0);
	UT_ASSERT(p.srh_off == srh_off);
	ip6 = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));
	srh = aigw_pkt_ptr(ctx, p.srh_off, sizeof(*srh));
	if (!ip6 || !srh)
		return __LINE__;
	UT_ASSERT(aigw_srh_check(srh) == 0);
	UT_ASSERT(aigw_srh_end(ctx, ip6, srh, p.srh_off) == 0);
	UT_ASSERT(srh->segments_left == 1 && ip6->hop_limit == 63);
	UT_ASSERT(ip6->daddr.in6_u.u6_addr8[15] == 0xa1 && ip6->daddr.in6_u.u6_addr8[0] == 0);
	return 0;
}
UT_TEST(srh_end)

/* ------------------------------------------------------------ parse.h */
#define UT_EXT_OFF (ETH_HLEN + AIGW_IPV6_HDR_LEN)
#define UT_EXT_MAX 9

/* Ethernet, IPv6, n 8-byte Destination Options headers, UDP; cut to the
 * whole packet. */
static __always_inline int ut_v6_ext_pkt(struct __ctx_buff *ctx, int n)
{
	__u8 *d = ut_buf(ctx);

	if (!d)
		return -1;
	ut_eth(d, ETH_P_IPV6);
	ut_ipv6(d, n * 8 + 8, n ? NEXTHDR_DEST : NEXTHDR_UDP);
#pragma unroll
	for (int i = 0; i < UT_EXT_MAX; i++)
		if (i < n)
			d[UT_EXT_OFF + i * 8] = i + 1 < n ? NEXTHDR_DEST : NEXTHDR_UDP;
	d[UT_EXT_OFF + n * 8 + 5] = 8; /* UDP length */
	return ut_trim(ctx, UT_EXT_OFF + n * 8 + 8);
}

/* AIGW_MAX_EXT_HDRS headers are walked to the transport header. */
static __always_inline int ut_parse_ext_max(struct __ctx_buff *ctx)
{
	struct aigw_pkt p;

	if (ut_v6_ext_pkt(ctx, AIGW_MAX_EXT_HDRS))
		return __LINE__;
	UT_ASSERT(aigw_parse(ctx, &p) == 0);
	UT_ASSERT(p.l4_proto == NEXTHDR_UDP);
	UT_ASSERT(p.l4_off == UT_EXT_OFF + AIGW_MAX_EXT_HDRS * 8);
	UT_ASSERT(p.l3_len == AIGW_IPV6_HDR_LEN + AIGW_MAX_EXT_HDRS * 8 + 8);
	return 0;
}
UT_TEST(parse_ext_max)

/* One more is a chain too long to walk. */
static __always_inline int ut_parse_ext_chain(struct __ctx_buff *ctx)
{
	struct aigw_pkt p;

	if (ut_v6_ext_pkt(ctx, AIGW_MAX_EXT_HDRS + 1))
		return __LINE__;
	UT_ASSERT(aigw_parse(ctx, &p) == AIGW_DROP_EXTHDR_CHAIN);
	return 0;
}
UT_TEST(parse_ext_chain)

/* An extension header whose length runs past the packet. */
static __always_inline int ut_parse_ext_trunc(struct __ctx_buff *ctx)
{
	struct aigw_pkt p;
	__u8 *d;

	if (ut_v6_ext_pkt(ctx, 2))
		return __LINE__;
	d = ctx_data(ctx);
	if ((void *)(d + UT_EXT_OFF + 16) > ctx_data_end(ctx))
		return __LINE__;
	d[UT_EXT_OFF + 8 + 1] = 2; /* second header: 24 bytes, 16 left */
	UT_ASSERT(aigw_parse(ctx, &p) == AIGW_DROP_TRUNC_EXTHDR);
	d = ctx_data(ctx);
	if ((void *)(d + UT_EXT_OFF + 16) > ctx_data_end(ctx))
		return __LINE__;
	d[UT_EXT_OFF + 8 + 1] = 0;
	d[UT_EXT_OFF + 1] = 3; /* first header: 32 bytes, past the end */
	UT_ASSERT(aigw_parse(ctx, &p) == AIGW_DROP_TRUNC_EXTHDR);
	return 0;
}
UT_TEST(parse_ext_trunc)

/* A later fragment stops the walk at the Fragment header. */
static __always_inline int ut_parse_frag(struct __ctx_buff *ctx)
{
	struct aigw_pkt p;
	__u8 *d = ut_buf(ctx);

	if (!d)
		return __LINE__;
	ut_eth(d, ETH_P_IPV6);
	ut_ipv6(d, 8 + 16, NEXTHDR_FRAGMENT);
	d[UT_EXT_OFF] = NEXTHDR_UDP;
	d[UT_EXT_OFF + 3] = 0x08; /* fragment offset 1 (8 bytes) */
	if (ut_trim(ctx, UT_EXT_OFF + 8 + 16))
		return __LINE__;
	UT_ASSERT(aigw_parse(ctx, &p) == 0);
	UT_ASSERT(p.is_frag && p.l4_proto == NEXTHDR_UDP && p.l4_off == 0 && p.sport == 0);
	return 0;
}
UT_TEST(parse_frag)

/* Headers past the payload length are not the packet's, even when the
 * frame carries them (issue 8 P2). */
static __always_inline int ut_parse_beyond_plen(struct __ctx_buff *ctx)
{
	struct ipv6hdr *ip6;
	struct aigw_pkt p;

	if (ut_v6_ext_pkt(ctx, 2))
		return __LINE__;
	UT_ASSERT(aigw_parse(ctx, &p) == 0);
	ip6 = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));
	if (!ip6)
		return __LINE__;
	ip6->payload_len = bpf_htons(8 + 4); /* the second header half inside */
	UT_ASSERT(aigw_parse(ctx, &p) == AIGW_DROP_TRUNC_EXTHDR);
	ip6 = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));
	if (!ip6)
		return __LINE__;
	ip6->payload_len = bpf_htons(2 * 8 + 4); /* UDP half inside */
	UT_ASSERT(aigw_parse(ctx, &p) == AIGW_DROP_TRUNC_L4);
	ip6 = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));
	if (!ip6)
		return __LINE__;
	ip6->payload_len = 0; /* no extension header inside */
	UT_ASSERT(aigw_parse(ctx, &p) == AIGW_DROP_TRUNC_EXTHDR);
	return 0;
}
UT_TEST(parse_beyond_plen)

/* Ethernet, a 20-byte IPv4 header (total length tot_len, UDP), then a
 * whole UDP header in the frame. */
static __always_inline int ut_v4_udp_pkt(struct __ctx_buff *ctx, __u16 tot_len)
{
	__u8 *d = ut_buf(ctx);
	struct iphdr *ip;

	if (!d)
		return -1;
	ut_eth(d, ETH_P_IP);
	ip = (struct iphdr *)(d + ETH_HLEN);
	ip->version = 4;
	ip->ihl = IPV4_HLEN / 4;
	ip->tot_len = bpf_htons(tot_len);
	ip->ttl = 64;
	ip->protocol = NEXTHDR_UDP;
	ip->check = aigw_ipv4_csum(ip);
	return ut_trim(ctx, ETH_HLEN + IPV4_HLEN + sizeof(struct udphdr));
}

/* The L4 header must lie within the IPv4 total length. */
static __always_inline int ut_parse_beyond_tot_len(struct __ctx_buff *ctx)
{
	struct aigw_pkt p;

	if (ut_v4_udp_pkt(ctx, IPV4_HLEN + sizeof(struct udphdr)))
		return __LINE__;
	UT_ASSERT(aigw_parse(ctx, &p) == 0 && p.l4_proto == NEXTHDR_UDP);
	for (__u32 tot = IPV4_HLEN; tot < IPV4_HLEN + sizeof(struct udphdr); tot += 7) {
		struct iphdr *ip = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip));

		if (!ip)
			return __LINE__;
		ip->tot_len = bpf_htons(tot); /* 20, 27: the UDP header not (all) inside */
		UT_ASSERT(aigw_parse(ctx, &p) == AIGW_DROP_TRUNC_L4);
	}
	return 0;
}
UT_TEST(parse_beyond_tot_len)

/* ------------------------------------------------------------ decap.h */
/* The inner packet lies, with the length it declares, inside the outer
 * packet; its IPv4 header checksum is right. */
static __always_inline int ut_inner_check4(struct __ctx_buff *ctx)
{
	__u32 len = 0, end;

	if (ut_v4_udp_pkt(ctx, IPV4_HLEN + sizeof(struct udphdr)))
		return __LINE__;
	/* The same bytes read as an inner packet at ETH_HLEN: end = frame end. */
	end = ETH_HLEN + IPV4_HLEN + sizeof(struct udphdr);
	UT_ASSERT(aigw_inner_check(ctx, ETH_HLEN, NEXTHDR_IPV4, end, &len) == 0);
	UT_ASSERT(len == IPV4_HLEN + sizeof(struct udphdr));
	UT_ASSERT(aigw_inner_check(ctx, ETH_HLEN, NEXTHDR_IPV4, end - 1, &len) ==
		  AIGW_DROP_BAD_IPV4);
	UT_ASSERT(aigw_inner_check(ctx, ETH_HLEN, NEXTHDR_IPV4, ETH_HLEN + IPV4_HLEN - 1, &len) ==
		  AIGW_DROP_TRUNC_IPV4);
	{
		struct iphdr *ip = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip));

		if (!ip)
			return __LINE__;
		ip->ttl--;
	}
	UT_ASSERT(aigw_inner_check(ctx, ETH_HLEN, NEXTHDR_IPV4, end, &len) ==
		  AIGW_DROP_BAD_IPV4_CSUM);
	return 0;
}
UT_TEST(inner_check4)

/* IPv6: an inner 40-byte header with a payload of 8 at UT_EXT_OFF. */
static __always_inline int ut_inner_check6(struct __ctx_buff *ctx)
{
	__u32 off = UT_EXT_OFF, len = 0, end;
	__u8 *d = ut_buf(ctx);

	if (!d)
		return __LINE__;
	ut_ipv6(d + AIGW_IPV6_HDR_LEN, 8, NEXTHDR_UDP); /* ut_ipv6 writes at + ETH_HLEN */
	end = off + AIGW_IPV6_HDR_LEN + 8;
	UT_ASSERT(aigw_inner_check(ctx, off, NEXTHDR_IPV6, end, &len) == 0);
	UT_ASSERT(len == AIGW_IPV6_HDR_LEN + 8);
	UT_ASSERT(aigw_inner_check(ctx, off, NEXTHDR_IPV6, end - 1, &len) == AIGW_DROP_BAD_IPV6);
	UT_ASSERT(aigw_inner_check(ctx, off, NEXTHDR_IPV6, off + AIGW_IPV6_HDR_LEN - 1, &len) ==
		  AIGW_DROP_TRUNC_IPV6);
	return 0;
}
UT_TEST(inner_check6)

/* ------------------------------------------------------------ apn.h */
#define UT_APN_TYPE 0x3e

/* Ethernet, IPv6, a 24-byte Hop-by-Hop header [Pad1, APN option (opt_len
 * data bytes: ID type 1, flags 5, para 0, ID de:ad:be:ef), PadN], UDP. */
static __always_inline int ut_apn_pkt(struct __ctx_buff *ctx, __u8 opt_len)
{
	__u8 *d = ut_buf(ctx);
	__u32 o = UT_EXT_OFF;

	if (!d)
		return -1;
	ut_eth(d, ETH_P_IPV6);
	ut_ipv6(d, 24 + 8, NEXTHDR_HOP);
	d[o] = NEXTHDR_UDP;
	d[o + 1] = 2;           /* 24 bytes */
	d[o + 2] = AIGW_OPT_PAD1;
	d[o + 3] = UT_APN_TYPE; /* the option at o + 3 */
	d[o + 4] = opt_len;
	d[o + 5] = AIGW_APN_ID_32;
	d[o + 6] = 5;
	d[o + 9] = 0xde;
	d[o + 10] = 0xad;
	d[o + 11] = 0xbe;
	d[o + 12] = 0xef;
	d[o + 13] = AIGW_OPT_PADN; /* 11 bytes of padding */
	d[o + 14] = 9;
	return ut_trim(ctx, o + 24 + 8);
}

static __always_inline int ut_apn_found(struct __ctx_buff *ctx)
{
	struct aigw_apn a;

	if (ut_apn_pkt(ctx, 8))
		return __LINE__;
	UT_ASSERT(aigw_apn_find(ctx, ETH_HLEN, UT_APN_TYPE, &a) == AIGW_APN_FOUND);
	UT_ASSERT(a.len == 4 && a.flags == 5 && a.para == 0);
	UT_ASSERT(a.opt_off == UT_EXT_OFF + 3 && a.opt_len == 8);
	UT_ASSERT(a.id[0] == 0xde && a.id[3] == 0xef && a.id[4] == 0);
	UT_ASSERT(aigw_apn_find(ctx, ETH_HLEN, UT_APN_TYPE + 1, &a) == AIGW_APN_NONE);
	UT_ASSERT(aigw_apn_find(ctx, ETH_HLEN, AIGW_OPT_PADN, &a) == AIGW_APN_NONE);
	return 0;
}
UT_TEST(apn_found)

/* Option data too short for its ID, or running past its header. */
static __always_inline int ut_apn_malformed(struct __ctx_buff *ctx)
{
	struct aigw_apn a;
	__u8 *d;

	if (ut_apn_pkt(ctx, 6))
		return __LINE__;
	UT_ASSERT(aigw_apn_find(ctx, ETH_HLEN, UT_APN_TYPE, &a) == AIGW_APN_MALFORMED);
	d = ctx_data(ctx);
	if ((void *)(d + UT_EXT_OFF + 8) > ctx_data_end(ctx))
		return __LINE__;
	d[UT_EXT_OFF + 4] = 30; /* 3 + 2 + 30 > 24 */
	UT_ASSERT(aigw_apn_find(ctx, ETH_HLEN, UT_APN_TYPE, &a) == AIGW_APN_MALFORMED);
	return 0;
}
UT_TEST(apn_malformed)

/* What the headend builds, the endpoint finds: a 128-bit ID. */
static __always_inline int ut_apn_roundtrip(struct __ctx_buff *ctx)
{
	__u8 id[AIGW_APN_MAX_ID_LEN], h[AIGW_APN_HDR_MAX];
	__u32 len;
	struct aigw_apn a;
	__u8 *d = ut_buf(ctx);

	if (!d)
		return __LINE__;
	for (int i = 0; i < AIGW_APN_MAX_ID_LEN; i++)
		id[i] = 0x10 + i;
	len = aigw_apn_hdr_build(h, UT_APN_TYPE, id, sizeof(id));
	UT_ASSERT(len == 24);
	h[0] = NEXTHDR_UDP;
	ut_eth(d, ETH_P_IPV6);
	ut_ipv6(d, 24 + 8, NEXTHDR_HOP);
	for (int i = 0; i < AIGW_APN_HDR_MAX; i++)
		d[UT_EXT_OFF + i] = h[i];
	if (ut_trim(ctx, UT_EXT_OFF + 24 + 8))
		return __LINE__;
	UT_ASSERT(aigw_apn_find(ctx, ETH_HLEN, UT_APN_TYPE, &a) == AIGW_APN_FOUND);
	UT_ASSERT(a.len == 16 && a.id[0] == 0x10 && a.id[15] == 0x1f);
	return 0;
}
UT_TEST(apn_roundtrip)

/* An option past the payload length is no option of the packet. */
static __always_inline int ut_apn_beyond_plen(struct __ctx_buff *ctx)
{
	struct ipv6hdr *ip6;
	struct aigw_apn a;

	if (ut_apn_pkt(ctx, 8))
		return __LINE__;
	ip6 = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));
	if (!ip6)
		return __LINE__;
	ip6->payload_len = bpf_htons(16); /* the 24-byte header runs past it */
	UT_ASSERT(aigw_apn_find(ctx, ETH_HLEN, UT_APN_TYPE, &a) == AIGW_APN_NONE);
	ip6 = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));
	if (!ip6)
		return __LINE__;
	ip6->payload_len = 0;
	UT_ASSERT(aigw_apn_find(ctx, ETH_HLEN, UT_APN_TYPE, &a) == AIGW_APN_NONE);
	return 0;
}
UT_TEST(apn_beyond_plen)

/* ------------------------------------------------------------ icmp.h */
#define UT_MS 1000000ULL

/* The ICMP error token bucket: 10 errors/s (100 ms each), burst 3. */
static __always_inline int ut_icmp_rate(struct __ctx_buff *ctx)
{
	struct aigw_globals g = { .icmp_rate = 10, .icmp_burst = 3 };
	struct aigw_icmp_bucket *b;
	__u32 zero = 0;

	b = bpf_map_lookup_elem(&aigw_icmp_bucket, &zero);
	if (!b || bpf_map_update_elem(&aigw_globals, &zero, &g, BPF_ANY))
		return __LINE__;
	b->last_ns = 0;
	b->credit_ns = 0;
	ut_now = 1000 * UT_MS; /* a second of credit, capped at the burst */
	UT_ASSERT(aigw_icmp_rate_ok() && aigw_icmp_rate_ok() && aigw_icmp_rate_ok());
	UT_ASSERT(!aigw_icmp_rate_ok());
	ut_now += 99 * UT_MS;
	UT_ASSERT(!aigw_icmp_rate_ok());
	ut_now += 1 * UT_MS;
	UT_ASSERT(aigw_icmp_rate_ok() && !aigw_icmp_rate_ok());
	ut_now += 10000 * UT_MS;
	UT_ASSERT(aigw_icmp_rate_ok() && aigw_icmp_rate_ok() && aigw_icmp_rate_ok());
	UT_ASSERT(!aigw_icmp_rate_ok());
	g.icmp_rate = 0; /* unlimited */
	if (bpf_map_update_elem(&aigw_globals, &zero, &g, BPF_ANY))
		return __LINE__;
	UT_ASSERT(aigw_icmp_rate_ok() && aigw_icmp_rate_ok());
	return 0;
}
UT_TEST(icmp_rate)

/* ------------------------------------------------------------ the ctx layer */
/* The accessors agree with each other at either hook: lengths, loads and
 * stores through the helpers against direct access, the tail moved. */
static __always_inline int ut_ctx(struct __ctx_buff *ctx)
{
	__u8 b[4] = { 1, 2, 3, 4 }, r[4];
	__u8 *d = ut_buf(ctx);

	if (!d)
		return __LINE__;
	UT_ASSERT(ctx_full_len(ctx) == UT_PKT_LEN);
	UT_ASSERT(ctx_data_end(ctx) - ctx_data(ctx) == UT_PKT_LEN);
	UT_ASSERT(ctx_ifindex(ctx) != 0);
	UT_ASSERT(ctx_store_bytes(ctx, 100, b, sizeof(b)) == 0);
	d = ut_buf(ctx);
	if (!d)
		return __LINE__;
	UT_ASSERT(d[100] == 1 && d[103] == 4);
	d[200] = 0x5a;
	UT_ASSERT(ctx_load_bytes(ctx, 200, r, sizeof(r)) == 0 && r[0] == 0x5a && r[1] == 0);
	UT_ASSERT(ctx_load_bytes(ctx, UT_PKT_LEN - 2, r, sizeof(r)) != 0);
	UT_ASSERT(ctx_adjust_tail(ctx, -100) == 0);
	UT_ASSERT(ctx_full_len(ctx) == UT_PKT_LEN - 100);
	UT_ASSERT(aigw_pkt_ptr(ctx, UT_PKT_LEN - 104, 4) != NULL);
	UT_ASSERT(aigw_pkt_ptr(ctx, UT_PKT_LEN - 103, 4) == NULL);
	return 0;
}
UT_TEST(ctx)

#endif
