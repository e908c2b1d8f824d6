// Section policies[]: SRv6 headend policies.
#include <aigw/abi.h>
#include <fmt/format.h>

#include "config/parse_util.hpp"

namespace aigw::parse_detail {

std::optional<Policy> policy_impl(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, prefixes, source, segments, ...")) return std::nullopt;
  Policy p;
  p.line = line_of(n);
  MapReader m(s, n, path,
              {"name", "vrf", "prefixes", "mode", "source", "segments", "hop_limit", "tcp_mss"});
  if (auto e = m.require("name")) {
    if (auto v = read_name(s, *e)) p.name = *v;
    p.lines["name"] = e->line();
  }
  if (auto e = m.get("vrf")) {
    if (auto v = read_uint(s, *e, 0, kU32Max)) p.vrf = static_cast<uint32_t>(*v);
    p.lines["vrf"] = e->line();
  }
  if (auto e = m.require("prefixes")) {
    p.lines["prefixes"] = e->line();
    if (expect_list(s, *e, "IPv4/IPv6 prefixes")) {
      const YAML::Node seq = e->value;
      if (seq.size() == 0) s.error(e->line(), e->field, "at least one prefix is required");
      for (size_t k = 0; k < seq.size(); ++k) {
        Entry pe = item(seq[k], index(e->field, k));
        if (auto v = read_prefix(s, pe)) p.prefixes.push_back(*v);
        p.lines[index("prefixes", k)] = pe.line();
      }
    }
  }
  if (auto e = m.get("mode")) {
    if (auto v = read_enum<EncapMode>(s, *e, encap_mode_from_string, {"encap", "encap.red"})) {
      p.mode = *v;
    }
    p.lines["mode"] = e->line();
  }
  if (auto e = m.require("source")) {
    if (auto v = read_ip6_unicast(s, *e, "a source address")) p.source = *v;
    p.lines["source"] = e->line();
  }
  if (auto e = m.require("segments")) {
    p.lines["segments"] = e->line();
    if (expect_list(s, *e, "IPv6 SIDs")) {
      const YAML::Node seq = e->value;
      size_t n_seg = seq.size();
      if (n_seg == 0) s.error(e->line(), e->field, "at least one segment is required");
      if (n_seg > AIGW_MAX_SIDS) {
        s.error(e->line(), e->field,
                fmt::format("{} segments, at most {} are supported", n_seg, AIGW_MAX_SIDS));
      }
      for (size_t k = 0; k < n_seg; ++k) {
        Entry se = item(seq[k], index(e->field, k));
        if (auto v = read_ip6_unicast(s, se, "a segment")) p.segments.push_back(*v);
        p.lines[index("segments", k)] = se.line();
      }
    }
  }
  if (auto e = m.get("hop_limit")) {
    if (auto v = read_uint(s, *e, 1, 255)) p.hop_limit = static_cast<uint8_t>(*v);
    p.lines["hop_limit"] = e->line();
  }
  if (auto e = m.get("tcp_mss")) {
    p.tcp_mss = read_mss(s, *e);
    p.lines["tcp_mss"] = e->line();
  }
  if (s.count() != before) return std::nullopt;
  return p;
}

// Unique names; each (vrf, prefix) steered by one policy; what fits
// datapath.map_sizes.
void validate_policies(Sink& s, const Config& c, const Origin& o) {
  auto pox = [&](size_t i) { return Origin::at(o.policies, i); };
  std::map<std::string, size_t> names;
  std::map<std::pair<uint32_t, Prefix>, std::pair<size_t, size_t>> steered;  // -> (policy, k)
  size_t n4 = 0, n6 = 0;
  for (size_t i = 0; i < c.policies.size(); ++i) {
    const Policy& p = c.policies[i];
    std::string path = index("policies", pox(i));
    if (auto [pos, fresh] = names.emplace(p.name, i); !fresh) {
      s.error(field_line(p.lines, "name", p.line), join(path, "name"),
              fmt::format("duplicate policy name '{}' (first at {})", p.name,
                          where("policies", pox(pos->second), c.policies[pos->second].line)));
    }
    for (size_t k = 0; k < p.prefixes.size(); ++k) {
      const Prefix& pf = p.prefixes[k];
      std::string key = index("prefixes", k);
      int line = field_line(p.lines, key, p.line);
      auto [pos, fresh] = steered.emplace(std::pair{p.vrf, pf}, std::pair{i, k});
      if (!fresh) {
        auto [pi, pk] = pos->second;
        const Policy& other = c.policies[pi];
        int oline = field_line(other.lines, index("prefixes", pk), other.line);
        std::string msg =
            pi == i ? fmt::format("{} is listed twice in this policy (first at prefixes[{}])",
                                  pf.str(), pk)
                    : fmt::format("{} in VRF {} is already steered by policy '{}' ({})", pf.str(),
                                  p.vrf, other.name, where("policies", pox(pi), oline));
        s.error(line, join(path, key), msg);
      }
      size_t& count = pf.v6 ? n6 : n4;
      uint32_t cap = pf.v6 ? c.datapath.map_sizes.prefixes6 : c.datapath.map_sizes.prefixes4;
      if (++count == static_cast<size_t>(cap) + 1 && o.check_capacity) {
        s.error(line, join(path, key),
                fmt::format("more than {} {} prefixes: datapath.map_sizes.{} = {}", cap,
                            pf.v6 ? "IPv6" : "IPv4", pf.v6 ? "prefixes6" : "prefixes4", cap));
      }
    }
  }
  uint32_t pol_cap = c.datapath.map_sizes.policies;
  if (o.check_capacity && pol_cap >= 1 && c.policies.size() > pol_cap - 1) {
    const Policy& p = c.policies[pol_cap - 1];
    s.error(p.line, "policies",
            fmt::format("{} policies do not fit datapath.map_sizes.policies = {} (at most {}: "
                        "slot 0 is reserved)",
                        c.policies.size(), pol_cap, pol_cap - 1));
  }
}

}  // namespace aigw::parse_detail
