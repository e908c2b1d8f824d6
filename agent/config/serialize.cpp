#include "config/serialize.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "config/rate.hpp"
#include "config/schedule.hpp"

namespace aigw {

namespace {

std::string mode_str(uint32_t mode) { return fmt::format("{:04o}", mode); }

// agent.metrics_listen as written in YAML: the address, or "off" when disabled.
std::string listen_str(const std::string& listen) { return listen.empty() ? "off" : listen; }

// accounting.retention as written in YAML: whole days as "30d", else the
// duration, "off" for 0.
std::string retention_str(uint32_t s) {
  if (s == 0) return "off";
  return s % 86400 == 0 ? fmt::format("{}d", s / 86400) : duration_str(s);
}

// A tcp_mss value in JSON: "auto", "off" or the number.
nlohmann::json mss_json(uint16_t mss) {
  if (mss == kMssAuto || mss == kMssOff) return mss_to_string(mss);
  return mss;
}

void emit(YAML::Emitter& out, const Interface& i) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << i.name;
  out << YAML::Key << "role" << YAML::Value << to_string(i.role);
  if (i.role == IfRole::Customer || i.vrf != 0) out << YAML::Key << "vrf" << YAML::Value << i.vrf;
  if (i.vlan) out << YAML::Key << "vlan" << YAML::Value << *i.vlan;
  if (i.xdp_mode) out << YAML::Key << "xdp_mode" << YAML::Value << to_string(*i.xdp_mode);
  out << YAML::Key << "mss_clamp" << YAML::Value << i.mss_clamp;
  if (i.speed_bps) out << YAML::Key << "speed" << YAML::Value << rate_str(i.speed_bps);
  if (i.role == IfRole::Customer)
    out << YAML::Key << "apn_trust" << YAML::Value << to_string(i.apn);
  out << YAML::EndMap;
}

void emit(YAML::Emitter& out, const Policy& p) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << p.name;
  out << YAML::Key << "vrf" << YAML::Value << p.vrf;
  out << YAML::Key << "prefixes" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& pf : p.prefixes) out << pf.str();
  out << YAML::EndSeq;
  out << YAML::Key << "mode" << YAML::Value << to_string(p.mode);
  out << YAML::Key << "source" << YAML::Value << p.source.str();
  if (p.paths.empty()) {
    out << YAML::Key << "segments" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& s : p.segments) out << s.str();
    out << YAML::EndSeq;
  } else {
    out << YAML::Key << "paths" << YAML::Value << YAML::BeginSeq;
    for (const auto& pp : p.paths) {
      out << YAML::BeginMap << YAML::Key << "segments" << YAML::Value << YAML::Flow
          << YAML::BeginSeq;
      for (const auto& s : pp.segments) out << s.str();
      out << YAML::EndSeq << YAML::Key << "weight" << YAML::Value << pp.weight;
      if (pp.capacity_mbps) out << YAML::Key << "capacity_mbps" << YAML::Value << *pp.capacity_mbps;
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  // uint8_t would be emitted as a character.
  if (p.hop_limit) out << YAML::Key << "hop_limit" << YAML::Value << unsigned{*p.hop_limit};
  if (p.tcp_mss) out << YAML::Key << "tcp_mss" << YAML::Value << mss_to_string(*p.tcp_mss);
  out << YAML::EndMap;
}

void emit(YAML::Emitter& out, const Sid& s) {
  out << YAML::BeginMap;
  out << YAML::Key << "sid" << YAML::Value << s.sid.str();
  out << YAML::Key << "behavior" << YAML::Value << to_string(s.behavior);
  if (s.table) out << YAML::Key << "table" << YAML::Value << *s.table;
  if (s.nexthop) out << YAML::Key << "nexthop" << YAML::Value << ip_str(*s.nexthop);
  if (s.interface) out << YAML::Key << "interface" << YAML::Value << *s.interface;
  out << YAML::EndMap;
}

void emit(YAML::Emitter& out, const Tenant& t) {
  out << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << t.name;
  out << YAML::Key << "id" << YAML::Value << t.id;
  if (t.rate_bps) out << YAML::Key << "rate" << YAML::Value << rate_str(t.rate_bps);
  if (t.ceil_bps) out << YAML::Key << "ceil" << YAML::Value << rate_str(t.ceil_bps);
  if (t.burst_bytes) out << YAML::Key << "burst" << YAML::Value << t.burst_bytes;
  if (t.pfc_priority) out << YAML::Key << "pfc_priority" << YAML::Value << int{*t.pfc_priority};
  if (!t.schedule.empty()) {
    out << YAML::Key << "schedule" << YAML::Value << YAML::BeginSeq;
    for (const auto& w : t.schedule) {
      out << YAML::BeginMap;
      if (w.days != kEveryDay) out << YAML::Key << "days" << YAML::Value << days_str(w.days);
      out << YAML::Key << "from" << YAML::Value << YAML::DoubleQuoted << time_of_day_str(w.from_s);
      out << YAML::Key << "to" << YAML::Value << YAML::DoubleQuoted << time_of_day_str(w.to_s);
      out << YAML::Key << "rate" << YAML::Value << rate_str(w.rate_bps);
      if (w.ceil_bps) out << YAML::Key << "ceil" << YAML::Value << rate_str(w.ceil_bps);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
}

void emit(YAML::Emitter& out, const ServiceClass& c) {
  out << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << c.name;
  out << YAML::Key << "id" << YAML::Value << unsigned{c.id};
  out << YAML::EndMap;
}

void emit_prefixes(YAML::Emitter& out, const char* key, const std::vector<Prefix>& v) {
  if (v.empty()) return;
  out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& p : v) out << p.str();
  out << YAML::EndSeq;
}

void emit(YAML::Emitter& out, const ClassRule& r) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << r.name;
  out << YAML::Key << "priority" << YAML::Value << r.priority;
  bool any_match = r.interface || !r.src.empty() || !r.dst.empty() || r.protocol || r.sport ||
                   r.dport || r.dscp || r.apn;
  if (any_match) {
    out << YAML::Key << "match" << YAML::Value << YAML::BeginMap;
    if (r.interface) out << YAML::Key << "interface" << YAML::Value << *r.interface;
    emit_prefixes(out, "src", r.src);
    emit_prefixes(out, "dst", r.dst);
    if (r.protocol) out << YAML::Key << "protocol" << YAML::Value << protocol_str(*r.protocol);
    if (r.sport)
      out << YAML::Key << "sport" << YAML::Value << YAML::DoubleQuoted << port_range_str(*r.sport);
    if (r.dport)
      out << YAML::Key << "dport" << YAML::Value << YAML::DoubleQuoted << port_range_str(*r.dport);
    if (r.dscp) out << YAML::Key << "dscp" << YAML::Value << unsigned{*r.dscp};
    if (r.apn) {
      out << YAML::Key << "apn" << YAML::Value << YAML::Flow << YAML::BeginMap;
      out << YAML::Key << "value" << YAML::Value << apn_id_str(r.apn->value);
      out << YAML::Key << "mask" << YAML::Value << apn_id_str(r.apn->mask);
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  bool any_set = r.tenant || r.service_class || r.set_dscp || r.policy || r.set_apn;
  if (any_set) {
    out << YAML::Key << "set" << YAML::Value << YAML::BeginMap;
    if (r.tenant) out << YAML::Key << "tenant" << YAML::Value << *r.tenant;
    if (r.service_class) out << YAML::Key << "class" << YAML::Value << *r.service_class;
    if (r.set_dscp) out << YAML::Key << "dscp" << YAML::Value << unsigned{*r.set_dscp};
    if (r.policy) out << YAML::Key << "policy" << YAML::Value << *r.policy;
    if (r.set_apn) out << YAML::Key << "apn" << YAML::Value << apn_id_str(*r.set_apn);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

template <typename T>
void emit_list(YAML::Emitter& out, const char* key, const std::vector<T>& v) {
  out << YAML::Key << key << YAML::Value;
  if (v.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const auto& x : v) emit(out, x);
  out << YAML::EndSeq;
}

nlohmann::json rdma_proxy_json(const RdmaProxySettings& r) {
  nlohmann::json sel = nlohmann::json::array();
  for (const auto& x : r.select) {
    nlohmann::json e = {{"tenant", x.tenant}};
    if (!x.service_class.empty()) e["class"] = x.service_class;
    sel.push_back(std::move(e));
  }
  nlohmann::json j = {{"select", sel},
                      {"queues", r.queues},
                      {"frames", r.frames},
                      {"frame_size", r.frame_size},
                      {"ring", r.ring},
                      {"zero_copy", r.zero_copy},
                      {"cache_ms", r.cache_ms},
                      {"cache_bytes", r.cache_bytes},
                      {"cache_packets", r.cache_packets},
                      {"nack_ms", r.nack_ms},
                      {"give_up_ms", r.give_up_ms},
                      {"max_held", r.max_held},
                      {"max_streams", r.max_streams},
                      {"tenant_memory_mb", r.tenant_memory_mb},
                      {"verify_icrc", r.verify_icrc}};
  if (!r.key_file.empty()) j["key_file"] = r.key_file;
  return j;
}

nlohmann::json backpressure_json(const BackpressureSettings& b) {
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& p : b.peers)
    peers.push_back({{"name", p.name},
                     {"address", ip_str(p.address)},
                     {"key_file", p.key_file},
                     {"rtt_ms", p.rtt_ms}});
  nlohmann::json j = {{"port", b.port}, {"max_pause_ms", b.max_pause_ms}, {"peers", peers}};
  if (b.source) j["source"] = ip_str(*b.source);
  return j;
}

void emit_backpressure(YAML::Emitter& out, const BackpressureSettings& b) {
  out << YAML::Key << "backpressure" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "port" << YAML::Value << b.port;
  out << YAML::Key << "max_pause_ms" << YAML::Value << b.max_pause_ms;
  if (b.source) out << YAML::Key << "source" << YAML::Value << ip_str(*b.source);
  out << YAML::Key << "peers" << YAML::Value;
  if (b.peers.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const auto& p : b.peers)
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << p.name << YAML::Key
        << "address" << YAML::Value << ip_str(p.address) << YAML::Key << "key_file" << YAML::Value
        << p.key_file << YAML::Key << "rtt_ms" << YAML::Value << p.rtt_ms << YAML::EndMap;
  out << YAML::EndSeq << YAML::EndMap;
}

// rdma_proxy: scalars, and the selection as a list of flow maps.
void emit_rdma_proxy(YAML::Emitter& out, const RdmaProxySettings& r) {
  out << YAML::Key << "rdma_proxy" << YAML::Value << YAML::BeginMap;
  const nlohmann::json rp = rdma_proxy_json(r);
  for (const auto& [k, v] : rp.items()) {
    out << YAML::Key << k << YAML::Value;
    if (v.is_array()) {
      if (v.empty()) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& x : v) {
        out << YAML::Flow << YAML::BeginMap;
        for (const auto& [xk, xv] : x.items())
          out << YAML::Key << xk << YAML::Value << xv.get<std::string>();
        out << YAML::EndMap;
      }
      out << YAML::EndSeq;
    } else if (v.is_boolean()) {
      out << v.get<bool>();
    } else if (v.is_string()) {
      out << v.get<std::string>();
    } else {
      out << v.get<uint64_t>();
    }
  }
  out << YAML::EndMap;
}

nlohmann::json elephants_json(const ElephantSettings& e) {
  nlohmann::json j = {{"enabled", e.enabled},
                      {"window_ms", e.window_ms},
                      {"enter_mbps", e.enter_mbps},
                      {"leave_mbps", e.leave_mbps},
                      {"hold_ms", e.hold_ms},
                      {"place", e.place},
                      {"adapt_weights", e.adapt_weights},
                      {"flowlet_gap_us", e.flowlet_gap_us}};
  if (e.enter_pct_x100) {
    j["enter_pct"] = e.enter_pct_x100 / 100.0;
    j["leave_pct"] = e.leave_pct_x100 / 100.0;
  }
  return j;
}

}  // namespace

std::string to_yaml(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;

  out << YAML::Key << "agent" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "socket" << YAML::Value << c.agent.socket;
  out << YAML::Key << "socket_mode" << YAML::Value << YAML::DoubleQuoted
      << mode_str(c.agent.socket_mode);
  if (!c.agent.socket_group.empty())
    out << YAML::Key << "socket_group" << YAML::Value << YAML::DoubleQuoted << c.agent.socket_group;
  out << YAML::Key << "pin_path" << YAML::Value << c.agent.pin_path;
  out << YAML::Key << "log_level" << YAML::Value << c.agent.log_level;
  out << YAML::Key << "metrics_listen" << YAML::Value << YAML::DoubleQuoted
      << listen_str(c.agent.metrics_listen);
  out << YAML::EndMap;

  const auto& d = c.datapath;
  out << YAML::Key << "datapath" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "xdp_mode" << YAML::Value << to_string(d.xdp_mode);
  out << YAML::Key << "hop_limit" << YAML::Value << unsigned{d.hop_limit};
  out << YAML::Key << "tcp_mss_clamp" << YAML::Value << mss_to_string(d.tcp_mss_clamp);
  out << YAML::Key << "icmp_rate_limit" << YAML::Value << d.icmp_rate_limit;
  out << YAML::Key << "icmp_burst" << YAML::Value << d.icmp_burst;
  out << YAML::Key << "nexthop_cache_ms" << YAML::Value << d.nexthop_cache_ms;
  out << YAML::Key << "map_sizes" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "policies" << YAML::Value << d.map_sizes.policies;
  out << YAML::Key << "prefixes4" << YAML::Value << d.map_sizes.prefixes4;
  out << YAML::Key << "prefixes6" << YAML::Value << d.map_sizes.prefixes6;
  out << YAML::Key << "sids" << YAML::Value << d.map_sizes.sids;
  out << YAML::Key << "flows" << YAML::Value << d.map_sizes.flows;
  out << YAML::Key << "class_prefixes" << YAML::Value << d.map_sizes.class_prefixes;
  out << YAML::Key << "class_port_bitmaps" << YAML::Value << d.map_sizes.class_port_bitmaps;
  out << YAML::Key << "apn_groups" << YAML::Value << d.map_sizes.apn_groups;
  out << YAML::EndMap;
  out << YAML::EndMap;

  emit_list(out, "interfaces", c.interfaces);
  emit_list(out, "policies", c.policies);
  emit_list(out, "sids", c.sids);

  out << YAML::Key << "apn" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "option_type" << YAML::Value
      << fmt::format("0x{:02x}", unsigned{c.apn.option_type});
  out << YAML::Key << "header" << YAML::Value << to_string(c.apn.header);
  out << YAML::Key << "id_bits" << YAML::Value << unsigned{c.apn.id_bits};
  out << YAML::Key << "app_group_bits" << YAML::Value << unsigned{c.apn.app_group_bits};
  out << YAML::Key << "user_group_bits" << YAML::Value << unsigned{c.apn.user_group_bits};
  out << YAML::EndMap;
  emit_list(out, "tenants", c.tenants);
  emit_list(out, "classes", c.classes);
  const auto& cl = c.classification;
  out << YAML::Key << "classification" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "default" << YAML::Value << YAML::BeginMap;
  if (cl.default_tenant) out << YAML::Key << "tenant" << YAML::Value << *cl.default_tenant;
  out << YAML::Key << "class" << YAML::Value << cl.default_class;
  if (cl.default_apn) out << YAML::Key << "apn" << YAML::Value << apn_id_str(*cl.default_apn);
  out << YAML::EndMap;
  emit_list(out, "rules", cl.rules);
  out << YAML::EndMap;
  out << YAML::Key << "flows" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "enabled" << YAML::Value << c.flows.enabled;
  out << YAML::Key << "idle_timeout" << YAML::Value << duration_str(c.flows.idle_timeout_s);
  out << YAML::Key << "active_timeout" << YAML::Value << duration_str(c.flows.active_timeout_s);
  out << YAML::EndMap;
  out << YAML::Key << "elephants" << YAML::Value << YAML::BeginMap;
  const nlohmann::json el = elephants_json(c.elephants);
  for (const auto& [k, v] : el.items()) {
    out << YAML::Key << k << YAML::Value;
    if (v.is_boolean())
      out << v.get<bool>();
    else if (v.is_number_float())
      out << fmt::format("{}", v.get<double>());
    else
      out << v.get<uint64_t>();
  }
  out << YAML::EndMap;
  const auto& a = c.accounting;
  out << YAML::Key << "accounting" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "periods" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (uint32_t p : a.periods_s) out << duration_str(p);
  out << YAML::EndSeq;
  out << YAML::Key << "sample_interval" << YAML::Value << duration_str(a.sample_interval_s);
  out << YAML::Key << "usage_dir" << YAML::Value << (a.usage_dir.empty() ? "off" : a.usage_dir);
  out << YAML::Key << "usage_format" << YAML::Value << to_string(a.usage_format);
  out << YAML::Key << "state_dir" << YAML::Value << (a.state_dir.empty() ? "off" : a.state_dir);
  out << YAML::Key << "retention" << YAML::Value << retention_str(a.retention_s);
  out << YAML::EndMap;
  out << YAML::Key << "ipfix" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "collectors" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& col : c.ipfix.collectors) out << YAML::DoubleQuoted << col;
  out << YAML::EndSeq;
  out << YAML::Key << "observation_domain" << YAML::Value << c.ipfix.observation_domain;
  out << YAML::Key << "template_refresh" << YAML::Value << duration_str(c.ipfix.template_refresh_s);
  out << YAML::Key << "enterprise" << YAML::Value << c.ipfix.enterprise;
  out << YAML::EndMap;
  emit_rdma_proxy(out, c.rdma_proxy);
  emit_backpressure(out, c.backpressure);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

nlohmann::json to_json(const Interface& i) {
  nlohmann::json j = {{"name", i.name}, {"role", to_string(i.role)}, {"vrf", i.vrf}};
  if (i.vlan) j["vlan"] = *i.vlan;
  if (i.xdp_mode) j["xdp_mode"] = to_string(*i.xdp_mode);
  j["mss_clamp"] = i.mss_clamp;
  if (i.speed_bps) j["speed"] = rate_str(i.speed_bps);
  if (i.role == IfRole::Customer) j["apn_trust"] = to_string(i.apn);
  return j;
}

nlohmann::json to_json(const Policy& p) {
  nlohmann::json prefixes = nlohmann::json::array(), segments = nlohmann::json::array();
  for (const auto& pf : p.prefixes) prefixes.push_back(pf.str());
  for (const auto& s : p.segments) segments.push_back(s.str());
  nlohmann::json j = {{"name", p.name},
                      {"vrf", p.vrf},
                      {"prefixes", prefixes},
                      {"mode", to_string(p.mode)},
                      {"source", p.source.str()}};
  if (p.paths.empty()) {
    j["segments"] = std::move(segments);
  } else {  // the YAML form: paths only
    nlohmann::json paths = nlohmann::json::array();
    for (const auto& pp : p.paths) {
      nlohmann::json segs = nlohmann::json::array();
      for (const auto& s : pp.segments) segs.push_back(s.str());
      paths.push_back({{"segments", std::move(segs)}, {"weight", pp.weight}});
      if (pp.capacity_mbps) paths.back()["capacity_mbps"] = *pp.capacity_mbps;
    }
    j["paths"] = std::move(paths);
  }
  if (p.hop_limit) j["hop_limit"] = unsigned{*p.hop_limit};
  if (p.tcp_mss) j["tcp_mss"] = mss_json(*p.tcp_mss);
  return j;
}

nlohmann::json to_json(const Sid& s) {
  nlohmann::json j = {{"sid", s.sid.str()}, {"behavior", to_string(s.behavior)}};
  if (s.table) j["table"] = *s.table;
  if (s.nexthop) j["nexthop"] = ip_str(*s.nexthop);
  if (s.interface) j["interface"] = *s.interface;
  return j;
}

nlohmann::json to_json(const Tenant& t) {
  nlohmann::json j = {{"name", t.name}, {"id", t.id}};
  if (t.rate_bps) j["rate"] = rate_str(t.rate_bps);
  if (t.ceil_bps) j["ceil"] = rate_str(t.ceil_bps);
  if (t.burst_bytes) j["burst"] = t.burst_bytes;
  if (t.pfc_priority) j["pfc_priority"] = *t.pfc_priority;
  for (const auto& w : t.schedule) {
    nlohmann::json x = {{"days", days_str(w.days)},
                        {"from", time_of_day_str(w.from_s)},
                        {"to", time_of_day_str(w.to_s)},
                        {"rate", rate_str(w.rate_bps)}};
    if (w.ceil_bps) x["ceil"] = rate_str(w.ceil_bps);
    j["schedule"].push_back(std::move(x));
  }
  return j;
}

nlohmann::json to_json(const ServiceClass& c) { return {{"name", c.name}, {"id", unsigned{c.id}}}; }

nlohmann::json to_json(const ClassRule& r) {
  nlohmann::json j = {{"name", r.name}, {"priority", r.priority}};
  nlohmann::json m = nlohmann::json::object(), set = nlohmann::json::object();
  auto prefixes = [](const std::vector<Prefix>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& p : v) a.push_back(p.str());
    return a;
  };
  if (r.interface) m["interface"] = *r.interface;
  if (!r.src.empty()) m["src"] = prefixes(r.src);
  if (!r.dst.empty()) m["dst"] = prefixes(r.dst);
  if (r.protocol) m["protocol"] = protocol_str(*r.protocol);
  if (r.sport) m["sport"] = port_range_str(*r.sport);
  if (r.dport) m["dport"] = port_range_str(*r.dport);
  if (r.dscp) m["dscp"] = unsigned{*r.dscp};
  if (r.apn) m["apn"] = {{"value", apn_id_str(r.apn->value)}, {"mask", apn_id_str(r.apn->mask)}};
  if (r.tenant) set["tenant"] = *r.tenant;
  if (r.service_class) set["class"] = *r.service_class;
  if (r.set_dscp) set["dscp"] = unsigned{*r.set_dscp};
  if (r.policy) set["policy"] = *r.policy;
  if (r.set_apn) set["apn"] = apn_id_str(*r.set_apn);
  if (!m.empty()) j["match"] = m;
  if (!set.empty()) j["set"] = set;
  return j;
}

nlohmann::json to_json(const Config& c) {
  const auto& d = c.datapath;
  nlohmann::json j;
  j["agent"] = {{"socket", c.agent.socket},
                {"socket_mode", mode_str(c.agent.socket_mode)},
                {"pin_path", c.agent.pin_path},
                {"log_level", c.agent.log_level},
                {"metrics_listen", listen_str(c.agent.metrics_listen)}};
  if (!c.agent.socket_group.empty()) j["agent"]["socket_group"] = c.agent.socket_group;
  j["datapath"] = {{"xdp_mode", to_string(d.xdp_mode)},
                   {"hop_limit", unsigned{d.hop_limit}},
                   {"tcp_mss_clamp", mss_json(d.tcp_mss_clamp)},
                   {"icmp_rate_limit", d.icmp_rate_limit},
                   {"icmp_burst", d.icmp_burst},
                   {"nexthop_cache_ms", d.nexthop_cache_ms},
                   {"map_sizes",
                    {{"policies", d.map_sizes.policies},
                     {"prefixes4", d.map_sizes.prefixes4},
                     {"prefixes6", d.map_sizes.prefixes6},
                     {"sids", d.map_sizes.sids},
                     {"flows", d.map_sizes.flows},
                     {"class_prefixes", d.map_sizes.class_prefixes},
                     {"class_port_bitmaps", d.map_sizes.class_port_bitmaps},
                     {"apn_groups", d.map_sizes.apn_groups}}}};
  auto list = [](const auto& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& x : v) a.push_back(to_json(x));
    return a;
  };
  j["interfaces"] = list(c.interfaces);
  j["policies"] = list(c.policies);
  j["sids"] = list(c.sids);
  j["apn"] = {{"option_type", fmt::format("0x{:02x}", unsigned{c.apn.option_type})},
              {"header", to_string(c.apn.header)},
              {"id_bits", unsigned{c.apn.id_bits}},
              {"app_group_bits", unsigned{c.apn.app_group_bits}},
              {"user_group_bits", unsigned{c.apn.user_group_bits}}};
  j["tenants"] = list(c.tenants);
  j["classes"] = list(c.classes);
  const auto& cl = c.classification;
  nlohmann::json dflt = {{"class", cl.default_class}};
  if (cl.default_tenant) dflt["tenant"] = *cl.default_tenant;
  if (cl.default_apn) dflt["apn"] = apn_id_str(*cl.default_apn);
  j["classification"] = {{"default", dflt}, {"rules", list(cl.rules)}};
  j["flows"] = {{"enabled", c.flows.enabled},
                {"idle_timeout", duration_str(c.flows.idle_timeout_s)},
                {"active_timeout", duration_str(c.flows.active_timeout_s)}};
  j["elephants"] = elephants_json(c.elephants);
  nlohmann::json periods = nlohmann::json::array();
  for (uint32_t p : c.accounting.periods_s) periods.push_back(duration_str(p));
  j["accounting"] = {{"periods", periods},
                     {"sample_interval", duration_str(c.accounting.sample_interval_s)},
                     {"usage_dir", c.accounting.usage_dir.empty() ? "off" : c.accounting.usage_dir},
                     {"usage_format", to_string(c.accounting.usage_format)},
                     {"state_dir", c.accounting.state_dir.empty() ? "off" : c.accounting.state_dir},
                     {"retention", retention_str(c.accounting.retention_s)}};
  j["ipfix"] = {{"collectors", c.ipfix.collectors},
                {"observation_domain", c.ipfix.observation_domain},
                {"template_refresh", duration_str(c.ipfix.template_refresh_s)},
                {"enterprise", c.ipfix.enterprise}};
  j["rdma_proxy"] = rdma_proxy_json(c.rdma_proxy);
  j["backpressure"] = backpressure_json(c.backpressure);
  return j;
}

namespace {
constexpr int kMaxJsonDepth = 32;

YAML::Node from_json_at(const nlohmann::json& j, int depth) {
  if (depth > kMaxJsonDepth)
    throw std::invalid_argument(fmt::format("nested deeper than {} levels", kMaxJsonDepth));
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      YAML::Node n(YAML::NodeType::Map);
      for (const auto& [k, v] : j.items()) n[k] = from_json_at(v, depth + 1);
      return n;
    }
    case nlohmann::json::value_t::array: {
      YAML::Node n(YAML::NodeType::Sequence);
      for (const auto& v : j) n.push_back(from_json_at(v, depth + 1));
      return n;
    }
    case nlohmann::json::value_t::string:
      return YAML::Node(j.get<std::string>());
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return YAML::Node(YAML::NodeType::Null);
    default:  // numbers, booleans: their JSON text ("64", "true", "1.5")
      return YAML::Node(j.dump());
  }
}
}  // namespace

YAML::Node from_json(const nlohmann::json& j) { return from_json_at(j, 0); }

}  // namespace aigw
