/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Counting: per-interface verdict counters, drop reasons and events.
 * Every program ends through one of the aigw_ret_* helpers so that each
 * received packet is counted exactly once in rx and once in a verdict. */
#ifndef AIGW_BPF_STATS_H
#define AIGW_BPF_STATS_H

#include "lib/maps.h"

/* Per-packet state shared by the counting helpers. */
struct aigw_ctx {
	struct aigw_if_stats *st; /* this CPU's counters for the ingress interface */
	__u32 rx_len;             /* length as received, for byte counters */
	__u32 ifindex;            /* ingress ifindex */
};

static __always_inline void aigw_ctr_add(struct aigw_ctr *c, __u64 bytes)
{
	c->packets++;
	c->bytes += bytes;
}

/* Look up the ingress interface's counter slot and count rx. */
static __always_inline void aigw_stats_rx(struct aigw_ctx *c, struct __ctx_buff *ctx,
					  const struct aigw_iface_cfg *cfg)
{
	__u32 slot = cfg ? cfg->slot : AIGW_IF_SLOT_UNKNOWN;

	if (slot >= AIGW_MAX_IFACES)
		slot = AIGW_IF_SLOT_UNKNOWN;
	c->ifindex = ctx_ingress_ifindex(ctx);
	c->rx_len = ctx_data_end(ctx) - ctx_data(ctx);
	c->st = bpf_map_lookup_elem(&aigw_if_stats, &slot);
	if (c->st)
		aigw_ctr_add(&c->st->rx, c->rx_len);
}

static __always_inline void aigw_event(__u32 ev, __u32 len)
{
	struct aigw_ctr *e = bpf_map_lookup_elem(&aigw_events, &ev);

	if (e)
		aigw_ctr_add(e, len);
}

static __always_inline int aigw_ret_drop(struct aigw_ctx *c, __u32 reason)
{
	struct aigw_ctr *d = bpf_map_lookup_elem(&aigw_drops, &reason);

	if (d)
		aigw_ctr_add(d, c->rx_len);
	if (c->st)
		aigw_ctr_add(&c->st->drop, c->rx_len);
	return CTX_ACT_DROP;
}

static __always_inline int aigw_ret_pass(struct aigw_ctx *c)
{
	if (c->st)
		aigw_ctr_add(&c->st->pass, c->rx_len);
	return CTX_ACT_OK;
}

/* Count a pass with the event that explains it. */
static __always_inline int aigw_ret_pass_ev(struct aigw_ctx *c, __u32 ev)
{
	aigw_event(ev, c->rx_len);
	return aigw_ret_pass(c);
}

static __always_inline int aigw_ret_tx(struct aigw_ctx *c, struct __ctx_buff *ctx)
{
	if (c->st)
		aigw_ctr_add(&c->st->tx, ctx_data_end(ctx) - ctx_data(ctx));
	return ctx_tx(ctx);
}

static __always_inline void aigw_count_encap(struct aigw_ctx *c, struct __ctx_buff *ctx)
{
	if (c->st)
		aigw_ctr_add(&c->st->encap, ctx_data_end(ctx) - ctx_data(ctx));
}

static __always_inline void aigw_count_decap(struct aigw_ctx *c, struct __ctx_buff *ctx)
{
	if (c->st)
		aigw_ctr_add(&c->st->decap, ctx_data_end(ctx) - ctx_data(ctx));
}

#endif
