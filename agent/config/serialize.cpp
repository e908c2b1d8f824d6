#include "config/serialize.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace aigw {

namespace {

std::string mode_str(uint32_t mode) { return fmt::format("{:04o}", mode); }

// agent.metrics_listen as written in YAML: the address, or "off" when disabled.
std::string listen_str(const std::string& listen) { return listen.empty() ? "off" : listen; }

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
  out << YAML::Key << "segments" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& s : p.segments) out << s.str();
  out << YAML::EndSeq;
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

template <typename T>
void emit_list(YAML::Emitter& out, const char* key, const std::vector<T>& v) {
  out << YAML::Key << key << YAML::Value;
  if (v.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const auto& x : v) emit(out, x);
  out << YAML::EndSeq;
}

}  // namespace

std::string to_yaml(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;

  out << YAML::Key << "agent" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "socket" << YAML::Value << c.agent.socket;
  out << YAML::Key << "socket_mode" << YAML::Value << YAML::DoubleQuoted
      << mode_str(c.agent.socket_mode);
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
  out << YAML::EndMap;
  out << YAML::EndMap;

  emit_list(out, "interfaces", c.interfaces);
  emit_list(out, "policies", c.policies);
  emit_list(out, "sids", c.sids);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

nlohmann::json to_json(const Interface& i) {
  nlohmann::json j = {{"name", i.name}, {"role", to_string(i.role)}, {"vrf", i.vrf}};
  if (i.vlan) j["vlan"] = *i.vlan;
  if (i.xdp_mode) j["xdp_mode"] = to_string(*i.xdp_mode);
  j["mss_clamp"] = i.mss_clamp;
  return j;
}

nlohmann::json to_json(const Policy& p) {
  nlohmann::json prefixes = nlohmann::json::array(), segments = nlohmann::json::array();
  for (const auto& pf : p.prefixes) prefixes.push_back(pf.str());
  for (const auto& s : p.segments) segments.push_back(s.str());
  nlohmann::json j = {{"name", p.name},           {"vrf", p.vrf},
                      {"prefixes", prefixes},     {"mode", to_string(p.mode)},
                      {"source", p.source.str()}, {"segments", segments}};
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

nlohmann::json to_json(const Config& c) {
  const auto& d = c.datapath;
  nlohmann::json j;
  j["agent"] = {{"socket", c.agent.socket},
                {"socket_mode", mode_str(c.agent.socket_mode)},
                {"pin_path", c.agent.pin_path},
                {"log_level", c.agent.log_level},
                {"metrics_listen", listen_str(c.agent.metrics_listen)}};
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
                     {"sids", d.map_sizes.sids}}}};
  auto list = [](const auto& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& x : v) a.push_back(to_json(x));
    return a;
  };
  j["interfaces"] = list(c.interfaces);
  j["policies"] = list(c.policies);
  j["sids"] = list(c.sids);
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
