// Placement of elephant flows on the paths of a multipath policy. The mice
// stay hashed (by weight); the elephants are placed on top: largest first
// onto the path with the most residual capacity (capacity minus the mice's
// load minus the elephants placed there before it): the LPT rule, within
// 4/3 of the best makespan, and it needs only measured rates. A flow keeps
// its current path unless another has clearly more room (`stick`), so a
// re-placement moves only flows that gain: every move waits for a flowlet
// gap, and a flow that moves back and forth gains nothing.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace aigw::placement {

struct PathLoad {
  uint32_t slot = 0;        // policy slot of the path
  double capacity_bps = 0;  // > 0
  double load_bps = 0;      // measured over the last window, every flow on it
};

struct Flow {
  uint64_t id = 0;      // the caller's handle
  double rate_bps = 0;  // measured over the last window
  uint32_t on = 0;      // slot it takes now (its hash path or pin), 0 = unknown
  uint32_t target = 0;  // slot it is placed on now, 0 = not placed
};

// Flow id -> slot, for every flow (paths must not be empty). `stick` is the
// share of a path's capacity by which another path must have more room for
// a flow to leave it.
std::map<uint64_t, uint32_t> place(const std::vector<PathLoad>& paths, std::vector<Flow> flows,
                                   double stick = 0.1);

// Capacities for paths that have none configured: the weights' shares of
// `total_bps`.
std::vector<double> capacities_from_weights(const std::vector<uint32_t>& weights, double total_bps);

}  // namespace aigw::placement
