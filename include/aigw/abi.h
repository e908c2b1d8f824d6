/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * aigw datapath ABI: the map keys, map values, enums and limits shared by the
 * eBPF programs (bpf/) and the agent (agent/). Everything the two sides agree
 * on is declared here, once. All structs have explicit padding and a static
 * size check; multi-byte addresses are kept in network byte order, every
 * other integer in host byte order unless its name ends in _be.
 *
 * Maps: see AIGW_MAPS below (names as seen by bpftool and under the pin
 * path; bpf/lib/maps.h defines them).
 */
#ifndef AIGW_ABI_H
#define AIGW_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __cplusplus
#define AIGW_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define AIGW_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

/* ---------------------------------------------------------------- maps */
/* Every map the agent pins and shares between the programs, in one list:
 * X(name, "type key -> value: purpose"). Datapath-private scratch maps
 * (aigw_cls_scratch, aigw_acct_state) are not pinned and not listed; maps
 * of the TC programs only are in AIGW_MAPS_TC. */
#define AIGW_MAPS(X) \
	X(aigw_ifaces, "HASH iface_key -> iface_cfg interface role, VRF, counter slot") \
	X(aigw_pfx4, "LPM_TRIE pfx4_key -> __u32 (VRF, IPv4 prefix) -> policy slot") \
	X(aigw_pfx6, "LPM_TRIE pfx6_key -> __u32 (VRF, IPv6 prefix) -> policy slot") \
	X(aigw_policies, "ARRAY __u32 slot -> policy prebuilt outer headers") \
	X(aigw_path_groups, "HASH __u32 slot -> path_group a multipath policy's paths and bucket table") \
	X(aigw_sid_exact, "HASH sid_addr -> sid_entry local SIDs that are a whole /128 address") \
	X(aigw_sids, "LPM_TRIE sid_key -> sid_entry local SIDs shorter than /128 (locator+function)") \
	X(aigw_tx, "DEVMAP_HASH ifindex -> ifindex egress ports for XDP_REDIRECT") \
	X(aigw_if_stats, "PERCPU_ARRAY slot -> if_stats per-interface counters") \
	X(aigw_drops, "PERCPU_ARRAY reason -> ctr drop reasons") \
	X(aigw_events, "PERCPU_ARRAY event -> ctr exceptions that are not drops") \
	X(aigw_globals, "ARRAY 0 -> globals datapath-wide settings") \
	X(aigw_icmp_bucket, "PERCPU_ARRAY 0 -> icmp_bucket ICMP error rate limiter state") \
	X(aigw_nh_cache, "PERCPU_ARRAY policy slot -> nh_cache headend next-hop cache") \
	X(aigw_ep_nh, "PERCPU_ARRAY hash(ep_nh_key) -> ep_nh_slot endpoint next-hop cache, per flow") \
	X(aigw_cls_meta, "ARRAY bank (0/1) -> cls_meta active bank, defaults, APN settings") \
	X(aigw_cls_active, "ARRAY 0 -> __u32 the bank packets use now") \
	X(aigw_cls_rules, "ARRAY bank*MAX+bit -> cls_action what a matching rule decides") \
	X(aigw_cls_iface, "ARRAY bank*MAX_IFACES+slot -> cls_bitmap rules matching an interface slot") \
	X(aigw_cls_proto, "ARRAY bank*256+proto -> cls_bitmap rules matching an IP protocol") \
	X(aigw_cls_dscp, "ARRAY bank*64+dscp -> cls_bitmap rules matching a DSCP") \
	X(aigw_cls_sport, "ARRAY bank*65536+port -> __u32 source port -> port bitmap id") \
	X(aigw_cls_dport, "ARRAY bank*65536+port -> __u32 destination port -> port bitmap id") \
	X(aigw_cls_portbv, "HASH cls_id_key -> cls_bitmap port interval bitmaps (both fields)") \
	X(aigw_cls_src4, "LPM_TRIE cls_pfx4_key -> cls_bitmap rules matching an IPv4 source/destination") \
	X(aigw_cls_dst4, "LPM_TRIE cls_pfx4_key -> cls_bitmap rules matching an IPv4 source/destination") \
	X(aigw_cls_src6, "LPM_TRIE cls_pfx6_key -> cls_bitmap rules matching an IPv6 source/destination") \
	X(aigw_cls_dst6, "LPM_TRIE cls_pfx6_key -> cls_bitmap rules matching an IPv6 source/destination") \
	X(aigw_cls_apn, "HASH cls_apn_key -> cls_bitmap rules matching an APN ID under one mask") \
	X(aigw_cls_misc, "HASH cls_id_key -> cls_bitmap the defaults named in cls_meta") \
	X(aigw_flows, "HASH flow_key -> flow per-flow counters (admission-controlled)") \
	X(aigw_usage, "PERCPU_ARRAY usage index -> ctr per direction, tenant and class") \
	X(aigw_apn_usage, "PERCPU_HASH apn_usage_key -> ctr per direction and APN app-group") \
	X(aigw_pol_stats, "PERCPU_ARRAY policy slot -> ctr encapsulated by each policy") \
	X(aigw_hh, "PERCPU_ARRAY half (0/1) -> hh_half heavy-hitter sketch (4-way buckets) of the windows of that parity") \
	X(aigw_hh_keys, "LRU_HASH __u64 fingerprint -> hh_key the flows the sketch names") \
	X(aigw_hh_cfg, "ARRAY 0 -> hh_cfg heavy-hitter window, pins in force") \
	X(aigw_path_pins, "HASH flow_key -> path_pin elephants the agent placed on a path") \
	X(aigw_xmit_drops, "PERCPU_HASH ifindex -> xmit_drops redirected frames an egress port did not send") \
	X(aigw_xsks, "XSKMAP port slot*XSK_QUEUES+queue -> AF_XDP socket of the RDMA proxy") \
	X(aigw_rdma_sel, "ARRAY tenant -> __u32 class bitmap: RoCEv2 the RDMA proxy takes") \
	X(aigw_shape, "ARRAY tenant -> shape: the WAN queue (HTB class) of a shaped tenant")

/* Maps defined only by the TC programs (bpf/lib/maps_tc.h), pinned like the
 * others once a loader attaches them. */
#define AIGW_MAPS_TC(X) \
	X(aigw_tc_stats, "PERCPU_ARRAY slot -> tc_stats: per-interface counters of the TC programs")

/* ---------------------------------------------------------------- limits */
/* Segments in one policy. Bounded by XDP headroom: the outer headers must fit
 * in the 256 bytes drivers reserve (XDP_PACKET_HEADROOM) less the frame
 * metadata, which leaves 216 bytes: 40 + 8 + 16 * 10 = 208. */
#define AIGW_MAX_SIDS 10
#define AIGW_MAX_IFACES 256     /* configured interfaces (counter slots) */
#define AIGW_MAX_EXT_HDRS 8     /* IPv6 extension headers walked before giving up */
#define AIGW_IPV6_HDR_LEN 40
#define AIGW_SRH_FIXED_LEN 8
#define AIGW_SID_LEN 16
/* Outer IPv6 header + SRH with AIGW_MAX_SIDS segments. */
#define AIGW_MAX_ENCAP_LEN (AIGW_IPV6_HDR_LEN + AIGW_SRH_FIXED_LEN + AIGW_SID_LEN * AIGW_MAX_SIDS)

/* Default map sizes; the agent may override them from config before load. */
#define AIGW_DEFAULT_POLICIES 1024
#define AIGW_DEFAULT_PREFIXES4 16384
#define AIGW_DEFAULT_PREFIXES6 16384
#define AIGW_DEFAULT_SIDS 1024

/* The kernel's main routing table (RT_TABLE_MAIN): End.DT* look up in it
 * unless the SID names another table. */
#define AIGW_RT_TABLE_MAIN 254

/* Slot 0 of aigw_if_stats collects packets from interfaces aigw has no
 * configuration for; configured interfaces get slots 1..AIGW_MAX_IFACES-1. */
#define AIGW_IF_SLOT_UNKNOWN 0

/* Policy slot 0 is never used: a zero slot in a prefix map means "none". */
#define AIGW_POLICY_SLOT_NONE 0

/* ---------------------------------------------------------------- enums */
enum aigw_if_role {
	AIGW_ROLE_NONE = 0,
	AIGW_ROLE_CUSTOMER = 1, /* runs the headend program */
	AIGW_ROLE_WAN = 2,      /* runs the endpoint program */
};

enum aigw_encap_mode {
	AIGW_ENCAP_NONE = 0,
	AIGW_ENCAP_H_ENCAPS = 1,     /* RFC 8986 H.Encaps */
	AIGW_ENCAP_H_ENCAPS_RED = 2, /* RFC 8986 H.Encaps.Red */
};

/*
 * SRv6 behaviours as rows (RFC 8986; the kernel's seg6_action_table): id,
 * enum suffix, display name (stable: config, CLI, JSON) and the flags the
 * datapath reads. A new behaviour is one row here plus its BPF function.
 *   DECAP        removes the outer IPv6 header (Segments Left must be 0)
 *   TAKES_V4/V6  inner payload it accepts (IPv4 / IPv6) after decapsulation
 *   TABLE_LOOKUP routes the inner packet in sid_entry.table (End.DT*)
 *   NEXTHOP      forwards to the configured next hop (nh4/nh6)
 *   ADJ          honours sid_entry.oif (the FIB's egress must match)
 */
#define AIGW_BEH_F_DECAP 0x01u
#define AIGW_BEH_F_TAKES_V4 0x02u
#define AIGW_BEH_F_TAKES_V6 0x04u
#define AIGW_BEH_F_TABLE_LOOKUP 0x08u
#define AIGW_BEH_F_NEXTHOP 0x10u
#define AIGW_BEH_F_ADJ 0x20u
#define AIGW_BEH_F_VALID 0x80u /* set on every row: a known behaviour */

/* X(id, SUFFIX, "name", flags) */
#define AIGW_BEHAVIORS(X)                                                                  \
	X(1, END, "End", 0)                                                                \
	X(2, END_X, "End.X", AIGW_BEH_F_NEXTHOP | AIGW_BEH_F_ADJ)                          \
	X(3, END_DX4, "End.DX4",                                                           \
	  AIGW_BEH_F_DECAP | AIGW_BEH_F_TAKES_V4 | AIGW_BEH_F_NEXTHOP | AIGW_BEH_F_ADJ)    \
	X(4, END_DX6, "End.DX6",                                                           \
	  AIGW_BEH_F_DECAP | AIGW_BEH_F_TAKES_V6 | AIGW_BEH_F_NEXTHOP | AIGW_BEH_F_ADJ)    \
	X(5, END_DT4, "End.DT4", AIGW_BEH_F_DECAP | AIGW_BEH_F_TAKES_V4 | AIGW_BEH_F_TABLE_LOOKUP) \
	X(6, END_DT6, "End.DT6", AIGW_BEH_F_DECAP | AIGW_BEH_F_TAKES_V6 | AIGW_BEH_F_TABLE_LOOKUP) \
	X(7, END_DT46, "End.DT46",                                                         \
	  AIGW_BEH_F_DECAP | AIGW_BEH_F_TAKES_V4 | AIGW_BEH_F_TAKES_V6 | AIGW_BEH_F_TABLE_LOOKUP)

enum aigw_behavior {
	AIGW_BEH_NONE = 0,
#define AIGW_X_(id, sfx, name, flags) AIGW_BEH_##sfx = id,
	AIGW_BEHAVIORS(AIGW_X_)
#undef AIGW_X_
	AIGW_BEH_MAX
};

/* Rows are numbered 1, 2, ... in order: AIGW_BEH_MAX is one past the last. */
#define AIGW_X_(id, sfx, name, flags) +1
AIGW_STATIC_ASSERT(AIGW_BEH_MAX == 1 AIGW_BEHAVIORS(AIGW_X_), "behaviour ids are dense, from 1");
#undef AIGW_X_

/* The rows' flags packed 8 bits per id into two 64-bit constants (ids 0-7,
 * 8-15), so that the lookup is a shift and a mask: no table in memory, no
 * branch per row. */
#define AIGW_BEH_MAX_IDS 16
#define AIGW_X_(id, sfx, name, flags) \
	AIGW_STATIC_ASSERT(((flags) & ~0x7fu) == 0, "behaviour flags fit in 7 bits");
AIGW_BEHAVIORS(AIGW_X_)
#undef AIGW_X_
AIGW_STATIC_ASSERT(AIGW_BEH_MAX <= AIGW_BEH_MAX_IDS, "behaviour ids fit the packed flags");
#define AIGW_X_LO_(id, sfx, name, flags) \
	| ((id) < 8 ? (__u64)((flags) | AIGW_BEH_F_VALID) << (8 * ((id) & 7)) : 0)
#define AIGW_X_HI_(id, sfx, name, flags) \
	| ((id) >= 8 ? (__u64)((flags) | AIGW_BEH_F_VALID) << (8 * ((id) & 7)) : 0)
#define AIGW_BEH_FLAGS_LO (0 AIGW_BEHAVIORS(AIGW_X_LO_))
#define AIGW_BEH_FLAGS_HI (0 AIGW_BEHAVIORS(AIGW_X_HI_))

/* The datapath flags of behaviour b (AIGW_BEH_F_*, with AIGW_BEH_F_VALID),
 * 0 for none/unknown. */
static inline __u32 aigw_behavior_flags(unsigned int b)
{
	__u64 w;

	if (b >= AIGW_BEH_MAX_IDS)
		return 0;
	w = b < 8 ? AIGW_BEH_FLAGS_LO : AIGW_BEH_FLAGS_HI;
	return (__u32)(w >> (8 * (b & 7))) & 0xff;
}

/* Why a packet was dropped. Every XDP_DROP/XDP_ABORTED the programs return
 * increments exactly one of these. The xmit_* rows are the exception: frames
 * the programs redirected (counted in fwd) that the kernel then failed to
 * send, counted by the transmit tracepoints (packets only: they carry no
 * length). X(SUFFIX, "name", "meaning"): the enum
 * value is the row's position (from 1; 0 is "none"), the name is the stable
 * display identifier (aigwctl, logs, metrics). Append rows, never reorder. */
#define AIGW_DROP_REASONS(X) \
	X(TRUNC_ETH, "trunc_eth", "shorter than an Ethernet header") \
	X(TRUNC_VLAN, "trunc_vlan", "802.1Q tag cut short") \
	X(TRUNC_IPV4, "trunc_ipv4", "shorter than the IPv4 header it announces") \
	X(BAD_IPV4, "bad_ipv4", "IPv4 version/IHL/total length inconsistent") \
	X(TRUNC_IPV6, "trunc_ipv6", "shorter than an IPv6 header") \
	X(BAD_IPV6, "bad_ipv6", "IPv6 version or payload length inconsistent") \
	X(TRUNC_EXTHDR, "trunc_exthdr", "IPv6 extension header cut short") \
	X(EXTHDR_CHAIN, "exthdr_chain", "more than AIGW_MAX_EXT_HDRS extension headers") \
	X(TRUNC_L4, "trunc_l4", "TCP/UDP/ICMP header cut short") \
	X(SRH_BAD_LEN, "srh_bad_len", "Hdr Ext Len does not hold Last Entry + 1 segments") \
	X(SRH_SL_EXCEEDS_LE, "srh_sl_exceeds_le", "Segments Left > Last Entry + 1") \
	X(SRH_SL_NOT_ZERO, "srh_sl_not_zero", "decapsulating behaviour with Segments Left != 0") \
	X(SRH_MISSING, "srh_missing", "End/End.X, no segment left, inner IPv4/IPv6 (End does not decap)") \
	X(HOP_LIMIT, "hop_limit", "hop limit/TTL expired and no ICMP could be sent") \
	X(MTU_EXCEEDED, "mtu_exceeded", "too big after encapsulation (ICMP sent if possible)") \
	X(INNER_PROTO, "inner_proto", "decapsulated payload is not what the behaviour takes") \
	X(POLICY_INVALID, "policy_invalid", "prefix points at an empty or corrupt policy slot") \
	X(SID_INVALID, "sid_invalid", "SID entry with an unknown behaviour") \
	X(HEADROOM, "headroom", "bpf_xdp_adjust_head/tail failed") \
	X(FIB_BLACKHOLE, "fib_blackhole", "FIB says blackhole/unreachable/prohibit") \
	X(FRAG_NO_DF, "frag_no_df", "IPv4 without DF too big for the tunnel (no XDP fragmentation)") \
	X(NO_ROUTE_TO_SID, "no_route_to_sid", "headend: the FIB cannot forward to the first SID") \
	X(DT_NO_ROUTE, "dt_no_route", "End.DT* in a non-main table: the FIB cannot forward there") \
	X(BAD_IPV4_CSUM, "bad_ipv4_csum", "IPv4 header checksum wrong (RFC 1812 5.2.2), options included") \
	X(XMIT_NO_XDP, "xmit_no_xdp", "redirected to a port that takes no XDP frames (veth peer without XDP or GRO): lost in the kernel") \
	X(XMIT_DOWN, "xmit_down", "redirected to a port that is down (or whose veth peer is): lost in the kernel") \
	X(XMIT_FAILED, "xmit_failed", "the egress driver did not send a redirected frame (queue full, too big...)") \
	X(SHAPE_NO_PORT, "shape_no_port", "a shaped packet's WAN port is not in aigw_tx (TC ingress)")

enum aigw_drop_reason {
	AIGW_DROP_NONE = 0,
#define AIGW_X_(sfx, name, doc) AIGW_DROP_##sfx,
	AIGW_DROP_REASONS(AIGW_X_)
#undef AIGW_X_
	AIGW_DROP_MAX
};

/* Exceptional events that are not drops (the packet got a verdict other
 * than drop). Same row format and rules as AIGW_DROP_REASONS. */
#define AIGW_EVENTS(X) \
	X(ICMP_TTL_SENT, "icmp_ttl_sent", "time exceeded sent from XDP") \
	X(TTL_TO_KERNEL, "ttl_to_kernel", "expired packet handed to the kernel to answer") \
	X(ICMP_MTU_SENT, "icmp_mtu_sent", "frag-needed / packet-too-big sent from XDP") \
	X(NO_NEIGH_TO_KERNEL, "no_neigh_to_kernel", "next hop unresolved: packet handed to the kernel") \
	X(FIB_TO_KERNEL, "fib_to_kernel", "FIB could not forward (local, no route...): to the kernel") \
	X(NO_TX_PORT, "no_tx_port", "egress port not in aigw_tx: to the kernel") \
	X(MSS_CLAMPED, "mss_clamped", "TCP SYN MSS rewritten") \
	X(SL_ZERO_TO_KERNEL, "sl_zero_to_kernel", "End/End.X with Segments Left 0: upper layer to the kernel") \
	X(ICMP_RATELIMITED, "icmp_ratelimited", "an ICMP error was due but over the rate limit (packet dropped)") \
	X(FLOW_TABLE_FULL, "flow_table_full", "aigw_flows full: packet counted in the totals, no flow entry") \
	X(APN_TABLE_FULL, "apn_table_full", "aigw_apn_usage full: app-group not counted for this packet") \
	X(APN_MALFORMED, "apn_malformed", "APN option with an inconsistent length: treated as no APN") \
	X(APN_IMPOSED, "apn_imposed", "APN option added to the outer header") \
	X(APN_STRIPPED, "apn_stripped", "host's APN option overwritten with PadN (strip mode)") \
	X(APN_NO_ROOM, "apn_no_room", "APN due but encap + option exceeds headroom: sent without it") \
	X(PORT_NOT_WAN, "port_not_wan", "endpoint program on a port not configured as WAN: to the kernel untouched") \
	X(VLAN_UNKNOWN, "vlan_unknown", "tagged frame whose VID has no entry on the port: to the kernel untouched") \
	X(ICMP_PARAM_SENT, "icmp_param_sent", "parameter problem sent from XDP about a bad SRH (packet discarded)") \
	X(RDMA_TO_PROXY, "rdma_to_proxy", "RoCEv2 or a proxy NACK handed to the RDMA proxy's AF_XDP socket") \
	X(RDMA_NO_SOCKET, "rdma_no_socket", "RoCEv2 the proxy selects, but no proxy socket on the port and queue (or no room for metadata): fast path") \
	X(SHAPED, "shaped", "encapsulated packet of a shaped tenant handed to the kernel for its WAN queue") \
	X(SHAPE_NO_META, "shape_no_meta", "shaped tenant, but no room for the metadata: fast path, unshaped") \
	X(SHAPE_QUEUED, "shape_queued", "TC ingress sent a shaped packet into its WAN port's queue") \
	X(SHAPE_CE_MARKED, "shape_ce_marked", "shaped packet marked CE (ECN): its tenant's queue is above the threshold") \
	X(SHAPED_DECAP, "shaped_decap", "decapsulated packet of a shaped tenant handed to the kernel for its customer port's queue")

enum aigw_event {
	AIGW_EV_NONE = 0,
#define AIGW_X_(sfx, name, doc) AIGW_EV_##sfx,
	AIGW_EVENTS(AIGW_X_)
#undef AIGW_X_
	AIGW_EV_MAX
};

/* ---------------------------------------------------------------- types */
struct aigw_iface_key {
	__u32 ifindex;
	__u16 vlan; /* 802.1Q VID, 0 for untagged */
	__u16 pad;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_iface_key) == 8, "iface_key size");

#define AIGW_IF_F_MSS_CLAMP 0x1 /* clamp TCP MSS of SYNs entering tunnels here */

struct aigw_iface_cfg {
	__u32 vrf;     /* aigw VRF id for policy lookup (customer role) */
	__u16 slot;    /* index into aigw_if_stats, 1..AIGW_MAX_IFACES-1 */
	__u8 role;     /* enum aigw_if_role */
	__u8 flags;    /* AIGW_IF_F_* */
	__u32 addr4;   /* source for ICMP errors sent from XDP (network order), 0 = none */
	__u32 pad;
	__u8 addr6[16];/* source for ICMPv6 errors sent from XDP, all-zero = none */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_iface_cfg) == 32, "iface_cfg size");

struct aigw_pfx4_key {
	__u32 prefixlen; /* 32 (VRF) + IPv4 prefix length */
	__u32 vrf_be;    /* VRF id, big-endian so it forms the leading bits */
	__u8 addr[4];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_pfx4_key) == 12, "pfx4_key size");

struct aigw_pfx6_key {
	__u32 prefixlen; /* 32 (VRF) + IPv6 prefix length */
	__u32 vrf_be;
	__u8 addr[16];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_pfx6_key) == 24, "pfx6_key size");

#define AIGW_POL_F_VALID 0x1
/* The slot is the first path of a policy with several (aigw_path_groups has
 * its entry): a flow's path is picked there before the headers are read. */
#define AIGW_POL_F_MULTIPATH 0x2

/*
 * An SRv6 policy as the headend applies it. The agent prebuilds the outer
 * headers: `hdr` holds encap_len bytes = outer IPv6 header (version, hop
 * limit, next header, source, destination = first SID; traffic class, flow
 * label and payload length left zero) followed, when has_srh, by the SRH
 * (segment list in wire order, SegList[0] = last SID; Next Header left zero).
 * The datapath copies it and fills in the per-packet fields.
 */
struct aigw_policy {
	__u16 encap_len;  /* bytes of hdr in use: 40 + srh_len */
	__u8 mode;        /* enum aigw_encap_mode */
	__u8 nsids;       /* segments in the policy, 1..AIGW_MAX_SIDS */
	__u8 has_srh;     /* 1 when an SRH follows the outer IPv6 header */
	__u8 flags;       /* AIGW_POL_F_* */
	__u16 tcp_mss;    /* clamp SYN MSS to this (0 = derive from egress MTU, 0xffff = off) */
	__u32 id;         /* agent's policy id (for counters and display) */
	__u32 pad;
	__u8 hdr[AIGW_MAX_ENCAP_LEN];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_policy) == 16 + AIGW_MAX_ENCAP_LEN, "policy size");
AIGW_STATIC_ASSERT(AIGW_MAX_ENCAP_LEN % 8 == 0, "encap template is 8-byte granular");

/* ------------------------------------------------------- multipath policies
 * A policy with several candidate segment lists ("paths") holds each in a
 * slot of aigw_policies; the prefixes point at the first path's slot, which
 * carries AIGW_POL_F_MULTIPATH and has an aigw_path_groups entry. A flow's
 * path: bucket[(hash * AIGW_PATH_BUCKETS) >> 32] indexes slot[], where hash
 * is the flow hash of the customer packet (lib/paths.h). The agent fills the
 * buckets by weighted Maglev hashing (agent/datapath/paths.cpp): each path
 * holds buckets in proportion to its weight, and a path set change moves
 * few buckets beyond those it must. */
#define AIGW_MAX_PATHS 8
#define AIGW_PATH_BUCKETS 1021 /* prime: the Maglev permutations need it */
#define AIGW_PATH_BUCKETS_ALLOC 1024

struct aigw_path_group {
	__u32 npaths;                    /* 2..AIGW_MAX_PATHS */
	__u32 slot[AIGW_MAX_PATHS];      /* aigw_policies slot of each path; slot[0] = the group's */
	__u8 bucket[AIGW_PATH_BUCKETS_ALLOC]; /* path index, < npaths (the last 3 unused) */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_path_group) == 4 + 4 * AIGW_MAX_PATHS + AIGW_PATH_BUCKETS_ALLOC,
		   "path_group size");

/* Local SIDs live in two maps: a SID that is a whole /128 address in the
 * hash aigw_sid_exact (key: the address), a shorter one (locator+function,
 * arguments after it) in the LPM trie aigw_sids. The endpoint looks up the
 * exact map first, which is the longest match whenever it hits: a hash
 * lookup costs a fraction of a 128-bit trie walk (tests/bench op costs). */
struct aigw_sid_addr {
	__u8 addr[16];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_sid_addr) == 16, "sid_addr size");

struct aigw_sid_key {
	__u32 prefixlen; /* locator+function bits, < 128 (a /128 is in aigw_sid_exact) */
	__u8 addr[16];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_sid_key) == 20, "sid_key size");

struct aigw_sid_entry {
	__u16 behavior;  /* enum aigw_behavior */
	__u16 flags;
	__u32 table;     /* End.DT*: kernel routing table id for the FIB lookup */
	__u32 oif;       /* End.X / End.DX*: egress ifindex, 0 = any */
	__u32 nh4;       /* End.DX4 next hop (network order) */
	__u8 nh6[16];    /* End.X / End.DX6 next hop */
	__u32 id;        /* agent's SID id */
	__u32 pad;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_sid_entry) == 40, "sid_entry size");

struct aigw_ctr {
	__u64 packets;
	__u64 bytes;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_ctr) == 16, "ctr size");

/* Per interface, per CPU. Each received packet counts once in rx and once
 * in exactly one of the verdict counters (fwd, pass, drop, tx); encap and
 * decap count what was transformed on its way to fwd/pass/tx. */
struct aigw_if_stats {
	struct aigw_ctr rx;    /* received by the XDP program */
	struct aigw_ctr encap; /* SRv6-encapsulated (headend) */
	struct aigw_ctr decap; /* decapsulated (endpoint) */
	struct aigw_ctr fwd;   /* redirected out of an interface */
	struct aigw_ctr pass;  /* handed to the kernel stack */
	struct aigw_ctr drop;  /* dropped (see aigw_drops) */
	struct aigw_ctr tx;    /* sent back out the ingress port (ICMP errors) */
	struct aigw_ctr pad;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_if_stats) == 128, "if_stats size");

/* Per egress port (kernel ifindex), per CPU: frames the programs redirected
 * into this port (XDP_REDIRECT through aigw_tx, counted in fwd of the ingress
 * interface) that the kernel did not send. Counted by the transmit
 * tracepoints (bpf/tp_xmit.bpf.c: xdp:xdp_redirect_err at enqueue,
 * xdp:xdp_devmap_xmit at the bulk send). The agent creates the entry of every
 * port it may redirect into; the tracepoints count only those ports, in the
 * agent's network namespace. */
struct aigw_xmit_drops {
	__u64 no_xdp; /* refused at enqueue: the port has no ndo_xdp_xmit now (EOPNOTSUPP) */
	__u64 down;   /* the port or its veth peer is down (ENETDOWN, ENXIO) */
	__u64 failed; /* any other error, and frames the driver dropped at send */
	__u64 pad;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_xmit_drops) == 32, "xmit_drops size");

struct aigw_globals {
	__u32 icmp_rate;   /* ICMP errors sent from XDP per second per CPU, 0 = unlimited */
	__u32 icmp_burst;  /* bucket depth, in errors */
	__u32 nh_cache_ms; /* next-hop caches' validity (headend, endpoint), 0 = no cache */
	__u32 gen;         /* bumped by the agent on every apply: invalidates caches */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_globals) == 16, "globals size");

/* The FIB result for a policy's first SID, cached per CPU by policy slot so
 * that most packets skip bpf_fib_lookup. Valid while gen matches the
 * globals and until expires (on the datapath's cache clock, bpf/lib/nhcache.h:
 * jiffies, or the coarse ns clock when the kernel's HZ is unknown); only
 * successful lookups are cached, and a packet larger than mtu takes the
 * full lookup (which answers too-big). */
struct aigw_nh_cache {
	__u64 expires;
	__u32 gen;
	__u32 ifindex;
	__u16 mtu;
	__u8 smac[6];
	__u8 dmac[6];
	__u16 pad;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_nh_cache) == 32, "nh_cache size");

/* The endpoint's next-hop cache: what bpf_fib_lookup answered for these
 * inputs, under the same rules as aigw_nh_cache (generation, expiry, MTU).
 * The key holds every input the lookup's answer depends on, the source and
 * flow label included: the FIB's multipath hash uses them, so each flow
 * keeps the ECMP member the FIB chose for it. Its first 40 bytes are those
 * of struct bpf_fib_lookup from ifindex to the destination, as the lookup
 * got them (IPv4: tos in flowinfo's first byte, addresses in the first 4
 * bytes, the rest zero), so that the datapath reads it as six 64-bit words
 * without building it. The cache is direct-mapped: AIGW_EP_NH_ENTRIES slots
 * per CPU (a power of two), the key's hash picks the slot, the slot holds
 * the key it answers for, and a flow whose hash collides takes the slot
 * over. */
#define AIGW_EP_NH_BITS 13
#define AIGW_EP_NH_ENTRIES (1U << AIGW_EP_NH_BITS)
struct aigw_ep_nh_key {
	__u32 ifindex;   /* ingress port */
	__be32 flowinfo; /* IPv6 flow label (network order), IPv4: tos */
	__u8 src[16];
	__u8 dst[16];
	__u32 tbid;      /* table (End.DT*), 0 = the FIB's rules */
	__u32 family;
} __attribute__((aligned(8)));
AIGW_STATIC_ASSERT(sizeof(struct aigw_ep_nh_key) == 48, "ep_nh_key size");

struct aigw_ep_nh_slot {
	struct aigw_ep_nh_key key;
	struct aigw_nh_cache nc;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_ep_nh_slot) == 80, "ep_nh_slot size");

/* Per-CPU token bucket of the ICMP error rate limiter, in nanoseconds of
 * credit (one error costs 1e9 / icmp_rate). Datapath-private state. */
struct aigw_icmp_bucket {
	__u64 last_ns;
	__u64 credit_ns;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_icmp_bucket) == 16, "icmp_bucket size");


/* ---------------------------------------------------------------- classification
 *
 * Classification is first-match over an ordered rule list, evaluated with
 * aggregated bit vectors (Baboescu & Varghese, "Scalable packet
 * classification", SIGCOMM 2001): rule i is bit i, the agent orders the
 * rules by precedence (bit 0 first). For every field the agent stores, per
 * distinct field value class, the bitmap of rules that match it; the
 * datapath looks up one bitmap per field, ANDs them and takes the lowest set
 * bit. agg bit j says "word j may be non-zero", so the AND visits only the
 * words every field has candidates in, and the cost does not grow with the
 * number of rules, only with the words that must be visited.
 *
 * Fields: interface slot, IP source and destination prefix (per family),
 * protocol, source and destination port (TCP/UDP/SCTP only: other packets
 * and later fragments use the "no port" bitmaps), DSCP, APN ID (value/mask;
 * up to AIGW_APN_MAX_MASKS distinct masks). Rules are written from the
 * customer side: for traffic entering from the WAN (decapsulated, direction
 * AIGW_DIR_IN) source and destination (address and port) are swapped before
 * the lookup, so one rule classifies both directions of a flow.
 *
 * Every classification map is double-banked: the agent fills the inactive
 * bank, then flips aigw_cls_active, so a packet never sees half a rule set.
 */
#define AIGW_CLS_MAX_RULES 16384
#define AIGW_CLS_WORDS (AIGW_CLS_MAX_RULES / 64)    /* 256 */
#define AIGW_CLS_AGG_WORDS (AIGW_CLS_WORDS / 64)    /* 4 */
#define AIGW_CLS_BANKS 2
#define AIGW_CLS_NO_RULE 0xffffffffu
#define AIGW_CLS_PORTS 65536
#define AIGW_CLS_DEFAULT_PORT_BITMAPS 65536 /* aigw_cls_portbv entries per bank pair */
#define AIGW_CLS_DEFAULT_PREFIXES 32768     /* each aigw_cls_{src,dst}{4,6} */
#define AIGW_CLS_DEFAULT_APN 4096           /* aigw_cls_apn */
#define AIGW_CLS_MISC_ENTRIES 64 /* aigw_cls_misc: the few default bitmaps cls_meta names, both banks */
#define AIGW_CLS_PROTOS 256      /* aigw_cls_proto entries per bank: one per IP protocol */
#define AIGW_CLS_DSCPS 64        /* aigw_cls_dscp entries per bank: one per DSCP */
#define AIGW_APN_MAX_MASKS 8
#define AIGW_APN_MAX_ID_LEN 16

#define AIGW_MAX_TENANTS 1024 /* tenant ids 0..1023; 0 = "unclassified" */
#define AIGW_MAX_CLASSES 16   /* service class ids 0..15 */
#define AIGW_TENANT_NONE 0

#define AIGW_DEFAULT_FLOWS 65536
#define AIGW_DEFAULT_APN_GROUPS 4096

/* Direction of accounted traffic, seen from the customer site. */
enum aigw_dir {
	AIGW_DIR_OUT = 0, /* customer -> WAN: entered a customer port (headend) */
	AIGW_DIR_IN = 1,  /* WAN -> customer: decapsulated at an endpoint */
	AIGW_DIR_MAX
};

/* Built-in service classes; ids 6..15 are user-defined in the config. */
enum aigw_class {
	AIGW_CLASS_BEST_EFFORT = 0,
	AIGW_CLASS_TRAINING = 1,
	AIGW_CLASS_INFERENCE = 2,
	AIGW_CLASS_DATA_INGEST = 3,
	AIGW_CLASS_MODEL_DISTRIBUTION = 4,
	AIGW_CLASS_STORAGE = 5,
	AIGW_CLASS_BUILTIN_MAX = 6,
};

/* Where the headend puts the APN option in the outer IPv6 header. */
enum aigw_apn_header {
	AIGW_APN_HDR_HOP_BY_HOP = 0,
	AIGW_APN_HDR_DEST_OPTS = 1, /* Destination Options before the SRH */
};

/* APN-ID-Type values of the option (protocols.md). */
enum aigw_apn_id_type {
	AIGW_APN_ID_32 = 1,
	AIGW_APN_ID_64 = 2,
	AIGW_APN_ID_128 = 3,
};

/* Per customer-facing interface (aigw_iface_cfg.flags): what happens to the
 * APN ID a host put in its packets. Neither flag = rewrite. */
#define AIGW_IF_F_APN_TRUST 0x2 /* keep the host's APN ID (match on it, carry it outside) */
#define AIGW_IF_F_APN_STRIP 0x4 /* host's option overwritten with PadN, no APN imposed */

struct aigw_cls_bitmap {
	__u64 agg[AIGW_CLS_AGG_WORDS]; /* bit j: w[j] may be non-zero */
	__u64 w[AIGW_CLS_WORDS];       /* bit i of w[i/64]: rule i matches */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_cls_bitmap) == 8 * (AIGW_CLS_AGG_WORDS + AIGW_CLS_WORDS),
		   "cls_bitmap size");

struct aigw_cls_id_key {
	__u32 bank;
	__u32 id;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_cls_id_key) == 8, "cls_id_key size");

struct aigw_cls_pfx4_key {
	__u32 prefixlen; /* 32 (bank) + prefix length */
	__u32 bank_be;   /* bank, big-endian so it forms the leading bits */
	__u8 addr[4];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_cls_pfx4_key) == 12, "cls_pfx4_key size");

struct aigw_cls_pfx6_key {
	__u32 prefixlen; /* 32 (bank) + prefix length */
	__u32 bank_be;
	__u8 addr[16];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_cls_pfx6_key) == 24, "cls_pfx6_key size");

struct aigw_cls_apn_key {
	__u32 bank;
	__u32 mask_idx;                /* index into cls_meta.apn_masks */
	__u8 id[AIGW_APN_MAX_ID_LEN];  /* APN ID & mask, left-aligned, zero-filled */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_cls_apn_key) == 24, "cls_apn_key size");

#define AIGW_ACT_F_REMARK 0x1 /* rewrite the inner DSCP to `dscp` */
#define AIGW_ACT_F_POLICY 0x2 /* steer by policy_slot instead of the prefix lookup */
#define AIGW_ACT_F_APN 0x4    /* impose apn (apn_len bytes) on the outer header */

/* The decision of one rule (or of "no rule matched": cls_meta.dflt). */
struct aigw_cls_action {
	__u32 rule_id;     /* agent's rule id, AIGW_CLS_NO_RULE for the default */
	__u32 policy_slot; /* AIGW_ACT_F_POLICY: aigw_policies slot */
	__u16 tenant;      /* 0..AIGW_MAX_TENANTS-1 */
	__u8 cls;          /* 0..AIGW_MAX_CLASSES-1 */
	__u8 flags;        /* AIGW_ACT_F_* */
	__u8 dscp;         /* AIGW_ACT_F_REMARK: new DSCP (0..63) */
	__u8 apn_len;      /* AIGW_ACT_F_APN: 4, 8 or 16 */
	__u16 pad;
	__u8 apn[AIGW_APN_MAX_ID_LEN];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_cls_action) == 32, "cls_action size");

/* Per bank: how to read the bitmaps, and the APN settings that go with the
 * rule set. Bitmap ids name entries of aigw_cls_misc. */
struct aigw_cls_meta {
	__u32 nrules;          /* rules in this bank (0 = classification off: dflt applies) */
	__u32 nwords;          /* bitmap words in use: ceil(nrules / 64) */
	__u32 bv_no_sport;     /* misc bitmap: packets without ports (source field) */
	__u32 bv_no_dport;     /* misc bitmap: packets without ports (destination field) */
	__u32 bv_apn_none;     /* misc bitmap: packets without an APN ID */
	__u32 bv_apn_wild;     /* misc bitmap: rules with no APN condition */
	__u32 bv_src4_none;    /* misc bitmap: IPv4, no src4 LPM entry matched */
	__u32 bv_dst4_none;
	__u32 bv_src6_none;
	__u32 bv_dst6_none;
	__u8 apn_opt_type;     /* option type of the APN option (HBH / Dest Opts) */
	__u8 apn_header;       /* enum aigw_apn_header: where the headend imposes it */
	__u8 app_group_bits;   /* leading bits of the APN ID that form the app-group */
	__u8 apn_nmasks;       /* masks in apn_masks */
	__u8 flows_on;         /* 1 = keep aigw_flows */
	__u8 pad[3];
	struct aigw_cls_action dflt;     /* decision when no rule matches */
	__u8 apn_masks[AIGW_APN_MAX_MASKS][AIGW_APN_MAX_ID_LEN];
	__u8 apn_mask_len[AIGW_APN_MAX_MASKS]; /* ID length (4/8/16) the mask applies to */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_cls_meta) == 48 + 32 + 16 * AIGW_APN_MAX_MASKS + AIGW_APN_MAX_MASKS,
		   "cls_meta size");

/* One flow as the datapath sees it. Addresses are left-aligned (IPv4 in the
 * first 4 bytes, the rest zero); ports in network order, 0 when the packet
 * has none. The key is the packet's own orientation (not swapped). */
struct aigw_flow_key {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 family;  /* 4 or 6 */
	__u8 dir;     /* enum aigw_dir */
	__u8 dqp[3];  /* RoCEv2 (UDP to 4791): the BTH destination QP, network order, so
		       * each queue pair is a flow; else 0 */
	__u16 ifslot; /* counter slot of the customer port (0 = unknown) */
	__u32 vrf;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_flow_key) == 48, "flow_key size");
AIGW_STATIC_ASSERT(__builtin_offsetof(struct aigw_flow_key, ifslot) == 42, "flow_key layout");

/* Updated with atomic adds by every CPU; first/last seen in
 * bpf_ktime_get_ns() (CLOCK_MONOTONIC). Bytes are L3 bytes (IP header and
 * payload of the customer packet, before encapsulation / after decap). */
struct aigw_flow {
	__u64 packets;
	__u64 bytes;
	__u64 first_ns;
	__u64 last_ns;
	__u32 rule_id;     /* matching rule, AIGW_CLS_NO_RULE for the default */
	__u32 policy_slot; /* policy that encapsulated it (out), 0 = none */
	__u32 gen;         /* classification generation the decision below came from */
	__u16 tenant;
	__u8 cls;
	__u8 tcp_flags;    /* OR of the TCP flags seen */
	__u8 apn_len;      /* APN ID carried/imposed, 0 = none */
	__u8 dscp;         /* DSCP after remarking */
	__u8 flags;        /* cls_action flags applied */
	__u8 pinned;       /* 1: the flow has an aigw_path_pins entry (lib/paths.h) */
	__u32 pad2;
	__u8 apn[AIGW_APN_MAX_ID_LEN];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_flow) == 72, "flow size");

/* ------------------------------------------------------------- elephants
 * Heavy hitters: a per-CPU set-associative table of AIGW_HH_BUCKETS
 * buckets of AIGW_HH_WAYS slots (one 64-byte block each), counting L3 bytes
 * per flow fingerprint (a 64-bit hash of the flow key; its low bits pick the
 * bucket) in windows (epochs) of hh_cfg: epoch = AIGW_HH_EPOCH(ktime, mult).
 * Packets of epoch e count into half e & 1, so while e runs the agent reads
 * half (e - 1) & 1, which nothing writes; a slot whose epoch is not the
 * packet's is empty. A flow found in its bucket counts there; a new flow
 * takes an empty slot, else the smallest resident's (the smallest count is
 * forgotten, as in Space-Saving, without inheriting it: a count never
 * exceeds the flow's bytes). Keys are kept apart, once a window per CPU:
 * when a flow's count reaches hh_cfg.key_bytes its key goes into
 * aigw_hh_keys (LRU, shared), so slots are 16 bytes. A half is one per-CPU
 * value (32 KiB, the most a per-CPU value may hold): one lookup a packet.
 * (Until December 2026 this was a HashPipe of 4 stages of 512 rows; the
 * buckets cost a new flow one block instead of four.) */
#define AIGW_HH_WAYS 4       /* slots per bucket: 4 x 16 bytes, one cache line */
#define AIGW_HH_BUCKETS 512  /* per half; a power of two */
#define AIGW_HH_HALF_SLOTS (AIGW_HH_WAYS * AIGW_HH_BUCKETS)
#define AIGW_HH_SLOTS (2 * AIGW_HH_HALF_SLOTS)
#define AIGW_HH_KEYS 4096 /* flows named at once (all CPUs) */
/* The window of a time: ((ns >> 10) * mult) >> 32 with mult = 2^42 / window
 * ns (a multiply, not a division, per packet); exact to 1e-5 of a window,
 * and the agent computes it the same way. */
#define AIGW_HH_EPOCH(ns, mult) (((__u64)(ns) >> 10) * (__u64)(mult) >> 32)

struct aigw_hh_slot {
	__u64 fp;    /* fingerprint of the flow key */
	__u32 bytes; /* L3 bytes of the flow in the epoch (on this CPU) */
	__u32 epoch; /* low 32 bits of the epoch the count belongs to */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_hh_slot) == 16, "hh_slot size");
AIGW_STATIC_ASSERT((AIGW_HH_BUCKETS & (AIGW_HH_BUCKETS - 1)) == 0, "hh buckets: a power of two");
AIGW_STATIC_ASSERT(AIGW_HH_WAYS * sizeof(struct aigw_hh_slot) == 64, "hh bucket: one cache line");
AIGW_STATIC_ASSERT(AIGW_HH_SLOTS * sizeof(struct aigw_hh_slot) <= 64 * 1024, "hh: 64 KiB per CPU");

/* aigw_hh value: one half of the sketch, slot[bucket * AIGW_HH_WAYS + way]. */
struct aigw_hh_half {
	struct aigw_hh_slot slot[AIGW_HH_HALF_SLOTS];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_hh_half) <= 32768, "hh half: a per-CPU value");

/* aigw_hh_keys: fingerprint -> the flow it names. */
struct aigw_hh_key {
	struct aigw_flow_key key;
	__u32 slot;  /* aigw_policies slot (path) the flow took when named, 0 = none */
	__u32 epoch; /* the epoch it was named in */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_hh_key) == 56, "hh_key size");

struct aigw_hh_cfg {
	__u64 mult;      /* AIGW_HH_EPOCH multiplier; 0 = detection off */
	__u32 npins;     /* entries in aigw_path_pins (0: a new flow skips the lookup) */
	__u32 key_bytes; /* a flow's count reaching this in a window names it */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_hh_cfg) == 16, "hh_cfg size");

/* A flow the agent placed on a path of a multipath policy. The datapath
 * keeps cur and last_ns: a flow that has a pin takes cur, which becomes
 * target only after the flow was idle longer than gap_ns (a flowlet gap
 * longer than the paths' delay difference: no packet overtakes another).
 * cur = 0: not seen since pinned (that packet keeps the path the flow had).
 * target = 0: released: the flow goes back to its hash path at its next
 * gap, and home = 1 once it is there; the agent deletes a released pin when
 * home or idle, so no release moves a flow without a gap. The flow entry
 * remembers that a flow is pinned (aigw_flow.pinned), so cached packets of
 * other flows never look here. */
struct aigw_path_pin {
	__u32 head;    /* the policy's first slot (aigw_path_groups key) */
	__u32 target;  /* slot of the path the agent placed the flow on; 0 = released */
	__u32 cur;     /* slot the flow takes now; 0 = not seen yet */
	__u32 gap_ns;  /* idle time that lets the flow move */
	__u64 last_ns; /* the flow's last packet (bpf_ktime_get_ns) */
	__u32 moves;   /* times the flow moved */
	__u32 home;    /* released and back on its hash path */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_path_pin) == 32, "path_pin size");
#define AIGW_MAX_PINS 4096 /* elephants placed at once */

/* aigw_usage index: ((dir * AIGW_MAX_TENANTS) + tenant) * AIGW_MAX_CLASSES + cls.
 * Counted for every classified packet, whether or not it has a flow entry. */
#define AIGW_USAGE_ENTRIES (AIGW_DIR_MAX * AIGW_MAX_TENANTS * AIGW_MAX_CLASSES)
#define AIGW_USAGE_INDEX(dir, tenant, cls) \
	((((__u32)(dir) * AIGW_MAX_TENANTS) + (__u32)(tenant)) * AIGW_MAX_CLASSES + (__u32)(cls))

struct aigw_apn_usage_key {
	__u64 app_group; /* leading app_group_bits of the APN ID, right-aligned */
	__u8 dir;
	__u8 pad[7];
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_apn_usage_key) == 16, "apn_usage_key size");

/* ---------------------------------------------------------------- RDMA proxy */
/* RoCEv2 (UDP 4791) of the tenants and classes in aigw_rdma_sel goes to the
 * agent's AF_XDP sockets (aigw_xsks) instead of the fast path, once the
 * program has done its work on it:
 *   - headend: encapsulated, MACs set for the WAN next hop (kind EGRESS);
 *   - endpoint: decapsulated, MACs set for the customer next hop (kind
 *     INGRESS); a proxy NACK (UDP AIGW_RDMA_NACK_PORT) decapsulated there
 *     goes to the proxy whatever its class (kind NACK).
 * The socket is the one bound to the port and queue the frame arrived on
 * (AF_XDP takes nothing else): key = iface slot * AIGW_XSK_QUEUES + queue.
 * Ahead of the frame, in the XDP metadata area, struct aigw_xsk_meta tells
 * the proxy where the frame goes and where its RoCEv2 packet starts. */
#define AIGW_XSK_QUEUES 16 /* queues per port the proxy can serve */
#define AIGW_XSK_ENTRIES (AIGW_MAX_IFACES * AIGW_XSK_QUEUES)
#define AIGW_RDMA_NACK_PORT 4793

enum aigw_xsk_kind {
	AIGW_XSK_EGRESS = 1,  /* from a local host, encapsulated for the WAN */
	AIGW_XSK_INGRESS = 2, /* from the WAN, decapsulated for a local host */
	AIGW_XSK_NACK = 3,    /* a peer gateway's NACK, decapsulated */
};

#define AIGW_XSK_MAGIC 0xa16e
struct aigw_xsk_meta {
	__u32 egress_ifindex; /* where the frame goes (its MACs are set for it) */
	__u16 ip_off;         /* the carried IP packet (RoCEv2 or NACK) from the frame's start */
	__u16 magic;          /* AIGW_XSK_MAGIC: metadata of this layout */
	__u8 kind;            /* enum aigw_xsk_kind */
	__u8 pad;
	__u16 tenant;         /* the packet's tenant (its memory budget in the proxy) */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_xsk_meta) == 12, "xsk_meta size (a multiple of 4)");

/* ---------------------------------------------------------------- shaping */
/* Per-tenant queues on the WAN ports (the design's TC half). XDP_REDIRECT
 * bypasses the qdisc layer, so the headend hands an encapsulated packet of
 * a shaped tenant (aigw_shape[tenant].priority != 0) to the kernel instead,
 * MACs set for its WAN port, with struct aigw_shape_meta ahead of it in
 * the XDP metadata area; the TC ingress program of the customer port
 * (tc_customer_ingress) sets skb->priority to the tenant's HTB class and
 * redirects it to the WAN port's egress, whose HTB (managed by the agent:
 * root handle AIGW_SHAPE_MAJOR:, tenant t in class AIGW_SHAPE_MAJOR:t under
 * AIGW_SHAPE_MAJOR:AIGW_SHAPE_PARENT) queues and paces it. Unshaped tenants
 * keep the XDP fast path. While the agent sees a tenant's queue above its
 * marking threshold (AIGW_SHAPE_F_CE), the TC program marks the outer
 * header of ECN-capable packets Congestion Experienced (RFC 3168); the far
 * gateway's decapsulation carries CE to the inner packet (RFC 6040).
 * The endpoint does the same with a decapsulated packet of a shaped tenant
 * bound for a customer port (AIGW_SHAPE_META_DECAP; the TC ingress program
 * of the WAN port sends it on): the tenant's queue there is the one whose
 * backlog pauses the upstream gateways (the agent's backpressure). Those
 * packets are not CE-marked (the flag is of the WAN queue). */
#define AIGW_SHAPE_MAJOR 0xa16
#define AIGW_SHAPE_PARENT 0x1000 /* above every tenant id */
#define AIGW_SHAPE_PRIORITY(tenant) ((__u32)AIGW_SHAPE_MAJOR << 16 | (__u16)(tenant))
#define AIGW_SHAPE_F_CE 0x1 /* the tenant's queue is above its marking threshold */
struct aigw_shape {
	__u32 priority; /* skb->priority: the HTB class (major << 16 | minor); 0 = unshaped */
	__u32 flags;    /* AIGW_SHAPE_F_*, set by the agent from the queue's backlog */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_shape) == 8, "shape size");

#define AIGW_SHAPE_MAGIC 0xa165
#define AIGW_SHAPE_META_DECAP 0x1 /* decapsulated, bound for a customer port */
struct aigw_shape_meta {
	__u32 egress_ifindex; /* the port the frame's MACs are set for */
	__u32 priority;       /* aigw_shape.priority of the packet's tenant */
	__u16 magic;          /* AIGW_SHAPE_MAGIC: metadata of this layout */
	__u16 tenant;
	__u32 flags; /* AIGW_SHAPE_META_* */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_shape_meta) == 16, "shape_meta size (a multiple of 4)");
AIGW_STATIC_ASSERT(AIGW_SHAPE_PARENT >= AIGW_MAX_TENANTS, "no tenant's class is the parent");

/* ---------------------------------------------------------------- TC programs */
/* aigw_tc_stats: per interface counter slot (aigw_iface_cfg.slot, 0 =
 * unknown interface), per CPU, what the TC programs saw. Separate from
 * aigw_if_stats, whose rx/verdict balance belongs to the XDP programs. */
struct aigw_tc_stats {
	struct aigw_ctr seen;     /* every packet the program ran on */
	struct aigw_ctr ip;       /* parsed as IPv4/IPv6 (the rest: not IP, or malformed) */
	struct aigw_ctr bad;      /* the parser found it malformed (it still passes) */
	struct aigw_ctr flow_hit; /* belongs to a flow in aigw_flows (the key the XDP programs use) */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_tc_stats) == 64, "tc_stats size");

/* ---------------------------------------------------------------- names */
#ifndef __bpf__
/* Display names: stable identifiers used by aigwctl, logs and metrics,
 * generated from the rows above, so none can be missing or out of order. */
static inline const char *aigw_drop_reason_name(unsigned int r)
{
	static const char *const names[] = {
		"none",
#define AIGW_X_(sfx, name, doc) name,
		AIGW_DROP_REASONS(AIGW_X_)
#undef AIGW_X_
	};
	AIGW_STATIC_ASSERT(sizeof(names) / sizeof(names[0]) == AIGW_DROP_MAX, "drop names");
	return r < AIGW_DROP_MAX ? names[r] : "unknown";
}

static inline const char *aigw_event_name(unsigned int e)
{
	static const char *const names[] = {
		"none",
#define AIGW_X_(sfx, name, doc) name,
		AIGW_EVENTS(AIGW_X_)
#undef AIGW_X_
	};
	AIGW_STATIC_ASSERT(sizeof(names) / sizeof(names[0]) == AIGW_EV_MAX, "event names");
	return e < AIGW_EV_MAX ? names[e] : "unknown";
}

static inline const char *aigw_behavior_name(unsigned int b)
{
	switch (b) {
	case AIGW_BEH_NONE:
		return "none";
#define AIGW_X_(id, sfx, name, flags) \
	case id:                      \
		return name;
		AIGW_BEHAVIORS(AIGW_X_)
#undef AIGW_X_
	}
	return "unknown";
}

static inline const char *aigw_encap_mode_name(unsigned int m)
{
	return m == AIGW_ENCAP_H_ENCAPS ? "encap" : m == AIGW_ENCAP_H_ENCAPS_RED ? "encap.red" : "none";
}

static inline const char *aigw_class_builtin_name(unsigned int c)
{
	static const char *const names[AIGW_CLASS_BUILTIN_MAX] = {
		"best-effort", "training", "inference", "data-ingest", "model-distribution", "storage",
	};
	return c < AIGW_CLASS_BUILTIN_MAX ? names[c] : 0;
}

static inline const char *aigw_dir_name(unsigned int d)
{
	return d == AIGW_DIR_OUT ? "out" : d == AIGW_DIR_IN ? "in" : "unknown";
}

#endif /* !__bpf__ */

#endif /* AIGW_ABI_H */
