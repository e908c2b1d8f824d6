// The datapath facade: loads the BPF programs (one Loader for every object)
// with their maps pinned under a pin path, attaches them to interfaces, and
// programs the maps from the configuration through its tables (tables.hpp),
// writing only what changed.
#pragma once

#include <aigw/abi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "config/model.hpp"
#include "core/module.hpp"
#include "datapath/types.hpp"
#include "policy/classifier.hpp"

namespace aigw {

class Loader;

class Datapath {
 public:
  // Opens every BPF object with max_entries from `settings`, pins (or
  // reuses) the maps under pin_path, and loads. Throws DatapathError with
  // context. Warnings (a stale pin replaced...) go to `log` when given.
  // kconfig: Loader::Options::kconfig (empty: the kernel's own).
  Datapath(const DatapathSettings& settings, const std::string& pin_path,
           const Logger* log = nullptr, const std::string& kconfig = {});
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  int prog_fd(Prog p) const;
  Loader& loader() const;

  // The map tables in apply order (globals, tx ports, policies, SIDs,
  // interfaces, classifier): the agent runs them among its other modules.
  std::vector<core::Module*> modules() const;

  // Make the maps hold `next` (interfaces, policies, SIDs, classification):
  // plan, add and remove over modules(). Entries of objects that did not
  // change are not touched (no packet of an unchanged policy sees a
  // transient state). Throws ApplyError before writing anything when `next`
  // cannot be represented (unknown interface, full map...).
  void apply(const Config& next, const LinkResolver& links);

  // Attach the program for `role` to ifindex (never silently replaces a
  // foreign program). Detach removes only ours.
  void attach(int ifindex, IfRole role, XdpMode mode);
  void detach(int ifindex);
  void detach_all();
  // Removes what this datapath attached where no aigw program was before
  // (a start that failed half way; ports taken over keep forwarding).
  void detach_fresh();
  // Takes over the programs an earlier agent left attached on any
  // interface of this namespace (they stay attached while no agent runs):
  // apply() then replaces them where the configuration wants a port and
  // removes them where it does not. Returns their ifindexes.
  std::vector<int> adopt_attached();
  std::vector<int> attached() const;
  // Whether aigw's XDP program is on ifindex now, read from the kernel (an
  // operator's `ip link set dev X xdp off` shows).
  bool attached_in_kernel(int ifindex) const;
  // How ifindex is attached (role, mode), if aigw attached it.
  std::optional<std::pair<IfRole, XdpMode>> attachment(int ifindex) const;

  // Next hops the kernel decides changed (a route, a neighbour...): bump
  // the generation, so that the headend's next-hop cache and the flows'
  // cached decisions are recomputed from the next packet on.
  void invalidate_caches();

  Stats read_stats() const;
  // Egress ifindex -> frames redirected into it that the kernel did not send.
  std::map<uint32_t, aigw_xmit_drops> read_xmit_drops() const;
  // Counter slot of a configured interface, if it has one.
  std::optional<uint16_t> slot_of(const std::string& ifname) const;
  // Interface key -> counter slot, for every configured interface.
  const std::map<std::string, uint16_t>& interface_slots() const;
  // Policy slot of a configured policy, if it has one.
  std::optional<uint32_t> policy_slot(const std::string& name) const;

  // ---- Accounting (classification, flows, usage). All counters are summed
  // over CPUs and are cumulative since the maps were created (they survive
  // agent restarts through the pins).
  std::vector<FlowEntry> read_flows() const;
  // Delete ended flows (after they were reported); returns how many went.
  size_t delete_flows(const std::vector<aigw_flow_key>& keys);
  // aigw_usage: AIGW_USAGE_ENTRIES counters, index AIGW_USAGE_INDEX(dir, tenant, cls).
  std::vector<aigw_ctr> read_usage() const;
  ApnUsage read_apn_usage() const;
  // aigw_pol_stats: policy slot -> counters (slots with traffic only).
  std::map<uint32_t, aigw_ctr> read_policy_stats() const;
  // Name of the policy in a slot now (empty if none).
  std::string policy_at(uint32_t slot) const;
  // The policy and path index of a path's slot (multipath policies).
  std::optional<std::pair<std::string, uint32_t>> path_at(uint32_t slot) const;
  // The slots of a policy's paths, in configuration order.
  std::vector<uint32_t> policy_slots(const std::string& name) const;
  // Another set of weights for a running multipath policy's bucket table
  // (new flows, and flows whose cached decision is stale, hash over them).
  void set_path_weights(const Policy& policy, const std::vector<uint32_t>& weights);
  // The classifier in force (compiled at the last successful apply).
  const CompiledClassifier& classifier() const;

  // Remove the pins (used by tests and `aigwd --unpin`). Refused (throws)
  // while an agent holds pin_path, or while one of `ifnames` has an aigw
  // program attached: it would keep maps no later agent could find.
  static void unpin_all(const std::string& pin_path, const std::vector<std::string>& ifnames = {});
  // `aigwd --detach`: removes aigw's XDP programs from these interfaces,
  // with no agent running (throws LockBusy while one holds pin_path).
  // Returns the interfaces it detached from.
  static std::vector<std::string> detach_ports(const std::string& pin_path,
                                               const std::vector<std::string>& ifnames);
  // Which of these interfaces have an aigw XDP program attached now.
  static std::vector<std::string> attached_by_name(const std::vector<std::string>& ifnames);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aigw
