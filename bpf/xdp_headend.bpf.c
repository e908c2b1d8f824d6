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
 *   3. policy lookup (LPM on VRF + inner destination)
 *   4. inner TTL / hop limit expiry -> ICMP Time Exceeded from XDP
 *   5. FIB lookup for the outer packet (MTU checked by the kernel)
 *      -> ICMP Fragmentation Needed / Packet Too Big from XDP
 *   6. TCP MSS clamp of SYNs
 *   7. inner TTL / hop limit decrement
 *   8. trim L2 padding
 *   9. encapsulate
 *  10. rewrite MACs and redirect
 */
#include "lib/fwd.h"
#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/encap.h"
#include "lib/hash.h"
#include "lib/icmp.h"
#include "lib/mss.h"

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
	__u8 pad;
};

/* The port's entry for this VID, else its untagged entry, else none. */
static __always_inline const struct aigw_iface_cfg *aigw_iface_for_vlan(__u32 ifindex, __u16 vlan)
{
	struct aigw_iface_key key = { .ifindex = ifindex, .vlan = vlan };
	const struct aigw_iface_cfg *cfg = NULL;

	if (vlan)
		cfg = bpf_map_lookup_elem(&aigw_ifaces, &key);
	if (!cfg) {
		key.vlan = 0;
		cfg = bpf_map_lookup_elem(&aigw_ifaces, &key);
	}
	return cfg;
}

/* Is the packet's IPv6 address equal to an address kept in a map value? */
static __always_inline bool aigw_addr6_eq(const struct in6_addr *a, const __u8 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
}

/* Ports for the flow hash: none for fragments, so that every fragment of a
 * datagram gets the same label as the first. */
static __always_inline __u32 aigw_hash_ports(const struct aigw_pkt *p)
{
	return p->is_frag ? 0 : ((__u32)p->sport << 16 | p->dport);
}

/* IPv4 inner: policy slot for (VRF, destination), 0 if none; fills *in.
 * Multicast, broadcast and the port's own address are never steered: they
 * are for the router (or the segment), not for a remote site. */
static __always_inline __u32 aigw_steer4(struct xdp_md *ctx, const struct aigw_pkt *p,
					 const struct aigw_iface_cfg *cfg,
					 struct aigw_inner *in)
{
	void *data = aigw_data(ctx);
	void *data_end = aigw_data_end(ctx);
	struct aigw_pfx4_key key = {
		.prefixlen = AIGW_PFX_VRF_BITS + 32,
		.vrf_be = bpf_htonl(cfg->vrf),
	};
	struct iphdr *ip;
	__u32 *slot;

	if (p->l3_off > ETH_HLEN + VLAN_HLEN)
		return AIGW_POLICY_SLOT_NONE;
	ip = data + p->l3_off;
	if ((void *)(ip + 1) > data_end)
		return AIGW_POLICY_SLOT_NONE;
	if ((bpf_ntohl(ip->daddr) >> 28) == 0xe || ip->daddr == 0xffffffff ||
	    ip->daddr == cfg->addr4)
		return AIGW_POLICY_SLOT_NONE;
	__builtin_memcpy(key.addr, &ip->daddr, sizeof(key.addr));
	slot = bpf_map_lookup_elem(&aigw_pfx4, &key);
	if (!slot || *slot == AIGW_POLICY_SLOT_NONE)
		return AIGW_POLICY_SLOT_NONE;

	in->len = p->l3_len;
	in->ttl = ip->ttl;
	in->tclass = ip->tos;
	in->nexthdr = NEXTHDR_IPV4;
	in->df = !!(ip->frag_off & bpf_htons(IPV4_DF));
	in->hdr_len = sizeof(struct iphdr);
	in->flowlabel = aigw_flowlabel(
		aigw_flow_hash4(ip->saddr, ip->daddr, aigw_hash_ports(p), p->l4_proto));
	return *slot;
}

/* IPv6 inner: policy slot for (VRF, destination), 0 if none; fills *in.
 * Multicast (ND included), link-local and the port's own address are never
 * steered. */
static __always_inline __u32 aigw_steer6(struct xdp_md *ctx, const struct aigw_pkt *p,
					 const struct aigw_iface_cfg *cfg,
					 struct aigw_inner *in)
{
	void *data = aigw_data(ctx);
	void *data_end = aigw_data_end(ctx);
	struct aigw_pfx6_key key = {
		.prefixlen = AIGW_PFX_VRF_BITS + 128,
		.vrf_be = bpf_htonl(cfg->vrf),
	};
	struct ipv6hdr *ip6;
	__u32 *slot;

	if (p->l3_off > ETH_HLEN + VLAN_HLEN)
		return AIGW_POLICY_SLOT_NONE;
	ip6 = data + p->l3_off;
	if ((void *)(ip6 + 1) > data_end)
		return AIGW_POLICY_SLOT_NONE;
	if (ip6->daddr.in6_u.u6_addr8[0] == 0xff ||
	    (ip6->daddr.in6_u.u6_addr8[0] == 0xfe && (ip6->daddr.in6_u.u6_addr8[1] & 0xc0) == 0x80) ||
	    aigw_addr6_eq(&ip6->daddr, cfg->addr6))
		return AIGW_POLICY_SLOT_NONE;
	__builtin_memcpy(key.addr, &ip6->daddr, sizeof(key.addr));
	slot = bpf_map_lookup_elem(&aigw_pfx6, &key);
	if (!slot || *slot == AIGW_POLICY_SLOT_NONE)
		return AIGW_POLICY_SLOT_NONE;

	in->len = p->l3_len;
	in->ttl = ip6->hop_limit;
	in->tclass = bpf_ntohl(*(__be32 *)ip6) >> AIGW_IPV6_TCLASS_SHIFT;
	in->nexthdr = NEXTHDR_IPV6;
	in->df = 1;
	in->hdr_len = sizeof(struct ipv6hdr);
	in->flowlabel = aigw_flowlabel(aigw_flow_hash6((const __u32 *)&ip6->saddr,
						       (const __u32 *)&ip6->daddr,
						       aigw_hash_ports(p), p->l4_proto));
	return *slot;
}

static __always_inline bool aigw_addr6_set(const __u8 *a)
{
	const __u64 *w = (const __u64 *)a;

	return w[0] | w[1];
}

/* Verdict after an ICMP error attempt. */
static __always_inline int aigw_icmp_verdict(struct xdp_md *ctx, struct aigw_ctx *c, int rc,
					     __u32 sent_ev, __u32 suppressed_reason)
{
	if (rc == AIGW_ICMP_SENT) {
		aigw_event(sent_ev, c->rx_len);
		return aigw_ret_tx(c, ctx);
	}
	if (rc == AIGW_ICMP_SUPPRESSED)
		return aigw_ret_drop(c, suppressed_reason);
	return aigw_ret_drop(c, AIGW_DROP_HEADROOM);
}

/* Does the interface have a source address for an ICMP error about p? */
static __always_inline bool aigw_icmp_source(const struct aigw_iface_cfg *cfg,
					     const struct aigw_pkt *p)
{
	if (p->l3_proto == ETH_P_IP)
		return cfg->addr4;
	return aigw_addr6_set(cfg->addr6);
}

/* 4. TTL / hop limit would expire here: answer from XDP if the interface
 * has a source address for it, else let the kernel answer. */
static __always_inline int aigw_ttl_expired(struct xdp_md *ctx, struct aigw_ctx *c,
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
static __always_inline int aigw_too_big(struct xdp_md *ctx, struct aigw_ctx *c,
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

/* Copy an IPv6 address from the policy template in 32-bit words (the
 * template is a byte array: memcpy would go byte by byte). */
static __always_inline void aigw_copy_addr6(__u32 *dst, const __u8 *src)
{
	const __u32 *s = (const __u32 *)src;

	dst[0] = s[0];
	dst[1] = s[1];
	dst[2] = s[2];
	dst[3] = s[3];
}

/* 5. Route the outer packet: to the first SID, from the tunnel source, with
 * its final length so that the kernel checks the egress MTU. The flow label
 * and next header make ECMP pick the path the packet's own hash would. */
static __always_inline int aigw_fib_outer(struct xdp_md *ctx, const struct aigw_policy *pol,
					  const struct aigw_inner *in, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET6_;
	fib->l4_protocol = pol->has_srh ? NEXTHDR_ROUTING : in->nexthdr;
	fib->tot_len = in->len + pol->encap_len;
	fib->ifindex = aigw_ingress_ifindex(ctx);
	fib->flowinfo = bpf_htonl(in->flowlabel);
	aigw_copy_addr6(fib->ipv6_src, pol->hdr + AIGW_TMPL_SADDR_OFF);
	aigw_copy_addr6(fib->ipv6_dst, pol->hdr + AIGW_TMPL_DADDR_OFF);
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/* Next-hop cache (struct aigw_nh_cache): SUCCESS with *fib filled from the
 * cache, or -1 to do the lookup. */
static __always_inline int aigw_nh_cached(__u32 slot, const struct aigw_inner *in,
					  const struct aigw_policy *pol, struct bpf_fib_lookup *fib)
{
	__u32 zero = 0;
	const struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);
	const struct aigw_nh_cache *nc;

	if (!g || !g->nh_cache_ms)
		return -1;
	nc = bpf_map_lookup_elem(&aigw_nh_cache, &slot);
	if (!nc || nc->gen != g->gen || (__u32)in->len + pol->encap_len > nc->mtu ||
	    bpf_ktime_get_ns() >= nc->expires_ns)
		return -1;
	fib->ifindex = nc->ifindex;
	fib->mtu_result = nc->mtu;
	__builtin_memcpy(fib->smac, nc->smac, ETH_ALEN);
	__builtin_memcpy(fib->dmac, nc->dmac, ETH_ALEN);
	return BPF_FIB_LKUP_RET_SUCCESS;
}

static __always_inline void aigw_nh_store(__u32 slot, const struct bpf_fib_lookup *fib)
{
	__u32 zero = 0;
	const struct aigw_globals *g = bpf_map_lookup_elem(&aigw_globals, &zero);
	struct aigw_nh_cache *nc;

	if (!g || !g->nh_cache_ms)
		return;
	nc = bpf_map_lookup_elem(&aigw_nh_cache, &slot);
	if (!nc)
		return;
	nc->expires_ns = bpf_ktime_get_ns() + (__u64)g->nh_cache_ms * 1000000ULL;
	nc->gen = g->gen;
	nc->ifindex = fib->ifindex;
	nc->mtu = fib->mtu_result;
	__builtin_memcpy(nc->smac, fib->smac, ETH_ALEN);
	__builtin_memcpy(nc->dmac, fib->dmac, ETH_ALEN);
}

/* 6. MSS clamp for a SYN: to the policy's value, or to what fits in the
 * egress MTU after encapsulation and the (option-less) IP and TCP headers. */
static __always_inline void aigw_clamp_syn(struct xdp_md *ctx, struct aigw_ctx *c,
					   const struct aigw_pkt *p, const struct aigw_policy *pol,
					   const struct aigw_inner *in,
					   const struct bpf_fib_lookup *fib, int fib_rc)
{
	__u32 mss = pol->tcp_mss;

	if (mss == AIGW_POL_MSS_AUTO) {
		__u32 overhead = pol->encap_len + in->hdr_len + AIGW_TCP_HLEN;
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
static __always_inline int aigw_dec_ttl(struct xdp_md *ctx, const struct aigw_pkt *p)
{
	void *data = aigw_data(ctx);
	void *data_end = aigw_data_end(ctx);

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
	__u32 ifindex = aigw_ingress_ifindex(ctx);
	const struct aigw_iface_cfg *cfg;
	const struct aigw_policy *pol;
	struct aigw_encap_args ea;
	struct bpf_fib_lookup fib;
	struct aigw_inner in = {};
	struct aigw_pkt p;
	struct aigw_ctx c;
	__u32 slot;
	int err, rc;

	/* 1-2. The entry for the frame's VID if there is one, else the port's
	 * untagged entry: its VRF steers, its slot counts (rx included, so a
	 * port configured for VLANs only is not counted as unconfigured). */
	err = aigw_parse_global(ctx, &p);
	cfg = aigw_iface_for_vlan(ifindex, p.vlan);
	aigw_stats_rx(&c, ctx, cfg);
	if (!cfg || cfg->role != AIGW_ROLE_CUSTOMER)
		return aigw_ret_pass(&c);
	if (err)
		return aigw_ret_drop(&c, err);

	/* 3. Policy. No match: not ours, the kernel routes it. */
	if (p.l3_proto == ETH_P_IP)
		slot = aigw_steer4(ctx, &p, cfg, &in);
	else if (p.l3_proto == ETH_P_IPV6)
		slot = aigw_steer6(ctx, &p, cfg, &in);
	else
		return aigw_ret_pass(&c);
	if (slot == AIGW_POLICY_SLOT_NONE)
		return aigw_ret_pass(&c);
	pol = bpf_map_lookup_elem(&aigw_policies, &slot);
	if (!pol || !aigw_policy_usable(pol))
		return aigw_ret_drop(&c, AIGW_DROP_POLICY_INVALID);

	/* 4. Expiring here. */
	if (in.ttl <= 1)
		return aigw_ttl_expired(ctx, &c, cfg, &p);

	/* 5. Outer route and MTU: from the next-hop cache, else the FIB. */
	rc = aigw_nh_cached(slot, &in, pol, &fib);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		rc = aigw_fib_outer(ctx, pol, &in, &fib);
		if (rc == BPF_FIB_LKUP_RET_SUCCESS)
			aigw_nh_store(slot, &fib);
	}
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return aigw_too_big(ctx, &c, cfg, &p, &in,
				    fib.mtu_result > pol->encap_len ? fib.mtu_result - pol->encap_len : 0);
	/* No way to the first SID: drop. Handing the packet to the kernel
	 * unencapsulated would route tenant traffic natively. */
	if (rc == BPF_FIB_LKUP_RET_BLACKHOLE)
		return aigw_ret_drop(&c, AIGW_DROP_FIB_BLACKHOLE);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return aigw_ret_drop(&c, AIGW_DROP_NO_ROUTE_TO_SID);

	/* 6. MSS of SYNs entering the tunnel. */
	if (p.l4_proto == NEXTHDR_TCP && p.l4_off && (p.tcp_flags & TCP_FLAG_SYN_) &&
	    (cfg->flags & AIGW_IF_F_MSS_CLAMP) && pol->tcp_mss != AIGW_POL_MSS_OFF)
		aigw_clamp_syn(ctx, &c, &p, pol, &in, &fib, rc);

	/* 7-8. Inner TTL, exact length. */
	err = aigw_dec_ttl(ctx, &p);
	if (err)
		return aigw_ret_drop(&c, err);
	if (aigw_trim_to(ctx, p.l3_off + p.l3_len))
		return aigw_ret_drop(&c, AIGW_DROP_HEADROOM);

	/* 9. Encapsulate. */
	ea.l2_len = p.l3_off;
	ea.inner_len = in.len;
	ea.nexthdr = in.nexthdr;
	ea.tclass = in.tclass;
	ea.flowlabel = in.flowlabel;
	if (aigw_encap(ctx, pol, &ea))
		return aigw_ret_drop(&c, AIGW_DROP_HEADROOM);
	aigw_count_encap(&c, ctx);

	/* 10. Forward; an unresolved next hop is the kernel's to resolve. */
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return aigw_ret_pass_ev(&c, AIGW_EV_NO_NEIGH_TO_KERNEL);
	return aigw_redirect(ctx, &c, &fib);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
