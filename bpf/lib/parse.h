/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing: Ethernet (+ one 802.1Q/802.1ad tag), IPv4, IPv6 with a
 * bounded extension-header walk, and the TCP/UDP/ICMP header. Every
 * malformation maps to a named drop reason (enum aigw_drop_reason). */
#ifndef AIGW_BPF_PARSE_H
#define AIGW_BPF_PARSE_H

#include "lib/common.h"

struct aigw_pkt {
	__u16 l3_proto;  /* ETH_P_IP, ETH_P_IPV6, or another EtherType (host order) */
	__u16 vlan;      /* VID of the 802.1Q tag, 0 if untagged */
	__u16 l3_off;    /* offset of the IP header from data */
	__u16 l4_off;    /* offset of the upper-layer header, 0 if none was reached */
	__u16 srh_off;   /* offset of the first SRH (IPv6), 0 if none */
	__u16 l3_len;    /* IP total length (header + payload) as the header says */
	__u8 l4_proto;   /* upper-layer protocol after the extension headers */
	__u8 is_frag;    /* IPv4/IPv6 fragment (l4 header only present when first) */
	__u16 sport;     /* network order, 0 unless TCP/UDP */
	__u16 dport;
	__u8 tcp_flags;  /* TCP flags byte, 0 unless TCP */
	__u8 pad;
};

/* Does [off, off + len) lie inside the IP packet, which ends at offset end
 * (l3_off + l3_len)? The frame may go on past it (padding, garbage): what
 * is there belongs to no header. A scalar compare; every access still
 * needs its own data_end check for the verifier. */
static __always_inline bool aigw_in_l3(__u32 off, __u32 len, __u32 end)
{
	return off + len <= end;
}

/* The upper-layer header at off, inside the IP packet ending at end. */
static __always_inline int aigw_parse_l4(void *data, void *data_end, struct aigw_pkt *p, __u32 off,
					 __u32 end)
{
	p->l4_off = off;
	if (p->l4_proto == NEXTHDR_TCP) {
		struct tcphdr *th = data + off;

		if ((void *)(th + 1) > data_end || !aigw_in_l3(off, sizeof(*th), end))
			return AIGW_DROP_TRUNC_L4;
		if (th->doff < 5 || data + off + th->doff * 4 > data_end ||
		    !aigw_in_l3(off, th->doff * 4, end))
			return AIGW_DROP_TRUNC_L4;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
	} else if (p->l4_proto == NEXTHDR_UDP) {
		struct udphdr *uh = data + off;

		if ((void *)(uh + 1) > data_end || !aigw_in_l3(off, sizeof(*uh), end))
			return AIGW_DROP_TRUNC_L4;
		p->sport = uh->source;
		p->dport = uh->dest;
	} else if (p->l4_proto == IPPROTO_ICMP_ || p->l4_proto == NEXTHDR_ICMPV6) {
		if (data + off + AIGW_ICMP_HLEN > data_end || !aigw_in_l3(off, AIGW_ICMP_HLEN, end))
			return AIGW_DROP_TRUNC_L4;
	}
	return 0;
}

static __always_inline int aigw_parse_ipv4(void *data, void *data_end, struct aigw_pkt *p)
{
	struct iphdr *ip = data + p->l3_off;
	__u32 hlen;

	if ((void *)(ip + 1) > data_end)
		return AIGW_DROP_TRUNC_IPV4;
	hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < IPV4_HLEN)
		return AIGW_DROP_BAD_IPV4;
	if ((void *)ip + hlen > data_end)
		return AIGW_DROP_TRUNC_IPV4;
	p->l3_len = bpf_ntohs(ip->tot_len);
	if (p->l3_len < hlen || (void *)ip + p->l3_len > data_end)
		return AIGW_DROP_BAD_IPV4;
	p->l4_proto = ip->protocol;
	if (ip->frag_off & bpf_htons(IPV4_MF | IPV4_FRAG_OFFSET)) {
		p->is_frag = 1;
		if (ip->frag_off & bpf_htons(IPV4_FRAG_OFFSET))
			return 0; /* not the first fragment: no upper-layer header */
	}
	return aigw_parse_l4(data, data_end, p, p->l3_off + hlen, p->l3_off + p->l3_len);
}

/* Walk at most AIGW_MAX_EXT_HDRS extension headers, each inside the
 * payload length (not merely the frame). Records the first SRH. */
static __always_inline int aigw_parse_ipv6(void *data, void *data_end, struct aigw_pkt *p)
{
	struct ipv6hdr *ip6 = data + p->l3_off;
	__u32 off, l3_len, end;
	__u8 nh;

	if ((void *)(ip6 + 1) > data_end)
		return AIGW_DROP_TRUNC_IPV6;
	if (ip6->version != 6)
		return AIGW_DROP_BAD_IPV6;
	/* In 32 bits: 40 + a payload length of 65496 or more does not fit the
	 * 16-bit l3_len and would wrap past this check. */
	l3_len = AIGW_IPV6_HDR_LEN + (__u32)bpf_ntohs(ip6->payload_len);
	if ((void *)ip6 + l3_len > data_end || l3_len > 0xffff)
		return AIGW_DROP_BAD_IPV6;
	p->l3_len = (__u16)l3_len;
	end = p->l3_off + l3_len;
	nh = ip6->nexthdr;
	off = p->l3_off + AIGW_IPV6_HDR_LEN;

#pragma unroll
	for (int i = 0; i < AIGW_MAX_EXT_HDRS; i++) {
		__u8 *eh = data + off;
		__u32 len;

		switch (nh) {
		case NEXTHDR_HOP:
		case NEXTHDR_ROUTING:
		case NEXTHDR_DEST:
			if ((void *)(eh + AIGW_EXTHDR_FIXED) > data_end ||
			    !aigw_in_l3(off, AIGW_EXTHDR_FIXED, end))
				return AIGW_DROP_TRUNC_EXTHDR;
			len = ((__u32)eh[1] + 1) * 8;
			if (nh == NEXTHDR_ROUTING && eh + 3 <= (__u8 *)data_end &&
			    eh[2] == IPV6_SRCRT_TYPE_4 && !p->srh_off)
				p->srh_off = off;
			break;
		case NEXTHDR_FRAGMENT:
			if ((void *)(eh + AIGW_FRAG_HLEN) > data_end ||
			    !aigw_in_l3(off, AIGW_FRAG_HLEN, end))
				return AIGW_DROP_TRUNC_EXTHDR;
			len = AIGW_FRAG_HLEN;
			p->is_frag = 1;
			if (*(__be16 *)(eh + 2) & bpf_htons(0xfff8)) {
				/* not the first fragment: stop at the fragment header */
				p->l4_proto = eh[0];
				return 0;
			}
			break;
		case NEXTHDR_AUTH:
			if ((void *)(eh + AIGW_EXTHDR_FIXED) > data_end ||
			    !aigw_in_l3(off, AIGW_EXTHDR_FIXED, end))
				return AIGW_DROP_TRUNC_EXTHDR;
			len = ((__u32)eh[1] + 2) * 4;
			break;
		default:
			p->l4_proto = nh;
			return aigw_parse_l4(data, data_end, p, off, end);
		}
		if (data + off + len > data_end || !aigw_in_l3(off, len, end))
			return AIGW_DROP_TRUNC_EXTHDR;
		nh = eh[0];
		off += len;
		if (off > 0xffff)
			return AIGW_DROP_TRUNC_EXTHDR;
	}
	/* Too many extension headers to walk: decide only if we still needed one. */
	if (nh == NEXTHDR_HOP || nh == NEXTHDR_ROUTING || nh == NEXTHDR_DEST ||
	    nh == NEXTHDR_FRAGMENT || nh == NEXTHDR_AUTH)
		return AIGW_DROP_EXTHDR_CHAIN;
	p->l4_proto = nh;
	return aigw_parse_l4(data, data_end, p, off, end);
}

/* Parse Ethernet and an optional VLAN tag; then IPv4/IPv6 if present.
 * Returns 0 or a drop reason. Non-IP frames return 0 with l3_proto set. */
static __always_inline int aigw_parse(struct __ctx_buff *ctx, struct aigw_pkt *p)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	struct ethhdr *eth = data;
	__u16 proto;

	__builtin_memset(p, 0, sizeof(*p));
	if ((void *)(eth + 1) > data_end)
		return AIGW_DROP_TRUNC_ETH;
	proto = bpf_ntohs(eth->h_proto);
	p->l3_off = ETH_HLEN;
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
		struct vlan_hdr *vh = data + ETH_HLEN;

		if ((void *)(vh + 1) > data_end)
			return AIGW_DROP_TRUNC_VLAN;
		p->vlan = bpf_ntohs(vh->h_vlan_TCI) & VLAN_VID_MASK;
		proto = bpf_ntohs(vh->h_vlan_encapsulated_proto);
		p->l3_off += VLAN_HLEN;
	}
	p->l3_proto = proto;
	if (proto == ETH_P_IP)
		return aigw_parse_ipv4(data, data_end, p);
	if (proto == ETH_P_IPV6)
		return aigw_parse_ipv6(data, data_end, p);
	return 0;
}

/* aigw_parse() as a global function: the verifier checks the parser once,
 * on its own, and the caller goes on with *p unknown. Inlined instead, every
 * distinct way through the IPv6 extension-header walk is carried into the
 * rest of the program and verified through it again (several times the
 * work). Costs one call per packet. */
__noinline int aigw_parse_global(struct __ctx_buff *ctx, struct aigw_pkt *p)
{
	if (!p)
		return AIGW_DROP_TRUNC_ETH;
	return aigw_parse(ctx, p);
}

#endif
