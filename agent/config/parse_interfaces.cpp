// Section interfaces[]: one entry per port or VLAN of a port.
#include <aigw/abi.h>
#include <fmt/format.h>

#include "config/parse_util.hpp"
#include "config/rate.hpp"

namespace aigw::parse_detail {

std::optional<Interface> interface_impl(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, role, ...")) return std::nullopt;
  Interface i;
  i.line = line_of(n);
  MapReader m(s, n, path,
              {"name", "role", "vrf", "vlan", "xdp_mode", "mss_clamp", "apn_trust", "speed"});
  if (auto e = m.require("name")) {
    if (auto v = read_ifname(s, *e)) i.name = *v;
    i.lines["name"] = e->line();
  }
  std::optional<IfRole> role;
  if (auto e = m.require("role")) {
    role = read_enum<IfRole>(s, *e, if_role_from_string, {"customer", "wan"});
    if (role) i.role = *role;
    i.lines["role"] = e->line();
  }
  if (auto e = m.get("vrf")) {
    if (auto v = read_uint(s, *e, 0, kU32Max)) {
      i.vrf = static_cast<uint32_t>(*v);
      if (role == IfRole::Wan && i.vrf != 0) {
        s.error(e->line(), e->field, "only valid for role customer");
      }
    }
    i.lines["vrf"] = e->line();
  }
  if (auto e = m.get("speed")) {
    if (auto text = scalar(s, *e, "a rate such as 1gbit")) {
      std::string why;
      auto v = parse_rate(*text, &why);
      if (!v)
        s.error(e->line(), e->field, why);
      else if (*v < kMinPortSpeed || *v > kMaxPortSpeed)
        s.error(e->line(), e->field,
                fmt::format("{} is outside {}..{}", rate_str(*v), rate_str(kMinPortSpeed),
                            rate_str(kMaxPortSpeed)));
      else
        i.speed_bps = *v;
    }
    i.lines["speed"] = e->line();
  }
  if (auto e = m.get("vlan")) {
    if (auto v = read_uint(s, *e, 1, 4094)) {
      i.vlan = static_cast<uint16_t>(*v);
      if (role == IfRole::Wan) s.error(e->line(), e->field, "only valid for role customer");
    }
    i.lines["vlan"] = e->line();
  }
  if (auto e = m.get("xdp_mode")) {
    i.xdp_mode = read_enum<XdpMode>(s, *e, xdp_mode_from_string, {"native", "generic"});
    i.lines["xdp_mode"] = e->line();
  }
  if (auto e = m.get("mss_clamp")) {
    if (auto v = read_bool(s, *e)) i.mss_clamp = *v;
    i.lines["mss_clamp"] = e->line();
  }
  if (auto e = m.get("apn_trust")) {
    if (auto v = read_enum<ApnTrust>(s, *e, apn_trust_from_string, {"trust", "rewrite", "strip"})) {
      i.apn = *v;
      if (role == IfRole::Wan) s.error(e->line(), e->field, "only valid for role customer");
    }
    i.lines["apn_trust"] = e->line();
  }
  if (s.count() != before) return std::nullopt;
  return i;
}

// One entry per (name, vlan); one role and one mode per port; what fits
// AIGW_MAX_IFACES.
void validate_interfaces(Sink& s, const Config& c, const Origin& o) {
  auto ifx = [&](size_t i) { return Origin::at(o.interfaces, i); };
  std::map<std::string, size_t> by_key, by_port;
  for (size_t i = 0; i < c.interfaces.size(); ++i) {
    const Interface& it = c.interfaces[i];
    std::string path = index("interfaces", ifx(i));
    if (auto [pos, fresh] = by_key.emplace(interface_key(it), i); !fresh) {
      const Interface& first = c.interfaces[pos->second];
      bool vl = it.vlan.has_value();
      s.error(field_line(it.lines, vl ? "vlan" : "name", it.line), join(path, vl ? "vlan" : "name"),
              fmt::format("duplicate interface entry '{}' (first at {})", interface_key(it),
                          where("interfaces", ifx(pos->second), first.line)));
      continue;
    }
    auto [pos, fresh] = by_port.emplace(it.name, i);
    if (fresh) continue;
    const Interface& first = c.interfaces[pos->second];
    std::string at = where("interfaces", ifx(pos->second), first.line);
    if (it.role != first.role) {
      s.error(field_line(it.lines, "role", it.line), join(path, "role"),
              fmt::format("{} is already a {} port ({}); all entries of one port need the same "
                          "role",
                          it.name, to_string(first.role), at));
    }
    XdpMode mode = it.xdp_mode.value_or(c.datapath.xdp_mode);
    XdpMode first_mode = first.xdp_mode.value_or(c.datapath.xdp_mode);
    if (mode != first_mode) {
      s.error(field_line(it.lines, "xdp_mode", it.line), join(path, "xdp_mode"),
              fmt::format("{} is already attached in {} mode ({}); all entries of one port need "
                          "the same xdp_mode",
                          it.name, to_string(first_mode), at));
    }
  }
  if (c.interfaces.size() > AIGW_MAX_IFACES - 1) {
    size_t i = AIGW_MAX_IFACES - 1;
    s.error(c.interfaces[i].line, "interfaces",
            fmt::format("{} interface entries, at most {} are supported", c.interfaces.size(),
                        AIGW_MAX_IFACES - 1));
  }
}

}  // namespace aigw::parse_detail
