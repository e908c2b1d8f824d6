/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow hashing for the outer IPv6 flow label (RFC 6437/6438): the WAN
 * spreads encapsulated traffic over ECMP paths by (SA, DA, flow label), so
 * the label must differ per inner flow and stay constant within one. The
 * mixing is Bob Jenkins' lookup3 (as the kernel's jhash), over 32-bit words
 * taken as they sit in the packet. */
#ifndef AIGW_BPF_HASH_H
#define AIGW_BPF_HASH_H

#include "lib/common.h"
#include "lib/ip.h"

#define AIGW_HASH_INITVAL 0x61696777 /* "aigw"; any constant works */

static __always_inline __u32 aigw_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

/* lookup3 mix() and final() on three words. */
#define AIGW_HASH_MIX(a, b, c)                                                                     \
	do {                                                                                       \
		a -= c; a ^= aigw_rol32(c, 4); c += b;                                             \
		b -= a; b ^= aigw_rol32(a, 6); a += c;                                             \
		c -= b; c ^= aigw_rol32(b, 8); b += a;                                             \
		a -= c; a ^= aigw_rol32(c, 16); c += b;                                            \
		b -= a; b ^= aigw_rol32(a, 19); a += c;                                            \
		c -= b; c ^= aigw_rol32(b, 4); b += a;                                             \
	} while (0)

#define AIGW_HASH_FINAL(a, b, c)                                                                   \
	do {                                                                                       \
		c ^= b; c -= aigw_rol32(b, 14);                                                    \
		a ^= c; a -= aigw_rol32(c, 11);                                                    \
		b ^= a; b -= aigw_rol32(a, 25);                                                    \
		c ^= b; c -= aigw_rol32(b, 16);                                                    \
		a ^= c; a -= aigw_rol32(c, 4);                                                     \
		b ^= a; b -= aigw_rol32(a, 14);                                                    \
		c ^= b; c -= aigw_rol32(b, 24);                                                    \
	} while (0)

/* ports: source and destination port as one word (0 when the packet has
 * none, or for every fragment so that all fragments of a datagram hash
 * alike). */
static __always_inline __u32 aigw_flow_hash4(__be32 saddr, __be32 daddr, __u32 ports, __u8 proto)
{
	__u32 a = AIGW_HASH_INITVAL + proto + saddr;
	__u32 b = AIGW_HASH_INITVAL + daddr;
	__u32 c = AIGW_HASH_INITVAL + ports;

	AIGW_HASH_FINAL(a, b, c);
	return c;
}

/* seed: the initial value; users that must not correlate take their own. */
static __always_inline __u32 aigw_flow_hash6_seeded(const __u32 *saddr, const __u32 *daddr,
						    __u32 ports, __u8 proto, __u32 seed)
{
	__u32 a = seed + proto + saddr[0];
	__u32 b = seed + saddr[1];
	__u32 c = seed + saddr[2];

	AIGW_HASH_MIX(a, b, c);
	a += saddr[3];
	b += daddr[0];
	c += daddr[1];
	AIGW_HASH_MIX(a, b, c);
	a += daddr[2];
	b += daddr[3];
	c += ports;
	AIGW_HASH_FINAL(a, b, c);
	return c;
}

static __always_inline __u32 aigw_flow_hash6(const __u32 *saddr, const __u32 *daddr, __u32 ports,
					     __u8 proto)
{
	return aigw_flow_hash6_seeded(saddr, daddr, ports, proto, AIGW_HASH_INITVAL);
}

/* 20-bit IPv6 flow label from a flow hash; 0 means "no label", never use it. */
static __always_inline __u32 aigw_flowlabel(__u32 hash)
{
	__u32 fl = (hash ^ (hash >> 20)) & AIGW_FLOWLABEL_MASK;

	return fl ? fl : 1;
}

#endif
