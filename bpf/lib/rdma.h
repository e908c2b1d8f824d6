/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * RDMA proxy (abi.h "RDMA proxy"): the XDP programs hand RoCEv2 of the
 * selected tenants and classes, and the NACKs gateways send each other, to
 * the agent's AF_XDP sockets once they have encapsulated or decapsulated
 * it and set its MACs, with where it goes in the metadata area. Without a
 * socket for the port and queue (the proxy not running, or not on that
 * queue) the packet keeps the fast path, counted.
 */
#ifndef AIGW_BPF_RDMA_H
#define AIGW_BPF_RDMA_H

#include "lib/fwd.h"
#include "lib/maps.h"
#include "lib/pkt.h"
#include "lib/roce.h"
#include "lib/stats.h"

/* What the proxy takes of a packet with this decision and these ports:
 * an enum aigw_xsk_kind, 0 = nothing. dir_kind: AIGW_XSK_EGRESS at the
 * headend, AIGW_XSK_INGRESS at the endpoint (which alone takes NACKs). */
static __always_inline __u8 aigw_rdma_kind(const struct aigw_pkt *p,
					   const struct aigw_cls_action *act, __u8 dir_kind)
{
	__u32 tenant = act->tenant;
	const __u32 *classes;

	if (p->l4_proto != NEXTHDR_UDP || !p->l4_off || p->is_frag)
		return 0;
	if (p->dport == bpf_htons(AIGW_RDMA_NACK_PORT))
		return dir_kind == AIGW_XSK_INGRESS ? AIGW_XSK_NACK : 0;
	if (p->dport != bpf_htons(AIGW_ROCEV2_PORT))
		return 0;
	classes = bpf_map_lookup_elem(&aigw_rdma_sel, &tenant);
	if (!classes || !(*classes & (1u << (act->cls & (AIGW_MAX_CLASSES - 1)))))
		return 0;
	return dir_kind;
}

/* Into the proxy's socket for the port and queue the frame arrived on,
 * with the metadata ahead of it. False (nothing changed that matters:
 * metadata is ignored on the fast path) when there is no such socket or
 * no room for the metadata. */
static __always_inline bool aigw_rdma_to_xsk(struct xdp_md *ctx, __u16 port_slot, __u8 kind,
					     __u32 egress, __u32 ip_off, __u16 tenant)
{
	__u32 queue = ctx_rx_queue(ctx), key;
	struct aigw_xsk_meta *m;
	void *data;

	if (queue >= AIGW_XSK_QUEUES || port_slot >= AIGW_MAX_IFACES)
		return false;
	key = (__u32)port_slot * AIGW_XSK_QUEUES + queue;
	if (!bpf_map_lookup_elem(&aigw_xsks, &key))
		return false;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return false;
	m = ctx_data_meta(ctx);
	data = ctx_data(ctx);
	if ((void *)(m + 1) > data)
		return false;
	m->egress_ifindex = egress;
	m->ip_off = ip_off;
	m->magic = AIGW_XSK_MAGIC;
	m->kind = kind;
	m->pad = 0;
	m->tenant = tenant;
	return bpf_redirect_map(&aigw_xsks, key, 0) == XDP_REDIRECT;
}

/* A packet aigw_redirect has just sent to egress (MACs set, devmap
 * target chosen), for kind (0: not the proxy's; AIGW_RDMA_HOW(kind,
 * tenant, ip_off) in how): into the proxy's socket instead. Returns 1 when it
 * goes there (counted), 0 when it keeps the fast path (no socket:
 * counted for RoCEv2). A global function taking scalars only: verified once, and no
 * caller's stack is marked read by it (which would stop the verifier
 * pruning the callers' paths). */
_Static_assert(AIGW_MAX_TENANTS <= 0x1000, "a tenant id fits AIGW_RDMA_HOW's 12 bits");
#define AIGW_RDMA_HOW(kind, tenant, ip_off) \
	((__u32)(kind) << 28 | ((__u32)(tenant) & 0xfff) << 16 | (__u16)(ip_off))
__noinline int aigw_rdma_take(struct xdp_md *ctx, __u32 egress, __u32 port_slot, __u32 how,
			      __u32 rx_len)
{
	__u32 kind = how >> 28, tenant = (how >> 16) & 0xfff, ip_off = how & 0xffff;

	if (!kind)
		return 0;
	if (!aigw_rdma_to_xsk(ctx, port_slot, kind, egress, ip_off, tenant)) {
		/* counted for selected RoCEv2 only: UDP to the NACK port is
		 * anyone's while no proxy runs */
		if (kind != AIGW_XSK_NACK)
			aigw_event(AIGW_EV_RDMA_NO_SOCKET, rx_len);
		/* a failed map redirect clears the target: set it again */
		ctx_redirect_map(ctx, &aigw_tx, egress);
		return 0;
	}
	aigw_event(AIGW_EV_RDMA_TO_PROXY, rx_len);
	return 1;
}

#endif
