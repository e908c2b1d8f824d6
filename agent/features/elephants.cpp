// clang-format off
#include <utility>  // before boost/asio.hpp (GCC 12)
// clang-format on
#include "features/elephants.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>

#include "control/protocol.hpp"
#include "policy/placement.hpp"

namespace aigw::features {
namespace {

constexpr uint64_t kMs = 1000000;

std::string flow_text(const aigw_flow_key& k) {
  std::string s =
      fmt::format("{} {}:{} -> {}:{}",
                  k.proto == 6    ? "tcp"
                  : k.proto == 17 ? "udp"
                                  : std::to_string(k.proto),
                  telemetry::flow_src(k), ntohs(k.sport), telemetry::flow_dst(k), ntohs(k.dport));
  if (uint32_t qp = telemetry::flow_dqp(k)) s += fmt::format(" qp {}", qp);
  return s;
}

}  // namespace

struct ElephantsModule::Timer {
  explicit Timer(boost::asio::io_context& io) : t(io) {}
  boost::asio::steady_timer t;
};

ElephantsModule::ElephantsModule(Host& host, boost::asio::io_context& io) : host_(host), io_(io) {}

ElephantsModule::~ElephantsModule() = default;

telemetry::HhThresholds ElephantsModule::thresholds() const {
  telemetry::HhThresholds t;
  t.enter_bytes = s_.enter_mbps * 125 * s_.window_ms;  // Mbit/s * ms -> bytes
  t.leave_bytes = s_.leave_mbps * 125 * s_.window_ms;
  t.leave_windows = std::max<uint32_t>(1, (s_.hold_ms + s_.window_ms - 1) / s_.window_ms);
  if (!s_.enter_pct_x100) return t;
  // Shares of the policy's capacity (the sum of its paths'), for the flows of
  // policies whose paths have one.
  std::map<uint32_t, double> policy_bps;  // head -> capacity
  for (const auto& [slot, p] : paths_)
    if (p.capacity_bps) policy_bps[p.head] += *p.capacity_bps;
  const double window_s = s_.window_ms / 1e3;
  auto bytes = [&](uint32_t x100, double bps) {
    return std::max<uint64_t>(1, static_cast<uint64_t>(bps / 8 * window_s * x100 / 1e4));
  };
  for (const auto& [slot, p] : paths_)
    if (auto c = policy_bps.find(p.head); c != policy_bps.end())
      t.per_slot[slot] = {bytes(s_.enter_pct_x100, c->second), bytes(s_.leave_pct_x100, c->second)};
  return t;
}

// The paths of the multipath policies in force (slots as the datapath has
// them after this apply); the load measured on a kept slot carries over.
void ElephantsModule::commit(const core::ApplyContext& ctx) {
  if (!maps_) maps_.emplace(host_.datapath().loader());
  const bool window_changed = s_.window_ms != ctx.next.elephants.window_ms;
  s_ = ctx.next.elephants;
  mult_ = s_.enabled ? telemetry::hh_mult(std::chrono::milliseconds(s_.window_ms)) : 0;
  if (window_changed) last_epoch_.reset();
  std::map<uint32_t, PathInfo> next;
  for (const auto& p : ctx.next.policies) {
    if (p.paths.size() < 2) continue;
    auto slots = host_.datapath().policy_slots(p.name);
    if (slots.size() != p.paths.size()) continue;
    for (size_t i = 0; i < slots.size(); ++i) {
      PathInfo pi;
      pi.policy = p.name;
      pi.index = static_cast<uint32_t>(i);
      pi.head = slots[0];
      pi.weight = pi.configured_weight = p.paths[i].weight;
      if (p.paths[i].capacity_mbps) pi.capacity_bps = double(*p.paths[i].capacity_mbps) * 1e6;
      if (auto old = paths_.find(slots[i]); old != paths_.end() && old->second.head == slots[0]) {
        pi.load_bps = old->second.load_bps;
        pi.avg_bps = old->second.avg_bps;
        pi.bytes_seen = old->second.bytes_seen;
      }
      next[slots[i]] = pi;
    }
  }
  paths_ = std::move(next);
  weights_set_ns_.clear();  // the apply wrote the configured weights
  if (!s_.enabled) set_.clear();
  // Pins whose policy or path is gone go now; the others wait for the
  // next window's placement.
  auto want = pins_;
  std::erase_if(want, [&](const auto& kv) {
    auto t = paths_.find(kv.second.target);
    return !s_.enabled || !s_.place || t == paths_.end() || t->second.head != kv.second.head;
  });
  write_pins(want);
  write_cfg();
}

// A flow is named when one CPU's count reaches half the leave threshold:
// a flow that enters is named even when two CPUs share it evenly.
void ElephantsModule::write_cfg() {
  uint64_t key_bytes = std::max<uint64_t>(thresholds().min_leave() / 2, 1);
  if (maps_)
    maps_->set_cfg(mult_, static_cast<uint32_t>(pins_.size()),
                   static_cast<uint32_t>(std::min<uint64_t>(key_bytes, UINT32_MAX)));
}

void ElephantsModule::start() {
  timer_ = std::make_unique<Timer>(io_);
  adopt_pins();
  schedule();
}

void ElephantsModule::stop() { timer_.reset(); }  // the pins stay: the next agent adopts them

// Pins an earlier agent left: kept for a hold time, so its elephants do not
// move back while this agent confirms them again.
void ElephantsModule::adopt_pins() {
  if (!maps_) return;
  std::map<aigw_flow_key, Pin, telemetry::FlowKeyLess> found;
  const uint64_t now = telemetry::monotonic_ns();
  for (const auto& [k, p] : maps_->read_pins()) found[k] = Pin{p.head, p.target, now, true};
  if (found.empty()) return;
  pins_ = found;
  adopted_until_ns_ = now + (uint64_t{s_.hold_ms} + 2 * s_.window_ms) * kMs;
  write_cfg();
  host_.log().info(
      "elephants: {} pin(s) of the previous agent kept while their flows are "
      "confirmed again",
      pins_.size());
}

// The next read: a little after the window's end, since packets take the
// coarse clock (a tick late at most) to pick their window.
void ElephantsModule::schedule() {
  if (!timer_) return;
  const uint64_t now = telemetry::monotonic_ns();
  uint64_t wait = 1000 * kMs;  // detection off: look again in a second
  if (mult_) {
    uint64_t lag = std::clamp<uint64_t>(s_.window_ms * kMs / 8, 5 * kMs, s_.window_ms * kMs / 2);
    uint64_t at = telemetry::hh_epoch_start(telemetry::hh_epoch(now, mult_) + 1, mult_) + lag;
    wait = at > now ? at - now : 0;
  }
  timer_->t.expires_after(std::chrono::nanoseconds(wait));
  timer_->t.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !timer_) return;
    on_window();
    schedule();
  });
}

void ElephantsModule::on_window() {
  if (!maps_) return;
  if (!mult_) {  // detection off: the pins left go as their flows allow
    if (!pins_.empty()) write_pins({});
    return;
  }
  try {
    const uint64_t e = telemetry::hh_epoch(telemetry::monotonic_ns(), mult_);
    if (e > 0) read_window(e - 1);
  } catch (const std::exception& ex) {
    host_.log().error("elephants: {}", ex.what());
  }
}

void ElephantsModule::read_window(uint64_t epoch) {
  if (last_epoch_ && epoch <= *last_epoch_) return;
  const auto t = thresholds();
  telemetry::ElephantSet::Change change;
  if (last_epoch_ && epoch > *last_epoch_ + 1) {  // fell behind: those windows are lost
    uint64_t missed = std::min<uint64_t>(epoch - *last_epoch_ - 1, t.leave_windows);
    change = set_.missed(static_cast<uint32_t>(missed), t);
  }
  last_epoch_ = epoch;
  const uint64_t window_ns = uint64_t{s_.window_ms} * kMs;
  size_t unnamed = 0;
  auto samples = telemetry::name_counts(
      telemetry::sum_window(maps_->read_half(epoch & 1), static_cast<uint32_t>(epoch),
                            std::max<uint64_t>(t.min_leave(), 1)),
      [this](uint64_t fp) { return maps_->key_of(fp); }, &unnamed);
  if (unnamed) host_.log().debug("elephants: {} heavy count(s) without a flow key", unnamed);
  auto c = set_.window(samples, t, window_ns, telemetry::hh_epoch_start(epoch + 1, mult_));
  change.entered.insert(change.entered.end(), c.entered.begin(), c.entered.end());
  change.left.insert(change.left.end(), c.left.begin(), c.left.end());
  for (const auto& k : change.entered) {
    const auto& el = set_.elephants().at(k);
    host_.log().info("elephant: {} at {:.1f} Mbit/s on {}", flow_text(k), el.rate_bps / 1e6,
                     path_name(el.slot));
  }
  for (const auto& k : change.left) host_.log().info("elephant gone: {}", flow_text(k));
  measure_paths();
  if (s_.place)
    place();
  else if (!pins_.empty())
    write_pins({});
  if (s_.adapt_weights) adapt_weights();
  std::lock_guard lock(mu_);
  facts_.entered += change.entered.size();
  facts_.left += change.left.size();
  facts_.per_policy.clear();
  facts_.paths.clear();
  for (const auto& [slot, p] : paths_) facts_.per_policy[p.policy] = 0;  // a series per policy
  std::map<uint32_t, uint32_t> on;                                       // slot -> elephants
  for (const auto& [k, el] : set_.elephants()) {
    uint32_t slot = path_of(k, el);
    ++on[slot];
    auto p = paths_.find(slot);
    ++facts_.per_policy[p == paths_.end() ? std::string{} : p->second.policy];
  }
  for (const auto& [slot, p] : paths_)
    facts_.paths.push_back({p.policy, p.index, p.weight, p.avg_bps, p.capacity_bps, on[slot]});
}

// Each path's rate since the last read (over the time that really passed:
// a late or missed read must not count two windows' bytes as one), from its
// policy slot's counters.
void ElephantsModule::measure_paths() {
  const uint64_t now = telemetry::monotonic_ns();
  const uint64_t since = last_measure_ns_;
  last_measure_ns_ = now;
  if (paths_.empty()) return;
  auto stats = host_.datapath().read_policy_stats();
  for (auto& [slot, p] : paths_) {
    auto it = stats.find(slot);
    uint64_t b = it == stats.end() ? 0 : it->second.bytes;
    if (since && now > since && p.bytes_seen && b >= p.bytes_seen) {
      const double dt = static_cast<double>(now - since);
      p.load_bps = static_cast<double>(b - p.bytes_seen) * 8e9 / dt;
      p.avg_bps += std::min(1.0, dt / 1e9) * (p.load_bps - p.avg_bps);
    }
    p.bytes_seen = b;
  }
}

// Placement per multipath policy of the elephants it carries.
void ElephantsModule::place() {
  std::map<uint32_t, std::vector<aigw_flow_key>> by_head;
  for (const auto& [k, el] : set_.elephants())
    if (auto p = paths_.find(el.slot); p != paths_.end()) by_head[p->second.head].push_back(k);
  std::map<aigw_flow_key, Pin, telemetry::FlowKeyLess> want;
  const uint64_t now = telemetry::monotonic_ns();
  for (const auto& [head, keys] : by_head) {
    std::vector<placement::PathLoad> paths;
    bool configured = true;
    for (const auto& [slot, p] : paths_)
      if (p.head == head) {
        paths.push_back({slot, p.capacity_bps.value_or(0), p.load_bps, p.weight});
        configured = configured && p.capacity_bps;
      }
    std::vector<placement::Flow> flows;
    double erate = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      const auto& el = set_.elephants().at(keys[i]);
      auto pin = pins_.find(keys[i]);
      bool pinned = pin != pins_.end();
      bool held = pinned && now < pin->second.set_ns + uint64_t{s_.hold_ms} * kMs;
      bool settled = held && pin->second.moved;
      // A move that found no gap for a hold time (a flow that never pauses,
      // e.g. TCP on a full path): the flow stays where it is for a while,
      // and another flow of its path may go in its place.
      uint32_t target = pinned ? pin->second.target : 0;
      bool stuck = target && target != el.slot && !held;
      flows.push_back(
          {i, el.demand_bps, el.slot, stuck ? el.slot : target, el.mean_bps, settled || stuck});
      erate += el.demand_bps;
    }
    if (!configured) {  // no capacities: the weights' shares of what flows now
      double total = 0;
      std::vector<uint32_t> weights;
      for (const auto& p : paths) {
        total += p.load_bps;
        weights.push_back(p.weight);
      }
      auto caps = placement::capacities_from_weights(weights, std::max(total, erate));
      for (size_t i = 0; i < paths.size(); ++i) paths[i].capacity_bps = caps[i];
    }
    auto placed = placement::place(paths, flows, configured);
    if (host_.log().level() <= LogLevel::Debug) log_placement(paths, flows, keys, placed);
    for (const auto& [id, slot] : placed) want[keys[id]] = Pin{head, slot, 0};
  }
  if (telemetry::monotonic_ns() < adopted_until_ns_)
    for (const auto& [k, p] : pins_) want.try_emplace(k, p);
  write_pins(want);
}

// A placement that changes a pin, with what it was made from (debug): the
// paths' loads and the flows' demands explain a move.
void ElephantsModule::log_placement(const std::vector<placement::PathLoad>& paths,
                                    const std::vector<placement::Flow>& flows,
                                    const std::vector<aigw_flow_key>& keys,
                                    const std::map<uint64_t, uint32_t>& placed) const {
  bool changed = false;
  for (const auto& [id, slot] : placed) {
    auto pin = pins_.find(keys[id]);
    changed = changed || pin == pins_.end() || pin->second.target != slot;
  }
  if (!changed) return;
  std::string text;
  for (const auto& p : paths)
    text += fmt::format(" {} load {:.1f}/{:.1f} Mbit/s weight {};", path_name(p.slot),
                        p.load_bps / 1e6, p.capacity_bps / 1e6, p.weight);
  for (const auto& f : flows)
    text += fmt::format(" {} {:.1f} Mbit/s (mean {:.1f}) on {}{} -> {};", flow_text(keys[f.id]),
                        f.rate_bps / 1e6, f.mean_bps / 1e6, path_name(f.on),
                        f.settled ? " settled" : "", path_name(placed.at(f.id)));
  host_.log().debug("elephants: placement:{}", text);
}

// Each multipath policy's path slots in path order, by its head slot.
std::map<uint32_t, std::vector<uint32_t>> ElephantsModule::policy_paths() const {
  std::map<uint32_t, std::vector<uint32_t>> heads;
  for (const auto& [slot, p] : paths_) {
    auto& v = heads[p.head];
    if (v.size() <= p.index) v.resize(p.index + 1);
    v[p.index] = slot;
  }
  return heads;
}

// Paths with capacities: the mice's weights follow each path's capacity less
// the elephants on it (their mean rates), at most once a hold time per
// policy and only when a weight changes by more than a fifth. Flows keep
// their cached path; new flows (and flows whose decision is stale) hash
// over the new weights.
void ElephantsModule::adapt_weights() {
  std::map<uint32_t, double> on;  // slot -> elephants' rate
  for (const auto& [k, el] : set_.elephants()) on[path_of(k, el)] += el.mean_bps;
  const uint64_t now = telemetry::monotonic_ns();
  for (const auto& [head, slots] : policy_paths()) {
    std::vector<double> cap, load;
    std::vector<uint32_t> cur, configured;
    double elephants = 0;
    for (uint32_t s : slots) {
      const auto& p = paths_.at(s);
      if (!p.capacity_bps) break;
      cap.push_back(*p.capacity_bps);
      load.push_back(on[s]);
      elephants += on[s];
      cur.push_back(p.weight);
      configured.push_back(p.configured_weight);
    }
    if (cap.size() != slots.size()) continue;
    // No elephant left: exactly the configured weights again (the tolerance
    // must not keep an adapted table that is close to them).
    const bool none = elephants <= 0;
    auto next = none ? configured : placement::adapted_weights(cap, load);
    auto last = weights_set_ns_.find(head);
    bool recent = last != weights_set_ns_.end() && now < last->second + uint64_t{s_.hold_ms} * kMs;
    if (!recent && placement::weights_differ(cur, next, none ? 0.0 : 0.2) &&
        write_weights(slots, next))
      weights_set_ns_[head] = now;
  }
}

// The bucket table of the policy whose paths are `slots`, over `weights`.
bool ElephantsModule::write_weights(const std::vector<uint32_t>& slots,
                                    const std::vector<uint32_t>& weights) {
  const std::string& name = paths_.at(slots[0]).policy;
  const auto& pols = host_.running().policies;
  auto pol =
      std::find_if(pols.begin(), pols.end(), [&](const Policy& p) { return p.name == name; });
  if (pol == pols.end()) return false;
  try {
    host_.datapath().set_path_weights(*pol, weights);
  } catch (const std::exception& e) {
    host_.log().warn("elephants: policy {}: weights not changed: {}", name, e.what());
    return false;
  }
  for (size_t i = 0; i < slots.size(); ++i) paths_.at(slots[i]).weight = weights[i];
  host_.log().info("elephants: policy {}: mice weights {} (capacity less elephants)", name,
                   fmt::join(weights, "/"));
  return true;
}

// Make the pin map hold `want`: a new pin starts where the flow was seen,
// a changed target keeps the flow's current path until its next gap. A pin
// no longer wanted is released (target 0: back to the hash path at the next
// gap) and deleted once the flow is home or idle, so no flow moves without a
// gap. New pins bump the generation, so their flows' cached decisions look.
void ElephantsModule::write_pins(const std::map<aigw_flow_key, Pin, telemetry::FlowKeyLess>& want) {
  if (!maps_) return;
  bool added = false, removed = false;
  const uint64_t now = telemetry::monotonic_ns();
  for (auto it = pins_.begin(); it != pins_.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    auto v = maps_->get_pin(it->first);
    bool idle = !v || !v->cur || now > v->last_ns + 2 * uint64_t{v->gap_ns};
    if (idle || (v->target == 0 && v->home)) {
      maps_->delete_pin(it->first);
      it = pins_.erase(it);
      removed = true;
      continue;
    }
    if (v->target != 0) {
      v->target = 0;
      v->home = 0;
      try {
        maps_->put_pin(it->first, *v);
        it->second.target = 0;
      } catch (const std::exception& e) {
        host_.log().warn("elephants: cannot release {}: {}", flow_text(it->first), e.what());
      }
    }
    ++it;
  }
  const uint32_t gap_ns = s_.flowlet_gap_us * 1000;
  for (const auto& [k, p] : want) {
    auto cur = pins_.find(k);
    if (cur != pins_.end() && cur->second.target == p.target && cur->second.head == p.head)
      continue;
    aigw_path_pin v{};
    if (cur != pins_.end())
      if (auto old = maps_->get_pin(k)) v = *old;
    auto el = set_.elephants().find(k);
    if (!v.cur && el != set_.elephants().end()) hold_in_place(v, el->second.slot, p.head, now);
    v.head = p.head;
    v.target = p.target;
    v.gap_ns = gap_ns;
    v.home = 0;
    try {
      maps_->put_pin(k, v);
    } catch (const std::exception& e) {
      host_.log().warn("elephants: {} not placed: {}", flow_text(k), e.what());
      continue;
    }
    if (cur == pins_.end()) added = true;
    // A flow pinned where it already is has not moved: it may move soon.
    bool stays = cur == pins_.end() && el != set_.elephants().end() && el->second.slot == p.target;
    pins_[k] = Pin{p.head, p.target, now, !stays};
    host_.log().debug("elephants: {} placed on {}", flow_text(k), path_name(p.target));
  }
  if (!added && !removed) return;
  write_cfg();
  if (added) host_.datapath().invalidate_caches();
}

// A new pin starts on the path the flow was seen on (cur), not wherever its
// next fresh decision would hash it: the new pin bumps the generation, and
// after the mice's weights changed a fresh hash may be another path, a move
// without a gap. last_ns now: the flow moves to its target only after a gap.
void ElephantsModule::hold_in_place(aigw_path_pin& v, uint32_t seen_on, uint32_t head,
                                    uint64_t now) const {
  auto p = paths_.find(seen_on);
  if (p == paths_.end() || p->second.head != head) return;
  v.cur = seen_on;
  v.last_ns = now;
}

uint32_t ElephantsModule::path_of(const aigw_flow_key& k, const telemetry::Elephant& el) const {
  auto pin = pins_.find(k);
  return pin != pins_.end() && pin->second.target ? pin->second.target : el.slot;
}

std::string ElephantsModule::path_name(uint32_t slot) const {
  if (auto p = paths_.find(slot); p != paths_.end())
    return fmt::format("{}/{}", p->second.policy, p->second.index);
  std::string name = slot ? host_.datapath().policy_at(slot) : std::string{};
  return name.empty() ? "-" : name;
}

void ElephantsModule::register_commands(core::CommandTable& t) {
  t.add(cmd::kFlowElephants, core::Access::Read,
        [this](const nlohmann::json&) { return elephants_json(); });
}

nlohmann::json ElephantsModule::elephants_json() const {
  std::map<aigw_flow_key, aigw_path_pin, telemetry::FlowKeyLess> pins;
  if (maps_)
    for (const auto& [k, p] : maps_->read_pins()) pins[k] = p;
  const uint64_t now = telemetry::monotonic_ns();
  nlohmann::json list = nlohmann::json::array();
  std::vector<const telemetry::Elephant*> els;
  for (const auto& [k, el] : set_.elephants()) els.push_back(&el);
  std::sort(els.begin(), els.end(),
            [](const auto* a, const auto* b) { return a->rate_bps > b->rate_bps; });
  for (const auto* el : els) {
    const auto& k = el->key;
    nlohmann::json j = {{"src", telemetry::flow_src(k)},
                        {"dst", telemetry::flow_dst(k)},
                        {"sport", ntohs(k.sport)},
                        {"dport", ntohs(k.dport)},
                        {"proto", k.proto},
                        {"dir", aigw_dir_name(k.dir)},
                        {"vrf", k.vrf},
                        {"bps", el->rate_bps},
                        {"peak_bps", el->peak_bps},
                        {"path", path_name(el->slot)},
                        {"since_s", now > el->since_ns ? double(now - el->since_ns) / 1e9 : 0.0}};
    if (uint32_t qp = telemetry::flow_dqp(k)) j["dqp"] = qp;
    if (auto p = pins.find(k); p != pins.end()) {
      j["placed"] = path_name(p->second.target);
      j["moves"] = p->second.moves;
    }
    list.push_back(std::move(j));
  }
  nlohmann::json paths = nlohmann::json::array();
  {
    std::lock_guard lock(mu_);
    for (const auto& p : facts_.paths) {
      nlohmann::json j = {{"policy", p.policy},
                          {"path", p.path},
                          {"weight", p.weight},
                          {"load_bps", p.load_bps},
                          {"elephants", p.elephants}};
      if (p.capacity_bps) j["capacity_bps"] = *p.capacity_bps;
      paths.push_back(std::move(j));
    }
  }
  nlohmann::json out = {
      {"enabled", s_.enabled},        {"window_ms", s_.window_ms}, {"enter_mbps", s_.enter_mbps},
      {"leave_mbps", s_.leave_mbps},  {"place", s_.place},         {"pins", pins.size()},
      {"elephants", std::move(list)}, {"paths", std::move(paths)}};
  if (s_.enter_pct_x100) {
    out["enter_pct"] = s_.enter_pct_x100 / 100.0;
    out["leave_pct"] = s_.leave_pct_x100 / 100.0;
  }
  return out;
}

void ElephantsModule::collect(telemetry::Snapshot& s) const {
  std::lock_guard lock(mu_);
  s.elephants = facts_;
  s.elephants.enabled = s_.enabled;
}

}  // namespace aigw::features
