/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * RoCEv2 (InfiniBand Architecture Specification, Annex A17): IB transport
 * over UDP to port 4791. The Base Transport Header follows the UDP header:
 * opcode, flags, partition key, then the 24-bit destination queue pair
 * (bytes 5-7) and the 24-bit packet sequence number (bytes 9-11).
 */
#ifndef AIGW_BPF_ROCE_H
#define AIGW_BPF_ROCE_H

#include "lib/pkt.h"

#define AIGW_ROCEV2_PORT 4791
#define AIGW_UDP_HLEN 8
#define AIGW_BTH_LEN 12
#define AIGW_BTH_DQP_OFF 5 /* 3 bytes, network order */

/* The destination QP of a RoCEv2 datagram whose UDP header is at l4_off
 * and whose IP packet ends at l3_end, into dqp[3]; left 0 when the BTH is
 * not all inside the packet (a truncated datagram: forwarded as any other,
 * never keyed on Ethernet padding). */
static __always_inline void aigw_roce_dqp(struct __ctx_buff *ctx, __u32 l4_off, __u32 l3_end,
					  __u8 *dqp)
{
	const __u8 *bth;

	if (l4_off + AIGW_UDP_HLEN + AIGW_BTH_LEN > l3_end)
		return;
	bth = aigw_pkt_ptr(ctx, l4_off + AIGW_UDP_HLEN, AIGW_BTH_LEN);
	if (!bth)
		return;
	dqp[0] = bth[AIGW_BTH_DQP_OFF];
	dqp[1] = bth[AIGW_BTH_DQP_OFF + 1];
	dqp[2] = bth[AIGW_BTH_DQP_OFF + 2];
}

#endif
