/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internet checksum helpers (RFC 1071, incremental update per RFC 1624). */
#ifndef AIGW_BPF_CSUM_H
#define AIGW_BPF_CSUM_H

#include "lib/common.h"

static __always_inline __u16 aigw_csum_fold(__u32 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum;
}

/* 64-bit accumulator fold, for bpf_csum_diff results summed together. */
static __always_inline __u16 aigw_csum_fold64(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	return aigw_csum_fold((__u32)s);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field change.
 * All values in network byte order as stored in the packet. */
static __always_inline void aigw_csum_replace2(__sum16 *sum, __be16 old, __be16 new)
{
	__u32 c = (__u16)~(*sum);

	c += (__u16)~old;
	c += (__u16)new;
	*sum = aigw_csum_fold(c);
}

static __always_inline void aigw_csum_replace4(__sum16 *sum, __be32 old, __be32 new)
{
	__u32 c = (__u16)~(*sum);

	c += (__u16)~(old & 0xffff);
	c += (__u16)~(old >> 16);
	c += (new & 0xffff);
	c += (new >> 16);
	*sum = aigw_csum_fold(c);
}

/* IPv4 header checksum of a 20-byte header (no options) with check = 0. */
static __always_inline __u16 aigw_ipv4_csum(struct iphdr *ip)
{
	__u16 *w = (__u16 *)ip;
	__u32 s = 0;

#pragma unroll
	for (int i = 0; i < IPV4_HLEN / 2; i++)
		s += w[i];
	return aigw_csum_fold(s);
}

#define AIGW_IPV4_HLEN_WORDS_MAX 15 /* IHL is 4 bits: at most 60 bytes */

/* RFC 1812 5.2.2: is the header checksum of the IPv4 header at ip (IHL
 * 32-bit words, options included) right? An intact header sums to 0xffff
 * (RFC 1071), the checksum field included. ip points into the packet,
 * which ends at data_end. The fixed 20 bytes are five unrolled adds; only
 * a header with options takes the (bounded) loop. No helper call. */
static __always_inline bool aigw_ipv4_csum_ok(const struct iphdr *ip, const void *data_end)
{
	const __u32 *w = (const __u32 *)ip;
	__u32 words = ip->ihl;
	__u64 s = 0;

	if ((const void *)(ip + 1) > data_end)
		return false;
#pragma unroll
	for (int i = 0; i < IPV4_HLEN / sizeof(__u32); i++)
		s += w[i];
	for (__u32 i = IPV4_HLEN / sizeof(__u32); i < words && i < AIGW_IPV4_HLEN_WORDS_MAX; i++) {
		const __u32 *opt = w + i;

		AIGW_BARRIER_VAR(opt); /* else clang moves the bound onto data_end */
		if ((const void *)(opt + 1) > data_end)
			return false;
		s += *opt;
	}
	return aigw_csum_fold64(s) == 0;
}

/* Decrement an IPv4 TTL, updating the header checksum. */
static __always_inline void aigw_ipv4_dec_ttl(struct iphdr *ip)
{
	__be16 old = *(__be16 *)&ip->ttl; /* ttl and protocol share a 16-bit word */

	ip->ttl--;
	aigw_csum_replace2(&ip->check, old, *(__be16 *)&ip->ttl);
}

#endif
