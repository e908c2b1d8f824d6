#include "telemetry/elephants.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace aigw::telemetry {

std::vector<HhCount> sum_window(const std::vector<aigw_hh_slot>& slots, uint32_t epoch,
                                uint64_t min_bytes) {
  std::map<uint64_t, uint64_t> by;
  for (const auto& s : slots)
    if (s.epoch == epoch && s.bytes) by[s.fp] += s.bytes;
  std::vector<HhCount> out;
  for (auto [fp, b] : by)
    if (b >= min_bytes) out.push_back({fp, b});
  std::sort(out.begin(), out.end(), [](const HhCount& a, const HhCount& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.fp < b.fp;
  });
  return out;
}

std::vector<HhSample> name_counts(const std::vector<HhCount>& counts, const KeyLookup& key_of,
                                  size_t* unnamed) {
  std::vector<HhSample> out;
  size_t missing = 0;
  for (const auto& c : counts) {
    auto k = key_of(c.fp);
    if (!k) {
      ++missing;
      continue;
    }
    out.push_back({k->key, c.bytes, k->slot});
  }
  if (unnamed) *unnamed = missing;
  return out;
}

uint64_t hh_mult(std::chrono::nanoseconds window) {
  auto ns = static_cast<uint64_t>(std::max<int64_t>(window.count(), 1));
  uint64_t m = (uint64_t{1} << 42) / ns;
  return m ? m : 1;
}

uint64_t hh_epoch_start(uint64_t e, uint64_t mult) {
  // smallest ns with ((ns >> 10) * mult) >> 32 >= e
  unsigned __int128 need = static_cast<unsigned __int128>(e) << 32;
  uint64_t q = static_cast<uint64_t>((need + mult - 1) / mult);
  return q << 10;
}

uint64_t HhThresholds::enter_for(uint32_t slot) const {
  auto it = per_slot.find(slot);
  return it == per_slot.end() ? enter_bytes : it->second.first;
}

uint64_t HhThresholds::leave_for(uint32_t slot) const {
  auto it = per_slot.find(slot);
  return it == per_slot.end() ? leave_bytes : it->second.second;
}

uint64_t HhThresholds::min_enter() const {
  uint64_t m = enter_bytes;
  for (const auto& [slot, t] : per_slot) m = std::min(m, t.first);
  return m;
}

uint64_t HhThresholds::min_leave() const {
  uint64_t m = leave_bytes;
  for (const auto& [slot, t] : per_slot) m = std::min(m, t.second);
  return m;
}

ElephantSet::Change ElephantSet::window(const std::vector<HhSample>& samples, const HhThresholds& t,
                                        uint64_t window_ns, uint64_t end_ns) {
  Change c;
  const double decay = std::pow(0.5, 1.0 / std::max<uint32_t>(t.leave_windows, 1));
  std::map<aigw_flow_key, const HhSample*, FlowKeyLess> seen;
  for (const auto& s : samples) seen[s.key] = &s;
  for (auto it = set_.begin(); it != set_.end();) {
    auto f = seen.find(it->first);
    Elephant& e = it->second;
    e.window_bytes = f == seen.end() ? 0 : f->second->bytes;
    e.rate_bps = window_ns ? static_cast<double>(e.window_bytes) * 8e9 / window_ns : 0;
    e.peak_bps = std::max(e.peak_bps, e.rate_bps);
    e.demand_bps = std::max(e.rate_bps, e.demand_bps * decay);
    e.mean_bps += (e.rate_bps - e.mean_bps) / std::max<uint32_t>(t.leave_windows, 1);
    if (f != seen.end() && f->second->slot) e.slot = f->second->slot;
    e.below = e.window_bytes < t.leave_for(e.slot) ? e.below + 1 : 0;
    if (e.below >= t.leave_windows) {
      c.left.push_back(it->first);
      it = set_.erase(it);
      continue;
    }
    ++it;
  }
  const uint64_t lowest = t.min_enter();
  for (const auto& s : samples) {
    if (s.bytes < lowest) break;  // largest first
    if (s.bytes < t.enter_for(s.slot) || set_.count(s.key)) continue;
    Elephant e;
    e.key = s.key;
    e.window_bytes = s.bytes;
    e.rate_bps = window_ns ? static_cast<double>(s.bytes) * 8e9 / window_ns : 0;
    e.peak_bps = e.rate_bps;
    e.demand_bps = e.rate_bps;
    e.mean_bps = e.rate_bps;
    e.slot = s.slot;
    e.since_ns = end_ns;
    set_.emplace(s.key, e);
    c.entered.push_back(s.key);
  }
  return c;
}

ElephantSet::Change ElephantSet::missed(uint32_t windows, const HhThresholds& t) {
  Change c;
  for (auto it = set_.begin(); it != set_.end();) {
    it->second.below += windows;
    if (it->second.below >= t.leave_windows) {
      c.left.push_back(it->first);
      it = set_.erase(it);
    } else {
      ++it;
    }
  }
  return c;
}

}  // namespace aigw::telemetry
