// Placement of elephant flows on the paths of a multipath policy. The mice
// stay hashed, so each path carries the weight's share of them (the mice's
// total is what the policy carries less the elephants: independent of where
// the elephants were during the window). The elephants start where they
// are (placed, or on their hash path; a flow whose path is gone goes, largest
// first, onto the most room: the LPT rule); then the flow that helps most
// moves from the path with the least residual capacity (that has a flow not
// settled) to the one with the most, while that raises the smaller room by
// more than a margin (`stick` of the smaller path's capacity). Few moves, none that a later re-placement
// with the same rates undoes: every move waits for a flowlet gap, and a
// flow that goes back and forth gains nothing. A flow held back by a full
// path is given the demand of an elastic flow (TCP): an equal share of the
// capacity left, so that no path stays empty while others are full.
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
  uint64_t id = 0;       // the caller's handle
  double rate_bps = 0;   // its demand: the rate, dips smoothed
  uint32_t on = 0;       // slot it takes now (its hash path or pin), 0 = unknown
  uint32_t target = 0;   // slot it is placed on now, 0 = not placed
  double mean_bps = 0;   // its rate on average (0: rate_bps)
  bool settled = false;  // moved a short while ago: stays unless its path is gone
};

// Flow id -> slot, for every flow (paths must not be empty). elastic: the
// capacities are real (configured), so a flow on a path loaded to 85 % of
// its capacity or more is taken to be held back by it (see placement.cpp).
std::map<uint64_t, uint32_t> place(const std::vector<PathLoad>& paths, std::vector<Flow> flows,
                                   bool elastic = true, double stick = 0.1);

// The mice's weights of paths with capacities: each path's capacity less the
// elephants on it, at least `floor` of its capacity (no path is ever left out,
// no weight is 0), scaled so that the largest is `scale`.
std::vector<uint32_t> adapted_weights(const std::vector<double>& capacity_bps,
                                      const std::vector<double>& elephants_bps, double floor = 0.05,
                                      uint32_t scale = 1000);

// Whether any weight of `next` differs from `now` by more than `tolerance`
// of the larger, both as shares of their largest weight (small changes are
// not worth moving the mice's buckets).
bool weights_differ(const std::vector<uint32_t>& now, const std::vector<uint32_t>& next,
                    double tolerance = 0.2);

// Capacities for paths that have none configured: the weights' shares of
// `total_bps`.
std::vector<double> capacities_from_weights(const std::vector<uint32_t>& weights, double total_bps);

}  // namespace aigw::placement
