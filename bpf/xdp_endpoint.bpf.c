// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * aigw endpoint: the XDP program on WAN interfaces. An IPv6 packet whose
 * destination is a local SID (aigw_sid_exact, aigw_sids; lib/memo.h) gets the RFC 8986
 * behaviour bound to it:
 *   End, End.X           advance to the next segment and forward (End.X: to
 *                        the configured adjacency)
 *   End.DX4, End.DX6     decapsulate, forward to the configured next hop
 *   End.DT4/DT6/DT46     decapsulate, route the inner packet in a kernel table
 * Everything else goes to the kernel unchanged. Every packet leaves through
 * one aigw_ret_* or aigw_redirect, so it counts once in rx and once in a
 * verdict; exceptional cases leave early with a named reason.
 */
#include "lib/ctx/xdp.h"
#include "lib/fwd.h"
#include "lib/parse.h"
#include "lib/srh.h"
#include "lib/decap.h"
#include "lib/apn.h"
#include "lib/decide.h"
#include "lib/icmp.h"
#include "lib/nhcache.h"
#include "lib/memo.h"
#include "lib/rdma.h"
#include "lib/shape.h"

/* Does a decapsulating behaviour with flags bf (aigw_behavior_flags) take
 * this payload (4 or 41)? */
static __always_inline bool aigw_beh_takes(__u32 bf, __u8 proto)
{
	if (proto == NEXTHDR_IPV4)
		return bf & AIGW_BEH_F_TAKES_V4;
	if (proto == NEXTHDR_IPV6)
		return bf & AIGW_BEH_F_TAKES_V6;
	return false;
}

/* Read the parser's results back from memory. Otherwise clang keeps the
 * parser's own registers (packet pointers and offsets whose bounds differ on
 * every extension-header path) alive into the code below, and the verifier
 * can merge none of those paths (this cut the instructions it explores by
 * about 40%). */
static __always_inline void aigw_pkt_reload(struct aigw_pkt *p)
{
	const volatile struct aigw_pkt *vp = p;

	p->l3_proto = vp->l3_proto;
	p->l3_off = vp->l3_off;
	p->l3_len = vp->l3_len;
	p->srh_off = vp->srh_off;
	p->l4_off = vp->l4_off;
	p->l4_proto = vp->l4_proto;
	p->is_frag = vp->is_frag;
}

/* FIB parameters for forwarding the IPv6 packet ip6 towards dst, in fib
 * (zeroed, aligned: aigw_fib_cached). tot_len makes the kernel check the
 * egress MTU (FRAG_NEEDED goes to the kernel, which answers). */
static __always_inline void aigw_fib_ipv6(struct bpf_fib_lookup *fib, const struct ipv6hdr *ip6,
					  const void *dst, __u32 ifindex)
{
	fib->family = AF_INET6_;
	fib->tot_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	aigw_fib_put_key(fib, ifindex, *(const __be32 *)ip6 & bpf_htonl(AIGW_IPV6_FLOWINFO_MASK),
			 (const __u32 *)&ip6->saddr, dst, 4);
}

static __always_inline void aigw_fib_ipv4(struct bpf_fib_lookup *fib, const struct iphdr *ip,
					  __be32 dst, __u32 ifindex)
{
	fib->family = AF_INET_;
	fib->l4_protocol = ip->protocol;
	fib->tot_len = bpf_ntohs(ip->tot_len);
	aigw_fib_put_key(fib, ifindex, ip->tos, &ip->saddr, &dst, 1);
}

/* Does the IPv6 header at off start an options header chain (where an APN
 * option may be)? For the outer packet only Hop-by-Hop / Destination
 * Options right after the IPv6 header count (where a headend puts it), so
 * that plain SRv6 packets cost no walk; for the inner one also a Routing
 * header (options may follow it). */
static __always_inline bool aigw_ep_has_opts(struct __ctx_buff *ctx, __u32 off, bool outer)
{
	struct ipv6hdr *ip6 = aigw_pkt_ptr(ctx, off, sizeof(*ip6));

	if (!ip6)
		return false;
	return ip6->nexthdr == NEXTHDR_HOP || ip6->nexthdr == NEXTHDR_DEST ||
	       (!outer && ip6->nexthdr == NEXTHDR_ROUTING);
}

/* Before decapsulation, when the outer packet starts an options header
 * chain (aigw_ep_has_opts): its APN, kept in the per-CPU accounting state
 * for aigw_ep_account (apn.len = 0 if none). A global function, so that
 * none of its paths multiply the endpoint's. */
__noinline int aigw_ep_outer_apn(struct __ctx_buff *ctx, __u32 rx_len)
{
	struct aigw_acct_state *st;
	const struct aigw_cls_meta *m;
	__u32 zero = 0, bank;

	st = bpf_map_lookup_elem(&aigw_acct_state, &zero);
	if (!st)
		return -1;
	st->apn.len = 0;
	bank = aigw_cls_bank();
	m = bpf_map_lookup_elem(&aigw_cls_meta, &bank);
	if (m)
		aigw_apn_ingress(ctx, ETH_HLEN, m->apn_opt_type, false, rx_len, &st->apn);
	return 0;
}

/*
 * After decapsulation (the frame is Ethernet + the inner packet): classify
 * and count the inner packet, direction in. The interface is the customer
 * port the FIB chose (egress_ifindex, untagged entry), 0 = none; the APN is
 * the outer packet's (outer_apn: aigw_ep_outer_apn ran), else the inner
 * packet's own. A global function.
 * Returns 0, a drop reason when the inner packet is malformed (its headers
 * overrun its length: forwarded, it would be counted nowhere), or -1 when
 * the state map is missing.
 */
__noinline int aigw_ep_account(struct __ctx_buff *ctx, __u32 egress_ifindex, __u32 rx_len,
			       bool outer_apn)
{
	const struct aigw_iface_cfg *cfg;
	const struct aigw_cls_meta *m;
	struct aigw_acct_state *st;
	struct aigw_cls_pkt *k;
	__u32 zero = 0, bank, gen;
	int r;

	st = bpf_map_lookup_elem(&aigw_acct_state, &zero);
	if (!st)
		return -1;
	r = aigw_parse_global(ctx, &st->p);
	if (r)
		return r;
	k = &st->k;
	__builtin_memset(k, 0, sizeof(*k));
	if (aigw_cls_l3(ctx, st->p.l3_proto, ETH_HLEN, k))
		return -1;
	aigw_cls_l4(ctx, &st->p, k);
	k->key.dir = AIGW_DIR_IN;
	cfg = egress_ifindex ? aigw_iface_get(egress_ifindex, 0, AIGW_IF_MEMO_TX) : NULL;
	if (cfg) {
		k->key.ifslot = cfg->slot;
		k->key.vrf = cfg->vrf;
	}

	gen = aigw_cls_gen(); /* before the bank: see struct aigw_decision */
	bank = aigw_cls_bank();
	m = bpf_map_lookup_elem(&aigw_cls_meta, &bank);
	if (outer_apn && st->apn.len && st->apn.len <= AIGW_APN_MAX_ID_LEN) {
		k->apn_len = st->apn.len;
		__builtin_memcpy(k->apn, st->apn.id, sizeof(k->apn));
	} else if (m && k->key.family == 6 && aigw_ep_has_opts(ctx, ETH_HLEN, false)) {
		k->apn_len = aigw_apn_ingress(ctx, ETH_HLEN, m->apn_opt_type, false, rx_len, &st->apn);
		if (k->apn_len)
			__builtin_memcpy(k->apn, st->apn.id, sizeof(k->apn));
	}
	__builtin_memset(&st->d, 0, sizeof(st->d));
	st->d.apn_mode = AIGW_APN_MODE_SEEN;
	st->d.gen = gen;
	st->d.now = bpf_ktime_get_coarse_ns();
	aigw_decide(k, bank, &st->d);
	return 0;
}

/* RFC 8754 4.3.1.1 S11, RFC 8986 4.1 S10 and 4.4 S03: Parameter Problem
 * points at Segments Left, counted in bytes from the IPv6 header. */
static __always_inline __u32 aigw_srh_sl_pointer(const struct aigw_pkt *p)
{
	return p->srh_off - p->l3_off + offsetof(struct aigw_srh, segments_left);
}

/* Answer the packet (outer IPv6, as received) with an ICMPv6 error back out
 * the WAN port it came from, where its source is reachable, and discard it:
 * Time Exceeded (kind TTL) or Parameter Problem (kind PARAM, info = the
 * pointer). reason: the drop when no error may be sent. Without an IPv6
 * address on the port, an expired packet is the kernel's to answer. */
static __always_inline int aigw_ep_answer(struct __ctx_buff *ctx, struct aigw_ctx *c,
					  const struct aigw_iface_cfg *cfg,
					  const struct aigw_pkt *p, __u32 kind, __u32 info,
					  __u32 reason)
{
	int rc;

	if (!aigw_icmp_source(cfg, p))
		return kind == AIGW_ICMP_KIND_TTL ? aigw_ret_pass_ev(c, AIGW_EV_TTL_TO_KERNEL)
						  : aigw_ret_drop(c, reason);
	rc = aigw_icmp_error(ctx, p, cfg, kind, info);
	return aigw_icmp_verdict(ctx, c, rc,
				 kind == AIGW_ICMP_KIND_PARAM ? AIGW_EV_ICMP_PARAM_SENT
							      : AIGW_EV_ICMP_TTL_SENT,
				 reason);
}

/* End and End.X (RFC 8986 4.1, 4.2): behaviours without AIGW_BEH_F_DECAP;
 * bf = aigw_behavior_flags(sid->behavior); srh: the packet's SRH, if any,
 * not checked yet (RFC 8986 4.1 checks the hop limit first). The packet
 * leaves without what followed the IPv6 packet in the frame. */
static __always_inline int aigw_end(struct __ctx_buff *ctx, struct aigw_ctx *c,
				    const struct aigw_iface_cfg *cfg, const struct aigw_pkt *p,
				    struct ipv6hdr *ip6, struct aigw_srh *srh,
				    const struct aigw_sid_entry *sid, __u32 bf)
{
	struct bpf_fib_lookup fib AIGW_FIB_ALIGNED = {};
	__u8 upper = p->l4_proto;
	__u32 srh_off = p->srh_off;
	__u32 l3_end = p->l3_off + p->l3_len;
	int r;

	/* S02-S03: no segment left for us to visit: process the upper layer
	 * (RFC 8986 4.1.1). ICMPv6, TCP, UDP... are for the kernel; an inner
	 * IPv4/IPv6 packet is not, since End does not decapsulate: discard. */
	if (!srh || srh->segments_left == 0) {
		r = srh ? aigw_srh_check(srh) : 0; /* malformed: nothing to answer */
		if (r)
			return aigw_ret_drop(c, r);
		if (upper == NEXTHDR_IPV4 || upper == NEXTHDR_IPV6)
			return aigw_ret_drop(c, AIGW_DROP_SRH_MISSING);
		return aigw_ret_pass_ev(c, AIGW_EV_SL_ZERO_TO_KERNEL);
	}
	/* S05-S06: expiring here: Time Exceeded to the source (traceroute
	 * through an endpoint shows it). S08-S10: a segment list that does
	 * not fit: Parameter Problem at Segments Left. */
	if (ip6->hop_limit <= 1)
		return aigw_ep_answer(ctx, c, cfg, p, AIGW_ICMP_KIND_TTL, 0, AIGW_DROP_HOP_LIMIT);
	r = aigw_srh_check(srh);
	if (r)
		return aigw_ep_answer(ctx, c, cfg, p, AIGW_ICMP_KIND_PARAM, aigw_srh_sl_pointer(p), r);
	r = aigw_srh_end(ctx, ip6, srh, srh_off);
	if (r)
		return aigw_ret_drop(c, r);
	/* Whether it is redirected or handed to the kernel, the rewritten
	 * packet leaves without the frame's tail. */
	if (aigw_trim_to(ctx, l3_end))
		return aigw_ret_drop(c, AIGW_DROP_HEADROOM);
	ip6 = aigw_pkt_ptr(ctx, p->l3_off, sizeof(*ip6)); /* the trim moved data_end */
	if (!ip6)
		return aigw_ret_drop(c, AIGW_DROP_TRUNC_IPV6);

	aigw_fib_ipv6(&fib, ip6, (bf & AIGW_BEH_F_NEXTHOP) ? (const void *)sid->nh6 : &ip6->daddr,
		      c->ifindex);
	/* Anything but SUCCESS: the packet, already advanced to the next
	 * segment, goes to the kernel, which resolves or answers. */
	r = aigw_fib_cached(ctx, &fib, 0);
	if (r != BPF_FIB_LKUP_RET_SUCCESS)
		return aigw_fib_exception(c, r);
	if ((bf & AIGW_BEH_F_ADJ) && sid->oif && fib.ifindex != sid->oif)
		return aigw_ret_pass_ev(c, AIGW_EV_FIB_TO_KERNEL);
	return aigw_redirect(ctx, c, &fib);
}

/* The decapsulated packet (at ETH_HLEN) is about to be forwarded: decrement
 * its TTL / hop limit. Returns 0, -1 when it expires here (unchanged), or a
 * drop reason. */
static __always_inline int aigw_ep_inner_hop(struct __ctx_buff *ctx)
{
	struct ethhdr *eth = aigw_pkt_ptr(ctx, 0, sizeof(*eth));

	if (!eth)
		return AIGW_DROP_TRUNC_ETH;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip));

		if (!ip)
			return AIGW_DROP_TRUNC_IPV4;
		if (ip->ttl <= 1)
			return -1;
		aigw_ipv4_dec_ttl(ip);
	} else {
		struct ipv6hdr *ip6 = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));

		if (!ip6)
			return AIGW_DROP_TRUNC_IPV6;
		if (ip6->hop_limit <= 1)
			return -1;
		ip6->hop_limit--;
	}
	return 0;
}

/* Where an ICMP error about the decapsulated packet p comes from: the port
 * the error leaves by, else the one p would have left by, else the ingress
 * port (the kernel's choice is the reply route's preferred source). */
static __always_inline const struct aigw_iface_cfg *
aigw_ep_icmp_source(const struct aigw_pkt *p, __u32 reply_ifindex, __u32 fwd_ifindex,
		    __u32 in_ifindex)
{
	__u32 cand[3] = { reply_ifindex, fwd_ifindex, in_ifindex };
	const struct aigw_iface_cfg *cfg;

#pragma unroll
	for (int i = 0; i < 3; i++) {
		struct aigw_iface_key k = { .ifindex = cand[i] };

		cfg = bpf_map_lookup_elem(&aigw_ifaces, &k);
		if (cfg && aigw_icmp_source(cfg, p))
			return cfg;
	}
	return NULL;
}

/* The route of an ICMP error about p back to p's source: in table tbid (0:
 * main, the FIB's rules). Returns the FIB result. */
static __always_inline int aigw_ep_reply_route(struct __ctx_buff *ctx, const struct aigw_pkt *p,
					       __u32 in_ifindex, __u32 tbid,
					       struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = in_ifindex;
	if (p->l3_proto == ETH_P_IP) {
		struct iphdr *ip = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip));

		if (!ip)
			return -1;
		fib->family = AF_INET_;
		fib->l4_protocol = IPPROTO_ICMP_;
		fib->ipv4_dst = ip->saddr;
	} else {
		struct ipv6hdr *ip6 = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));

		if (!ip6)
			return -1;
		fib->family = AF_INET6_;
		fib->l4_protocol = NEXTHDR_ICMPV6;
		__builtin_memcpy(fib->ipv6_dst, &ip6->saddr, sizeof(fib->ipv6_dst));
	}
	if (!tbid)
		return ctx_fib_lookup(ctx, fib, 0);
	fib->tbid = tbid;
	return ctx_fib_lookup(ctx, fib, CTX_FIB_TABLE_FLAGS);
}

/* Where the decapsulated packet goes instead of the redirect to egress
 * that aigw_redirect has just readied (aigw_ep_divert). */
enum aigw_ep_divert_to {
	AIGW_EP_KEEP = 0,   /* the redirect stands */
	AIGW_EP_XSK = 1,    /* redirected into the RDMA proxy's socket */
	AIGW_EP_KERNEL = 2, /* to the kernel, for the tenant's customer queue */
};

/* After aigw_redirect to egress: the inner packet that aigw_ep_account just
 * parsed and classified goes into the RDMA proxy's socket if the proxy
 * takes it (lib/rdma.h), or to the kernel when it is a shaped tenant's,
 * bound for a customer port (lib/shape.h). One global function for both
 * (each reads the ports' slots itself: the callers keeping the port's
 * entry to the end doubles what the verifier walks); the common packet,
 * neither RoCEv2 nor shaped, costs it two array lookups. */
__noinline int aigw_ep_divert(struct xdp_md *ctx, __u32 egress, __u32 rx_len)
{
	__u32 zero = 0;
	const struct aigw_acct_state *st = bpf_map_lookup_elem(&aigw_acct_state, &zero);
	const struct aigw_iface_cfg *cfg;
	__u32 tenant;
	__u8 kind;

	if (!st)
		return AIGW_EP_KEEP;
	tenant = st->d.act.tenant;
	kind = aigw_rdma_kind(&st->p, &st->d.act, AIGW_XSK_INGRESS);
	if (kind) {
		cfg = aigw_iface_get(ctx_ingress_ifindex(ctx), 0, AIGW_IF_MEMO_RX);
		if (cfg && aigw_rdma_take(ctx, egress, cfg->slot,
					  AIGW_RDMA_HOW(kind, tenant, ETH_HLEN), rx_len))
			return AIGW_EP_XSK;
	}
	if (!aigw_shape_of(tenant))
		return AIGW_EP_KEEP;
	cfg = aigw_iface_get(egress, 0, AIGW_IF_MEMO_TX);
	if (!cfg || cfg->role != AIGW_ROLE_CUSTOMER)
		return AIGW_EP_KEEP;
	return aigw_shape_take(ctx, egress, tenant, rx_len, AIGW_SHAPE_META_DECAP) ? AIGW_EP_KERNEL
										   : AIGW_EP_KEEP;
}

/*
 * The decapsulated packet expires here (RFC 1812 5.3.1, RFC 8200 3): turn it
 * into ICMP Time Exceeded to its source, routed like any packet of this
 * router in the behaviour's table tbid (0: main). Returns 0 when the frame
 * is the error and *fib its route (the caller redirects), AIGW_EXPIRED_KERNEL
 * when XDP cannot route it (no route, next hop unresolved, a kernel encap
 * route, no source address) and the table is main: the kernel's forwarding
 * answers; else a drop reason (another table's packet: the kernel would
 * route it in main). fwd_ifindex: where the packet would have gone.
 * Inlined: as a global function it made the call chain down to
 * aigw_csum_pkt exceed the 512-byte stack.
 */
#define AIGW_EXPIRED_KERNEL (-1)
static __always_inline int aigw_ep_expired(struct __ctx_buff *ctx, struct bpf_fib_lookup *fib,
					   __u32 in_ifindex, __u32 fwd_ifindex, __u32 tbid)
{
	const struct aigw_iface_cfg *src;
	struct aigw_acct_state *st;
	__u32 zero = 0;
	int r;

	st = bpf_map_lookup_elem(&aigw_acct_state, &zero);
	if (!st)
		return AIGW_DROP_HOP_LIMIT;
	r = aigw_parse_global(ctx, &st->p);
	if (r)
		return r;
	r = aigw_ep_reply_route(ctx, &st->p, in_ifindex, tbid, fib);
	src = r == BPF_FIB_LKUP_RET_SUCCESS
		      ? aigw_ep_icmp_source(&st->p, fib->ifindex, fwd_ifindex, in_ifindex)
		      : NULL;
	if (!src)
		return !tbid || tbid == AIGW_RT_TABLE_MAIN ? AIGW_EXPIRED_KERNEL
							  : AIGW_DROP_HOP_LIMIT;
	r = aigw_icmp_error(ctx, &st->p, src, AIGW_ICMP_KIND_TTL, 0);
	if (r == AIGW_ICMP_SENT)
		return 0;
	return r == AIGW_ICMP_SUPPRESSED ? AIGW_DROP_HOP_LIMIT : AIGW_DROP_HEADROOM;
}

/* Forward the decapsulated packet along *fib, one router hop later (as the
 * kernel's End.DX / End.DT forward it; what goes to the kernel instead is
 * decremented there), or answer it if it expires here. tbid: the SID's
 * table, 0 = main. */
static __always_inline int aigw_ep_forward_inner(struct __ctx_buff *ctx, struct aigw_ctx *c,
						 struct bpf_fib_lookup *fib, __u32 tbid)
{
	int r = aigw_ep_inner_hop(ctx);

	if (r > 0)
		return aigw_ret_drop(c, r);
	if (r == 0) {
		r = aigw_redirect(ctx, c, fib);
		if (r == XDP_REDIRECT && aigw_ep_divert(ctx, fib->ifindex, c->rx_len) == AIGW_EP_KERNEL)
			return CTX_ACT_OK;
		return r;
	}
	r = aigw_ep_expired(ctx, fib, c->ifindex, fib->ifindex, tbid);
	if (r == AIGW_EXPIRED_KERNEL)
		return aigw_ret_pass_ev(c, AIGW_EV_TTL_TO_KERNEL);
	if (r)
		return aigw_ret_drop(c, r);
	aigw_event(AIGW_EV_ICMP_TTL_SENT, c->rx_len);
	return aigw_redirect(ctx, c, fib);
}

/* End.DX4, End.DX6, End.DT4, End.DT6, End.DT46 (RFC 8986 4.4-4.8): the
 * behaviours with AIGW_BEH_F_DECAP; bf = aigw_behavior_flags(sid->behavior). */
static __always_inline int aigw_end_decap(struct __ctx_buff *ctx, struct aigw_ctx *c,
					  const struct aigw_iface_cfg *cfg,
					  const struct aigw_pkt *p, struct ipv6hdr *outer,
					  struct aigw_srh *srh, const struct aigw_sid_entry *sid,
					  __u32 bf)
{
	struct bpf_fib_lookup fib AIGW_FIB_ALIGNED = {};
	__u8 proto = p->l4_proto;
	__u32 flags = 0, inner_len = 0;
	bool outer_apn;
	__u8 outer_ecn;
	int r, r2;

	/* RFC 8986 4.4 S02-S03 (and 4.5-4.8): Parameter Problem at Segments
	 * Left. A malformed SRH with no segment left: discarded silently. */
	if (srh && srh->segments_left != 0)
		return aigw_ep_answer(ctx, c, cfg, p, AIGW_ICMP_KIND_PARAM, aigw_srh_sl_pointer(p),
				      AIGW_DROP_SRH_SL_NOT_ZERO);
	if (srh) {
		r = aigw_srh_check(srh);
		if (r)
			return aigw_ret_drop(c, r);
	}
	if (!aigw_beh_takes(bf, proto))
		return aigw_ret_drop(c, AIGW_DROP_INNER_PROTO);
	/* Only the kernel can reassemble a fragmented outer packet. */
	if (p->is_frag)
		return aigw_ret_pass_ev(c, AIGW_EV_FIB_TO_KERNEL);
	r = aigw_inner_check(ctx, p->l4_off, proto, p->l3_off + p->l3_len, &inner_len);
	if (r)
		return aigw_ret_drop(c, r);

	outer_ecn = aigw_ipv6_ecn(outer);
	/* Most SRv6 packets carry no options: no call for them. */
	outer_apn = aigw_ep_has_opts(ctx, ETH_HLEN, true);
	if (outer_apn)
		aigw_ep_outer_apn(ctx, c->rx_len);
	r = aigw_decap(ctx, p->l4_off, proto == NEXTHDR_IPV4 ? ETH_P_IP : ETH_P_IPV6);
	if (r)
		return aigw_ret_drop(c, r);
	/* The inner packet alone: not what followed it in the outer payload
	 * nor the frame's padding. */
	if (aigw_trim_to(ctx, ETH_HLEN + inner_len))
		return aigw_ret_drop(c, AIGW_DROP_HEADROOM);
	aigw_count_decap(c, ctx);

	if (proto == NEXTHDR_IPV4) {
		struct iphdr *ip = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip));

		if (!ip)
			return aigw_ret_drop(c, AIGW_DROP_TRUNC_IPV4);
		aigw_ecn_decap_ipv4(ip, outer_ecn);
		aigw_fib_ipv4(&fib, ip, (bf & AIGW_BEH_F_NEXTHOP) ? sid->nh4 : ip->daddr, c->ifindex);
	} else {
		struct ipv6hdr *ip6 = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));

		if (!ip6)
			return aigw_ret_drop(c, AIGW_DROP_TRUNC_IPV6);
		aigw_ecn_decap_ipv6(ip6, outer_ecn);
		aigw_fib_ipv6(&fib, ip6,
			      (bf & AIGW_BEH_F_NEXTHOP) ? (const void *)sid->nh6 : &ip6->daddr,
			      c->ifindex);
	}
	/* End.DT*: route in the SID's kernel table, without a VRF device. The
	 * kernel honours TBID only together with DIRECT (no policy rules). */
	if (bf & AIGW_BEH_F_TABLE_LOOKUP) {
		fib.tbid = sid->table;
		flags = CTX_FIB_TABLE_FLAGS;
	}
	/* Anything but SUCCESS (FRAG_NEEDED included) for DX or the main
	 * table: the decapsulated packet goes to the kernel, which routes or
	 * answers it; never dropped silently. */
	r = aigw_fib_cached(ctx, &fib, flags);
	/* The kernel would route a passed packet in the main table: for a
	 * SID bound to another table that would leak between VRFs. */
	if (r != BPF_FIB_LKUP_RET_SUCCESS && (bf & AIGW_BEH_F_TABLE_LOOKUP) &&
	    sid->table != AIGW_RT_TABLE_MAIN)
		return aigw_ret_drop(c, r == BPF_FIB_LKUP_RET_BLACKHOLE ? AIGW_DROP_FIB_BLACKHOLE
									 : AIGW_DROP_DT_NO_ROUTE);
	if (r == BPF_FIB_LKUP_RET_BLACKHOLE)
		return aigw_ret_drop(c, AIGW_DROP_FIB_BLACKHOLE);
	/* Delivered (forwarded or to the kernel): count it, direction in. An
	 * inner packet whose headers overrun its length is dropped, as the
	 * headend drops such a packet from a customer. */
	r2 = aigw_ep_account(ctx,
			     r == BPF_FIB_LKUP_RET_SUCCESS || r == BPF_FIB_LKUP_RET_NO_NEIGH ? fib.ifindex
											     : 0,
			     c->rx_len, outer_apn);
	if (r2 > 0)
		return aigw_ret_drop(c, r2);
	if (r != BPF_FIB_LKUP_RET_SUCCESS)
		return aigw_fib_exception(c, r);
	if ((bf & AIGW_BEH_F_ADJ) && sid->oif && fib.ifindex != sid->oif)
		return aigw_ret_pass_ev(c, AIGW_EV_FIB_TO_KERNEL);
	return aigw_ep_forward_inner(ctx, c, &fib, (bf & AIGW_BEH_F_TABLE_LOOKUP) ? sid->table : 0);
}

SEC("xdp")
int xdp_endpoint(struct xdp_md *ctx)
{
	const struct aigw_iface_cfg *cfg =
		aigw_iface_get(ctx_ingress_ifindex(ctx), 0, AIGW_IF_MEMO_RX);
	const struct aigw_sid_entry *entry;
	struct aigw_sid_entry sid;
	struct aigw_srh *srh = NULL;
	struct ipv6hdr *ip6;
	struct aigw_ctx c;
	struct aigw_pkt p;
	__u32 bf;
	int r;

	aigw_stats_rx(&c, ctx, cfg);
	/* SIDs are for packets from the WAN. On any other port (the program
	 * attached to a customer port by mistake, or a port taken out of the
	 * configuration) a host must not reach them: the kernel gets every
	 * packet untouched, as if no program ran. */
	if (!cfg || cfg->role != AIGW_ROLE_WAN)
		return aigw_ret_pass_ev(&c, AIGW_EV_PORT_NOT_WAN);
	r = aigw_parse(ctx, &p);
	if (r)
		return aigw_ret_drop(&c, r);
	aigw_pkt_reload(&p);
	/* WAN ports carry untagged IPv6; tagged frames belong to the kernel's
	 * VLAN devices. */
	if (p.l3_proto != ETH_P_IPV6 || p.l3_off != ETH_HLEN)
		return aigw_ret_pass(&c);
	ip6 = aigw_pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));
	if (!ip6)
		return aigw_ret_drop(&c, AIGW_DROP_TRUNC_IPV6);

	/* Local SID: exact /128, or locator+function followed by arguments. */
	entry = aigw_sid_get(&ip6->daddr);
	if (!entry)
		return aigw_ret_pass(&c);
	sid = *entry; /* off the memo slot: the stack copy is what the verifier tracks best */
	bf = aigw_behavior_flags(sid.behavior);
	if (!bf)
		return aigw_ret_drop(&c, AIGW_DROP_SID_INVALID);

	/* The SRH is checked by each behaviour, in the RFC's order. */
	if (p.srh_off) {
		srh = aigw_pkt_ptr(ctx, p.srh_off, sizeof(*srh));
		if (!srh)
			return aigw_ret_drop(&c, AIGW_DROP_TRUNC_EXTHDR);
	}

	if (!(bf & AIGW_BEH_F_DECAP))
		return aigw_end(ctx, &c, cfg, &p, ip6, srh, &sid, bf);
	return aigw_end_decap(ctx, &c, cfg, &p, ip6, srh, &sid, bf);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
