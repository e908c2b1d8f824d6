// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * aigw headend, attached to customer-facing interfaces: traffic whose
 * (VRF, destination) matches a policy prefix is encapsulated in SRv6
 * (RFC 8986 H.Encaps / H.Encaps.Red) and redirected to the WAN port the
 * FIB picks for the first SID; everything else goes to the kernel.
 *
 * Per packet, top to bottom; exceptions leave early with a drop reason or
 * an event, and every packet counts once in rx and once in a verdict:
 *   1. parse (Ethernet, one VLAN tag, IPv4/IPv6, TCP/UDP/ICMP)
 *   2. interface config: the VID's entry, else the port's untagged entry
 *   3. policy lookup (LPM on VRF + inner destination), IPv4 header checksum
 *      (RFC 1812 5.2.2), the host's APN option
 *      (kept, or stripped per the port), classification (flow cache, else
 *      the rule set) and accounting; DSCP remark; a rule may name the
 *      policy instead of the prefix lookup
 *   4. inner TTL / hop limit expiry -> ICMP Time Exceeded from XDP
 *   5. FIB lookup for the outer packet (MTU checked by the kernel)
 *      -> ICMP Fragmentation Needed / Packet Too Big from XDP
 *   6. TCP MSS clamp of SYNs
 *   7. inner TTL / hop limit decrement
 *   8. trim L2 padding
 *   9. encapsulate (with the APN option the decision carries)
 *  10. rewrite MACs and redirect (RoCEv2 the RDMA proxy takes: to its
 *      AF_XDP socket, lib/rdma.h; a shaped tenant's: to the kernel with
 *      its WAN queue in the metadata, lib/shape.h)
 */
#include "lib/ctx/xdp.h"
#include "lib/fwd.h"
#include "lib/addr.h"
#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/encap.h"
#include "lib/hash.h"
#include "lib/icmp.h"
#include "lib/mss.h"
#include "lib/srh.h"
#include "lib/apn.h"
#include "lib/decide.h"
#include "lib/nhcache.h"
#include "lib/memo.h"
#include "lib/rdma.h"
#include "lib/shape.h"

#define AIGW_PFX_VRF_BITS 32       /* the VRF id leads every prefix key */
#define AIGW_POL_MSS_OFF 0xffff    /* policy.tcp_mss: no clamping */
#define AIGW_POL_MSS_AUTO 0        /* policy.tcp_mss: derive from the egress MTU */

/* What the headend takes from the inner IP header. */
struct aigw_inner {
	__u32 flowlabel; /* outer flow label, from the inner flow */
	__u16 len;       /* inner IP packet length */
	__u8 ttl;        /* TTL / hop limit as received */
	__u8 tclass;     /* DSCP + ECN */
	__u8 nexthdr;    /* NEXTHDR_IPV4 / NEXTHDR_IPV6 */
	__u8 df;         /* IPv4 Don't Fragment; IPv6 is never fragmented en route */
	__u8 hdr_len;    /* fixed IP header length, for the MSS formula */
	__u8 extra;      /* bytes of the APN options header added to the outer headers */
};

/* The port's entry for the frame's VID (0: untagged), NULL if none. */
static __always_inline const struct aigw_iface_cfg *aigw_iface_for_vlan(__u32 ifindex, __u16 vlan)
{
	return aigw_iface_get(ifindex, vlan, AIGW_IF_MEMO_RX);
}

/* A frame tagged with a VID the port has no entry for: counted on the
 * port's untagged entry and handed to the kernel untouched (its VLAN
 * device, or a drop there), never steered as the port's untagged traffic. */
static __always_inline int aigw_vlan_unknown(struct __ctx_buff *ctx, struct aigw_ctx *c,
					     __u32 ifindex)
{
	const struct aigw_iface_cfg *cfg = aigw_iface_for_vlan(ifindex, 0);

	aigw_stats_rx(c, ctx, cfg);
	if (cfg && cfg->role == AIGW_ROLE_CUSTOMER)
		return aigw_ret_pass_ev(c, AIGW_EV_VLAN_UNKNOWN);
	return aigw_ret_pass(c);
}

/* Ports for the flow hash: none for fragments, so that every fragment of a
 * datagram gets the same label as the first. */
static __always_inline __u32 aigw_hash_ports(const struct aigw_pkt *p)
{
	return p->is_frag ? 0 : ((__u32)p->sport << 16 | p->dport);
}

#define AIGW_IPV6_DSCP_MASK (0xfcu << AIGW_IPV6_TCLASS_SHIFT)

/* IPv4: false when the destination is the router's or the segment's
 * (multicast, broadcast, the port's own address: never steered nor
 * classified). Else the policy slot for (VRF, destination), 0 if none, in
 * *slot, and the addresses and DSCP in *k. */
static __always_inline bool aigw_look4(struct __ctx_buff *ctx, const struct aigw_pkt *p,
				       const struct aigw_iface_cfg *cfg, struct aigw_cls_pkt *k,
				       __u32 *slot)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	struct aigw_pfx4_key key = {
		.prefixlen = AIGW_PFX_VRF_BITS + 32,
		.vrf_be = bpf_htonl(cfg->vrf),
	};
	struct iphdr *ip;
	__u32 *s;

	if (p->l3_off > ETH_HLEN + VLAN_HLEN)
		return false;
	ip = data + p->l3_off;
	if ((void *)(ip + 1) > data_end)
		return false;
	if ((bpf_ntohl(ip->daddr) >> 28) == 0xe || ip->daddr == 0xffffffff ||
	    ip->daddr == cfg->addr4)
		return false;
	__builtin_memcpy(key.addr, &ip->daddr, sizeof(key.addr));
	s = bpf_map_lookup_elem(&aigw_pfx4, &key);
	*slot = s ? *s : AIGW_POLICY_SLOT_NONE;
	__builtin_memcpy(k->key.src, &ip->saddr, sizeof(ip->saddr));
	__builtin_memcpy(k->key.dst, &ip->daddr, sizeof(ip->daddr));
	k->key.family = 4;
	k->dscp = ip->tos >> AIGW_DSCP_SHIFT;
	return true;
}

/* IPv6: as aigw_look4; multicast (ND included), link-local and the port's
 * own address are never steered. */
static __always_inline bool aigw_look6(struct __ctx_buff *ctx, const struct aigw_pkt *p,
				       const struct aigw_iface_cfg *cfg, struct aigw_cls_pkt *k,
				       __u32 *slot)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	struct aigw_pfx6_key key = {
		.prefixlen = AIGW_PFX_VRF_BITS + 128,
		.vrf_be = bpf_htonl(cfg->vrf),
	};
	struct ipv6hdr *ip6;
	__u32 *s;

	if (p->l3_off > ETH_HLEN + VLAN_HLEN)
		return false;
	ip6 = data + p->l3_off;
	if ((void *)(ip6 + 1) > data_end)
		return false;
	if (ip6->daddr.in6_u.u6_addr8[0] == 0xff ||
	    (ip6->daddr.in6_u.u6_addr8[0] == 0xfe && (ip6->daddr.in6_u.u6_addr8[1] & 0xc0) == 0x80) ||
	    aigw_addr6_eq(&ip6->daddr, cfg->addr6))
		return false;
	__builtin_memcpy(key.addr, &ip6->daddr, sizeof(key.addr));
	s = bpf_map_lookup_elem(&aigw_pfx6, &key);
	*slot = s ? *s : AIGW_POLICY_SLOT_NONE;
	__builtin_memcpy(k->key.src, &ip6->saddr, sizeof(ip6->saddr));
	__builtin_memcpy(k->key.dst, &ip6->daddr, sizeof(ip6->daddr));
	k->key.family = 6;
	k->dscp = (__u8)(bpf_ntohl(*(__be32 *)ip6) >> AIGW_IPV6_TCLASS_SHIFT) >> AIGW_DSCP_SHIFT;
	return true;
}

/* RFC 1812 5.2.2: an IPv4 header whose checksum is wrong (options
 * included) is neither classified nor forwarded. */
static __always_inline bool aigw_ipv4_hdr_ok(struct __ctx_buff *ctx, const struct aigw_pkt *p)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	struct iphdr *ip;

	if (p->l3_off > ETH_HLEN + VLAN_HLEN)
		return false;
	ip = data + p->l3_off;
	if ((void *)(ip + 1) > data_end)
		return false;
	return aigw_ipv4_csum_ok(ip, data_end);
}

/* What the encapsulation takes from the inner IP header (after remarking). */
static __always_inline int aigw_inner_of(struct __ctx_buff *ctx, const struct aigw_pkt *p,
					 struct aigw_inner *in)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);

	if (p->l3_off > ETH_HLEN + VLAN_HLEN)
		return AIGW_DROP_TRUNC_VLAN;
	in->len = p->l3_len;
	if (p->l3_proto == ETH_P_IP) {
		struct iphdr *ip = data + p->l3_off;

		if ((void *)(ip + 1) > data_end)
			return AIGW_DROP_TRUNC_IPV4;
		in->ttl = ip->ttl;
		in->tclass = ip->tos;
		in->nexthdr = NEXTHDR_IPV4;
		in->df = !!(ip->frag_off & bpf_htons(IPV4_DF));
		in->hdr_len = sizeof(struct iphdr);
		in->flowlabel = aigw_flowlabel(
			aigw_flow_hash4(ip->saddr, ip->daddr, aigw_hash_ports(p), p->l4_proto));
	} else {
		struct ipv6hdr *ip6 = data + p->l3_off;

		if ((void *)(ip6 + 1) > data_end)
			return AIGW_DROP_TRUNC_IPV6;
		in->ttl = ip6->hop_limit;
		in->tclass = bpf_ntohl(*(__be32 *)ip6) >> AIGW_IPV6_TCLASS_SHIFT;
		in->nexthdr = NEXTHDR_IPV6;
		in->df = 1;
		in->hdr_len = sizeof(struct ipv6hdr);
		in->flowlabel = aigw_flowlabel(aigw_flow_hash6((const __u32 *)&ip6->saddr,
							       (const __u32 *)&ip6->daddr,
							       aigw_hash_ports(p), p->l4_proto));
	}
	return 0;
}

/* Rewrite the customer packet's DSCP, keeping ECN (IPv4: header checksum
 * updated incrementally). The outer traffic class is copied from it. */
static __always_inline int aigw_remark(struct __ctx_buff *ctx, const struct aigw_pkt *p, __u8 dscp)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);

	if (p->l3_off > ETH_HLEN + VLAN_HLEN)
		return AIGW_DROP_TRUNC_VLAN;
	if (p->l3_proto == ETH_P_IP) {
		struct iphdr *ip = data + p->l3_off;
		__u8 tos, ntos;

		if ((void *)(ip + 1) > data_end)
			return AIGW_DROP_TRUNC_IPV4;
		tos = ip->tos;
		ntos = (dscp << AIGW_DSCP_SHIFT) | (tos & AIGW_ECN_MASK);
		if (ntos == tos)
			return 0;
		ip->tos = ntos;
		/* TOS is the low byte of the header's first 16-bit word. */
		aigw_csum_replace2(&ip->check, bpf_htons(tos), bpf_htons(ntos));
	} else {
		struct ipv6hdr *ip6 = data + p->l3_off;
		__u32 w;

		if ((void *)(ip6 + 1) > data_end)
			return AIGW_DROP_TRUNC_IPV6;
		w = bpf_ntohl(*(__be32 *)ip6);
		w = (w & ~AIGW_IPV6_DSCP_MASK) |
		    ((__u32)(dscp & 0x3f) << (AIGW_IPV6_TCLASS_SHIFT + AIGW_DSCP_SHIFT));
		*(__be32 *)ip6 = bpf_htonl(w);
	}
	return 0;
}

/* Is an options header (where an APN option may be) the first, or behind a
 * Routing header? The cheap test before aigw_apn_find's walk. */
static __always_inline bool aigw_ipv6_has_opts(struct __ctx_buff *ctx, const struct aigw_pkt *p)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	struct ipv6hdr *ip6;

	if (p->l3_off > ETH_HLEN + VLAN_HLEN)
		return false;
	ip6 = data + p->l3_off;
	if ((void *)(ip6 + 1) > data_end)
		return false;
	return ip6->nexthdr == NEXTHDR_HOP || ip6->nexthdr == NEXTHDR_DEST ||
	       ip6->nexthdr == NEXTHDR_ROUTING;
}

/* The customer port's APN handling (aigw_iface_cfg.flags). */
static __always_inline __u8 aigw_apn_mode_of(const struct aigw_iface_cfg *cfg)
{
	if (cfg->flags & AIGW_IF_F_APN_STRIP)
		return AIGW_APN_MODE_STRIP;
	if (cfg->flags & AIGW_IF_F_APN_TRUST)
		return AIGW_APN_MODE_TRUST;
	return AIGW_APN_MODE_REWRITE;
}

/* The APN options header for the outer packet, into ea; counts
 * AIGW_EV_APN_NO_ROOM when template + header would not fit the headroom.
 * Returns the header length (0 = none). */
static __always_inline __u32 aigw_apn_impose(struct aigw_ctx *c, const struct aigw_cls_meta *m,
					     const struct aigw_policy *pol,
					     const struct aigw_decision *d,
					     struct aigw_encap_args *ea)
{
	__u32 len;

	ea->ext_len = 0;
	if (!m || !(d->act.flags & AIGW_ACT_F_APN))
		return 0;
	len = aigw_apn_hdr_build(ea->ext, m->apn_opt_type, d->act.apn, d->act.apn_len);
	if (!len || len > AIGW_ENCAP_EXT_MAX)
		return 0;
	if ((__u32)pol->encap_len + len > AIGW_ENCAP_ROOM) {
		aigw_event(AIGW_EV_APN_NO_ROOM, c->rx_len);
		return 0;
	}
	ea->ext_len = len;
	ea->ext_type = m->apn_header == AIGW_APN_HDR_DEST_OPTS ? NEXTHDR_DEST : NEXTHDR_HOP;
	return len;
}

/* Packets (and inner L3 bytes) each policy encapsulated. */
static __always_inline void aigw_pol_count(__u32 slot, __u32 len)
{
	struct aigw_ctr *pc = bpf_map_lookup_elem(&aigw_pol_stats, &slot);

	if (pc)
		aigw_ctr_add(pc, len);
}

/* 4. TTL / hop limit would expire here: answer from XDP if the interface
 * has a source address for it, else let the kernel answer. */
static __always_inline int aigw_ttl_expired(struct __ctx_buff *ctx, struct aigw_ctx *c,
					    const struct aigw_iface_cfg *cfg,
					    const struct aigw_pkt *p)
{
	int rc;

	if (!aigw_icmp_source(cfg, p))
		return aigw_ret_pass_ev(c, AIGW_EV_TTL_TO_KERNEL);
	rc = aigw_icmp_error(ctx, p, cfg, AIGW_ICMP_KIND_TTL, 0);
	return aigw_icmp_verdict(ctx, c, rc, AIGW_EV_ICMP_TTL_SENT, AIGW_DROP_HOP_LIMIT);
}

/* 5. Too big for the tunnel: mtu is what is left for the inner packet.
 * IPv4 without DF would need fragmenting, which XDP does not do. */
static __always_inline int aigw_too_big(struct __ctx_buff *ctx, struct aigw_ctx *c,
					const struct aigw_iface_cfg *cfg, const struct aigw_pkt *p,
					const struct aigw_inner *in, __u32 mtu)
{
	int rc;

	if (!in->df)
		return aigw_ret_drop(c, AIGW_DROP_FRAG_NO_DF);
	if (!aigw_icmp_source(cfg, p))
		return aigw_ret_drop(c, AIGW_DROP_MTU_EXCEEDED);
	rc = aigw_icmp_error(ctx, p, cfg, AIGW_ICMP_KIND_TOO_BIG, mtu);
	return aigw_icmp_verdict(ctx, c, rc, AIGW_EV_ICMP_MTU_SENT, AIGW_DROP_MTU_EXCEEDED);
}

/* 5. Route the outer packet: to the first SID, from the tunnel source, with
 * its final length so that the kernel checks the egress MTU. The flow label
 * and next header make ECMP pick the path the packet's own hash would. */
static __always_inline int aigw_fib_outer(struct __ctx_buff *ctx, const struct aigw_policy *pol,
					  const struct aigw_inner *in, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET6_;
	fib->l4_protocol = pol->has_srh ? NEXTHDR_ROUTING : in->nexthdr;
	fib->tot_len = in->len + pol->encap_len + in->extra;
	fib->ifindex = ctx_ingress_ifindex(ctx);
	fib->flowinfo = bpf_htonl(in->flowlabel);
	aigw_copy_addr6(fib->ipv6_src, pol->hdr + AIGW_TMPL_SADDR_OFF);
	aigw_copy_addr6(fib->ipv6_dst, pol->hdr + AIGW_TMPL_DADDR_OFF);
	return ctx_fib_lookup(ctx, fib, 0);
}

/* Next-hop cache (lib/nhcache.h), one entry per policy: SUCCESS with *fib
 * filled from the cache, or -1 to do the lookup. now: aigw_nh_clock(). */
static __always_inline int aigw_nh_cached(__u32 slot, const struct aigw_inner *in,
					  const struct aigw_policy *pol, struct bpf_fib_lookup *fib,
					  __u64 now)
{
	__u32 zero = 0;
	const struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);
	const struct aigw_nh_cache *nc;

	if (!g || !g->nh_cache_ms)
		return -1;
	nc = bpf_map_lookup_elem(&aigw_nh_cache, &slot);
	if (!aigw_nh_valid(nc, g, (__u32)in->len + pol->encap_len + in->extra, now))
		return -1;
	return aigw_nh_to_fib(nc, fib);
}

static __always_inline void aigw_nh_store(__u32 slot, const struct bpf_fib_lookup *fib,
					  __u64 now)
{
	__u32 zero = 0;
	const struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);
	struct aigw_nh_cache *nc;

	if (!g || !g->nh_cache_ms)
		return;
	nc = bpf_map_lookup_elem(&aigw_nh_cache, &slot);
	if (nc)
		aigw_nh_from_fib(nc, g, fib, now);
}

/* 6. MSS clamp for a SYN: to the policy's value, or to what fits in the
 * egress MTU after encapsulation and the (option-less) IP and TCP headers. */
static __always_inline void aigw_clamp_syn(struct __ctx_buff *ctx, struct aigw_ctx *c,
					   const struct aigw_pkt *p, const struct aigw_policy *pol,
					   const struct aigw_inner *in,
					   const struct bpf_fib_lookup *fib, int fib_rc)
{
	__u32 mss = pol->tcp_mss;

	if (mss == AIGW_POL_MSS_AUTO) {
		__u32 overhead = pol->encap_len + in->extra + in->hdr_len + AIGW_TCP_HLEN;
		__u32 mtu = 0;

		if (fib_rc == BPF_FIB_LKUP_RET_SUCCESS)
			mtu = fib->mtu_result;
		else /* NO_NEIGH leaves mtu_result unset: ask the egress device */
			bpf_check_mtu(ctx, fib->ifindex, &mtu, 0, 0);
		if (mtu <= overhead)
			return;
		mss = mtu - overhead;
	}
	if (aigw_mss_clamp(ctx, p->l4_off, mss))
		aigw_event(AIGW_EV_MSS_CLAMPED, c->rx_len);
}

/* 7. RFC 8986 H.Encaps: the inner packet is forwarded, so its TTL / hop
 * limit goes down by one. Returns 0 or a drop reason. */
static __always_inline int aigw_dec_ttl(struct __ctx_buff *ctx, const struct aigw_pkt *p)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);

	if (p->l3_off > ETH_HLEN + VLAN_HLEN)
		return AIGW_DROP_TRUNC_VLAN;
	if (p->l3_proto == ETH_P_IP) {
		struct iphdr *ip = data + p->l3_off;

		if ((void *)(ip + 1) > data_end)
			return AIGW_DROP_TRUNC_IPV4;
		aigw_ipv4_dec_ttl(ip);
	} else {
		struct ipv6hdr *ip6 = data + p->l3_off;

		if ((void *)(ip6 + 1) > data_end)
			return AIGW_DROP_TRUNC_IPV6;
		ip6->hop_limit--;
	}
	return 0;
}

SEC("xdp")
int xdp_headend(struct xdp_md *ctx)
{
	__u32 ifindex = ctx_ingress_ifindex(ctx);
	const struct aigw_iface_cfg *cfg;
	const struct aigw_cls_meta *meta;
	const struct aigw_policy *pol;
	struct aigw_inner in = {};
	struct aigw_decision d = {};
	/* The stack is short: the classification packet is dead before the
	 * FIB parameters and the encapsulation arguments are needed. */
	union {
		struct {
			struct aigw_cls_pkt k;
			struct aigw_apn apn;
		};
		struct {
			struct bpf_fib_lookup fib;
			struct aigw_encap_args ea;
		};
	} u;
	struct aigw_pkt p;
	struct aigw_ctx c;
	__u32 slot = AIGW_POLICY_SLOT_NONE, bank;
	__u8 kind;
	__u64 nh_now;
	int err, rc;

	/* 1-2. The port's entry for the frame's VID (untagged: VID 0): its VRF
	 * steers, its slot counts. A VID without an entry: aigw_vlan_unknown. */
	err = aigw_parse_global(ctx, &p);
	cfg = aigw_iface_for_vlan(ifindex, p.vlan);
	if (!cfg && p.vlan)
		return aigw_vlan_unknown(ctx, &c, ifindex);
	aigw_stats_rx(&c, ctx, cfg);
	if (!cfg || cfg->role != AIGW_ROLE_CUSTOMER)
		return aigw_ret_pass(&c);
	if (err)
		return aigw_ret_drop(&c, err);

	/* 3. Policy by prefix, the host's APN (stripped here when the port
	 * says so), the decision (flow cache or rule set) and the counters.
	 * Destinations of the router or the segment are neither steered nor
	 * classified: the kernel's. */
	d.gen = aigw_cls_gen(); /* before the bank: see struct aigw_decision */
	bank = aigw_cls_bank();
	meta = bpf_map_lookup_elem(&aigw_cls_meta, &bank);
	{
		struct aigw_cls_pkt *kp = &u.k;
		bool ours;

		__builtin_memset(kp, 0, sizeof(*kp));

		if (p.l3_proto == ETH_P_IP)
			ours = aigw_look4(ctx, &p, cfg, kp, &slot);
		else if (p.l3_proto == ETH_P_IPV6)
			ours = aigw_look6(ctx, &p, cfg, kp, &slot);
		else
			return aigw_ret_pass(&c);
		if (!ours)
			return aigw_ret_pass(&c);
		if (p.l3_proto == ETH_P_IP && !aigw_ipv4_hdr_ok(ctx, &p))
			return aigw_ret_drop(&c, AIGW_DROP_BAD_IPV4_CSUM);
		d.apn_mode = aigw_apn_mode_of(cfg);
		if (meta && p.l3_proto == ETH_P_IPV6 && aigw_ipv6_has_opts(ctx, &p)) {
			kp->apn_len = aigw_apn_ingress(ctx, p.l3_off, meta->apn_opt_type,
						     d.apn_mode == AIGW_APN_MODE_STRIP, c.rx_len,
						     &u.apn);
			if (kp->apn_len)
				__builtin_memcpy(kp->apn, u.apn.id, sizeof(kp->apn));
		}
		aigw_cls_l4(ctx, &p, kp);
		kp->key.dir = AIGW_DIR_OUT;
		kp->key.ifslot = cfg->slot;
		kp->key.vrf = cfg->vrf;
		d.slot = slot;
		d.now = bpf_ktime_get_coarse_ns();
		aigw_decide(kp, bank, &d);
	}
	if (d.act.flags & AIGW_ACT_F_REMARK) {
		err = aigw_remark(ctx, &p, d.act.dscp);
		if (err)
			return aigw_ret_drop(&c, err);
	}

	/* No policy: not ours to steer, the kernel routes it, without the
	 * frame's tail (the APN strip or the DSCP remark may have changed it). */
	slot = d.slot;
	if (slot == AIGW_POLICY_SLOT_NONE) {
		if (aigw_trim_to(ctx, p.l3_off + p.l3_len))
			return aigw_ret_drop(&c, AIGW_DROP_HEADROOM);
		return aigw_ret_pass(&c);
	}
	pol = bpf_map_lookup_elem(&aigw_policies, &slot);
	if (!pol || !aigw_policy_usable(pol))
		return aigw_ret_drop(&c, AIGW_DROP_POLICY_INVALID);
	err = aigw_inner_of(ctx, &p, &in);
	if (err)
		return aigw_ret_drop(&c, err);
	in.extra = aigw_apn_impose(&c, meta, pol, &d, &u.ea);

	/* 4. Expiring here. */
	if (in.ttl <= 1)
		return aigw_ttl_expired(ctx, &c, cfg, &p);

	/* 5. Outer route and MTU: from the next-hop cache, else the FIB. */
	nh_now = aigw_nh_clock();
	rc = aigw_nh_cached(slot, &in, pol, &u.fib, nh_now);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		rc = aigw_fib_outer(ctx, pol, &in, &u.fib);
		if (rc == BPF_FIB_LKUP_RET_SUCCESS)
			aigw_nh_store(slot, &u.fib, nh_now);
	}
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		__u32 over = pol->encap_len + in.extra;

		return aigw_too_big(ctx, &c, cfg, &p, &in,
				    u.fib.mtu_result > over ? u.fib.mtu_result - over : 0);
	}
	/* No way to the first SID: drop. Handing the packet to the kernel
	 * unencapsulated would route tenant traffic natively. */
	if (rc == BPF_FIB_LKUP_RET_BLACKHOLE)
		return aigw_ret_drop(&c, AIGW_DROP_FIB_BLACKHOLE);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return aigw_ret_drop(&c, AIGW_DROP_NO_ROUTE_TO_SID);

	/* 6. MSS of SYNs entering the tunnel. */
	if (p.l4_proto == NEXTHDR_TCP && p.l4_off && (p.tcp_flags & TCP_FLAG_SYN_) &&
	    (cfg->flags & AIGW_IF_F_MSS_CLAMP) && pol->tcp_mss != AIGW_POL_MSS_OFF)
		aigw_clamp_syn(ctx, &c, &p, pol, &in, &u.fib, rc);

	/* 7-8. Inner TTL, exact length. */
	err = aigw_dec_ttl(ctx, &p);
	if (err)
		return aigw_ret_drop(&c, err);
	if (aigw_trim_to(ctx, p.l3_off + p.l3_len))
		return aigw_ret_drop(&c, AIGW_DROP_HEADROOM);

	/* 9. Encapsulate. */
	u.ea.l2_len = p.l3_off;
	u.ea.inner_len = in.len;
	u.ea.nexthdr = in.nexthdr;
	u.ea.tclass = in.tclass;
	u.ea.flowlabel = in.flowlabel;
	if (aigw_encap(ctx, pol, &u.ea))
		return aigw_ret_drop(&c, AIGW_DROP_HEADROOM);
	aigw_count_encap(&c, ctx);
	if (in.extra)
		aigw_event(AIGW_EV_APN_IMPOSED, c.rx_len);
	aigw_pol_count(slot, in.len);

	/* 10. Forward (RoCEv2 the RDMA proxy takes: to its socket; a shaped
	 * tenant's: to the kernel, for its WAN queue); an unresolved next hop
	 * is the kernel's to resolve. */
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return aigw_ret_pass_ev(&c, AIGW_EV_NO_NEIGH_TO_KERNEL);
	rc = aigw_redirect(ctx, &c, &u.fib);
	if (rc != CTX_ACT_REDIRECT)
		return rc;
	/* Inline tests first: the common packet makes neither call. */
	kind = aigw_rdma_kind(&p, &d.act, AIGW_XSK_EGRESS);
	if (kind && aigw_rdma_take(ctx, u.fib.ifindex, cfg->slot,
				   AIGW_RDMA_HOW(kind, d.act.tenant,
						 ETH_HLEN + pol->encap_len + in.extra),
				   c.rx_len))
		return rc;
	if (aigw_shape_of(d.act.tenant) &&
	    aigw_shape_take(ctx, u.fib.ifindex, d.act.tenant, c.rx_len, 0))
		return CTX_ACT_OK;
	return rc;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
