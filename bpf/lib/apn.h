/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* APN6 (draft-li-apn-header, draft-li-6man-apn-ipv6-encap): the APN option
 * in an IPv6 Hop-by-Hop or Destination Options header.
 *
 *   option:  type (configurable) | length | APN-ID-Type | Flags |
 *            APN-Para-Type (16-bit bitmap) | APN ID (4/8/16 bytes) | parameters
 *
 * Finding the option in a host's packet, overwriting it with PadN (strip),
 * and building the options header the headend imposes on the outer packet.
 * Packet bytes are read with ctx_load_bytes (bpf_xdp/skb_load_bytes): the options walk has run-time
 * offsets and lengths, and the helper keeps it free of pointer bounds. */
#ifndef AIGW_BPF_APN_H
#define AIGW_BPF_APN_H

#include "lib/stats.h"

#define AIGW_OPT_PAD1 0           /* RFC 8200 4.2 */
#define AIGW_OPT_PADN 1
#define AIGW_OPT_TLV_HLEN 2       /* option type + option data length */
#define AIGW_OPTS_HDR_FIXED 2     /* options header: next header + hdr ext len */
#define AIGW_APN_DATA_FIXED 4     /* APN-ID-Type, Flags, APN-Para-Type */
#define AIGW_APN_MAX_TLVS 16      /* options examined per header before giving up */
#define AIGW_APN_ZERO_CHUNK 64    /* strip: bytes zeroed per helper call */
#define AIGW_APN_ZERO_CHUNKS 4    /* 4 * 64 > 255, the largest option data */
/* Imposed header: 2 + 2 + 4 + 16 bytes at most, a multiple of 8. */
#define AIGW_APN_HDR_MAX 24
_Static_assert(AIGW_OPTS_HDR_FIXED + AIGW_OPT_TLV_HLEN + AIGW_APN_DATA_FIXED + AIGW_APN_MAX_ID_LEN <=
		       AIGW_APN_HDR_MAX && AIGW_APN_HDR_MAX % 8 == 0,
	       "imposed APN header bound");

enum aigw_apn_status {
	AIGW_APN_NONE = 0,
	AIGW_APN_FOUND = 1,
	AIGW_APN_MALFORMED = 2,
};

/* An APN option as found in a packet. */
struct aigw_apn {
	__u8 len;       /* ID bytes: 4, 8 or 16; 0 = no (usable) APN */
	__u8 flags;
	__u16 para;     /* APN-Para-Type bitmap (host order): parameters that follow the ID */
	__u16 opt_off;  /* packet offset of the option's type byte, 0 = no option */
	__u8 opt_len;   /* its Opt Data Len */
	__u8 pad;
	__u8 id[AIGW_APN_MAX_ID_LEN];
};

/* ID length for an APN-ID-Type, 0 for an unknown type. */
static __always_inline __u32 aigw_apn_id_len(__u32 type)
{
	switch (type) {
	case AIGW_APN_ID_32:
		return 4;
	case AIGW_APN_ID_64:
		return 8;
	case AIGW_APN_ID_128:
		return 16;
	}
	return 0;
}

static __always_inline __u32 aigw_apn_id_type(__u32 len)
{
	return len == 4 ? AIGW_APN_ID_32 : len == 8 ? AIGW_APN_ID_64 : len == 16 ? AIGW_APN_ID_128 : 0;
}

/* Pad1 and PadN are padding, never an APN option type. */
static __always_inline bool aigw_apn_type_usable(__u32 opt_type)
{
	return opt_type != AIGW_OPT_PAD1 && opt_type != AIGW_OPT_PADN;
}

/*
 * Look for the option opt_type in the options header (Hop-by-Hop or
 * Destination Options) at hdr_off, ending at end. FOUND fills *a.
 * MALFORMED: an option of that type whose length is inconsistent (running
 * past the header, shorter than its ID, unknown ID type); a->opt_off still
 * names it when it lies inside the header.
 */
static __always_inline int aigw_apn_in_hdr(struct __ctx_buff *ctx, __u32 hdr_off, __u32 end,
					   __u32 opt_type, struct aigw_apn *a)
{
	__u8 tl[AIGW_OPT_TLV_HLEN];
	__u8 fixed[AIGW_APN_DATA_FIXED];
	__u32 off = hdr_off + AIGW_OPTS_HDR_FIXED, idlen;

	for (int i = 0; i < AIGW_APN_MAX_TLVS; i++) {
		if (off >= end || off > AIGW_L4_OFF_MAX)
			return AIGW_APN_NONE;
		if (ctx_load_bytes(ctx, off, tl, 1))
			return AIGW_APN_NONE;
		if (tl[0] == AIGW_OPT_PAD1) {
			off++;
			continue;
		}
		if (off + AIGW_OPT_TLV_HLEN > end || ctx_load_bytes(ctx, off, tl, sizeof(tl)))
			return tl[0] == opt_type ? AIGW_APN_MALFORMED : AIGW_APN_NONE;
		if (off + AIGW_OPT_TLV_HLEN + tl[1] > end)
			return tl[0] == opt_type ? AIGW_APN_MALFORMED : AIGW_APN_NONE;
		if (tl[0] != opt_type) {
			off += AIGW_OPT_TLV_HLEN + tl[1];
			continue;
		}
		a->opt_off = off;
		a->opt_len = tl[1];
		if (tl[1] < AIGW_APN_DATA_FIXED ||
		    ctx_load_bytes(ctx, off + AIGW_OPT_TLV_HLEN, fixed, sizeof(fixed)))
			return AIGW_APN_MALFORMED;
		idlen = aigw_apn_id_len(fixed[0]);
		/* The ID must be there; parameters (if the bitmap announces any)
		 * are kept opaque. */
		if (!idlen || idlen > AIGW_APN_MAX_ID_LEN || tl[1] < AIGW_APN_DATA_FIXED + idlen)
			return AIGW_APN_MALFORMED;
		if (ctx_load_bytes(ctx, off + AIGW_OPT_TLV_HLEN + AIGW_APN_DATA_FIXED, a->id,
				       idlen))
			return AIGW_APN_MALFORMED;
		a->len = idlen;
		a->flags = fixed[1];
		a->para = ((__u16)fixed[2] << 8) | fixed[3];
		return AIGW_APN_FOUND;
	}
	return AIGW_APN_NONE;
}

/*
 * The APN option of the IPv6 packet at ip6_off: in its Hop-by-Hop header,
 * else in a Destination Options header before the upper layer (Routing
 * headers are walked over; a Fragment or AH header ends the search). Only
 * headers inside the payload length count: what the frame carries past it
 * is no header of the packet. The walk is its own, over at most
 * AIGW_MAX_EXT_HDRS headers: the parser (lib/parse.h) stays as cheap to
 * verify as it was. A global function.
 */
__noinline int aigw_apn_find(struct __ctx_buff *ctx, __u32 ip6_off, __u32 opt_type, struct aigw_apn *a)
{
	/* Payload Length and Next Header, adjacent (RFC 8200 section 3) */
	__u8 pn[sizeof(__be16) + sizeof(__u8)];
	__u8 eh[AIGW_OPTS_HDR_FIXED];
	__u32 off, len, end;
	__u8 nh;
	int r;

	if (!a)
		return AIGW_APN_NONE;
	__builtin_memset(a, 0, sizeof(*a));
	if (!aigw_apn_type_usable(opt_type) || ip6_off > AIGW_L4_OFF_MAX)
		return AIGW_APN_NONE;
	if (ctx_load_bytes(ctx, ip6_off + offsetof(struct ipv6hdr, payload_len), pn, sizeof(pn)))
		return AIGW_APN_NONE;
	nh = pn[sizeof(__be16)];
	off = ip6_off + AIGW_IPV6_HDR_LEN;
	end = off + ((__u32)pn[0] << 8 | pn[1]);
	for (int i = 0; i < AIGW_MAX_EXT_HDRS; i++) {
		if (nh != NEXTHDR_HOP && nh != NEXTHDR_DEST && nh != NEXTHDR_ROUTING)
			return AIGW_APN_NONE;
		if (off + sizeof(eh) > end || off > AIGW_L4_OFF_MAX ||
		    ctx_load_bytes(ctx, off, eh, sizeof(eh)))
			return AIGW_APN_NONE;
		len = ((__u32)eh[1] + 1) * 8;
		if (off + len > end)
			return AIGW_APN_NONE;
		if (nh != NEXTHDR_ROUTING) {
			r = aigw_apn_in_hdr(ctx, off, off + len, opt_type, a);
			if (r != AIGW_APN_NONE)
				return r;
		}
		nh = eh[0];
		off += len;
	}
	return AIGW_APN_NONE;
}

/* Strip: the option becomes a PadN of the same length with zero data, so
 * the header keeps its size and nothing of the host's ID leaves the site.
 * Options headers are outside the L4 pseudo-header: no checksum changes. */
__noinline int aigw_apn_strip(struct __ctx_buff *ctx, __u32 opt_off, __u32 opt_len)
{
	__u8 zero[AIGW_APN_ZERO_CHUNK];
	__u8 padn = AIGW_OPT_PADN;
	__u32 off = opt_off + AIGW_OPT_TLV_HLEN;

	if (!opt_off || opt_off > AIGW_L4_OFF_MAX || opt_len > 0xff)
		return -1;
	__builtin_memset(zero, 0, sizeof(zero));
	if (ctx_store_bytes(ctx, opt_off, &padn, sizeof(padn)))
		return -1;
	for (int i = 0; i < AIGW_APN_ZERO_CHUNKS; i++) {
		__u32 n = opt_len > AIGW_APN_ZERO_CHUNK ? AIGW_APN_ZERO_CHUNK : opt_len;

		if (!n)
			break;
		if (ctx_store_bytes(ctx, off, zero, n))
			return -1;
		off += n;
		opt_len -= n;
	}
	return 0;
}

/*
 * The APN of the IPv6 packet at ip6_off (aigw_apn_find). A malformed option
 * counts AIGW_EV_APN_MALFORMED and is treated as no APN (the packet goes on).
 * With strip, an option found (well-formed or not, if it lies inside its
 * header) is overwritten with PadN and counted AIGW_EV_APN_STRIPPED; the
 * result is then "no APN". Returns the APN ID length (0 = none), fills *a.
 */
static __always_inline __u32 aigw_apn_ingress(struct __ctx_buff *ctx, __u32 ip6_off, __u32 opt_type,
					      bool strip, __u32 ev_len, struct aigw_apn *a)
{
	int r = aigw_apn_find(ctx, ip6_off, opt_type, a);

	if (r == AIGW_APN_NONE)
		return 0;
	if (r == AIGW_APN_MALFORMED) {
		aigw_event(AIGW_EV_APN_MALFORMED, ev_len);
		a->len = 0;
	}
	if (strip && a->opt_off) {
		if (aigw_apn_strip(ctx, a->opt_off, a->opt_len) == 0)
			aigw_event(AIGW_EV_APN_STRIPPED, ev_len);
		a->len = 0;
	}
	return a->len;
}

/* Bytes of the options header carrying an APN ID of idlen bytes: the fixed
 * part, the option, padded to a multiple of 8 (RFC 8200 4.3). */
static __always_inline __u32 aigw_apn_hdr_len(__u32 idlen)
{
	return (AIGW_OPTS_HDR_FIXED + AIGW_OPT_TLV_HLEN + AIGW_APN_DATA_FIXED + idlen + 7) & ~7u;
}

/*
 * Build the options header that carries the APN ID id (idlen = 4, 8 or 16
 * bytes) into h (AIGW_APN_HDR_MAX bytes): next header 0 (the encapsulation
 * fills it in), the APN option with flags and APN-Para-Type 0, then Pad1 /
 * PadN up to a multiple of 8. Returns the header length, 0 for a bad idlen.
 */
static __always_inline __u32 aigw_apn_hdr_build(__u8 *h, __u32 opt_type, const __u8 *id,
						__u32 idlen)
{
	__u32 type = aigw_apn_id_type(idlen);
	__u32 len = aigw_apn_hdr_len(idlen);
	__u32 used = AIGW_OPTS_HDR_FIXED + AIGW_OPT_TLV_HLEN + AIGW_APN_DATA_FIXED + idlen;
	__u32 pad = len - used;

	if (!type || !aigw_apn_type_usable(opt_type))
		return 0;
	__builtin_memset(h, 0, AIGW_APN_HDR_MAX);
	h[1] = len / 8 - 1;
	h[2] = opt_type;
	h[3] = AIGW_APN_DATA_FIXED + idlen;
	h[4] = type;
	/* h[5] flags, h[6..7] APN-Para-Type: 0 */
#pragma unroll
	for (int i = 0; i < AIGW_APN_MAX_ID_LEN; i++)
		if (i < idlen)
			h[8 + i] = id[i];
	/* Padding: PadN (zero data) for 2 bytes or more, Pad1 (already 0) for one. */
	if (pad >= AIGW_OPT_TLV_HLEN && used + 1 < AIGW_APN_HDR_MAX) {
		h[used] = AIGW_OPT_PADN;
		h[used + 1] = pad - AIGW_OPT_TLV_HLEN;
	}
	return len;
}

#endif
