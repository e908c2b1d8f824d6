// Placement of elephant flows on the paths of a multipath policy. The mice
// stay hashed, so each path carries the weight's share of them (the mice's
// total is what the policy carries less the elephants: independent of where
// the elephants were during the window). The elephants start where they
// are (placed, or on their hash path; a flow whose path is gone goes, largest
// first, onto the most room: the LPT rule); then the flow that helps most
// moves from the path with the least residual capacity to the one with the
// most, while that raises the smaller room by more than a margin (`stick` of
// the smaller path's capacity). Few moves, none that a later re-placement
// with the same rates undoes: every move waits for a flowlet gap, and a
// flow that goes back and forth gains nothing.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace aigw::placement {

struct PathLoad {
  uint32_t slot = 0;        // policy slot of the path
  double capacity_bps = 0;  // > 0
  double load_bps = 0;      // measured over the last window, every flow on it
  uint32_t weight = 1;      // its share of the mice (the bucket table's weight)
};

struct Flow {
  uint64_t id = 0;      // the caller's handle
  double rate_bps = 0;  // measured over the last window
  uint32_t on = 0;      // slot it takes now (its hash path or pin), 0 = unknown
  uint32_t target = 0;  // slot it is placed on now, 0 = not placed
};

// Flow id -> slot, for every flow (paths must not be empty).
std::map<uint64_t, uint32_t> place(const std::vector<PathLoad>& paths, std::vector<Flow> flows,
                                   double stick = 0.1);

// Capacities for paths that have none configured: the weights' shares of
// `total_bps`.
std::vector<double> capacities_from_weights(const std::vector<uint32_t>& weights, double total_bps);

}  // namespace aigw::placement
