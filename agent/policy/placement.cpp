#include "policy/placement.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace aigw::placement {
namespace {

// A path whose load is at least this share of its capacity is full.
constexpr double kFull = 0.85;

// The mice: the policy's load less the elephants' rates, never below 0.
double mice_bps(const std::vector<PathLoad>& paths, const std::vector<Flow>& flows) {
  double load = 0, elephants = 0;
  for (const auto& p : paths) load += p.load_bps;
  for (const auto& f : flows) elephants += f.rate_bps;
  return std::max(0.0, load - elephants);
}

// Each path's room before the elephants: capacity less its weight's share
// of the mice.
std::map<uint32_t, double> residuals(const std::vector<PathLoad>& paths, double mice) {
  double weights = 0;
  for (const auto& p : paths) weights += p.weight;
  std::map<uint32_t, double> room;
  for (const auto& p : paths)
    room[p.slot] = p.capacity_bps - (weights > 0 ? mice * p.weight / weights : 0);
  return room;
}

// A flow on a full path is held back by it: its rate says only that it
// wants at least as much. Such a flow's demand is estimated as Hedera does
// (Al-Fares et al., NSDI 2010) for flows limited by the network: an equal
// share of what the policy's capacity leaves after the mice and the flows
// limited elsewhere (on paths with room), or its mean rate if that is more
// (not its peaks: an elastic flow's rate swings from window to window).
// Without this, elastic flows (TCP) that fill their paths look like they
// fit, and a path with no elephant stays empty.
void estimate_elastic(const std::vector<PathLoad>& paths, std::vector<Flow>& flows, double mice) {
  std::map<uint32_t, bool> full;
  double capacity = 0;
  for (const auto& p : paths) {
    full[p.slot] = p.load_bps >= kFull * p.capacity_bps;
    capacity += p.capacity_bps;
  }
  auto held = [&](const Flow& f) {
    auto it = full.find(f.target ? f.target : f.on);
    return it != full.end() && it->second;
  };
  double fixed = 0;
  size_t elastic = 0;
  for (const auto& f : flows) {
    if (held(f))
      ++elastic;
    else
      fixed += f.rate_bps;
  }
  if (!elastic) return;
  const double share = (capacity - mice - fixed) / static_cast<double>(elastic);
  for (auto& f : flows)
    if (held(f)) f.rate_bps = std::max(f.mean_bps > 0 ? f.mean_bps : f.rate_bps, share);
}

// The largest flow on `from` whose move to `to` leaves both with more room
// than `from` has now, by the margin; none: flows.end().
std::vector<Flow>::const_iterator best_move(const std::vector<Flow>& flows,
                                            const std::map<uint64_t, uint32_t>& at, uint32_t from,
                                            double gap, double margin) {
  auto best = flows.end();
  for (auto f = flows.begin(); f != flows.end(); ++f)
    if (!f->settled && at.at(f->id) == from && f->rate_bps < gap - margin &&
        (best == flows.end() || f->rate_bps > best->rate_bps))
      best = f;
  return best;
}

// Every flow where it is (placed, or where its hash put it); a flow whose
// path is gone, largest first onto the most room. `flows` sorted largest first.
std::map<uint64_t, uint32_t> start_where_they_are(const std::vector<PathLoad>& paths,
                                                  const std::vector<Flow>& flows,
                                                  std::map<uint32_t, double>& room) {
  auto most_room = [&] {
    uint32_t best = paths.front().slot;
    for (const auto& p : paths)
      if (room[p.slot] > room[best]) best = p.slot;
    return best;
  };
  std::map<uint64_t, uint32_t> at;
  for (const auto& f : flows) {
    uint32_t now = f.target ? f.target : f.on;
    if (now && room.count(now)) {
      at[f.id] = now;
      room[now] -= f.rate_bps;
    }
  }
  for (const auto& f : flows) {
    if (at.count(f.id)) continue;
    uint32_t p = most_room();
    at[f.id] = p;
    room[p] -= f.rate_bps;
  }
  return at;
}

// One move onto the path with the most room, from the path with the least
// room that has a flow free to move there by the margin (`stick` of the
// smaller capacity); false when none is left.
bool move_once(const std::vector<PathLoad>& paths, const std::vector<Flow>& flows, double stick,
               std::map<uint64_t, uint32_t>& at, std::map<uint32_t, double>& room) {
  std::map<uint32_t, double> cap;
  uint32_t hi = paths.front().slot;
  for (const auto& p : paths) {
    cap[p.slot] = p.capacity_bps;
    if (room[p.slot] > room[hi]) hi = p.slot;
  }
  std::vector<uint32_t> from;
  for (const auto& p : paths)
    if (p.slot != hi) from.push_back(p.slot);
  std::stable_sort(from.begin(), from.end(),
                   [&](uint32_t a, uint32_t b) { return room[a] < room[b]; });
  for (uint32_t lo : from) {
    auto f = best_move(flows, at, lo, room[hi] - room[lo], stick * std::min(cap[lo], cap[hi]));
    if (f == flows.end()) continue;
    at[f->id] = hi;
    room[lo] += f->rate_bps;
    room[hi] -= f->rate_bps;
    return true;
  }
  return false;
}

}  // namespace

std::map<uint64_t, uint32_t> place(const std::vector<PathLoad>& paths, std::vector<Flow> flows,
                                   bool elastic, double stick) {
  if (paths.empty()) throw std::invalid_argument("placement needs at least one path");
  const double mice = mice_bps(paths, flows);
  auto room = residuals(paths, mice);
  if (elastic) estimate_elastic(paths, flows, mice);
  std::stable_sort(flows.begin(), flows.end(), [](const Flow& a, const Flow& b) {
    return a.rate_bps != b.rate_bps ? a.rate_bps > b.rate_bps : a.id < b.id;
  });
  auto at = start_where_they_are(paths, flows, room);
  // Then moves while a move raises the smaller room by more than the margin:
  // a move never undoes the one before (the rooms only draw closer), so
  // nothing flaps. Bounded by the moves a flow can make.
  for (size_t round = 0; round < flows.size() * paths.size(); ++round)
    if (!move_once(paths, flows, stick, at, room)) break;
  return at;
}

std::vector<uint32_t> adapted_weights(const std::vector<double>& capacity_bps,
                                      const std::vector<double>& elephants_bps, double floor,
                                      uint32_t scale) {
  if (capacity_bps.size() != elephants_bps.size())
    throw std::invalid_argument("a load per capacity");
  std::vector<double> room;
  double top = 0;
  for (size_t i = 0; i < capacity_bps.size(); ++i) {
    double c = std::max(capacity_bps[i], 0.0);
    room.push_back(std::max(c - elephants_bps[i], floor * c));
    top = std::max(top, room.back());
  }
  std::vector<uint32_t> out;
  for (double r : room)
    out.push_back(
        top > 0 ? std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(scale * r / top))) : 1);
  return out;
}

bool weights_differ(const std::vector<uint32_t>& now, const std::vector<uint32_t>& next,
                    double tolerance) {
  if (now.size() != next.size()) return true;
  if (now.empty()) return false;
  // as shares of the largest: 400/200 is 1000/500
  const double ma = *std::max_element(now.begin(), now.end());
  const double mb = *std::max_element(next.begin(), next.end());
  for (size_t i = 0; i < now.size(); ++i) {
    double a = ma > 0 ? now[i] / ma : 0, b = mb > 0 ? next[i] / mb : 0;
    if (std::abs(a - b) > tolerance * std::max(a, b)) return true;
  }
  return false;
}

std::vector<double> capacities_from_weights(const std::vector<uint32_t>& weights,
                                            double total_bps) {
  double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> out;
  for (uint32_t w : weights) out.push_back(sum > 0 ? total_bps * w / sum : 0);
  return out;
}

}  // namespace aigw::placement
