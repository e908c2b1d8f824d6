#include "config/diff.hpp"

#include <fmt/format.h>

#include <map>

namespace aigw {

namespace {

// Generic keyed diff. `same(a, b)` decides whether the object with the same
// key is unchanged.
template <typename T, typename Key, typename Same>
void diff_list(const std::vector<T>& running, const std::vector<T>& next, Key key, Same same,
               std::vector<std::string>& added, std::vector<std::string>& removed,
               std::vector<std::string>& changed) {
  std::map<std::string, const T*> old;
  for (const T& x : running) old.emplace(key(x), &x);  // first wins on (invalid) duplicates
  std::map<std::string, bool> in_next;
  for (const T& x : next) {
    std::string k = key(x);
    if (!in_next.emplace(k, true).second) continue;
    auto it = old.find(k);
    if (it == old.end()) {
      added.push_back(k);
    } else if (!same(*it->second, x)) {
      changed.push_back(k);
    }
  }
  std::map<std::string, bool> listed;
  for (const T& x : running) {
    std::string k = key(x);
    if (!in_next.count(k) && listed.emplace(k, true).second) removed.push_back(k);
  }
}

void settings(const Config& a, const Config& b, std::vector<std::string>& out) {
  auto cmp = [&](bool differ, const char* name) {
    if (differ) out.emplace_back(name);
  };
  cmp(a.agent.socket != b.agent.socket, "agent.socket");
  cmp(a.agent.socket_mode != b.agent.socket_mode, "agent.socket_mode");
  cmp(a.agent.socket_group != b.agent.socket_group || a.agent.socket_gid != b.agent.socket_gid,
      "agent.socket_group");
  cmp(a.agent.pin_path != b.agent.pin_path, "agent.pin_path");
  cmp(a.agent.log_level != b.agent.log_level, "agent.log_level");
  cmp(a.agent.metrics_listen != b.agent.metrics_listen, "agent.metrics_listen");
  const auto &d = a.datapath, &e = b.datapath;
  cmp(d.xdp_mode != e.xdp_mode, "datapath.xdp_mode");
  cmp(d.hop_limit != e.hop_limit, "datapath.hop_limit");
  cmp(d.tcp_mss_clamp != e.tcp_mss_clamp, "datapath.tcp_mss_clamp");
  cmp(d.icmp_rate_limit != e.icmp_rate_limit, "datapath.icmp_rate_limit");
  cmp(d.icmp_burst != e.icmp_burst, "datapath.icmp_burst");
  cmp(d.nexthop_cache_ms != e.nexthop_cache_ms, "datapath.nexthop_cache_ms");
  cmp(d.map_sizes.policies != e.map_sizes.policies, "datapath.map_sizes.policies");
  cmp(d.map_sizes.prefixes4 != e.map_sizes.prefixes4, "datapath.map_sizes.prefixes4");
  cmp(d.map_sizes.prefixes6 != e.map_sizes.prefixes6, "datapath.map_sizes.prefixes6");
  cmp(d.map_sizes.sids != e.map_sizes.sids, "datapath.map_sizes.sids");
  cmp(d.map_sizes.flows != e.map_sizes.flows, "datapath.map_sizes.flows");
  cmp(d.map_sizes.class_prefixes != e.map_sizes.class_prefixes,
      "datapath.map_sizes.class_prefixes");
  cmp(d.map_sizes.class_port_bitmaps != e.map_sizes.class_port_bitmaps,
      "datapath.map_sizes.class_port_bitmaps");
  cmp(d.map_sizes.apn_groups != e.map_sizes.apn_groups, "datapath.map_sizes.apn_groups");
  cmp(a.apn.option_type != b.apn.option_type, "apn.option_type");
  cmp(a.apn.header != b.apn.header, "apn.header");
  cmp(a.apn.id_bits != b.apn.id_bits, "apn.id_bits");
  cmp(a.apn.app_group_bits != b.apn.app_group_bits, "apn.app_group_bits");
  cmp(a.apn.user_group_bits != b.apn.user_group_bits, "apn.user_group_bits");
  cmp(a.tenants != b.tenants, "tenants");
  cmp(a.classes != b.classes, "classes");
  cmp(a.classification != b.classification, "classification");
  cmp(a.flows.enabled != b.flows.enabled, "flows.enabled");
  cmp(a.flows.idle_timeout_s != b.flows.idle_timeout_s, "flows.idle_timeout");
  cmp(a.flows.active_timeout_s != b.flows.active_timeout_s, "flows.active_timeout");
  cmp(a.elephants != b.elephants, "elephants");
  const auto &f = a.accounting, &g = b.accounting;
  cmp(f.periods_s != g.periods_s, "accounting.periods");
  cmp(f.sample_interval_s != g.sample_interval_s, "accounting.sample_interval");
  cmp(f.usage_dir != g.usage_dir, "accounting.usage_dir");
  cmp(f.usage_format != g.usage_format, "accounting.usage_format");
  cmp(f.state_dir != g.state_dir, "accounting.state_dir");
  cmp(f.retention_s != g.retention_s, "accounting.retention");
  cmp(a.ipfix.collectors != b.ipfix.collectors, "ipfix.collectors");
  cmp(a.ipfix.observation_domain != b.ipfix.observation_domain, "ipfix.observation_domain");
  cmp(a.ipfix.template_refresh_s != b.ipfix.template_refresh_s, "ipfix.template_refresh");
  cmp(a.ipfix.enterprise != b.ipfix.enterprise, "ipfix.enterprise");
  cmp(a.rdma_proxy != b.rdma_proxy, "rdma_proxy");
  cmp(a.backpressure != b.backpressure, "backpressure");
}

// agent.log_level applies live; the socket, pin path, metrics listener and map
// sizes need a restart.
bool needs_restart(const std::string& setting) {
  if (setting == "agent.log_level") return false;
  return setting.rfind("agent.", 0) == 0 || setting.rfind("datapath.map_sizes.", 0) == 0;
}

}  // namespace

bool ConfigDiff::empty() const {
  return added_policies.empty() && removed_policies.empty() && changed_policies.empty() &&
         added_sids.empty() && removed_sids.empty() && changed_sids.empty() &&
         added_interfaces.empty() && removed_interfaces.empty() && changed_interfaces.empty() &&
         changed_settings.empty();
}

std::string ConfigDiff::summary() const {
  if (empty()) return "no changes";
  std::vector<std::string> kinds;
  auto kind = [&](const char* what, const std::vector<std::string>& add,
                  const std::vector<std::string>& rem, const std::vector<std::string>& chg) {
    std::string k = what;
    if (!add.empty()) k += fmt::format(" added [{}]", fmt::join(add, ", "));
    if (!rem.empty()) k += fmt::format(" removed [{}]", fmt::join(rem, ", "));
    if (!chg.empty()) k += fmt::format(" changed [{}]", fmt::join(chg, ", "));
    if (k.size() > std::string_view(what).size()) kinds.push_back(std::move(k));
  };
  kind("settings", {}, {}, changed_settings);
  kind("interfaces", added_interfaces, removed_interfaces, changed_interfaces);
  kind("policies", added_policies, removed_policies, changed_policies);
  kind("sids", added_sids, removed_sids, changed_sids);
  if (restart_needed) kinds.push_back(restart_reason);
  return fmt::format("{}", fmt::join(kinds, "; "));
}

ConfigDiff diff(const Config& running, const Config& next) {
  ConfigDiff d;
  settings(running, next, d.changed_settings);

  const auto& rd = running.datapath;
  const auto& nd = next.datapath;
  diff_list(
      running.interfaces, next.interfaces, [](const Interface& i) { return interface_key(i); },
      [&](const Interface& a, const Interface& b) {
        return a == b && a.xdp_mode.value_or(rd.xdp_mode) == b.xdp_mode.value_or(nd.xdp_mode);
      },
      d.added_interfaces, d.removed_interfaces, d.changed_interfaces);
  diff_list(
      running.policies, next.policies, [](const Policy& p) { return p.name; },
      [&](const Policy& a, const Policy& b) {
        return a == b && a.hop_limit.value_or(rd.hop_limit) == b.hop_limit.value_or(nd.hop_limit) &&
               a.tcp_mss.value_or(rd.tcp_mss_clamp) == b.tcp_mss.value_or(nd.tcp_mss_clamp);
      },
      d.added_policies, d.removed_policies, d.changed_policies);
  diff_list(
      running.sids, next.sids, [](const Sid& s) { return s.sid.str(); },
      [](const Sid& a, const Sid& b) { return a == b; }, d.added_sids, d.removed_sids,
      d.changed_sids);

  std::vector<std::string> restart;
  for (const auto& s : d.changed_settings) {
    if (needs_restart(s)) restart.push_back(s);
  }
  if (!restart.empty()) {
    d.restart_needed = true;
    d.restart_reason = fmt::format("restart needed: {} changed", fmt::join(restart, ", "));
  }
  return d;
}

}  // namespace aigw
