/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-tenant queues (abi.h "shaping"): the headend hands an encapsulated
 * packet of a shaped tenant to the kernel with its WAN port and HTB class
 * in the metadata area, instead of redirecting it past the WAN port's
 * qdisc; tc_customer_ingress sends it on into that queue. The endpoint
 * does the same with a decapsulated one bound for a customer port
 * (AIGW_SHAPE_META_DECAP).
 */
#ifndef AIGW_BPF_SHAPE_H
#define AIGW_BPF_SHAPE_H

#include "lib/maps.h"
#include "lib/stats.h"

/* The HTB class of tenant's queue, 0 when the tenant is not shaped. */
static __always_inline __u32 aigw_shape_of(__u32 tenant)
{
	const struct aigw_shape *s = bpf_map_lookup_elem(&aigw_shape, &tenant);

	return s ? s->priority : 0;
}

/* A packet aigw_redirect has just readied for egress (MACs set): to the
 * kernel with the metadata (flags: AIGW_SHAPE_META_*), for the TC ingress
 * program. True when it goes that way (the caller returns XDP_PASS);
 * false when it keeps the fast path (not shaped, or no room for the
 * metadata: counted). A global function taking scalars only (verified
 * once). */
__noinline int aigw_shape_take(struct xdp_md *ctx, __u32 egress, __u32 tenant, __u32 rx_len,
			       __u32 flags)
{
	__u32 priority = aigw_shape_of(tenant);
	struct aigw_shape_meta *m;

	if (!priority)
		return 0;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m))) {
		aigw_event(AIGW_EV_SHAPE_NO_META, rx_len);
		return 0;
	}
	m = ctx_data_meta(ctx);
	if ((void *)(m + 1) > ctx_data(ctx)) {
		aigw_event(AIGW_EV_SHAPE_NO_META, rx_len);
		return 0;
	}
	m->egress_ifindex = egress;
	m->priority = priority;
	m->magic = AIGW_SHAPE_MAGIC;
	m->tenant = (__u16)tenant;
	m->flags = flags;
	aigw_event(flags & AIGW_SHAPE_META_DECAP ? AIGW_EV_SHAPED_DECAP : AIGW_EV_SHAPED, rx_len);
	return 1;
}

#endif
