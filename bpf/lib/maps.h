/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The aigw maps (see include/aigw/abi.h). Pinned by name so the headend and
 * endpoint objects share one instance and counters survive agent restarts;
 * the agent sets the pin root and the sizes before load. Two per-CPU
 * scratch maps are datapath-private and not pinned: aigw_cls_scratch (here)
 * and aigw_acct_state (lib/decide.h). */
#ifndef AIGW_BPF_MAPS_H
#define AIGW_BPF_MAPS_H

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_IFACES);
	__type(key, struct aigw_iface_key);
	__type(value, struct aigw_iface_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AIGW_DEFAULT_PREFIXES4);
	__type(key, struct aigw_pfx4_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_pfx4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AIGW_DEFAULT_PREFIXES6);
	__type(key, struct aigw_pfx6_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_pfx6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AIGW_DEFAULT_POLICIES);
	__type(key, __u32);
	__type(value, struct aigw_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_policies SEC(".maps");

/* Multipath policies (abi.h): sized like aigw_policies by the agent. A hash,
 * so that an entry is replaced whole: a packet reads the old table or the
 * new one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_DEFAULT_POLICIES);
	__type(key, __u32);
	__type(value, struct aigw_path_group);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_path_groups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_DEFAULT_SIDS);
	__type(key, struct aigw_sid_addr);
	__type(value, struct aigw_sid_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_sid_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AIGW_DEFAULT_SIDS);
	__type(key, struct aigw_sid_key);
	__type(value, struct aigw_sid_entry);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_sids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, AIGW_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_tx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIGW_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct aigw_if_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_if_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIGW_DROP_MAX);
	__type(key, __u32);
	__type(value, struct aigw_ctr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIGW_EV_MAX);
	__type(key, __u32);
	__type(value, struct aigw_ctr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_globals);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_globals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_icmp_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_icmp_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIGW_DEFAULT_POLICIES);
	__type(key, __u32);
	__type(value, struct aigw_nh_cache);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_nh_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIGW_EP_NH_ENTRIES);
	__type(key, __u32);
	__type(value, struct aigw_ep_nh_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_ep_nh SEC(".maps");

/* ------------------------------------------------ classification (abi.h) */
/* Fixed-size, double-banked: every bank has the same layout, the agent fills
 * the inactive one and flips aigw_cls_active. */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AIGW_CLS_BANKS);
	__type(key, __u32);
	__type(value, struct aigw_cls_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AIGW_CLS_BANKS * AIGW_CLS_MAX_RULES);
	__type(key, __u32);
	__type(value, struct aigw_cls_action);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AIGW_CLS_BANKS * AIGW_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct aigw_cls_bitmap);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_iface SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AIGW_CLS_BANKS * AIGW_CLS_PROTOS);
	__type(key, __u32);
	__type(value, struct aigw_cls_bitmap);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_proto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AIGW_CLS_BANKS * AIGW_CLS_DSCPS);
	__type(key, __u32);
	__type(value, struct aigw_cls_bitmap);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_dscp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AIGW_CLS_BANKS * AIGW_CLS_PORTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_sport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AIGW_CLS_BANKS * AIGW_CLS_PORTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_dport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_CLS_DEFAULT_PORT_BITMAPS);
	__type(key, struct aigw_cls_id_key);
	__type(value, struct aigw_cls_bitmap);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_portbv SEC(".maps");

#define AIGW_CLS_PFX_MAP(name, keytype)                        \
	struct {                                               \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);           \
		__uint(max_entries, AIGW_CLS_DEFAULT_PREFIXES); \
		__type(key, keytype);                          \
		__type(value, struct aigw_cls_bitmap);         \
		__uint(map_flags, BPF_F_NO_PREALLOC);          \
		__uint(pinning, LIBBPF_PIN_BY_NAME);           \
	} name SEC(".maps")

AIGW_CLS_PFX_MAP(aigw_cls_src4, struct aigw_cls_pfx4_key);
AIGW_CLS_PFX_MAP(aigw_cls_dst4, struct aigw_cls_pfx4_key);
AIGW_CLS_PFX_MAP(aigw_cls_src6, struct aigw_cls_pfx6_key);
AIGW_CLS_PFX_MAP(aigw_cls_dst6, struct aigw_cls_pfx6_key);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_CLS_DEFAULT_APN);
	__type(key, struct aigw_cls_apn_key);
	__type(value, struct aigw_cls_bitmap);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_apn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_CLS_MISC_ENTRIES);
	__type(key, struct aigw_cls_id_key);
	__type(value, struct aigw_cls_bitmap);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_cls_misc SEC(".maps");

/* Datapath-private scratch of the classifier (lib/classify.h); not pinned,
 * never read by the agent. Per CPU: XDP runs to completion on a CPU. */
struct aigw_cls_scratch {
	struct aigw_cls_bitmap apn;  /* APN field: bv_apn_wild | matching aigw_cls_apn entries */
	struct aigw_cls_bitmap and4; /* AND of the first four fields, candidate words only */
	__u32 nwords;
	__u32 pad;
	struct aigw_flow flow;       /* a new aigw_flows entry being built (lib/account.h) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_cls_scratch);
} aigw_cls_scratch SEC(".maps");

/* ------------------------------------------------ accounting (abi.h) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_DEFAULT_FLOWS);
	__type(key, struct aigw_flow_key);
	__type(value, struct aigw_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIGW_USAGE_ENTRIES);
	__type(key, __u32);
	__type(value, struct aigw_ctr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_usage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, AIGW_DEFAULT_APN_GROUPS);
	__type(key, struct aigw_apn_usage_key);
	__type(value, struct aigw_ctr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_apn_usage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIGW_DEFAULT_POLICIES);
	__type(key, __u32);
	__type(value, struct aigw_ctr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_pol_stats SEC(".maps");

/* Elephants (abi.h): the sketch, its settings, the agent's placements. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct aigw_hh_half);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_hh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AIGW_HH_KEYS);
	__type(key, __u64);
	__type(value, struct aigw_hh_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_hh_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_hh_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_hh_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_PINS);
	__type(key, struct aigw_flow_key);
	__type(value, struct aigw_path_pin);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_path_pins SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, AIGW_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct aigw_xmit_drops);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_xmit_drops SEC(".maps");

/* RDMA proxy (abi.h): its AF_XDP sockets, and what it takes. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, AIGW_XSK_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AIGW_MAX_TENANTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_rdma_sel SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AIGW_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct aigw_shape);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_shape SEC(".maps");

/* Every map abi.h lists (AIGW_MAPS) is defined above: a name in the list
 * without its definition does not compile. (The other direction, every
 * pinned map listed, is checked by tests/bpf/bpf_unit.cpp.) */
#define AIGW_X_(name, doc) _Static_assert(sizeof(name) > 0, #name " is defined");
AIGW_MAPS(AIGW_X_)
#undef AIGW_X_

#endif
