// Pure encodings of configuration objects into datapath map values (no
// libbpf, no kernel): unit-tested against hand-written structs.
#pragma once

#include <aigw/abi.h>

#include <cstdint>

#include "config/model.hpp"

namespace aigw {

// The prebuilt outer headers of a policy (aigw_policies value). `id` is the
// policy's slot. Throws std::invalid_argument for a segment count outside
// 1..AIGW_MAX_SIDS.
aigw_policy encode_policy(const Policy& p, const DatapathSettings& dp, uint32_t id);

// A local SID's aigw_sids value, from its behaviour's row (config/behaviors.hpp):
// behavior id and entry flags, `table` (kDefaultTable when unset, written
// for every behaviour as before), the egress ifindex `oif_ifindex` of
// s.interface (written only when the SID has an interface), the IPv4 (nh4,
// network order) or IPv6 (nh6) next hop, and the caller's `id`. Throws
// std::invalid_argument for a behaviour without a row.
aigw_sid_entry encode_sid(const Sid& s, uint32_t oif_ifindex, uint32_t id);

}  // namespace aigw
