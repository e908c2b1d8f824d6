/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Bounded packet access for headers at offsets only known at run time. */
#ifndef AIGW_BPF_PKT_H
#define AIGW_BPF_PKT_H

#include "lib/common.h"

/* Pointer to len bytes at offset off of the packet, or NULL if they are not
 * all there. len must be a compile-time constant. The verifier accepts
 * data + off only once off is provably well below 64 KiB: AIGW_L4_OFF_MAX
 * (common.h) is beyond any linear packet buffer, so it rejects nothing that
 * could be there. The barrier keeps the bound a plain compare on off itself:
 * for a 16-bit offset clang otherwise turns "> 0x7fff" into a sign test on
 * a copy, which leaves off unbounded for the verifier. */
static __always_inline void *aigw_pkt_ptr(struct __ctx_buff *ctx, __u32 off, __u32 len)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	void *ptr;

	AIGW_BARRIER_VAR(off);
	if (off > AIGW_L4_OFF_MAX)
		return NULL;
	ptr = data + off;
	if (ptr + len > data_end)
		return NULL;
	return ptr;
}

/* Drop what follows the IP packet (Ethernet padding, trailing garbage):
 * make the frame end at len, where the IP packet ends, as the kernel's
 * ip_rcv/ipv6_rcv trim it (pskb_trim_rcsum). Invalidates packet pointers.
 * Returns 0, or non-zero when the tail could not be moved. */
static __always_inline int aigw_trim_to(struct __ctx_buff *ctx, __u32 len)
{
	__u32 frame = ctx_data_end(ctx) - ctx_data(ctx);

	if (frame > len)
		return ctx_adjust_tail(ctx, (int)len - (int)frame);
	return 0;
}

#endif
