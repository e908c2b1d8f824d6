// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * aigw TC program for the ingress hook of customer-facing interfaces, and
 * of the WAN ports (attached by the agent while a tenant is shaped): the
 * second half of the shaped path (abi.h "shaping"). The headend XDP program
 * encapsulated a shaped tenant's packet, set its MACs for the WAN port and
 * passed it to the kernel with struct aigw_shape_meta in the metadata area
 * (the endpoint program likewise a decapsulated one, for a customer port);
 * here it gets the tenant's HTB class as skb->priority and goes to that
 * port's egress (bpf_redirect), through the port's qdisc. Everything else
 * (no such metadata: the kernel's own traffic, what the XDP programs pass)
 * is left to the kernel: TC_ACT_OK. While the tenant's queue is above its marking
 * threshold (aigw_shape flags, set by the agent), an ECN-capable packet's
 * outer IPv6 header is marked Congestion Experienced.
 */
#include "lib/ctx/skb.h"
#include "lib/ip.h"
#include "lib/maps.h"
#include "lib/stats.h"

/* CE on the outer IPv6 header right after the Ethernet header, when it
 * carries ECT(0) or ECT(1) (RFC 3168: Not-ECT is never marked). IPv6 has
 * no header checksum. Returns whether it marked. */
static __always_inline bool aigw_mark_ce(struct __sk_buff *ctx)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	struct ethhdr *eth = data;
	__be32 *word = (void *)(eth + 1);
	__u32 w, ecn;

	if ((void *)(word + 1) > end || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return false;
	w = bpf_ntohl(*word);
	ecn = (w >> AIGW_IPV6_TCLASS_SHIFT) & AIGW_ECN_MASK;
	if (ecn == AIGW_ECN_NOT_ECT || ecn == AIGW_ECN_CE)
		return false;
	*word = bpf_htonl(w | (__u32)AIGW_ECN_CE << AIGW_IPV6_TCLASS_SHIFT);
	return true;
}

/* Whether tenant's queue asks for CE marks now. */
static __always_inline bool aigw_queue_congested(__u32 tenant)
{
	const struct aigw_shape *s = bpf_map_lookup_elem(&aigw_shape, &tenant);

	return s && (s->flags & AIGW_SHAPE_F_CE);
}

SEC("tc")
int tc_customer_ingress(struct __sk_buff *ctx)
{
	struct aigw_shape_meta *m = ctx_data_meta(ctx);
	void *data = ctx_data(ctx);
	struct aigw_ctx c = { .rx_len = ctx_full_len(ctx) };
	__u32 egress;

	if ((void *)(m + 1) > data || m->magic != AIGW_SHAPE_MAGIC)
		return CTX_ACT_OK;
	ctx_set_priority(ctx, m->priority);
	egress = m->egress_ifindex;
	if (!(m->flags & AIGW_SHAPE_META_DECAP) && aigw_queue_congested(m->tenant) &&
	    aigw_mark_ce(ctx))
		aigw_event(AIGW_EV_SHAPE_CE_MARKED, c.rx_len);
	/* one of aigw's ports only */
	if (ctx_redirect_map(ctx, &aigw_tx, egress) != CTX_ACT_REDIRECT)
		return aigw_ret_drop(&c, AIGW_DROP_SHAPE_NO_PORT);
	aigw_event(AIGW_EV_SHAPE_QUEUED, c.rx_len);
	return CTX_ACT_REDIRECT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
