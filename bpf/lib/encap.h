/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* SRv6 H.Encaps / H.Encaps.Red (RFC 8986 5.1, 5.2) from the policy template
 * the agent prebuilt (see struct aigw_policy in abi.h): copy the outer IPv6
 * header and SRH, then fill in the per-packet fields. */
#ifndef AIGW_BPF_ENCAP_H
#define AIGW_BPF_ENCAP_H

#include "lib/common.h"
#include "lib/ip.h"
#include "lib/pkt.h"

/* Where the template keeps the outer addresses (the FIB lookup reads them). */
#define AIGW_TMPL_SADDR_OFF offsetof(struct ipv6hdr, saddr)
#define AIGW_TMPL_DADDR_OFF offsetof(struct ipv6hdr, daddr)

#define AIGW_ENCAP_CHUNK sizeof(__u64) /* template copy unit */
#define AIGW_ENCAP_FIXED_UNITS (AIGW_IPV6_HDR_LEN / AIGW_ENCAP_CHUNK)
#define AIGW_ENCAP_MAX_UNITS (AIGW_MAX_ENCAP_LEN / AIGW_ENCAP_CHUNK)
#define AIGW_ENCAP_BLOCK 8
#define AIGW_ENCAP_BLOCKS \
	((AIGW_ENCAP_MAX_UNITS - AIGW_ENCAP_FIXED_UNITS + AIGW_ENCAP_BLOCK - 1) / AIGW_ENCAP_BLOCK)

/* What the outer headers may take of the XDP headroom: 256 bytes less the
 * frame metadata (abi.h, AIGW_MAX_ENCAP_LEN). */
#define AIGW_ENCAP_ROOM 216
/* An extension header inserted after the outer IPv6 header (the APN
 * options header, lib/apn.h): at most this long, a multiple of 8. */
#define AIGW_ENCAP_EXT_MAX 24
_Static_assert(AIGW_MAX_ENCAP_LEN <= AIGW_ENCAP_ROOM, "template fits the headroom");
_Static_assert(AIGW_ENCAP_EXT_MAX % AIGW_ENCAP_CHUNK == 0, "extension header units");

/* Per-packet fields of the outer header. */
struct aigw_encap_args {
	__u32 l2_len;    /* Ethernet (+ 802.1Q) header length of the frame as received */
	__u16 inner_len; /* inner IP packet length (header + payload) */
	__u8 nexthdr;    /* NEXTHDR_IPV4 / NEXTHDR_IPV6 */
	__u8 tclass;     /* inner DSCP + ECN, copied to the outer traffic class */
	__u32 flowlabel; /* 20-bit outer flow label */
	__u8 ext_len;    /* bytes of ext to insert after the outer IPv6 header, 0 = none */
	__u8 ext_type;   /* its protocol number (NEXTHDR_HOP / NEXTHDR_DEST) */
	__u16 pad;
	__u8 ext[AIGW_ENCAP_EXT_MAX]; /* the header; its Next Header byte is filled in here */
};

/* A template the datapath can apply as is: flagged valid, a whole number of
 * 8-byte units that fits in hdr, and an SRH exactly when has_srh says so. */
static __always_inline bool aigw_policy_usable(const struct aigw_policy *pol)
{
	__u32 len = pol->encap_len;

	if (!(pol->flags & AIGW_POL_F_VALID))
		return false;
	if (len > AIGW_MAX_ENCAP_LEN || len % AIGW_ENCAP_CHUNK)
		return false;
	if (pol->has_srh)
		return len >= AIGW_IPV6_HDR_LEN + AIGW_SRH_FIXED_LEN;
	return len == AIGW_IPV6_HDR_LEN;
}

/*
 * Push the policy's outer headers in front of the inner packet.
 *   in:  [Ethernet (+ 802.1Q tag)][inner IP packet, no trailing padding]
 *   out: [Ethernet, same MACs, 0x86DD][outer IPv6][ext][SRH][inner IP packet]
 * with ext (a->ext_len bytes, the APN options header) and the SRH each
 * present or not. The frame leaves untagged, so a tag's 4 bytes are reused
 * for the outer header. The caller has checked that template + ext fits
 * AIGW_ENCAP_ROOM. Returns 0, or -1 when the headroom could not be grown.
 * A global function: verified once, however many paths lead here.
 */
__noinline int aigw_encap(struct __ctx_buff *ctx, const struct aigw_policy *pol,
			  const struct aigw_encap_args *a)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	__u32 encap_len, units, ext_len;
	__u8 macs[2 * ETH_ALEN];
	struct ipv6hdr *ip6;
	struct ethhdr *eth;
	__u64 *dst, *srh_dst;
	const __u64 *src, *ext;
	__u8 after_ext;

	if (!pol || !a || data + ETH_HLEN > data_end)
		return -1;
	src = (const __u64 *)pol->hdr;
	encap_len = pol->encap_len;
	units = encap_len / AIGW_ENCAP_CHUNK;
	ext_len = a->ext_len;
	if (ext_len > AIGW_ENCAP_EXT_MAX || ext_len % AIGW_ENCAP_CHUNK)
		return -1;
	__builtin_memcpy(macs, data, sizeof(macs));
	if (ctx_adjust_head(ctx, -(int)(encap_len + ext_len - (a->l2_len - ETH_HLEN))))
		return -1;

	data = ctx_data(ctx);
	data_end = ctx_data_end(ctx);
	eth = data;
	ip6 = (void *)(eth + 1);
	if ((void *)(ip6 + 1) > data_end)
		return -1;
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = bpf_htons(ETH_P_IPV6);

	/* Template: the IPv6 header always, then the SRH in 8-byte units,
	 * after ext. The frame grew by template + ext, so the per-unit bound
	 * check (for the verifier) never stops the copy short: that is checked
	 * once here. */
	if ((void *)ip6 + encap_len + ext_len > data_end)
		return -1;
	dst = (__u64 *)ip6;
	srh_dst = (__u64 *)((__u8 *)ip6 + ext_len);
#pragma unroll
	for (int i = 0; i < AIGW_ENCAP_FIXED_UNITS; i++)
		dst[i] = src[i];
	/* clang fully unrolls a loop with an early exit only up to 8 trips:
	 * hence blocks of 8 units. */
#pragma unroll
	for (int b = 0; b < AIGW_ENCAP_BLOCKS; b++) {
#pragma unroll
		for (int j = 0; j < AIGW_ENCAP_BLOCK; j++) {
			int i = AIGW_ENCAP_FIXED_UNITS + b * AIGW_ENCAP_BLOCK + j;

			if (i >= AIGW_ENCAP_MAX_UNITS || i >= units ||
			    (void *)(srh_dst + i + 1) > data_end)
				goto copied;
			srh_dst[i] = src[i];
		}
	}
copied:
	/* The outer header's own next header: the SRH (template) or the inner
	 * packet; with ext, that moves into ext and the IPv6 header points
	 * at ext. */
	after_ext = pol->has_srh ? ip6->nexthdr : a->nexthdr;
	if (ext_len) {
		ext = (const __u64 *)a->ext;
#pragma unroll
		for (int i = 0; i < AIGW_ENCAP_EXT_MAX / AIGW_ENCAP_CHUNK; i++) {
			if (i >= ext_len / AIGW_ENCAP_CHUNK ||
			    (void *)(dst + AIGW_ENCAP_FIXED_UNITS + i + 1) > data_end)
				break;
			dst[AIGW_ENCAP_FIXED_UNITS + i] = ext[i];
		}
		if ((void *)(ip6 + 1) + 1 > data_end)
			return -1;
		*(__u8 *)(ip6 + 1) = after_ext;
		ip6->nexthdr = a->ext_type;
	} else {
		ip6->nexthdr = after_ext;
	}

	/* Per packet: traffic class, flow label, payload length, next header. */
	*(__be32 *)ip6 = bpf_htonl((AIGW_IPV6_VERSION << AIGW_IPV6_VERSION_SHIFT) |
				   ((__u32)a->tclass << AIGW_IPV6_TCLASS_SHIFT) |
				   (a->flowlabel & AIGW_FLOWLABEL_MASK));
	ip6->payload_len = bpf_htons(encap_len - AIGW_IPV6_HDR_LEN + ext_len + a->inner_len);
	if (pol->has_srh) {
		struct ipv6_sr_hdr *srh = (void *)((__u8 *)(ip6 + 1) + ext_len);

		if ((void *)(srh + 1) > data_end)
			return -1;
		srh->nexthdr = a->nexthdr;
	}
	return 0;
}

#endif
