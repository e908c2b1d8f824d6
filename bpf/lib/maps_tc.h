/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps only the TC programs define (abi.h, AIGW_MAPS_TC), pinned by name
 * like those of lib/maps.h. The XDP objects do not carry them, so the
 * loader of the XDP programs is unchanged by their existence. */
#ifndef AIGW_BPF_MAPS_TC_H
#define AIGW_BPF_MAPS_TC_H

#include "lib/maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIGW_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct aigw_tc_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aigw_tc_stats SEC(".maps");

#define AIGW_X_(name, doc) _Static_assert(sizeof(name) > 0, #name " is defined");
AIGW_MAPS_TC(AIGW_X_)
#undef AIGW_X_

#endif
