/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TCP MSS clamping for SYNs entering a tunnel: the encapsulation eats into
 * the path MTU, so tell both ends to send segments that still fit. */
#ifndef AIGW_BPF_MSS_H
#define AIGW_BPF_MSS_H

#include "lib/common.h"
#include "lib/csum.h"

#define AIGW_TCP_HLEN 20      /* TCP header without options */
#define AIGW_TCPOLEN_MSS 4

static __always_inline __u16 aigw_swab16(__u16 x)
{
	return (__u16)((x << 8) | (x >> 8));
}

/*
 * Walk the options of the TCP header at l4_off (at most 40 bytes, one
 * option per step) and lower an MSS option larger than mss to mss,
 * updating the TCP checksum incrementally. Returns 1 when the option was
 * rewritten, 0 otherwise (no MSS option, already small enough, malformed).
 * A global function: the verifier walks the option loop once, not once per
 * path that leads here.
 */
__noinline int aigw_mss_clamp(struct __ctx_buff *ctx, __u32 l4_off, __u32 mss)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	struct tcphdr *th;
	__u8 *opts;
	__u32 optlen, o = 0;

	if (l4_off > AIGW_L4_OFF_MAX)
		return 0;
	th = data + l4_off;
	if ((void *)(th + 1) > data_end)
		return 0;
	optlen = th->doff * 4;
	if (optlen <= AIGW_TCP_HLEN)
		return 0;
	optlen -= AIGW_TCP_HLEN;
	opts = (__u8 *)(th + 1);

	/* Bounded: o grows by at least one per step and stops at optlen <= 40.
	 * No step counter, so the verifier can merge the states of different
	 * option layouts. */
	while (o < optlen) {
		__u8 *op = opts + o;
		__u8 kind, len;

		if ((void *)(op + 1) > data_end)
			break;
		kind = op[0];
		if (kind == TCPOPT_EOL_)
			break;
		if (kind == TCPOPT_NOP_) {
			o++;
			continue;
		}
		if ((void *)(op + 2) > data_end)
			break;
		len = op[1];
		if (len < 2 || o + len > optlen)
			break;
		if (kind == TCPOPT_MSS_ && len == AIGW_TCPOLEN_MSS) {
			__u16 old, new;

			if ((void *)(op + AIGW_TCPOLEN_MSS) > data_end)
				break;
			if (((__u16)op[2] << 8 | op[3]) <= mss)
				return 0;
			/* The value as it sits in memory; at an odd offset from the
			 * TCP header its bytes land in the checksum swapped. */
			old = *(__u16 *)(op + 2);
			op[2] = mss >> 8;
			op[3] = mss & 0xff;
			new = *(__u16 *)(op + 2);
			if (o & 1) {
				old = aigw_swab16(old);
				new = aigw_swab16(new);
			}
			aigw_csum_replace2(&th->check, old, new);
			return 1;
		}
		o += len;
	}
	return 0;
}

#endif
