/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet context of an XDP program. An entry program includes exactly
 * one context header (this one or lib/ctx/skb.h) before anything from
 * bpf/lib: the library is written once against __ctx_buff and the ctx_*
 * accessors below, and every accessor resolves at compile time to what the
 * code called directly before (no cost per packet).
 */
#ifndef AIGW_BPF_CTX_H
#define AIGW_BPF_CTX_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define AIGW_CTX_XDP 1
#define __ctx_buff xdp_md

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Verdicts. */
#define CTX_ACT_OK XDP_PASS
#define CTX_ACT_DROP XDP_DROP
#define CTX_ACT_TX XDP_TX
#define CTX_ACT_REDIRECT XDP_REDIRECT

/*
 * XDP context fields. vmlinux.h marks every struct for CO-RE relocation, so
 * a plain ctx->data compiles to a load through a relocated offset that
 * clang may keep in a register; the verifier rejects any ctx access whose
 * offset is not a constant ("dereference of modified ctx ptr"). struct
 * xdp_md is UAPI and never moves, so read it through a plain mirror, with
 * volatile loads that the compiler can neither merge nor hoist.
 */
struct aigw_xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};
_Static_assert(__builtin_offsetof(struct aigw_xdp_md, data) ==
			       __builtin_offsetof(struct xdp_md, data) &&
		       __builtin_offsetof(struct aigw_xdp_md, data_end) ==
			       __builtin_offsetof(struct xdp_md, data_end) &&
		       __builtin_offsetof(struct aigw_xdp_md, data_meta) ==
			       __builtin_offsetof(struct xdp_md, data_meta) &&
		       __builtin_offsetof(struct aigw_xdp_md, ingress_ifindex) ==
			       __builtin_offsetof(struct xdp_md, ingress_ifindex) &&
		       __builtin_offsetof(struct aigw_xdp_md, rx_queue_index) ==
			       __builtin_offsetof(struct xdp_md, rx_queue_index),
	       "xdp_md mirror");

#define AIGW_CTX_FIELD(ctx, f) (*(volatile const __u32 *)&((const struct aigw_xdp_md *)(ctx))->f)

static __always_inline void *ctx_data(const struct xdp_md *ctx)
{
	return (void *)(long)AIGW_CTX_FIELD(ctx, data);
}

static __always_inline void *ctx_data_end(const struct xdp_md *ctx)
{
	return (void *)(long)AIGW_CTX_FIELD(ctx, data_end);
}

/* The metadata area ahead of the packet (bpf_xdp_adjust_meta). */
static __always_inline void *ctx_data_meta(const struct xdp_md *ctx)
{
	return (void *)(long)AIGW_CTX_FIELD(ctx, data_meta);
}

/* The receive queue the packet arrived on. */
static __always_inline __u32 ctx_rx_queue(const struct xdp_md *ctx)
{
	return AIGW_CTX_FIELD(ctx, rx_queue_index);
}

/* Packet length in bytes (an XDP frame is all linear). */
static __always_inline __u32 ctx_full_len(const struct xdp_md *ctx)
{
	return (__u32)((long)ctx_data_end(ctx) - (long)ctx_data(ctx));
}

/* The interface the packet arrived on. */
static __always_inline __u32 ctx_ingress_ifindex(const struct xdp_md *ctx)
{
	return AIGW_CTX_FIELD(ctx, ingress_ifindex);
}

/* The interface the program runs on: at XDP, the ingress one. */
static __always_inline __u32 ctx_ifindex(const struct xdp_md *ctx)
{
	return ctx_ingress_ifindex(ctx);
}

/* Make the first len bytes directly accessible: an XDP frame always is. */
static __always_inline long ctx_pull_data(struct xdp_md *ctx, __u32 len)
{
	return 0;
}

/* Move the packet start by delta bytes (negative: room for headers in
 * front; positive: remove the first delta bytes). 0 on success. */
static __always_inline long ctx_adjust_head(struct xdp_md *ctx, int delta)
{
	return bpf_xdp_adjust_head(ctx, delta);
}

/* Move the packet end by delta bytes (negative: trim). 0 on success. */
static __always_inline long ctx_adjust_tail(struct xdp_md *ctx, int delta)
{
	return bpf_xdp_adjust_tail(ctx, delta);
}

static __always_inline long ctx_load_bytes(const struct xdp_md *ctx, __u32 off, void *to, __u32 len)
{
	return bpf_xdp_load_bytes((struct xdp_md *)ctx, off, to, len);
}

static __always_inline long ctx_store_bytes(struct xdp_md *ctx, __u32 off, const void *from,
					    __u32 len)
{
	return bpf_xdp_store_bytes(ctx, off, (void *)from, len);
}

/* FIB lookup flags (enum in vmlinux.h) for either hook: route in the
 * given table without policy rules (End.DT*). */
#define CTX_FIB_TABLE_FLAGS (BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_TBID)

/* bpf_fib_lookup on this context: BPF_FIB_LKUP_RET_* (the MTU is checked
 * against fib->tot_len at XDP). */
static __always_inline long ctx_fib_lookup(struct xdp_md *ctx, struct bpf_fib_lookup *fib,
					   __u32 flags)
{
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), flags);
}

/* Redirect to the port ifindex if it is in the devmap map: CTX_ACT_REDIRECT,
 * else CTX_ACT_OK and nothing redirected. One devmap lookup (the helper
 * returns the flags' low bits, XDP_PASS, for a missing port). */
static __always_inline long ctx_redirect_map(struct xdp_md *ctx, void *map, __u32 ifindex)
{
	return bpf_redirect_map(map, ifindex, XDP_PASS);
}

/* Send the (rewritten) packet back out of the port it came in on. */
static __always_inline long ctx_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

#endif
