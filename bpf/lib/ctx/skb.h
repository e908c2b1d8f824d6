/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet context of a TC (sched_cls) program: the same API as
 * lib/ctx/xdp.h over struct __sk_buff. An entry program includes exactly one
 * context header before anything from bpf/lib.
 *
 * Differences a TC program must know about:
 *  - Direct packet access reaches only the linear part of the skb: call
 *    ctx_pull_data() first for the headers the program parses.
 *  - ctx_adjust_head() grows with bpf_skb_change_head() and shrinks with
 *    bpf_skb_adjust_room(BPF_ADJ_ROOM_MAC): the bytes after the Ethernet
 *    header go, which is what the library's callers (decap) rewrite anyway;
 *    skb->protocol is not changed.
 *  - ctx_redirect_map() checks the devmap (lookups are allowed from TC),
 *    then bpf_redirect(): the devmap itself is XDP-only.
 */
#ifndef AIGW_BPF_CTX_H
#define AIGW_BPF_CTX_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define AIGW_CTX_SKB 1
#define __ctx_buff __sk_buff

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Verdicts (TC_ACT_* are #defines in uapi, not in vmlinux.h). */
#define CTX_ACT_OK 0        /* TC_ACT_OK */
#define CTX_ACT_DROP 2      /* TC_ACT_SHOT */
#define CTX_ACT_REDIRECT 7  /* TC_ACT_REDIRECT */
#define CTX_ACT_TX CTX_ACT_REDIRECT /* ctx_tx() redirects to the same port */

#define AIGW_ADJ_ROOM_MAC 1 /* BPF_ADJ_ROOM_MAC */

/*
 * __sk_buff fields, read as lib/ctx/xdp.h reads xdp_md: through a plain
 * mirror of the UAPI struct (never CO-RE relocated), with volatile loads
 * at constant offsets. The UAPI layout never changes; the asserts check the
 * mirror against this kernel's BTF.
 */
struct aigw_sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
	__u32 hash;
	__u32 tc_classid;
	__u32 data;
	__u32 data_end;
	__u32 napi_id;
	__u32 family;
	__u32 remote_ip4;
	__u32 local_ip4;
	__u32 remote_ip6[4];
	__u32 local_ip6[4];
	__u32 remote_port;
	__u32 local_port;
	__u32 data_meta;
};
#define AIGW_SKB_SAME(f) \
	(__builtin_offsetof(struct aigw_sk_buff, f) == __builtin_offsetof(struct __sk_buff, f))
_Static_assert(AIGW_SKB_SAME(len) && AIGW_SKB_SAME(ingress_ifindex) && AIGW_SKB_SAME(ifindex) &&
		       AIGW_SKB_SAME(data) && AIGW_SKB_SAME(data_end) && AIGW_SKB_SAME(priority) &&
		       AIGW_SKB_SAME(data_meta),
	       "__sk_buff mirror");

#define AIGW_CTX_FIELD(ctx, f) (*(volatile const __u32 *)&((const struct aigw_sk_buff *)(ctx))->f)

static __always_inline void *ctx_data(const struct __sk_buff *ctx)
{
	return (void *)(long)AIGW_CTX_FIELD(ctx, data);
}

static __always_inline void *ctx_data_end(const struct __sk_buff *ctx)
{
	return (void *)(long)AIGW_CTX_FIELD(ctx, data_end);
}

/* Start of the metadata area an XDP program left ahead of the packet
 * (== ctx_data when none; TC ingress only). */
static __always_inline void *ctx_data_meta(const struct __sk_buff *ctx)
{
	return (void *)(long)AIGW_CTX_FIELD(ctx, data_meta);
}

/* The skb's priority: a qdisc such as HTB reads it as a class id. */
static __always_inline void ctx_set_priority(struct __sk_buff *ctx, __u32 priority)
{
	*(volatile __u32 *)&((struct aigw_sk_buff *)ctx)->priority = priority;
}

/* Packet length in bytes, the non-linear part included. */
static __always_inline __u32 ctx_full_len(const struct __sk_buff *ctx)
{
	return AIGW_CTX_FIELD(ctx, len);
}

/* The interface the packet arrived on (0 for locally generated packets). */
static __always_inline __u32 ctx_ingress_ifindex(const struct __sk_buff *ctx)
{
	return AIGW_CTX_FIELD(ctx, ingress_ifindex);
}

/* The interface the program runs on (ingress: the receiving one; egress:
 * the sending one). */
static __always_inline __u32 ctx_ifindex(const struct __sk_buff *ctx)
{
	return AIGW_CTX_FIELD(ctx, ifindex);
}

/* Make the first len bytes (at most the packet) directly accessible. */
static __always_inline long ctx_pull_data(struct __sk_buff *ctx, __u32 len)
{
	__u32 skb_len = AIGW_CTX_FIELD(ctx, len);

	if ((__u32)((long)ctx_data_end(ctx) - (long)ctx_data(ctx)) >= len)
		return 0;
	return bpf_skb_pull_data(ctx, len < skb_len ? len : skb_len);
}

static __always_inline long ctx_adjust_head(struct __sk_buff *ctx, int delta)
{
	if (delta < 0)
		return bpf_skb_change_head(ctx, -delta, 0);
	return bpf_skb_adjust_room(ctx, -delta, AIGW_ADJ_ROOM_MAC, 0);
}

static __always_inline long ctx_adjust_tail(struct __sk_buff *ctx, int delta)
{
	return bpf_skb_change_tail(ctx, AIGW_CTX_FIELD(ctx, len) + delta, 0);
}

static __always_inline long ctx_load_bytes(const struct __sk_buff *ctx, __u32 off, void *to,
					   __u32 len)
{
	return bpf_skb_load_bytes(ctx, off, to, len);
}

static __always_inline long ctx_store_bytes(struct __sk_buff *ctx, __u32 off, const void *from,
					    __u32 len)
{
	return bpf_skb_store_bytes(ctx, off, from, len, 0);
}

#define CTX_FIB_TABLE_FLAGS (BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_TBID)

/* bpf_fib_lookup on this context: BPF_FIB_LKUP_RET_* (at TC the MTU check
 * uses the skb's length unless fib->tot_len is set). */
static __always_inline long ctx_fib_lookup(struct __sk_buff *ctx, struct bpf_fib_lookup *fib,
					   __u32 flags)
{
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), flags);
}

static __always_inline long ctx_redirect_map(struct __sk_buff *ctx, void *map, __u32 ifindex)
{
	if (!bpf_map_lookup_elem(map, &ifindex))
		return CTX_ACT_OK;
	return bpf_redirect(ifindex, 0);
}

static __always_inline long ctx_tx(struct __sk_buff *ctx)
{
	return bpf_redirect(ctx_ifindex(ctx), 0);
}

#endif
