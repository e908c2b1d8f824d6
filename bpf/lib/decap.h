/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Decapsulation for the RFC 8986 End.DX* / End.DT* behaviours: check the
 * inner packet, strip the outer IPv6 header with all its extension headers,
 * and carry congestion marks over (RFC 6040). */
#ifndef AIGW_BPF_DECAP_H
#define AIGW_BPF_DECAP_H

#include "lib/csum.h"
#include "lib/ip.h"
#include "lib/parse.h"
#include "lib/srh.h"

static __always_inline __u8 aigw_ipv6_ecn(const struct ipv6hdr *ip6)
{
	return (bpf_ntohl(*(const __be32 *)ip6) >> AIGW_IPV6_TCLASS_SHIFT) & AIGW_ECN_MASK;
}

static __always_inline int aigw_inner4_check(struct __ctx_buff *ctx, __u32 off, __u32 end,
					     __u32 *len)
{
	struct iphdr *ip = aigw_pkt_ptr(ctx, off, sizeof(*ip));
	__u32 hlen;

	if (!ip || !aigw_in_l3(off, sizeof(*ip), end))
		return AIGW_DROP_TRUNC_IPV4;
	hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < IPV4_HLEN)
		return AIGW_DROP_BAD_IPV4;
	if (!aigw_in_l3(off, hlen, end))
		return AIGW_DROP_TRUNC_IPV4;
	*len = bpf_ntohs(ip->tot_len);
	if (*len < hlen || !aigw_in_l3(off, *len, end))
		return AIGW_DROP_BAD_IPV4;
	if (!aigw_ipv4_csum_ok(ip, ctx_data_end(ctx)))
		return AIGW_DROP_BAD_IPV4_CSUM;
	return 0;
}

static __always_inline int aigw_inner6_check(struct __ctx_buff *ctx, __u32 off, __u32 end,
					     __u32 *len)
{
	struct ipv6hdr *ip6 = aigw_pkt_ptr(ctx, off, sizeof(*ip6));

	if (!ip6 || !aigw_in_l3(off, sizeof(*ip6), end))
		return AIGW_DROP_TRUNC_IPV6;
	*len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (ip6->version != 6 || !aigw_in_l3(off, *len, end))
		return AIGW_DROP_BAD_IPV6;
	return 0;
}

/* The inner packet at offset off (proto NEXTHDR_IPV4 or NEXTHDR_IPV6) must
 * be a complete, self-consistent IP header (IPv4: with a valid checksum,
 * RFC 1812 5.2.2) lying, with the length it declares, inside the outer
 * packet, which ends at offset end, before it is exposed and forwarded.
 * Returns 0 and its length in *len, or a drop reason. */
static __always_inline int aigw_inner_check(struct __ctx_buff *ctx, __u32 off, __u8 proto,
					    __u32 end, __u32 *len)
{
	if (proto == NEXTHDR_IPV4)
		return aigw_inner4_check(ctx, off, end, len);
	return aigw_inner6_check(ctx, off, end, len);
}

/* Remove everything between the Ethernet header and the inner packet at
 * inner_off (the outer IPv6 header and all its extension headers): the
 * Ethernet header moves forward over them, then the head is advanced. The
 * MAC addresses stay those the packet arrived with, so that a pass to the
 * kernel is still accepted as addressed to this host. The caller has
 * checked (aigw_inner_check) that a whole inner IP header follows. Returns 0
 * or a drop reason; on success the packet starts with an untagged Ethernet
 * header of type eth_proto followed by the inner packet. */
static __always_inline int aigw_decap(struct __ctx_buff *ctx, __u32 inner_off, __u16 eth_proto)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	struct ethhdr *eth = data;
	struct ethhdr hdr;

	if ((void *)(eth + 1) > data_end)
		return AIGW_DROP_TRUNC_ETH;
	__builtin_memcpy(&hdr, eth, sizeof(hdr));
	hdr.h_proto = bpf_htons(eth_proto);
	if (ctx_adjust_head(ctx, (int)(inner_off - sizeof(hdr))))
		return AIGW_DROP_HEADROOM;
	data = ctx_data(ctx);
	data_end = ctx_data_end(ctx);
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return AIGW_DROP_TRUNC_ETH;
	__builtin_memcpy(eth, &hdr, sizeof(hdr));
	return 0;
}

/* RFC 6040 section 4.2, the part that matters: congestion experienced on
 * the outer header must not be lost at the tunnel exit, so an ECN-capable
 * inner packet becomes CE. A Not-ECT inner packet is left as it is (RFC
 * 6040 would drop it), and every other combination keeps the inner marks. */
static __always_inline void aigw_ecn_decap_ipv4(struct iphdr *ip, __u8 outer_ecn)
{
	__u8 tos = ip->tos;

	if (outer_ecn != AIGW_ECN_CE || (tos & AIGW_ECN_MASK) == AIGW_ECN_NOT_ECT ||
	    (tos & AIGW_ECN_MASK) == AIGW_ECN_CE)
		return;
	ip->tos = tos | AIGW_ECN_CE;
	/* TOS is the low byte of the header's first 16-bit word (version/IHL
	 * unchanged). The old and new words are built from values, not read
	 * back through a cast pointer: clang's strict aliasing lets it reuse
	 * the word loaded before the byte store. */
	aigw_csum_replace2(&ip->check, bpf_htons(tos), bpf_htons(tos | AIGW_ECN_CE));
}

static __always_inline void aigw_ecn_decap_ipv6(struct ipv6hdr *ip6, __u8 outer_ecn)
{
	__u8 ecn = aigw_ipv6_ecn(ip6);

	if (outer_ecn != AIGW_ECN_CE || ecn == AIGW_ECN_NOT_ECT || ecn == AIGW_ECN_CE)
		return;
	*(__be32 *)ip6 |= bpf_htonl(AIGW_ECN_CE << AIGW_IPV6_TCLASS_SHIFT);
}

#endif
