// Sections agent and datapath (with datapath.map_sizes).
#include <fmt/format.h>

#include "config/parse_util.hpp"

namespace aigw::parse_detail {

void parse_agent(Sink& s, const Entry& e, AgentSettings& a) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field,
              {"socket", "socket_mode", "socket_group", "pin_path", "log_level", "metrics_listen"});
  if (auto f = m.get("socket")) {
    if (auto v = read_abs_path(s, *f, kMaxUnixPath)) a.socket = *v;
  }
  if (auto f = m.get("socket_mode")) {
    if (auto v = read_mode(s, *f)) a.socket_mode = *v;
  }
  if (auto f = m.get("socket_group")) {
    if (auto v = read_group(s, *f)) {
      a.socket_group = v->first;
      a.socket_gid = v->second;
    }
  }
  if (auto f = m.get("pin_path")) {
    if (auto v = read_abs_path(s, *f, 4095)) a.pin_path = *v;
  }
  if (auto f = m.get("log_level")) {
    auto from = [](std::string_view t) -> std::optional<std::string> {
      if (t == "debug" || t == "info" || t == "warn" || t == "error") return std::string(t);
      return std::nullopt;
    };
    if (auto v = read_enum<std::string>(s, *f, +from, {"debug", "info", "warn", "error"})) {
      a.log_level = *v;
    }
  }
  if (auto f = m.get("metrics_listen")) {
    if (auto v = read_listen(s, *f)) a.metrics_listen = *v;
  }
}

// Returns false when map_sizes had errors (capacity checks are then skipped).
bool parse_datapath(Sink& s, const Entry& e, DatapathSettings& d) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return true;
  MapReader m(s, e.value, e.field,
              {"xdp_mode", "hop_limit", "tcp_mss_clamp", "icmp_rate_limit", "icmp_burst",
               "nexthop_cache_ms", "map_sizes"});
  if (auto f = m.get("xdp_mode")) {
    if (auto v = read_enum<XdpMode>(s, *f, xdp_mode_from_string, {"native", "generic"})) {
      d.xdp_mode = *v;
    }
  }
  if (auto f = m.get("hop_limit")) {
    if (auto v = read_uint(s, *f, 1, 255)) d.hop_limit = static_cast<uint8_t>(*v);
  }
  if (auto f = m.get("icmp_rate_limit")) {
    if (auto v = read_uint(s, *f, 0, 1000000)) d.icmp_rate_limit = static_cast<uint32_t>(*v);
  }
  if (auto f = m.get("nexthop_cache_ms")) {
    if (auto v = read_uint(s, *f, 0, 1000)) d.nexthop_cache_ms = static_cast<uint32_t>(*v);
  }
  if (auto f = m.get("icmp_burst")) {
    if (auto v = read_uint(s, *f, 1, 100000)) d.icmp_burst = static_cast<uint32_t>(*v);
  }
  if (auto f = m.get("tcp_mss_clamp")) {
    if (auto v = read_mss(s, *f)) d.tcp_mss_clamp = *v;
  }
  auto f = m.get("map_sizes");
  if (!f) return true;
  size_t before = s.count();
  if (!expect_map_or_empty(s, *f)) return false;
  if (f->value.IsNull()) return true;
  MapReader ms(s, f->value, f->field,
               {"policies", "prefixes4", "prefixes6", "sids", "flows", "class_prefixes",
                "class_port_bitmaps", "apn_groups"});
  auto size = [&](std::string_view key, uint32_t lo, uint32_t hi, uint32_t& out) {
    if (auto g = ms.get(key)) {
      if (auto v = read_uint(s, *g, lo, hi)) out = static_cast<uint32_t>(*v);
    }
  };
  size("policies", 2, 65536, d.map_sizes.policies);
  size("prefixes4", 1, 1048576, d.map_sizes.prefixes4);
  size("prefixes6", 1, 1048576, d.map_sizes.prefixes6);
  size("sids", 1, 65536, d.map_sizes.sids);
  size("flows", 1, 16777216, d.map_sizes.flows);
  // Both banks share the classification maps: at least one entry each.
  size("class_prefixes", 2, 1048576, d.map_sizes.class_prefixes);
  size("class_port_bitmaps", 2, 1048576, d.map_sizes.class_port_bitmaps);
  size("apn_groups", 1, 1048576, d.map_sizes.apn_groups);
  return s.count() == before;
}

}  // namespace aigw::parse_detail
