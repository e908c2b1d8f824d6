#include "backpressure/holds.hpp"

#include <algorithm>
#include <cstdlib>

namespace aigw::bp {

Holds::Outcome Holds::take(size_t peer, const Message& m, bool tenant_known, int64_t wall_ns,
                           Clock::time_point now) {
  auto skew = std::chrono::duration_cast<std::chrono::nanoseconds>(kMaxSkew).count();
  int64_t seq = static_cast<int64_t>(m.seq);
  if (seq < 0 || std::llabs(seq - wall_ns) > skew) return {Verdict::Skewed};
  auto last = last_seq_.find(peer);
  if (last != last_seq_.end() && m.seq <= last->second) return {Verdict::Replayed};
  last_seq_[peer] = m.seq;
  if (!tenant_known) return {Verdict::UnknownTenant};
  auto held_by = until_.find(m.tenant);
  if (m.type == MsgType::Resume) {
    if (held_by == until_.end() || !held_by->second.erase(peer)) return {Verdict::NotPaused};
    if (!held_by->second.empty()) return {Verdict::Resumed};
    until_.erase(held_by);
    return {Verdict::Resumed, true};
  }
  auto hold = std::min(std::chrono::milliseconds(m.hold_ms), max_);
  bool was = held_by != until_.end();
  auto& peers = until_[m.tenant];
  bool refresh = peers.count(peer) > 0;
  peers[peer] = now + hold;
  return {refresh ? Verdict::Refreshed : Verdict::Paused, !was};
}

// Ends the pauses `gone` picks; the tenants no longer held by anyone.
template <typename Pred>
std::vector<uint16_t> Holds::end_if(Pred gone) {
  std::vector<uint16_t> out;
  for (auto it = until_.begin(); it != until_.end();) {
    std::erase_if(it->second, gone);
    if (it->second.empty()) {
      out.push_back(it->first);
      it = until_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<uint16_t> Holds::expire(Clock::time_point now) {
  return end_if([&](const auto& p) { return p.second <= now; });
}

std::vector<uint16_t> Holds::held_tenants() const {
  std::vector<uint16_t> out;
  for (const auto& [t, peers] : until_) out.push_back(t);
  return out;
}

std::optional<Holds::Clock::time_point> Holds::next_expiry() const {
  std::optional<Clock::time_point> out;
  for (const auto& [t, peers] : until_)
    for (const auto& [p, end] : peers) out = out ? std::min(*out, end) : end;
  return out;
}

std::vector<uint16_t> Holds::forget_peer(size_t peer) {
  last_seq_.erase(peer);
  return end_if([&](const auto& p) { return p.first == peer; });
}

std::string_view verdict_name(Holds::Verdict v) {
  switch (v) {
    case Holds::Verdict::Paused:
      return "paused";
    case Holds::Verdict::Refreshed:
      return "refreshed";
    case Holds::Verdict::Resumed:
      return "resumed";
    case Holds::Verdict::NotPaused:
      return "not_paused";
    case Holds::Verdict::Replayed:
      return "replayed";
    case Holds::Verdict::Skewed:
      return "skewed";
    case Holds::Verdict::UnknownTenant:
      return "unknown_tenant";
  }
  return "unknown";
}

}  // namespace aigw::bp
