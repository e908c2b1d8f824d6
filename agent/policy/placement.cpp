#include "policy/placement.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace aigw::placement {
namespace {

// The mice's load of each path: what was measured less the elephants seen
// on it (never below zero: the two readings are not of the same instant).
std::map<uint32_t, double> residuals(const std::vector<PathLoad>& paths,
                                     const std::vector<Flow>& flows) {
  std::map<uint32_t, double> elephants_on, room;
  for (const auto& f : flows)
    if (f.on) elephants_on[f.on] += f.rate_bps;
  for (const auto& p : paths) {
    double mice = std::max(0.0, p.load_bps - elephants_on[p.slot]);
    room[p.slot] = p.capacity_bps - mice;
  }
  return room;
}

}  // namespace

std::map<uint64_t, uint32_t> place(const std::vector<PathLoad>& paths, std::vector<Flow> flows,
                                   double stick) {
  if (paths.empty()) throw std::invalid_argument("placement needs at least one path");
  std::map<uint32_t, double> cap;
  for (const auto& p : paths) cap[p.slot] = p.capacity_bps;
  auto room = residuals(paths, flows);
  std::stable_sort(flows.begin(), flows.end(), [](const Flow& a, const Flow& b) {
    return a.rate_bps != b.rate_bps ? a.rate_bps > b.rate_bps : a.id < b.id;
  });
  std::map<uint64_t, uint32_t> out;
  for (const auto& f : flows) {
    uint32_t best = paths.front().slot;
    for (const auto& p : paths)
      if (room[p.slot] > room[best]) best = p.slot;
    uint32_t now = f.target ? f.target : f.on;
    if (now && cap.count(now) && room[now] >= room[best] - stick * cap[now]) best = now;
    out[f.id] = best;
    room[best] -= f.rate_bps;
  }
  return out;
}

std::vector<double> capacities_from_weights(const std::vector<uint32_t>& weights,
                                            double total_bps) {
  double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> out;
  for (uint32_t w : weights) out.push_back(sum > 0 ? total_bps * w / sum : 0);
  return out;
}

}  // namespace aigw::placement
