/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A packet's decision (struct aigw_decision): what the classifier or the
 * flow cache decided, and which APN ID the packet carries with it; the
 * transport part of the classification key; the decision generation. No
 * counting here (lib/account.h), no lookup (lib/decide.h).
 */
#ifndef AIGW_BPF_DECISION_H
#define AIGW_BPF_DECISION_H

#include "lib/classify.h"
#include "lib/parse.h"
#include "lib/pkt.h"
#include "lib/roce.h"
#include "lib/ip.h"

/* Which APN ID a packet carries out of the gateway (headend, by the
 * customer port's APN trust flags) or was seen with (endpoint). */
enum aigw_apn_mode {
	AIGW_APN_MODE_REWRITE = 0, /* the decision's APN (set_apn), whatever the host sent */
	AIGW_APN_MODE_TRUST = 1,   /* the host's ID if it sent one, else the decision's */
	AIGW_APN_MODE_STRIP = 2,   /* none: the host's option was stripped, nothing imposed */
	AIGW_APN_MODE_SEEN = 3,    /* endpoint: the ID the packet arrived with */
};

/* What the program does with a packet, and what it carries. */
struct aigw_decision {
	struct aigw_cls_action act; /* the decision; AIGW_ACT_F_APN with apn/apn_len = the APN
				     * carried (out) or seen (in), cleared when there is none */
	__u32 slot;                 /* in: the prefix lookup's policy slot (0 = none);
				     * out: the slot that steers (policy override applied,
				     * then the flow's path: lib/paths.h) */
	__u8 apn_mode;              /* in: enum aigw_apn_mode */
	__u8 pinned;                /* in (cached): the flow entry's; out: the flow follows
				     * an aigw_path_pins entry (lib/paths.h) */
	__u8 pad[2];
	__u32 gen;                  /* in: aigw_globals.gen, read BEFORE the bank (the agent
				     * flips the bank, then bumps gen: a decision stored under
				     * a gen was made with that gen's bank or a later one) */
	__u64 now;                  /* in: the packet's time, bpf_ktime_get_coarse_ns() read
				     * once for the flow entry and the next-hop cache (a read
				     * costs ~15 ns on a VM) */
};

#define NEXTHDR_SCTP 132

/* The network part of the classification packet: addresses, family and
 * DSCP of the IPv4/IPv6 header at l3_off (l3_proto as the parser found it).
 * 0, or -1 when there is no whole IP header there. */
static __always_inline int aigw_cls_l3(struct __ctx_buff *ctx, __u16 l3_proto, __u32 l3_off,
				       struct aigw_cls_pkt *k)
{
	if (l3_proto == ETH_P_IP) {
		struct iphdr *ip = aigw_pkt_ptr(ctx, l3_off, sizeof(*ip));

		if (!ip)
			return -1;
		__builtin_memcpy(k->key.src, &ip->saddr, sizeof(ip->saddr));
		__builtin_memcpy(k->key.dst, &ip->daddr, sizeof(ip->daddr));
		k->key.family = 4;
		k->dscp = ip->tos >> AIGW_DSCP_SHIFT;
	} else if (l3_proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = aigw_pkt_ptr(ctx, l3_off, sizeof(*ip6));

		if (!ip6)
			return -1;
		__builtin_memcpy(k->key.src, &ip6->saddr, sizeof(ip6->saddr));
		__builtin_memcpy(k->key.dst, &ip6->daddr, sizeof(ip6->daddr));
		k->key.family = 6;
		k->dscp = (__u8)(bpf_ntohl(*(__be32 *)ip6) >> AIGW_IPV6_TCLASS_SHIFT) >> AIGW_DSCP_SHIFT;
	} else {
		return -1;
	}
	return 0;
}

/* Ports valid for classification: TCP/UDP/SCTP, not a later fragment. */
static __always_inline bool aigw_has_ports(const struct aigw_pkt *p)
{
	return p->l4_off && (p->l4_proto == NEXTHDR_TCP || p->l4_proto == NEXTHDR_UDP ||
			     p->l4_proto == NEXTHDR_SCTP);
}

/* The transport part of the classification packet. SCTP ports sit where
 * TCP/UDP ones do; the parser reads only TCP/UDP. */
static __always_inline void aigw_cls_l4(struct __ctx_buff *ctx, const struct aigw_pkt *p,
					struct aigw_cls_pkt *k)
{
	k->key.proto = p->l4_proto;
	k->l3_len = p->l3_len;
	k->tcp_flags = p->tcp_flags;
	if (!aigw_has_ports(p))
		return;
	k->has_ports = 1;
	k->key.sport = p->sport;
	k->key.dport = p->dport;
	if (p->l4_proto == NEXTHDR_SCTP) {
		__be16 *ports = aigw_pkt_ptr(ctx, p->l4_off, 2 * sizeof(__be16));

		if (ports) {
			k->key.sport = ports[0];
			k->key.dport = ports[1];
		} else {
			k->has_ports = 0;
		}
	}
	/* Each RoCEv2 queue pair is a flow of its own (its own path). */
	if (p->l4_proto == NEXTHDR_UDP && p->dport == bpf_htons(AIGW_ROCEV2_PORT))
		aigw_roce_dqp(ctx, p->l4_off, (__u32)p->l3_off + p->l3_len, k->key.dqp);
}

static __always_inline bool aigw_apn_len_ok(__u32 len)
{
	return len == 4 || len == 8 || len == 16;
}

static __always_inline void aigw_decision_set_apn(struct aigw_cls_action *act, const __u8 *id,
						  __u32 len)
{
	act->flags |= AIGW_ACT_F_APN;
	act->apn_len = len;
	__builtin_memcpy(act->apn, id, AIGW_APN_MAX_ID_LEN);
}

static __always_inline void aigw_decision_no_apn(struct aigw_cls_action *act)
{
	act->flags &= ~AIGW_ACT_F_APN;
	act->apn_len = 0;
	__builtin_memset(act->apn, 0, AIGW_APN_MAX_ID_LEN);
}

/* The APN ID a packet carries, from the decision and what the packet came
 * with. fresh: the decision was just classified (else it came from the flow
 * cache, which holds the APN carried by the flow's earlier packets). */
static __always_inline void aigw_decision_apn(const struct aigw_cls_pkt *k, struct aigw_decision *d,
					      bool fresh)
{
	struct aigw_cls_action *act = &d->act;

	switch (d->apn_mode) {
	case AIGW_APN_MODE_STRIP:
		aigw_decision_no_apn(act);
		return;
	case AIGW_APN_MODE_SEEN:
		aigw_decision_no_apn(act);
		if (k->apn_len)
			aigw_decision_set_apn(act, k->apn, k->apn_len);
		return;
	case AIGW_APN_MODE_TRUST:
		if (k->apn_len) {
			aigw_decision_set_apn(act, k->apn, k->apn_len);
			return;
		}
		break;
	}
	if (fresh && (!(act->flags & AIGW_ACT_F_APN) || !aigw_apn_len_ok(act->apn_len)))
		aigw_decision_no_apn(act);
}

static __always_inline __u32 aigw_cls_gen(void)
{
	__u32 zero = 0;
	const struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);

	return g ? g->gen : 0;
}

#endif
