// The datapath's map tables, one module each (core/module.hpp): what the
// configuration puts into the maps, planned without writing, then added and
// removed. The Datapath facade owns them and runs them in this order:
//   globals, tx ports, policies (+ prefixes), SIDs, interfaces, classifier,
//   generation.
// Additions run in that order and removals in reverse, so every packet sees
// either the old or the new state of each object: a prefix is written after
// the policy slot it names, an interface entry after the policies and SIDs
// its traffic meets, the classifier after the interfaces and policies its
// rules name.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "core/module.hpp"
#include "datapath/loader.hpp"
#include "datapath/map_io.hpp"
#include "policy/classifier.hpp"

namespace aigw::dp {

using maps::Bytes;
using Clock = std::chrono::steady_clock;

// aigw_globals: datapath-wide settings and the generation that every apply
// bumps once it has written everything (CacheGeneration), and the classifier
// after a bank flip: it invalidates the next-hop caches, the lookup memos
// and flows' cached decisions.
class GlobalsTable : public core::Module {
 public:
  GlobalsTable(const Loader& l, const MapSizes& loaded);
  std::string_view name() const override { return "globals"; }
  void read_back();
  // The maps were sized at load: a change of map_sizes needs a restart.
  void plan(const core::ApplyContext& ctx) override;
  void add(const core::ApplyContext& ctx) override { write(ctx.next.datapath); }
  // The settings, under the generation in force.
  void write(const DatapathSettings& dp);
  // A new generation with the settings in force (caches recompute).
  void bump();
  uint32_t generation() const { return generation_; }

 private:
  int fd_;
  MapSizes loaded_;
  uint32_t generation_ = 0;
};

// Last of the datapath's modules: once an apply has written (or, failing,
// put back) every map, a new generation. The datapath memoises its lookups
// in the agent's tables (bpf/lib/memo.h) under the generation read before
// the lookup, so an entry memoised during the apply is dropped here.
class CacheGeneration : public core::Module {
 public:
  CacheGeneration(GlobalsTable& g, const Logger* log) : globals_(g), log_(log) {}
  std::string_view name() const override { return "generation"; }
  // Last to plan: once it has, the datapath's plans passed and writes may
  // follow. A refusal at planning writes nothing, not even a generation.
  void plan(const core::ApplyContext&) override { armed_ = true; }
  void commit(const core::ApplyContext&) override;
  void abort() override;

 private:
  GlobalsTable& globals_;
  const Logger* log_;
  bool armed_ = false;
};

// aigw_tx: the ports XDP may redirect into (every configured interface).
// aigw_tx, and each port's entry in aigw_xmit_drops (the transmit
// tracepoints count only ports that have one).
class TxPorts : public core::Module {
 public:
  explicit TxPorts(const Loader& l);
  std::string_view name() const override { return "tx-ports"; }
  void read_back();
  void plan(const core::ApplyContext& ctx) override;
  void add(const core::ApplyContext&) override;
  void remove(const core::ApplyContext&) override;

 private:
  void ensure_xmit_entry(uint32_t ifindex) const;
  int fd_;
  int fd_xmit_;
  int ncpus_;
  std::set<uint32_t> tx_, want_;
};

// aigw_ifaces and the counter slots of aigw_if_stats. Slots follow the
// interface (by name) across restarts; a new slot starts at zero.
class IfaceTable : public core::Module {
 public:
  IfaceTable(const Loader& l);
  std::string_view name() const override { return "interfaces"; }
  void read_back();
  void plan(const core::ApplyContext& ctx) override;
  void add(const core::ApplyContext&) override;
  void remove(const core::ApplyContext&) override;
  void commit(const core::ApplyContext&) override;

  std::optional<uint16_t> slot_of(const std::string& key) const;
  std::optional<uint16_t> planned_slot(const std::string& key) const;
  const std::map<std::string, uint16_t>& slots() const { return slots_; }

 private:
  uint16_t alloc_slot(const std::set<uint16_t>& taken) const;
  int fd_, fd_stats_, ncpus_;
  std::map<Bytes, Bytes> ifaces_, want_;
  std::map<std::string, uint16_t> slots_, want_slots_;  // interface key -> counter slot
};

// aigw_policies (slots of prebuilt outer headers, one per path of a
// policy), aigw_path_groups (a multipath policy's bucket table), aigw_pfx4/6
// (prefix -> the first path's slot) and the per-path counters of
// aigw_pol_stats.
class PolicyTable : public core::Module {
 public:
  PolicyTable(const Loader& l, const Logger* log);
  ~PolicyTable() override;
  std::string_view name() const override { return "policies"; }
  void read_back();
  void plan(const core::ApplyContext& ctx) override;
  void add(const core::ApplyContext&) override;
  void remove(const core::ApplyContext&) override;
  void commit(const core::ApplyContext&) override;
  void abort() override;

  // The slot of the policy's first path (its prefixes point there).
  std::optional<uint32_t> slot_of(const std::string& policy) const;
  std::optional<uint32_t> planned_slot(const std::string& policy) const;
  // The policy a slot belongs to ("" when none), and which of its paths.
  std::string policy_at(uint32_t slot) const;
  std::optional<std::pair<std::string, uint32_t>> path_at(uint32_t slot) const;
  // The slots of the policy's paths in the order of its configuration.
  std::vector<uint32_t> slots_of(const std::string& policy) const;
  // Rewrite a running multipath policy's bucket table with other weights
  // (one per path, 1..kMaxPathWeight); the next apply writes the
  // configured ones again.
  void set_weights(const Policy& policy, const std::vector<uint32_t>& weights);

 private:
  struct State {
    uint32_t slot;
    Bytes value;  // encoded with id = slot
  };
  struct Plan;
  void plan_slots(const Config& next, Plan& p);
  void plan_groups(const Config& next, Plan& p);
  void plan_prefixes(const Config& next, Plan& p);
  uint32_t alloc_slot(const Plan& p, const std::string& policy, std::optional<uint32_t> own) const;
  std::optional<uint32_t> adopt_slot(const aigw_policy& v, Plan& p) const;
  static Bytes at_slot(aigw_policy v, uint32_t slot);

  const Logger* log_;
  bool warned_ = false;  // the quarantine fallback was logged
  int fd_pol_, fd_pfx4_, fd_pfx6_, fd_stats_, fd_groups_, ncpus_;
  uint32_t max_policies_;
  std::map<std::string, State> policies_;
  std::map<uint32_t, Bytes> orphans_;  // valid slots no policy holds: found at start, or
                                       // written by a failed apply; adopted or released
  std::map<uint32_t, Clock::time_point> quarantine_;  // released slots (fallback, see commit)
  std::map<Bytes, Bytes> pfx4_, pfx6_, groups_;
  std::unique_ptr<Plan> plan_;
};

// The local SID tables of the endpoint: aigw_sid_exact (whole /128
// addresses) and aigw_sids (shorter blocks), see abi.h.
class SidTable : public core::Module {
 public:
  explicit SidTable(const Loader& l);
  std::string_view name() const override { return "sids"; }
  void read_back();
  void plan(const core::ApplyContext& ctx) override;
  void add(const core::ApplyContext&) override;
  void remove(const core::ApplyContext&) override;

 private:
  // One per map: [0] aigw_sid_exact, [1] aigw_sids.
  struct Map {
    int fd;
    std::map<Bytes, Bytes> have, want;
  };
  std::array<Map, 2> maps_;
};

// The double-banked classification maps (abi.h "Classification").
class ClassifierTable : public core::Module {
 public:
  ClassifierTable(const Loader& l, GlobalsTable& g, const IfaceTable& ifaces,
                  const PolicyTable& policies, const Logger* log);
  ~ClassifierTable() override;
  std::string_view name() const override { return "classifier"; }
  void read_back();
  void plan(const core::ApplyContext& ctx) override;
  void add(const core::ApplyContext& ctx) override;
  void abort() override;
  const CompiledClassifier& in_force() const { return cls_; }

 private:
  struct Banks;
  void install(CompiledClassifier c);
  GlobalsTable& globals_;
  const IfaceTable& ifaces_;
  const PolicyTable& policies_;
  const Logger* log_;
  std::unique_ptr<Banks> banks_;
  bool written_ = false;  // cls_ is what the active bank holds
  CompiledClassifier cls_;
  std::optional<CompiledClassifier> planned_;
  bool changed_ = false;
};

}  // namespace aigw::dp
