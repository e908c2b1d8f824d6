// What a reload (or an aigwctl change) would change: the objects added,
// removed and changed between the running configuration and the next one,
// and whether the change needs a restart (README: agent.* and
// datapath.map_sizes cannot change at runtime; a reload that changes them is
// refused).
#pragma once

#include <string>
#include <vector>

#include "config/model.hpp"

namespace aigw {

struct ConfigDiff {
  // Policies by name, SIDs by prefix string ("fc00:a::e/128"), interfaces by
  // interface_key() ("eth1", "eth1 vlan 10"). Added/changed in the order of
  // the next configuration, removed in the order of the running one.
  //
  // "Changed" means the effective object changed: a policy that inherits
  // datapath.hop_limit or datapath.tcp_mss_clamp changes when that default
  // does, an interface without its own xdp_mode when datapath.xdp_mode does.
  std::vector<std::string> added_policies, removed_policies, changed_policies;
  std::vector<std::string> added_sids, removed_sids, changed_sids;
  std::vector<std::string> added_interfaces, removed_interfaces, changed_interfaces;
  // Settings whose value changed, as YAML paths ("datapath.hop_limit",
  // "agent.log_level", "datapath.map_sizes.sids", "apn.id_bits",
  // "flows.idle_timeout", "accounting.periods", "ipfix.collectors"). Tenants,
  // classes and classification rules count as one setting each: "tenants",
  // "classes", "classification".
  std::vector<std::string> changed_settings;
  bool restart_needed = false;
  std::string restart_reason;  // "restart needed: agent.socket, datapath.map_sizes.sids changed"

  bool empty() const;
  // One line for logs and aigwctl, e.g. "settings changed [datapath.hop_limit];
  // policies added [to-c] removed [to-b] changed [to-a]; sids removed
  // [fc00:a::e/128]", followed by restart_reason when restart_needed;
  // "no changes" when empty().
  std::string summary() const;
};

ConfigDiff diff(const Config& running, const Config& next);

}  // namespace aigw
