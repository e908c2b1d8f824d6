/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Types shared by bench_xdp.bpf.c and the benchmark tools. */
#ifndef AIGW_BENCH_ABI_H
#define AIGW_BENCH_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define BENCH_ORIG_MAX 256 /* longest restorable test frame */

/* .bss of bench_xdp, set from user space through the skeleton. */
struct bench_cfg {
	__u32 redirect_ifindex; /* bench_redirect: devmap key */
	__u32 sink_pass;        /* bench_sink: 1 = XDP_PASS (captures), 0 = XDP_DROP */
	__u32 expect_len;       /* bench_sink: frame length counted as len_ok (0 = none) */
	__u32 expect_dst_set;   /* bench_sink: compare the outer IPv6 destination */
	__u8 expect_dst[16];
};

/* bench_encap's outer headers: an aigw policy template (encode_policy()),
 * i.e. outer IPv6 header + SRH with the per-packet fields left to fill. */
#define BENCH_ENCAP_MAX 176 /* 40 + 8 + 16 * 8 */
struct bench_encap {
	__u32 encap_len; /* bytes of hdr, a multiple of 8, 40..BENCH_ENCAP_MAX */
	__u32 has_srh;
	__u8 hdr[BENCH_ENCAP_MAX];
};

/* The original test frame, for the sink's restore step (len 0 = none). */
struct bench_orig {
	__u32 len;
	__u32 pad;
	__u8 data[BENCH_ORIG_MAX];
};

/* Sink counters (per CPU, key 0). */
struct bench_sink_ctr {
	__u64 frames;
	__u64 bytes;
	__u64 len_ok;      /* length == expect_len */
	__u64 srv6;        /* IPv6 + SRH (routing type 4) */
	__u64 srv6_dst_ok; /* ... and outer destination == expect_dst */
	__u64 ipv6_no_srh; /* IPv6 whose first next header is not routing */
	__u64 restored;
	__u64 restore_failed;
};

/* .bss of op_cost (aigw-bench-ops): the keys its programs look up. */
struct bench_op_cfg {
	__u32 ifindex;     /* op_hash8 key, op_fib6 port, op_redirect key */
	__u32 pad;
	__u8 sid[16];      /* op_lpm128 key (a /128 entry), op_lru48 / op_pcpu_hash48 dst */
	__u8 fib_dst[16];  /* op_fib6 destination: a permanent neighbour */
};

#endif
