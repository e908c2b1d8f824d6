/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Fixed-size compare and copy of IPv6 addresses kept as byte arrays in map
 * values, in 32/64-bit words (memcpy/memcmp on a byte array would go byte
 * by byte). */
#ifndef AIGW_BPF_ADDR_H
#define AIGW_BPF_ADDR_H

#include "lib/common.h"

/* Is the packet's IPv6 address equal to an address kept in a map value? */
static __always_inline bool aigw_addr6_eq(const struct in6_addr *a, const __u8 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
}

/* Is the address (a map value's byte array) not all-zero? */
static __always_inline bool aigw_addr6_set(const __u8 *a)
{
	const __u64 *w = (const __u64 *)a;

	return w[0] | w[1];
}

/* Copy an IPv6 address from a byte array (the policy template) in 32-bit
 * words. */
static __always_inline void aigw_copy_addr6(__u32 *dst, const __u8 *src)
{
	const __u32 *s = (const __u32 *)src;

	dst[0] = s[0];
	dst[1] = s[1];
	dst[2] = s[2];
	dst[3] = s[3];
}

#endif
