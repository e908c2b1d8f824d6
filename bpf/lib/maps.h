/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The aigw maps (see include/aigw/abi.h). Pinned by name so the headend and
 * endpoint objects share one instance and counters survive agent restarts;
 * the agent sets the pin root and the sizes before load. */
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

#endif
