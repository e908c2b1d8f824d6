/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Segment Routing Header (RFC 8754): validation, and the RFC 8986 End
 * operation (advance to the next segment) on a packet lib/parse.h has
 * walked. */
#ifndef AIGW_BPF_SRH_H
#define AIGW_BPF_SRH_H

#include "lib/pkt.h"

/* RFC 8754 section 2, with the RFC's field names (Linux calls Last Entry
 * "first_segment"). */
struct aigw_srh {
	__u8 nexthdr;
	__u8 hdrlen;        /* Hdr Ext Len: header bytes / 8 - 1 */
	__u8 type;          /* Routing Type, IPV6_SRCRT_TYPE_4 */
	__u8 segments_left; /* index of the active segment */
	__u8 last_entry;    /* index of the last entry of the segment list */
	__u8 flags;
	__be16 tag;
	struct in6_addr segments[]; /* SegList[0] is the LAST segment */
};
_Static_assert(sizeof(struct aigw_srh) == AIGW_SRH_FIXED_LEN, "SRH fixed part");
_Static_assert(sizeof(struct in6_addr) == AIGW_SID_LEN, "SID size");

/* RFC 8754 4.3.1.1, RFC 8986 4.1 S08-S09: the segment list (Last Entry + 1
 * segments) must fit in Hdr Ext Len, and Segments Left may point at most one
 * entry past it: SL = LE + 1 is what H.Encaps.Red emits, the first segment
 * being carried only in the destination address. Returns 0 or a drop reason. */
static __always_inline int aigw_srh_check(const struct aigw_srh *srh)
{
	__u32 hdr_bytes = ((__u32)srh->hdrlen + 1) * 8;
	__u32 nsegs = (__u32)srh->last_entry + 1;

	if (AIGW_SRH_FIXED_LEN + nsegs * AIGW_SID_LEN > hdr_bytes)
		return AIGW_DROP_SRH_BAD_LEN;
	if (srh->segments_left > nsegs)
		return AIGW_DROP_SRH_SL_EXCEEDS_LE;
	return 0;
}

/* RFC 8986 4.1 S12-S14: decrement Hop Limit and Segments Left, and make
 * SegList[Segments Left] the destination. The caller has checked the SRH
 * (aigw_srh_check), Segments Left > 0 and Hop Limit > 1; srh is the header
 * at offset srh_off. Returns 0 or a drop reason. */
static __always_inline int aigw_srh_end(struct __ctx_buff *ctx, struct ipv6hdr *ip6,
					struct aigw_srh *srh, __u32 srh_off)
{
	__u32 sl = srh->segments_left - 1;
	struct in6_addr *seg;

	/* sl <= Last Entry, so the segment lies inside the SRH, which the
	 * parser has seen complete; the check is for the verifier. */
	seg = aigw_pkt_ptr(ctx, srh_off + offsetof(struct aigw_srh, segments) + sl * AIGW_SID_LEN,
			   AIGW_SID_LEN);
	if (!seg)
		return AIGW_DROP_TRUNC_EXTHDR;
	ip6->hop_limit--;
	srh->segments_left = sl;
	ip6->daddr = *seg;
	return 0;
}

#endif
