/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IP header fields that are not whole bytes: the first 32-bit word of an
 * IPv6 header, DSCP and ECN. Defined once for every program. */
#ifndef AIGW_BPF_IP_H
#define AIGW_BPF_IP_H

/* First 32-bit word of an IPv6 header (host order after bpf_ntohl):
 * version(4) traffic class(8) flow label(20). */
#define AIGW_IPV6_VERSION 6
#define AIGW_IPV6_VERSION_SHIFT 28
#define AIGW_IPV6_TCLASS_SHIFT 20
#define AIGW_IPV6_FLOWINFO_MASK 0x0fffffff /* traffic class + flow label */
#define AIGW_FLOWLABEL_MASK 0xfffff        /* flow label: the low 20 bits */

/* IPv4 TOS / IPv6 traffic class: DSCP in the upper 6 bits, ECN (RFC 3168)
 * in the lower 2. */
#define AIGW_DSCP_SHIFT 2
#define AIGW_ECN_MASK 0x3
#define AIGW_ECN_NOT_ECT 0x0
#define AIGW_ECN_ECT_1 0x1
#define AIGW_ECN_ECT_0 0x2
#define AIGW_ECN_CE 0x3

#endif
