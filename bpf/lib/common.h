/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Common includes and protocol constants for the aigw eBPF programs. The
 * packet context (__ctx_buff, ctx_*) comes from the one lib/ctx header the
 * entry program included first. */
#ifndef AIGW_BPF_COMMON_H
#define AIGW_BPF_COMMON_H

#ifndef AIGW_BPF_CTX_H
#error "include lib/ctx/xdp.h or lib/ctx/skb.h before any other bpf/lib header"
#endif

#include <bpf/bpf_endian.h>
#include <aigw/abi.h>
#include "lib/barrier.h"

/* Constants vmlinux.h does not carry (they are #defines in uapi). */
#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define VLAN_HLEN 4
#define VLAN_VID_MASK 0x0fff

#define IPV4_HLEN 20
#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_FRAG_OFFSET 0x1fff

#define NEXTHDR_HOP 0
#define NEXTHDR_TCP 6
#define NEXTHDR_UDP 17
#define NEXTHDR_IPV4 4
#define NEXTHDR_IPV6 41
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_ICMPV6 58
#define NEXTHDR_NONE 59
#define NEXTHDR_DEST 60
#define IPPROTO_ICMP_ 1

#define IPV6_SRCRT_TYPE_4 4 /* SRH routing type */
#define AIGW_EXTHDR_FIXED 2 /* extension header: next header + hdr ext len */
#define AIGW_FRAG_HLEN 8    /* IPv6 Fragment header */
#define AIGW_ICMP_HLEN 8    /* ICMP / ICMPv6 header: type, code, checksum, 4 bytes */

/* Upper bound for header offsets used in variable-offset packet access: far
 * beyond any real header stack, small enough to keep the verifier's offset
 * arithmetic bounded. Headers further in are left alone. */
#define AIGW_L4_OFF_MAX 0x7fff

#define ICMP_DEST_UNREACH_ 3
#define ICMP_FRAG_NEEDED_ 4
#define ICMP_TIME_EXCEEDED_ 11
#define ICMPV6_PKT_TOOBIG_ 2
#define ICMPV6_TIME_EXCEED_ 3
#define ICMPV6_PARAMPROB_ 4
#define ICMPV6_HDRFIELD_ 0 /* Parameter Problem: erroneous header field */

#define TCP_FLAG_SYN_ 0x02
#define TCPOPT_EOL_ 0
#define TCPOPT_NOP_ 1
#define TCPOPT_MSS_ 2

#define AF_INET_ 2
#define AF_INET6_ 10

#endif
