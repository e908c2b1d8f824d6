// PolicyTable (tables.hpp): policy slots, prefixes, per-policy counters.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "datapath/encode.hpp"
#include "datapath/grace.hpp"
#include "datapath/paths.hpp"
#include "datapath/tables.hpp"

namespace aigw::dp {
namespace {

// When the kernel cannot wait for program runs (grace.hpp), a released
// policy slot is not reused before this long.
constexpr auto kSlotQuarantine = std::chrono::seconds(2);

template <class Key>
Key prefix_key(const Policy& p, const Prefix& pfx, size_t addr_len) {
  Key k{};
  k.prefixlen = 32 + pfx.len;
  k.vrf_be = htonl(p.vrf);
  std::memcpy(k.addr, pfx.b.data(), addr_len);
  return k;
}

// A policy's paths each have a slot, and a key in the table's state: the
// policy's name for the first path (its prefixes point there), NAME#i for
// path i >= 1 (names cannot hold '#').
constexpr char kPathSep = '#';

std::string unit_key(const std::string& policy, size_t path) {
  return path == 0 ? policy : fmt::format("{}{}{}", policy, kPathSep, path);
}

struct Unit {
  std::string key;
  aigw_policy enc;  // encoded at slot 0
};

// What each path of each policy writes into aigw_policies.
std::vector<Unit> units_of(const Config& next) {
  std::vector<Unit> out;
  for (const auto& pol : next.policies) {
    if (pol.paths.empty()) {
      out.push_back({pol.name, encode_policy(pol, next.datapath, 0)});
      continue;
    }
    for (size_t i = 0; i < pol.paths.size(); ++i) {
      Policy one = pol;
      one.segments = pol.paths[i].segments;
      one.paths.clear();
      aigw_policy v = encode_policy(one, next.datapath, 0);
      if (i == 0) v.flags |= AIGW_POL_F_MULTIPATH;
      out.push_back({unit_key(pol.name, i), v});
    }
  }
  return out;
}

}  // namespace

struct PolicyTable::Plan {
  std::map<std::string, State> want;
  std::set<uint32_t> taken;                             // slots of the new policy set
  std::vector<std::pair<uint32_t, Bytes>> slot_writes;  // fresh slots to write
  std::set<uint32_t> adopted;                           // orphans kept
  std::set<uint32_t> zero_slots;  // aigw_pol_stats entries to clear before the slot is used
  std::set<uint32_t> expired;     // quarantined slots free again
  std::map<Bytes, Bytes> pfx4, pfx6;
  std::map<Bytes, Bytes> groups;  // aigw_path_groups: first path's slot -> group
  bool written = false;           // add() has begun
};

PolicyTable::PolicyTable(const Loader& l, const Logger* log)
    : log_(log),
      fd_pol_(l.map_fd("aigw_policies")),
      fd_pfx4_(l.map_fd("aigw_pfx4")),
      fd_pfx6_(l.map_fd("aigw_pfx6")),
      fd_stats_(l.map_fd("aigw_pol_stats")),
      fd_groups_(l.map_fd("aigw_path_groups")),
      ncpus_(l.ncpus()),
      max_policies_(l.map("aigw_policies").max_entries) {}

PolicyTable::~PolicyTable() = default;

// Mirror what pinned maps already hold, so the first apply after a restart
// writes only differences and unchanged policies keep their slots.
void PolicyTable::read_back() {
  pfx4_ = maps::dump(fd_pfx4_, sizeof(aigw_pfx4_key), sizeof(uint32_t));
  pfx6_ = maps::dump(fd_pfx6_, sizeof(aigw_pfx6_key), sizeof(uint32_t));
  groups_ = maps::dump(fd_groups_, sizeof(uint32_t), sizeof(aigw_path_group));
  for (uint32_t slot = 1; slot < max_policies_; ++slot) {
    aigw_policy v{};
    if (bpf_map_lookup_elem(fd_pol_, &slot, &v) == 0 && (v.flags & AIGW_POL_F_VALID))
      orphans_[slot] = maps::to_bytes(v);
  }
}

// Slots of the policies in force are avoided: their prefixes still point
// there until this apply moves them, so reusing one would steer a removed
// policy's packets into another tunnel, or let a packet of a changed policy
// read a half-written slot. Only when no other slot is free does a changed
// policy get its own slot back (rewritten in place). Orphans (valid slots
// left by a previous run) are not reused: stale prefixes may still point at
// them until this apply moves them.
uint32_t PolicyTable::alloc_slot(const Plan& p, const std::string& policy,
                                 std::optional<uint32_t> own) const {
  std::set<uint32_t> running;
  for (const auto& [name, st] : policies_) running.insert(st.slot);
  for (uint32_t s = 1; s < max_policies_; ++s) {
    bool quarantined = quarantine_.count(s) && !p.expired.count(s);
    if (p.taken.count(s) || running.count(s) || orphans_.count(s) || quarantined) continue;
    return s;
  }
  if (own && !p.taken.count(*own)) return *own;
  throw ApplyError(fmt::format(
      "no free policy slot for new policy '{}': map_sizes.policies = {} ({} usable) holds {} "
      "policies in force and {} left by an earlier run; a new or changed policy is written to a "
      "free slot before its prefixes move, so old and new must fit at once: raise "
      "map_sizes.policies or add fewer policies per reload",
      policy, max_policies_, max_policies_ - 1, running.size(), orphans_.size()));
}

// A policy's entry as it would be written to `slot` (the id is the slot).
Bytes PolicyTable::at_slot(aigw_policy v, uint32_t slot) {
  v.id = slot;
  return maps::to_bytes(v);
}

// A policy whose encoding is that of a slot no policy keeps (a running
// policy renamed or changed, or an orphan) takes that slot over: nothing is
// written and the prefixes that point there stay. A renamed policy keeps its
// slot and its counters. `v` is the policy encoded once, at any slot.
std::optional<uint32_t> PolicyTable::adopt_slot(const aigw_policy& v, Plan& p) const {
  auto same = [&](uint32_t s, const Bytes& bytes) {
    return !p.taken.count(s) && at_slot(v, s) == bytes;
  };
  for (const auto& [name, st] : policies_)
    if (same(st.slot, st.value)) return st.slot;
  for (const auto& [s, bytes] : orphans_) {
    if (same(s, bytes)) {
      p.adopted.insert(s);
      return s;
    }
  }
  return std::nullopt;
}

// Unchanged policies keep their slot; renamed ones and identical orphans are
// adopted; new or changed ones get a fresh slot that is written before any
// prefix points at it. Each path of a policy is such a unit, encoded once.
void PolicyTable::plan_slots(const Config& next, Plan& p) {
  const std::vector<Unit> units = units_of(next);
  for (const auto& u : units) {
    auto it = policies_.find(u.key);
    if (it != policies_.end() && at_slot(u.enc, it->second.slot) == it->second.value) {
      p.want[u.key] = it->second;
      p.taken.insert(it->second.slot);
    }
  }
  for (const auto& u : units) {
    if (p.want.count(u.key)) continue;
    if (auto slot = adopt_slot(u.enc, p)) {
      p.taken.insert(*slot);
      p.want[u.key] = {*slot, at_slot(u.enc, *slot)};
    }
  }
  for (const auto& u : units) {
    if (p.want.count(u.key)) continue;
    auto cur = policies_.find(u.key);
    uint32_t slot = alloc_slot(
        p, u.key, cur != policies_.end() ? std::optional(cur->second.slot) : std::nullopt);
    // A slot new to this policy starts its counters at zero.
    if (cur == policies_.end() || cur->second.slot != slot) p.zero_slots.insert(slot);
    p.taken.insert(slot);
    Bytes value = at_slot(u.enc, slot);
    p.want[u.key] = {slot, value};
    p.slot_writes.emplace_back(slot, value);
  }
}

// Each multipath policy's bucket table, under its first path's slot.
void PolicyTable::plan_groups(const Config& next, Plan& p) {
  for (const auto& pol : next.policies) {
    if (pol.paths.empty()) continue;
    std::vector<uint32_t> slots;
    for (size_t i = 0; i < pol.paths.size(); ++i)
      slots.push_back(p.want[unit_key(pol.name, i)].slot);
    p.groups[maps::to_bytes(slots[0])] = maps::to_bytes(encode_path_group(pol, slots));
  }
}

void PolicyTable::plan_prefixes(const Config& next, Plan& p) {
  for (const auto& pol : next.policies) {
    Bytes slot = maps::to_bytes(p.want[pol.name].slot);
    for (const auto& pfx : pol.prefixes) {
      if (pfx.v6)
        p.pfx6[maps::to_bytes(prefix_key<aigw_pfx6_key>(pol, pfx, 16))] = slot;
      else
        p.pfx4[maps::to_bytes(prefix_key<aigw_pfx4_key>(pol, pfx, 4))] = slot;
    }
  }
  if (p.pfx4.size() > next.datapath.map_sizes.prefixes4 ||
      p.pfx6.size() > next.datapath.map_sizes.prefixes6)
    throw ApplyError("more prefixes than datapath.map_sizes allows");
}

void PolicyTable::plan(const core::ApplyContext& ctx) {
  plan_ = std::make_unique<Plan>();
  const auto now = Clock::now();
  for (const auto& [s, until] : quarantine_)
    if (until <= now) plan_->expired.insert(s);
  plan_slots(ctx.next, *plan_);
  plan_groups(ctx.next, *plan_);
  plan_prefixes(ctx.next, *plan_);
}

void PolicyTable::add(const core::ApplyContext&) {
  Plan& p = *plan_;
  p.written = true;
  // Released slots whose quarantine is over are invalidated (hygiene:
  // nothing points at them) and become free.
  const aigw_policy empty{};
  for (uint32_t s : p.expired) {
    bool reused = false;
    for (const auto& [slot, _] : p.slot_writes) reused = reused || slot == s;
    if (!reused) bpf_map_update_elem(fd_pol_, &s, &empty, BPF_ANY);
    quarantine_.erase(s);
  }
  for (const auto& [slot, value] : p.slot_writes) {
    // A fresh policy slot starts its counters at zero (a reused slot must
    // not inherit the traffic of the policy that held it before).
    if (p.zero_slots.count(slot))
      maps::zero_percpu(fd_stats_, slot, sizeof(aigw_ctr), ncpus_, "counters of policy slot");
    if (bpf_map_update_elem(fd_pol_, &slot, value.data(), BPF_ANY) != 0)
      throw ApplyError(fmt::format("write policy slot {}: {}", slot, maps::errstr(errno)));
  }
  // Every path's slot is written before its group names it, and the group
  // before a prefix points at its slot.
  maps::upsert(fd_groups_, groups_, p.groups, "path group");
  maps::upsert(fd_pfx4_, pfx4_, p.pfx4, "IPv4 prefix");
  maps::upsert(fd_pfx6_, pfx6_, p.pfx6, "IPv6 prefix");
}

void PolicyTable::remove(const core::ApplyContext&) {
  maps::prune(fd_pfx4_, pfx4_, plan_->pfx4, "IPv4 prefix");
  maps::prune(fd_pfx6_, pfx6_, plan_->pfx6, "IPv6 prefix");
  // A packet still reading a released first path finds no group: it takes
  // that path (lib/paths.h).
  maps::prune(fd_groups_, groups_, plan_->groups, "path group");
}

// Release policy slots nothing points at any more. A packet that read the
// old slot number just before its prefix moved, or from the classification
// bank before the flip, may still be reading the slot: once every program
// run that began before has returned, the slot is invalidated and free. If
// the kernel cannot tell when that is, the slot stays intact for the
// quarantine instead and is invalidated by a later apply.
void PolicyTable::commit(const core::ApplyContext&) {
  Plan& p = *plan_;
  std::set<uint32_t> released;
  for (const auto& [name, st] : policies_)
    if (!p.taken.count(st.slot)) released.insert(st.slot);
  for (const auto& [s, _] : orphans_)
    if (!p.adopted.count(s) && !p.taken.count(s)) released.insert(s);
  orphans_.clear();
  policies_ = std::move(p.want);
  plan_.reset();
  if (released.empty()) return;
  if (wait_for_program_runs()) {
    const aigw_policy empty{};
    for (uint32_t s : released) bpf_map_update_elem(fd_pol_, &s, &empty, BPF_ANY);
    return;
  }
  if (log_ && !warned_)
    log_->warn(
        "policies: the kernel refuses membarrier(MEMBARRIER_CMD_GLOBAL); released policy "
        "slots stay reserved for {} s instead",
        std::chrono::duration_cast<std::chrono::seconds>(kSlotQuarantine).count());
  warned_ = true;
  for (uint32_t s : released) quarantine_[s] = Clock::now() + kSlotQuarantine;
}

// Slots written for a failed apply may already be referenced by prefixes
// that were moved: they stay valid, as orphans, until an apply releases them
// (or adopts them, if it brings the same policy).
void PolicyTable::abort() {
  if (plan_ && plan_->written) {
    for (const auto& [slot, value] : plan_->slot_writes) {
      bool running = false;
      for (const auto& [n, st] : policies_) running = running || st.slot == slot;
      if (!running) orphans_[slot] = value;
    }
  }
  plan_.reset();
}

std::optional<uint32_t> PolicyTable::slot_of(const std::string& policy) const {
  auto it = policies_.find(policy);
  if (it == policies_.end()) return std::nullopt;
  return it->second.slot;
}

std::optional<uint32_t> PolicyTable::planned_slot(const std::string& policy) const {
  if (!plan_) return std::nullopt;
  auto it = plan_->want.find(policy);
  if (it == plan_->want.end()) return std::nullopt;
  return it->second.slot;
}

std::string PolicyTable::policy_at(uint32_t slot) const {
  auto pp = path_at(slot);
  return pp ? pp->first : std::string{};
}

std::optional<std::pair<std::string, uint32_t>> PolicyTable::path_at(uint32_t slot) const {
  for (const auto& [key, st] : policies_) {
    if (st.slot != slot) continue;
    auto sep = key.find(kPathSep);
    if (sep == std::string::npos) return std::pair{key, 0u};
    return std::pair{key.substr(0, sep), static_cast<uint32_t>(std::stoul(key.substr(sep + 1)))};
  }
  return std::nullopt;
}

void PolicyTable::set_weights(const Policy& policy, const std::vector<uint32_t>& weights) {
  auto slots = slots_of(policy.name);
  if (slots.size() != policy.paths.size() || weights.size() != policy.paths.size())
    throw ApplyError(fmt::format("policy {}: {} weights for {} paths ({} running)", policy.name,
                                 weights.size(), policy.paths.size(), slots.size()));
  Policy p = policy;
  for (size_t i = 0; i < weights.size(); ++i) p.paths[i].weight = weights[i];
  maps::upsert(fd_groups_, groups_,
               {{maps::to_bytes(slots[0]), maps::to_bytes(encode_path_group(p, slots))}},
               "path group");
}

std::vector<uint32_t> PolicyTable::slots_of(const std::string& policy) const {
  std::vector<uint32_t> out;
  for (size_t i = 0;; ++i) {
    auto it = policies_.find(unit_key(policy, i));
    if (it == policies_.end()) return out;
    out.push_back(it->second.slot);
  }
}

}  // namespace aigw::dp
