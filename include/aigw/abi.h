/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * aigw datapath ABI: the map keys, map values, enums and limits shared by the
 * eBPF programs (bpf/) and the agent (agent/). Everything the two sides agree
 * on is declared here, once. All structs have explicit padding and a static
 * size check; multi-byte addresses are kept in network byte order, every
 * other integer in host byte order unless its name ends in _be.
 *
 * Maps (names as seen by bpftool and under the pin path):
 *   aigw_ifaces     HASH      iface_key      -> iface_cfg      interface role, VRF, counter slot
 *   aigw_pfx4       LPM_TRIE  pfx4_key       -> __u32          (VRF, IPv4 prefix) -> policy slot
 *   aigw_pfx6       LPM_TRIE  pfx6_key       -> __u32          (VRF, IPv6 prefix) -> policy slot
 *   aigw_policies   ARRAY     __u32 slot     -> policy         prebuilt outer headers
 *   aigw_sids       LPM_TRIE  sid_key        -> sid_entry      local SIDs (exact /128 or locator+function)
 *   aigw_tx         DEVMAP_HASH ifindex      -> ifindex        egress ports for XDP_REDIRECT
 *   aigw_if_stats   PERCPU_ARRAY slot        -> if_stats       per-interface counters
 *   aigw_drops      PERCPU_ARRAY reason      -> ctr            drop reasons
 *   aigw_events     PERCPU_ARRAY event       -> ctr            exceptions that are not drops
 *   aigw_globals    ARRAY     0              -> globals        datapath-wide settings
 *   aigw_icmp_bucket PERCPU_ARRAY 0            -> icmp_bucket    ICMP error rate limiter state
 *   aigw_nh_cache   PERCPU_ARRAY policy slot  -> nh_cache       headend next-hop cache
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

enum aigw_behavior {
	AIGW_BEH_NONE = 0,
	AIGW_BEH_END = 1,
	AIGW_BEH_END_X = 2,
	AIGW_BEH_END_DX4 = 3,
	AIGW_BEH_END_DX6 = 4,
	AIGW_BEH_END_DT4 = 5,
	AIGW_BEH_END_DT6 = 6,
	AIGW_BEH_END_DT46 = 7,
	AIGW_BEH_MAX
};

/* Why a packet was dropped. Every XDP_DROP/XDP_ABORTED the programs return
 * increments exactly one of these. Names for display are in
 * aigw_drop_reason_name() below and must stay in the same order. */
enum aigw_drop_reason {
	AIGW_DROP_NONE = 0,
	AIGW_DROP_TRUNC_ETH,         /* shorter than an Ethernet header */
	AIGW_DROP_TRUNC_VLAN,        /* 802.1Q tag cut short */
	AIGW_DROP_TRUNC_IPV4,        /* shorter than the IPv4 header it announces */
	AIGW_DROP_BAD_IPV4,          /* IPv4 version/IHL/total length inconsistent */
	AIGW_DROP_TRUNC_IPV6,        /* shorter than an IPv6 header */
	AIGW_DROP_BAD_IPV6,          /* IPv6 version or payload length inconsistent */
	AIGW_DROP_TRUNC_EXTHDR,      /* IPv6 extension header cut short */
	AIGW_DROP_EXTHDR_CHAIN,      /* more than AIGW_MAX_EXT_HDRS extension headers */
	AIGW_DROP_TRUNC_L4,          /* TCP/UDP/ICMP header cut short */
	AIGW_DROP_SRH_BAD_LEN,       /* Hdr Ext Len does not hold Last Entry + 1 segments */
	AIGW_DROP_SRH_SL_EXCEEDS_LE, /* Segments Left > Last Entry + 1 */
	AIGW_DROP_SRH_SL_NOT_ZERO,   /* decapsulating behaviour with Segments Left != 0 */
	AIGW_DROP_SRH_MISSING,       /* End/End.X, no segment left, inner IPv4/IPv6 (End does not decap) */
	AIGW_DROP_HOP_LIMIT,         /* hop limit/TTL expired and no ICMP could be sent */
	AIGW_DROP_MTU_EXCEEDED,      /* too big after encapsulation (ICMP sent if possible) */
	AIGW_DROP_INNER_PROTO,       /* decapsulated payload is not what the behaviour takes */
	AIGW_DROP_POLICY_INVALID,    /* prefix points at an empty or corrupt policy slot */
	AIGW_DROP_SID_INVALID,       /* SID entry with an unknown behaviour */
	AIGW_DROP_HEADROOM,          /* bpf_xdp_adjust_head/tail failed */
	AIGW_DROP_FIB_BLACKHOLE,     /* FIB says blackhole/unreachable/prohibit */
	AIGW_DROP_FRAG_NO_DF,        /* IPv4 without DF too big for the tunnel (no XDP fragmentation) */
	AIGW_DROP_NO_ROUTE_TO_SID,   /* headend: the FIB cannot forward to the first SID */
	AIGW_DROP_DT_NO_ROUTE,       /* End.DT* in a non-main table: the FIB cannot forward there */
	AIGW_DROP_MAX
};

/* Exceptional events that are not drops (the packet got a verdict other
 * than drop). */
enum aigw_event {
	AIGW_EV_NONE = 0,
	AIGW_EV_ICMP_TTL_SENT,     /* time exceeded sent from XDP */
	AIGW_EV_TTL_TO_KERNEL,     /* expired packet handed to the kernel to answer */
	AIGW_EV_ICMP_MTU_SENT,     /* frag-needed / packet-too-big sent from XDP */
	AIGW_EV_NO_NEIGH_TO_KERNEL,/* next hop unresolved: packet handed to the kernel */
	AIGW_EV_FIB_TO_KERNEL,     /* FIB could not forward (local, no route...): to the kernel */
	AIGW_EV_NO_TX_PORT,        /* egress port not in aigw_tx: to the kernel */
	AIGW_EV_MSS_CLAMPED,       /* TCP SYN MSS rewritten */
	AIGW_EV_SL_ZERO_TO_KERNEL, /* End/End.X with Segments Left 0: upper layer to the kernel */
	AIGW_EV_ICMP_RATELIMITED,  /* an ICMP error was due but over the rate limit (packet dropped) */
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

struct aigw_sid_key {
	__u32 prefixlen; /* 128 for an exact SID, locator+function bits otherwise */
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

struct aigw_globals {
	__u32 icmp_rate;   /* ICMP errors sent from XDP per second per CPU, 0 = unlimited */
	__u32 icmp_burst;  /* bucket depth, in errors */
	__u32 nh_cache_ms; /* headend next-hop cache validity, 0 = no cache */
	__u32 gen;         /* bumped by the agent on every apply: invalidates caches */
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_globals) == 16, "globals size");

/* The FIB result for a policy's first SID, cached per CPU by policy slot so
 * that most packets skip bpf_fib_lookup. Valid while gen matches the
 * globals and until expires_ns; only successful lookups are cached, and a
 * packet larger than mtu takes the full lookup (which answers too-big). */
struct aigw_nh_cache {
	__u64 expires_ns;
	__u32 gen;
	__u32 ifindex;
	__u16 mtu;
	__u8 smac[6];
	__u8 dmac[6];
	__u16 pad;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_nh_cache) == 32, "nh_cache size");

/* Per-CPU token bucket of the ICMP error rate limiter, in nanoseconds of
 * credit (one error costs 1e9 / icmp_rate). Datapath-private state. */
struct aigw_icmp_bucket {
	__u64 last_ns;
	__u64 credit_ns;
};
AIGW_STATIC_ASSERT(sizeof(struct aigw_icmp_bucket) == 16, "icmp_bucket size");

/* ---------------------------------------------------------------- names */
#ifndef __bpf__
/* Display names: stable identifiers used by aigwctl, logs and metrics. */
static inline const char *aigw_drop_reason_name(unsigned int r)
{
	static const char *const names[AIGW_DROP_MAX] = {
		"none",
		"trunc_eth",
		"trunc_vlan",
		"trunc_ipv4",
		"bad_ipv4",
		"trunc_ipv6",
		"bad_ipv6",
		"trunc_exthdr",
		"exthdr_chain",
		"trunc_l4",
		"srh_bad_len",
		"srh_sl_exceeds_le",
		"srh_sl_not_zero",
		"srh_missing",
		"hop_limit",
		"mtu_exceeded",
		"inner_proto",
		"policy_invalid",
		"sid_invalid",
		"headroom",
		"fib_blackhole",
		"frag_no_df",
		"no_route_to_sid",
		"dt_no_route",
	};
	return r < AIGW_DROP_MAX ? names[r] : "unknown";
}

static inline const char *aigw_event_name(unsigned int e)
{
	static const char *const names[AIGW_EV_MAX] = {
		"none",
		"icmp_ttl_sent",
		"ttl_to_kernel",
		"icmp_mtu_sent",
		"no_neigh_to_kernel",
		"fib_to_kernel",
		"no_tx_port",
		"mss_clamped",
		"sl_zero_to_kernel",
		"icmp_ratelimited",
	};
	return e < AIGW_EV_MAX ? names[e] : "unknown";
}

static inline const char *aigw_behavior_name(unsigned int b)
{
	static const char *const names[AIGW_BEH_MAX] = {
		"none", "End", "End.X", "End.DX4", "End.DX6", "End.DT4", "End.DT6", "End.DT46",
	};
	return b < AIGW_BEH_MAX ? names[b] : "unknown";
}

static inline const char *aigw_encap_mode_name(unsigned int m)
{
	return m == AIGW_ENCAP_H_ENCAPS ? "encap" : m == AIGW_ENCAP_H_ENCAPS_RED ? "encap.red" : "none";
}

#endif /* !__bpf__ */

#endif /* AIGW_ABI_H */
