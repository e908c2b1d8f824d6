// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * aigw TC program for the egress hook of customer-facing interfaces (attach
 * with bpf_tc_attach, BPF_TC_EGRESS). It sees what the kernel sends out of a
 * customer port: frames the XDP programs redirect do not pass TC egress, so
 * this is the slow path (decapsulated packets the endpoint handed to the
 * kernel, which then forwarded them) and the host's own traffic. It never
 * changes a packet and always returns TC_ACT_OK.
 *
 * Counts per counter slot of the port (aigw_ifaces, untagged entry; slot 0
 * for a port aigw does not know) in aigw_tc_stats (abi.h, struct
 * aigw_tc_stats): seen, ip, bad, and flow_hit for a packet of a flow the
 * endpoint accounts in aigw_flows (direction in, the same key).
 */
#include "lib/ctx/skb.h"
#include "lib/parse.h"
#include "lib/decision.h"
#include "lib/maps_tc.h"

/* Headers the parser may need in the linear part of the skb: Ethernet,
 * VLAN, IPv6 with its extension headers, the transport header. */
#define AIGW_TC_PULL_LEN 256

/* The flow key the endpoint gives this packet (aigw_ep_account): addresses
 * in the packet's own orientation, direction in, the customer port's slot
 * and VRF. 0, or -1 when the packet has no IP header to key on. */
static __always_inline int aigw_tc_flow_key(struct __sk_buff *ctx, const struct aigw_pkt *p,
					    const struct aigw_iface_cfg *cfg,
					    struct aigw_cls_pkt *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	if (aigw_cls_l3(ctx, p->l3_proto, p->l3_off, k))
		return -1;
	aigw_cls_l4(ctx, p, k);
	k->key.dir = AIGW_DIR_IN;
	if (cfg) {
		k->key.ifslot = cfg->slot;
		k->key.vrf = cfg->vrf;
	}
	return 0;
}

/* Does the packet belong to a flow in aigw_flows? Only when the active
 * bank keeps flows (as the endpoint checks before it creates one). */
static __always_inline bool aigw_tc_flow_known(const struct aigw_cls_pkt *k)
{
	__u32 bank = aigw_cls_bank();
	const struct aigw_cls_meta *m = bpf_map_lookup_elem(&aigw_cls_meta, &bank);

	return m && m->flows_on && bpf_map_lookup_elem(&aigw_flows, &k->key);
}

SEC("tc")
int tc_customer_egress(struct __sk_buff *ctx)
{
	struct aigw_iface_key ik = { .ifindex = ctx_ifindex(ctx) };
	const struct aigw_iface_cfg *cfg = bpf_map_lookup_elem(&aigw_ifaces, &ik);
	__u32 slot = cfg && cfg->slot < AIGW_MAX_IFACES ? cfg->slot : AIGW_IF_SLOT_UNKNOWN;
	struct aigw_tc_stats *st = bpf_map_lookup_elem(&aigw_tc_stats, &slot);
	struct aigw_cls_pkt k;
	struct aigw_pkt p;
	__u32 len;

	if (!st)
		return CTX_ACT_OK;
	len = ctx_full_len(ctx);
	ctx_pull_data(ctx, AIGW_TC_PULL_LEN);
	aigw_ctr_add(&st->seen, len);
	if (aigw_parse(ctx, &p)) {
		aigw_ctr_add(&st->bad, len);
		return CTX_ACT_OK;
	}
	if (p.l3_proto != ETH_P_IP && p.l3_proto != ETH_P_IPV6)
		return CTX_ACT_OK;
	aigw_ctr_add(&st->ip, len);
	if (aigw_tc_flow_key(ctx, &p, cfg, &k) == 0 && aigw_tc_flow_known(&k))
		aigw_ctr_add(&st->flow_hit, len);
	return CTX_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
