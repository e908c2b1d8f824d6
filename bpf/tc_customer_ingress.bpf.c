// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * aigw TC program for the ingress hook of customer-facing interfaces
 * (attached by the agent while a tenant is shaped): the second half of the
 * shaped path (abi.h "shaping"). The headend XDP program encapsulated a
 * shaped tenant's packet, set its MACs for the WAN port and passed it to
 * the kernel with struct aigw_shape_meta in the metadata area; here it gets
 * the tenant's HTB class as skb->priority and goes to the WAN port's egress
 * (bpf_redirect), through that port's qdisc. Everything else (no such
 * metadata: the kernel's own traffic, what the headend passes) is left to
 * the kernel: TC_ACT_OK.
 */
#include "lib/ctx/skb.h"
#include "lib/maps.h"
#include "lib/stats.h"

SEC("tc")
int tc_customer_ingress(struct __sk_buff *ctx)
{
	struct aigw_shape_meta *m = ctx_data_meta(ctx);
	void *data = ctx_data(ctx);
	__u32 len = ctx_full_len(ctx);
	long rc;

	if ((void *)(m + 1) > data || m->magic != AIGW_SHAPE_MAGIC)
		return CTX_ACT_OK;
	ctx_set_priority(ctx, m->priority);
	rc = ctx_redirect_map(ctx, &aigw_tx, m->egress_ifindex); /* one of aigw's ports only */
	aigw_event(rc == CTX_ACT_REDIRECT ? AIGW_EV_SHAPE_QUEUED : AIGW_EV_SHAPE_REDIRECT_FAILED,
		   len);
	return rc == CTX_ACT_REDIRECT ? rc : CTX_ACT_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
