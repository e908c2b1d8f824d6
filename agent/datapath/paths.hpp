// Multipath policies (abi.h "multipath policies"): the bucket table that
// spreads a policy's flows over its paths. Pure (no libbpf, no kernel):
// unit-tested.
#pragma once

#include <aigw/abi.h>

#include <cstdint>
#include <vector>

#include "config/model.hpp"

namespace aigw {

// A path's identity for hashing: its segment list, so a path keeps its
// buckets whatever its position in the configuration.
uint64_t path_id(const std::vector<Ip6>& segments);

// Weighted Maglev hashing (Eisenbud et al., "Maglev", NSDI 2016, section
// 3.4, with weights as claim credits): entry b of the result is the index
// (into `paths`) of the path that bucket b's flows take. Each path walks
// its own permutation of the buckets (offset and skip from its id) and, in
// every round, claims as many free buckets as its credits allow, a path of
// the largest weight one per round; so each path holds buckets in
// proportion to its weight (within one per path), and a change of the path
// set moves few buckets beyond those the change must move (measured in
// tests/unit/test_paths.cpp). The same paths give the same table, in any
// order. Throws std::invalid_argument for 0 or more than AIGW_MAX_PATHS
// paths, a weight of 0, or two paths with the same segment list.
std::vector<uint8_t> maglev_table(const std::vector<PolicyPath>& paths,
                                  uint32_t buckets = AIGW_PATH_BUCKETS);

// The aigw_path_groups entry of policy p (two or more paths) whose path i
// is in policy slot slots[i].
aigw_path_group encode_path_group(const Policy& p, const std::vector<uint32_t>& slots);

}  // namespace aigw
