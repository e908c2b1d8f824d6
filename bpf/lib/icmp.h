/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP / ICMPv6 errors generated in XDP: Time Exceeded, Fragmentation
 * Needed / Packet Too Big and (ICMPv6) Parameter Problem. The caller sends
 * the error back out the ingress port (XDP_TX) or routes it (redirect).
 *
 * The frame is rebuilt in place: trailing bytes beyond the quote are cut,
 * headroom is grown by the new IP + ICMP headers, and the original L2
 * header (addresses swapped, 802.1Q tag kept) is written in front:
 *
 *   [Ethernet (+ tag)][new IP header][ICMP header][quote: offending IP packet]
 *
 * Quote bounds: the offending packet from its IP header on, up to
 *   IPv4: 548 bytes, so the error is at most 576 bytes (RFC 1812 4.3.2.3);
 *   IPv6: 1232 bytes, so the error is at most 1280 bytes (RFC 4443 2.4(c)).
 * The quote is summed with bpf_csum_diff in fixed chunks (4-byte multiples,
 * at most AIGW_CSUM_CHUNK bytes per call) plus 1..3 trailing bytes by hand.
 *
 * Not answered (RFC 1812 4.3.2.7, RFC 4443 2.4(e)): ICMP errors, non-first
 * IPv4 fragments, unspecified/multicast/broadcast/loopback sources, IPv4
 * packets to multicast/broadcast, link-layer multicast/broadcast frames, and
 * Time Exceeded for IPv6 multicast destinations.
 */
#ifndef AIGW_BPF_ICMP_H
#define AIGW_BPF_ICMP_H

#include "lib/common.h"
#include "lib/addr.h"
#include "lib/csum.h"
#include "lib/parse.h"
#include "lib/stats.h"

#define AIGW_ICMP4_MAX_LEN 576  /* largest ICMPv4 error (IP header included) */
#define AIGW_ICMP6_MAX_LEN 1280 /* largest ICMPv6 error: the IPv6 minimum MTU */
#define AIGW_ICMP4_HDRS (sizeof(struct iphdr) + sizeof(struct icmphdr))
#define AIGW_ICMP6_HDRS (sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr))
#define AIGW_ICMP4_QUOTE_MAX (AIGW_ICMP4_MAX_LEN - AIGW_ICMP4_HDRS) /* 548 */
#define AIGW_ICMP6_QUOTE_MAX (AIGW_ICMP6_MAX_LEN - AIGW_ICMP6_HDRS) /* 1232 */

#define AIGW_CSUM_CHUNK 64                    /* bytes per bpf_csum_diff call */
#define AIGW_CSUM_LEN_MAX AIGW_ICMP6_QUOTE_MAX
#define AIGW_CSUM_OFF_MAX (ETH_HLEN + VLAN_HLEN) /* quotes start at the L3 header */

#define AIGW_ICMP_TTL 64
#define AIGW_IPTOS_PREC_INTERNETCONTROL 0xc0 /* as Linux marks its ICMPv4 errors */
#define AIGW_IPV4_VERSION_IHL 0x45
#define AIGW_IPV6_FIRST_WORD 0x60000000U /* version 6, traffic class 0, flow label 0 */
#define AIGW_ICMP_SOURCE_QUENCH 4
#define AIGW_ICMP_REDIRECT 5
#define AIGW_ICMP_PARAMETERPROB 12
#define AIGW_ICMP4_ERR_TYPE(t)                                                                     \
	((t) == ICMP_DEST_UNREACH_ || (t) == AIGW_ICMP_SOURCE_QUENCH || (t) == AIGW_ICMP_REDIRECT ||   \
	 (t) == ICMP_TIME_EXCEEDED_ || (t) == AIGW_ICMP_PARAMETERPROB)
#define AIGW_ICMP6_INFO_MIN 128 /* ICMPv6 types below are errors */
/* First address byte of sources/destinations never answered. */
#define AIGW_IPV4_THIS_NET 0       /* 0/8 */
#define AIGW_IPV4_LOOPBACK_NET 127 /* 127/8 */
#define AIGW_IPV4_MCAST_NET 224    /* 224/4 multicast, 240/4 reserved, broadcast */
#define AIGW_IPV6_MCAST_BYTE 0xff  /* ff00::/8 */

/* Outcome of an attempt to answer with an ICMP error. */
enum aigw_icmp_rc {
	AIGW_ICMP_SENT = 0,       /* the frame is now the error: XDP_TX it */
	AIGW_ICMP_SUPPRESSED = 1, /* must not be answered: frame unchanged */
	AIGW_ICMP_FAILED = -1,    /* adjust_head/tail failed: frame unusable */
};

/*
 * One's complement sum of len bytes of the packet at off (off <=
 * AIGW_CSUM_OFF_MAX, len <= AIGW_CSUM_LEN_MAX), reduced to 32 bits and not
 * complemented; an odd tail counts as if zero-padded. Returns -1 if the
 * range is not in the packet. A global function, verified once.
 */
__noinline long aigw_csum_pkt(struct __ctx_buff *ctx, __u32 off, __u32 len)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	__u64 sum = 0;
	__u8 *ptr;
	long r;

	if (off > AIGW_CSUM_OFF_MAX || len > AIGW_CSUM_LEN_MAX)
		return -1;

	for (int i = 0; i < AIGW_CSUM_LEN_MAX / AIGW_CSUM_CHUNK; i++) {
		if (len < AIGW_CSUM_CHUNK)
			break;
		ptr = data + off;
		if ((void *)(ptr + AIGW_CSUM_CHUNK) > data_end)
			return -1;
		r = bpf_csum_diff(NULL, 0, (__be32 *)ptr, AIGW_CSUM_CHUNK, 0);
		if (r < 0)
			return -1;
		sum += r;
		off += AIGW_CSUM_CHUNK;
		len -= AIGW_CSUM_CHUNK;
	}
	/* Now len < AIGW_CSUM_CHUNK: its 4-byte multiples bit by bit. */
#pragma unroll
	for (__u32 s = AIGW_CSUM_CHUNK / 2; s >= sizeof(__u32); s /= 2) {
		if (!(len & s))
			continue;
		ptr = data + off;
		if ((void *)(ptr + s) > data_end)
			return -1;
		r = bpf_csum_diff(NULL, 0, (__be32 *)ptr, s, 0);
		if (r < 0)
			return -1;
		sum += r;
		off += s;
	}
	len &= sizeof(__u32) - 1;
	if (len) {
		__u32 w = 0;

		ptr = data + off;
		if ((void *)(ptr + 1) > data_end)
			return -1;
		((__u8 *)&w)[0] = ptr[0];
		if (len > 1) {
			if ((void *)(ptr + 2) > data_end)
				return -1;
			((__u8 *)&w)[1] = ptr[1];
		}
		if (len > 2) {
			if ((void *)(ptr + 3) > data_end)
				return -1;
			((__u8 *)&w)[2] = ptr[2];
		}
		sum += w;
	}
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return (long)sum;
}

/* May an ICMPv4 error be sent about the frame? RFC 1812 4.3.2.7. */
static __always_inline bool aigw_icmp4_allowed(void *data, void *data_end, const struct aigw_pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u8 s0, d0;

	if ((void *)(eth + 1) > data_end || p->l3_off > AIGW_CSUM_OFF_MAX)
		return false;
	ip = data + p->l3_off;
	if ((void *)(ip + 1) > data_end)
		return false;
	if (eth->h_dest[0] & 1) /* link-layer multicast/broadcast */
		return false;
	if (ip->frag_off & bpf_htons(IPV4_FRAG_OFFSET))
		return false;
	s0 = ((__u8 *)&ip->saddr)[0];
	d0 = ((__u8 *)&ip->daddr)[0];
	if (s0 == AIGW_IPV4_THIS_NET || s0 == AIGW_IPV4_LOOPBACK_NET || s0 >= AIGW_IPV4_MCAST_NET ||
	    d0 >= AIGW_IPV4_MCAST_NET)
		return false;
	if (p->l4_proto == IPPROTO_ICMP_) {
		__u32 l4_off = p->l4_off;
		__u8 *type;

		AIGW_BARRIER_VAR(l4_off);
		if (!l4_off || l4_off > AIGW_L4_OFF_MAX)
			return false;
		type = data + l4_off;
		if ((void *)(type + 1) > data_end || AIGW_ICMP4_ERR_TYPE(*type))
			return false;
	}
	return true;
}

/* May an ICMPv6 error be sent about the frame? RFC 4443 2.4(e): Packet Too
 * Big is also sent for multicast destinations. */
static __always_inline bool aigw_icmp6_allowed(void *data, void *data_end, const struct aigw_pkt *p,
					       bool too_big)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6;
	const __u64 *s;

	if ((void *)(eth + 1) > data_end || p->l3_off > AIGW_CSUM_OFF_MAX)
		return false;
	ip6 = data + p->l3_off;
	if ((void *)(ip6 + 1) > data_end)
		return false;
	if (!too_big && (eth->h_dest[0] & 1))
		return false;
	s = (const __u64 *)&ip6->saddr;
	if (!(s[0] | s[1]) || ip6->saddr.in6_u.u6_addr8[0] == AIGW_IPV6_MCAST_BYTE)
		return false;
	if (!too_big && ip6->daddr.in6_u.u6_addr8[0] == AIGW_IPV6_MCAST_BYTE)
		return false;
	if (p->l4_proto == NEXTHDR_ICMPV6) {
		__u32 l4_off = p->l4_off;
		__u8 *type;

		AIGW_BARRIER_VAR(l4_off);
		if (!l4_off || l4_off > AIGW_L4_OFF_MAX)
			return false;
		type = data + l4_off;
		if ((void *)(type + 1) > data_end || *type < AIGW_ICMP6_INFO_MIN)
			return false;
	}
	return true;
}

/*
 * Rebuild the frame as [L2][hdrs_len bytes for IP + ICMP][quote_len bytes of
 * the offending IP packet]: sums the quote into *qsum, cuts the tail, grows
 * the head and writes the L2 header back with the addresses swapped (the
 * VLAN tag, if any, kept). The caller fills in the IP and ICMP headers.
 */
static __always_inline int aigw_icmp_reshape(struct __ctx_buff *ctx, __u32 l3_off, __u32 quote_len,
					     __u32 hdrs_len, __u64 *qsum)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	struct ethhdr *eth = data;
	struct ethhdr l2;
	__be32 tag = 0; /* 802.1Q TCI + encapsulated EtherType */
	long sum;
	__u32 frame, keep;

	if ((void *)(eth + 1) > data_end)
		return AIGW_ICMP_FAILED;
	__builtin_memcpy(l2.h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(l2.h_source, eth->h_dest, ETH_ALEN);
	l2.h_proto = eth->h_proto;
	if (l3_off > ETH_HLEN) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return AIGW_ICMP_FAILED;
		tag = *(__be32 *)vh;
	}
	/* A packet shorter than the quote it announces is not answered; the
	 * frame is still unchanged. */
	sum = aigw_csum_pkt(ctx, l3_off, quote_len);
	if (sum < 0)
		return AIGW_ICMP_SUPPRESSED;
	*qsum = sum;

	frame = data_end - data;
	keep = l3_off + quote_len;
	if (frame > keep && ctx_adjust_tail(ctx, (int)keep - (int)frame))
		return AIGW_ICMP_FAILED;
	if (ctx_adjust_head(ctx, -(int)hdrs_len))
		return AIGW_ICMP_FAILED;

	data = ctx_data(ctx);
	data_end = ctx_data_end(ctx);
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return AIGW_ICMP_FAILED;
	__builtin_memcpy(eth, &l2, sizeof(l2));
	if (l3_off > ETH_HLEN) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return AIGW_ICMP_FAILED;
		*(__be32 *)vh = tag;
	}
	return AIGW_ICMP_SENT;
}

/* Turn the frame into an ICMPv4 error about the IPv4 packet it carries.
 * info: the ICMP header's second word (next-hop MTU for code 4), host order. */
static __always_inline int aigw_icmp4_send(struct __ctx_buff *ctx, const struct aigw_pkt *p, __be32 src,
					   __u8 type, __u8 code, __u32 info)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	__u32 l3_off = p->l3_off;
	__u32 quote = p->l3_len;
	struct icmphdr *icmp;
	struct iphdr *ip;
	__be32 dst;
	__u64 sum;
	int rc;

	if (!aigw_icmp4_allowed(data, data_end, p))
		return AIGW_ICMP_SUPPRESSED;
	if (l3_off > AIGW_CSUM_OFF_MAX)
		return AIGW_ICMP_SUPPRESSED;
	ip = data + l3_off;
	if ((void *)(ip + 1) > data_end)
		return AIGW_ICMP_SUPPRESSED;
	dst = ip->saddr;
	if (quote > AIGW_ICMP4_QUOTE_MAX)
		quote = AIGW_ICMP4_QUOTE_MAX;

	rc = aigw_icmp_reshape(ctx, l3_off, quote, AIGW_ICMP4_HDRS, &sum);
	if (rc != AIGW_ICMP_SENT)
		return rc;

	data = ctx_data(ctx);
	data_end = ctx_data_end(ctx);
	ip = data + l3_off;
	icmp = (void *)(ip + 1);
	if ((void *)(icmp + 1) > data_end)
		return AIGW_ICMP_FAILED;

	*(__u8 *)ip = AIGW_IPV4_VERSION_IHL;
	ip->tos = AIGW_IPTOS_PREC_INTERNETCONTROL;
	ip->tot_len = bpf_htons(AIGW_ICMP4_HDRS + quote);
	ip->id = (__be16)bpf_get_prandom_u32();
	ip->frag_off = 0;
	ip->ttl = AIGW_ICMP_TTL;
	ip->protocol = IPPROTO_ICMP_;
	ip->check = 0;
	ip->saddr = src;
	ip->daddr = dst;
	ip->check = aigw_ipv4_csum(ip);

	icmp->type = type;
	icmp->code = code;
	icmp->checksum = 0;
	icmp->un.gateway = bpf_htonl(info);
	sum += ((__u32 *)icmp)[0];
	sum += ((__u32 *)icmp)[1];
	icmp->checksum = aigw_csum_fold64(sum);
	return AIGW_ICMP_SENT;
}

/* Turn the frame into an ICMPv6 error about the IPv6 packet it carries.
 * info: the ICMPv6 header's second word (MTU for Packet Too Big, pointer for
 * Parameter Problem), host order. */
static __always_inline int aigw_icmp6_send(struct __ctx_buff *ctx, const struct aigw_pkt *p,
					   const __u8 *src, __u8 type, __u8 code, __u32 info)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	__u32 l3_off = p->l3_off;
	__u32 quote = p->l3_len;
	struct icmp6hdr *icmp6;
	struct ipv6hdr *ip6;
	struct in6_addr dst;
	__u32 *w;
	__u64 sum;
	int rc;

	if (!aigw_icmp6_allowed(data, data_end, p, type == ICMPV6_PKT_TOOBIG_))
		return AIGW_ICMP_SUPPRESSED;
	if (l3_off > AIGW_CSUM_OFF_MAX)
		return AIGW_ICMP_SUPPRESSED;
	ip6 = data + l3_off;
	if ((void *)(ip6 + 1) > data_end)
		return AIGW_ICMP_SUPPRESSED;
	__builtin_memcpy(&dst, &ip6->saddr, sizeof(dst));
	if (quote > AIGW_ICMP6_QUOTE_MAX)
		quote = AIGW_ICMP6_QUOTE_MAX;

	rc = aigw_icmp_reshape(ctx, l3_off, quote, AIGW_ICMP6_HDRS, &sum);
	if (rc != AIGW_ICMP_SENT)
		return rc;

	data = ctx_data(ctx);
	data_end = ctx_data_end(ctx);
	ip6 = data + l3_off;
	icmp6 = (void *)(ip6 + 1);
	if ((void *)(icmp6 + 1) > data_end)
		return AIGW_ICMP_FAILED;

	*(__be32 *)ip6 = bpf_htonl(AIGW_IPV6_FIRST_WORD);
	ip6->payload_len = bpf_htons((__u16)(sizeof(*icmp6) + quote));
	ip6->nexthdr = NEXTHDR_ICMPV6;
	ip6->hop_limit = AIGW_ICMP_TTL;
	__builtin_memcpy(&ip6->saddr, src, sizeof(ip6->saddr));
	__builtin_memcpy(&ip6->daddr, &dst, sizeof(ip6->daddr));

	icmp6->icmp6_type = type;
	icmp6->icmp6_code = code;
	icmp6->icmp6_cksum = 0;
	icmp6->icmp6_dataun.un_data32[0] = bpf_htonl(info);

	/* Pseudo-header (RFC 8200 8.1): addresses, upper-layer length, next header. */
	w = (__u32 *)&ip6->saddr;
#pragma unroll
	for (int i = 0; i < 2 * sizeof(struct in6_addr) / sizeof(__u32); i++)
		sum += w[i];
	sum += bpf_htonl((__u32)(sizeof(*icmp6) + quote));
	sum += bpf_htonl(NEXTHDR_ICMPV6);
	sum += ((__u32 *)icmp6)[0];
	sum += ((__u32 *)icmp6)[1];
	icmp6->icmp6_cksum = aigw_csum_fold64(sum);
	return AIGW_ICMP_SENT;
}

/* Token bucket per CPU (like the kernel's icmp_msgs_per_sec): errors built
 * in XDP bypass the kernel's own ICMP rate limits, so they get one here. */
static __always_inline bool aigw_icmp_rate_ok(void)
{
	__u32 zero = 0;
	struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);
	struct aigw_icmp_bucket *b = bpf_map_lookup_elem(&aigw_icmp_bucket, &zero);
	__u64 now, cost, cap;

	if (!g || !b)
		return false;
	if (!g->icmp_rate)
		return true;
	now = bpf_ktime_get_ns();
	cost = 1000000000ULL / g->icmp_rate;
	cap = cost * (g->icmp_burst ? g->icmp_burst : 1);
	b->credit_ns += now - b->last_ns;
	b->last_ns = now;
	if (b->credit_ns > cap)
		b->credit_ns = cap;
	if (b->credit_ns < cost)
		return false;
	b->credit_ns -= cost;
	return true;
}

/* What the error is about. */
enum aigw_icmp_kind {
	AIGW_ICMP_KIND_TTL = 0,     /* Time Exceeded in transit */
	AIGW_ICMP_KIND_TOO_BIG = 1, /* Fragmentation Needed (DF) / Packet Too Big */
	AIGW_ICMP_KIND_PARAM = 2,   /* ICMPv6 Parameter Problem, erroneous header field */
};

/*
 * Answer the IPv4/IPv6 packet in the frame (as parsed into *p) with an ICMP
 * error from the interface's address: Time Exceeded; Fragmentation Needed /
 * Packet Too Big announcing info (the MTU); Parameter Problem (IPv6 only)
 * pointing info bytes into the packet. The caller checked that the
 * interface has an address of the packet's family. Returns enum
 * aigw_icmp_rc. A global function: verified once, however many paths lead
 * here.
 */
__noinline int aigw_icmp_error(struct __ctx_buff *ctx, const struct aigw_pkt *p,
			       const struct aigw_iface_cfg *cfg, __u32 kind, __u32 info)
{
	if (!p || !cfg)
		return AIGW_ICMP_FAILED;
	if (kind == AIGW_ICMP_KIND_PARAM && p->l3_proto != ETH_P_IPV6)
		return AIGW_ICMP_SUPPRESSED;
	if (!aigw_icmp_rate_ok()) {
		aigw_event(AIGW_EV_ICMP_RATELIMITED, 0);
		return AIGW_ICMP_SUPPRESSED;
	}
	if (p->l3_proto == ETH_P_IP) {
		if (kind == AIGW_ICMP_KIND_TTL)
			return aigw_icmp4_send(ctx, p, cfg->addr4, ICMP_TIME_EXCEEDED_, 0, 0);
		return aigw_icmp4_send(ctx, p, cfg->addr4, ICMP_DEST_UNREACH_, ICMP_FRAG_NEEDED_, info);
	}
	if (p->l3_proto != ETH_P_IPV6)
		return AIGW_ICMP_SUPPRESSED;
	if (kind == AIGW_ICMP_KIND_TTL)
		return aigw_icmp6_send(ctx, p, cfg->addr6, ICMPV6_TIME_EXCEED_, 0, 0);
	if (kind == AIGW_ICMP_KIND_PARAM)
		return aigw_icmp6_send(ctx, p, cfg->addr6, ICMPV6_PARAMPROB_, ICMPV6_HDRFIELD_, info);
	return aigw_icmp6_send(ctx, p, cfg->addr6, ICMPV6_PKT_TOOBIG_, 0, info);
}

/* Does the interface have a source address for an ICMP error about p? */
static __always_inline bool aigw_icmp_source(const struct aigw_iface_cfg *cfg,
					     const struct aigw_pkt *p)
{
	if (p->l3_proto == ETH_P_IP)
		return cfg->addr4;
	return aigw_addr6_set(cfg->addr6);
}

/* Verdict after an ICMP error attempt that leaves by the ingress port:
 * XDP_TX with sent_ev counted, or a drop for suppressed_reason. */
static __always_inline int aigw_icmp_verdict(struct __ctx_buff *ctx, struct aigw_ctx *c, int rc,
					     __u32 sent_ev, __u32 suppressed_reason)
{
	if (rc == AIGW_ICMP_SENT) {
		aigw_event(sent_ev, c->rx_len);
		return aigw_ret_tx(c, ctx);
	}
	if (rc == AIGW_ICMP_SUPPRESSED)
		return aigw_ret_drop(c, suppressed_reason);
	return aigw_ret_drop(c, AIGW_DROP_HEADROOM);
}

#endif
