// Section policies[]: SRv6 headend policies.
#include <aigw/abi.h>
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "config/parse_util.hpp"

namespace aigw::parse_detail {

namespace {

// A segment list: 1..AIGW_MAX_SIDS unicast IPv6 SIDs; each one's line under
// `field`[k].
void read_segments(Sink& s, const Entry& e, std::vector<Ip6>& out, FieldLines& lines,
                   const std::string& field) {
  if (!expect_list(s, e, "IPv6 SIDs")) return;
  const YAML::Node seq = e.value;
  size_t n_seg = seq.size();
  if (n_seg == 0) s.error(e.line(), e.field, "at least one segment is required");
  if (n_seg > AIGW_MAX_SIDS) {
    s.error(e.line(), e.field,
            fmt::format("{} segments, at most {} are supported", n_seg, AIGW_MAX_SIDS));
  }
  for (size_t k = 0; k < n_seg; ++k) {
    Entry se = item(seq[k], index(e.field, k));
    if (auto v = read_ip6_unicast(s, se, "a segment")) out.push_back(*v);
    lines[index(field, k)] = se.line();
  }
}

// Capacities are given for every path or for none; a path with a capacity
// and no weight gets the capacity's share of kMaxPathWeight (at least 1).
void weights_from_capacity(Sink& s, const Entry& e, Policy& p,
                           const std::set<size_t>& explicit_weight) {
  uint64_t most = 0;
  size_t with = 0;
  for (const auto& pp : p.paths)
    if (pp.capacity_mbps) {
      most = std::max(most, *pp.capacity_mbps);
      ++with;
    }
  if (with == 0) return;
  if (with != p.paths.size()) {
    s.error(line_of(e.key), e.field,
            "capacity_mbps is given for some paths only: give it for every path or for none");
    return;
  }
  for (size_t k = 0; k < p.paths.size(); ++k) {
    if (explicit_weight.count(k)) continue;
    uint64_t w = (*p.paths[k].capacity_mbps * kMaxPathWeight + most / 2) / most;
    p.paths[k].weight = static_cast<uint32_t>(std::max<uint64_t>(w, 1));
  }
}

// paths: [{segments: [...], weight: N, capacity_mbps: C}, ...]: 1..AIGW_MAX_PATHS distinct
// segment lists. One path is the single-list form (p.paths stays empty).
void read_paths(Sink& s, const Entry& e, Policy& p) {
  p.lines["paths"] = e.line();
  if (!expect_list(s, e, "paths (each with segments and a weight)")) return;
  const YAML::Node seq = e.value;
  if (seq.size() == 0) s.error(line_of(e.key), e.field, "at least one path is required");
  if (seq.size() > AIGW_MAX_PATHS) {
    s.error(line_of(e.key), e.field,
            fmt::format("{} paths, at most {} are supported", seq.size(), AIGW_MAX_PATHS));
    return;
  }
  std::set<size_t> explicit_weight;
  for (size_t k = 0; k < seq.size(); ++k) {
    std::string path = index(e.field, k);
    if (!expect_object(s, seq[k], path, "segments, weight, capacity_mbps")) continue;
    MapReader m(s, seq[k], path, {"segments", "weight", "capacity_mbps"});
    PolicyPath pp;
    std::string key = index("paths", k);
    p.lines[key] = line_of(seq[k]);
    if (auto se = m.require("segments"))
      read_segments(s, *se, pp.segments, p.lines, join(key, "segments"));
    if (auto we = m.get("weight")) {
      if (auto v = read_uint(s, *we, 1, kMaxPathWeight)) pp.weight = static_cast<uint32_t>(*v);
      p.lines[join(key, "weight")] = we->line();
      explicit_weight.insert(k);
    }
    if (auto ce = m.get("capacity_mbps")) {
      pp.capacity_mbps = read_uint(s, *ce, 1, kMaxCapacityMbps);
      p.lines[join(key, "capacity_mbps")] = ce->line();
    }
    for (size_t j = 0; j < p.paths.size(); ++j) {
      if (!pp.segments.empty() && p.paths[j].segments == pp.segments)
        s.error(line_of(seq[k]), path,
                fmt::format("the same segment list as {}", index(e.field, j)));
    }
    p.paths.push_back(std::move(pp));
  }
  weights_from_capacity(s, e, p, explicit_weight);
  if (!p.paths.empty()) p.segments = p.paths.front().segments;
  if (p.paths.size() == 1) p.paths.clear();
}

}  // namespace

std::optional<Policy> policy_impl(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, prefixes, source, segments, ...")) return std::nullopt;
  Policy p;
  p.line = line_of(n);
  MapReader m(
      s, n, path,
      {"name", "vrf", "prefixes", "mode", "source", "segments", "paths", "hop_limit", "tcp_mss"});
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
  auto seg = m.get("segments");
  auto paths = m.get("paths");
  if (seg && paths) {
    s.error(line_of(paths->key), paths->field,
            "give either segments (one path) or paths (several), not both");
  } else if (seg) {
    p.lines["segments"] = seg->line();
    read_segments(s, *seg, p.segments, p.lines, "segments");
  } else if (paths) {
    read_paths(s, *paths, p);
  } else {
    m.require("segments");  // reports the missing key
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
  // A slot per path.
  uint32_t pol_cap = c.datapath.map_sizes.policies;
  size_t slots = 0;
  for (size_t i = 0; i < c.policies.size() && o.check_capacity && pol_cap >= 1; ++i) {
    const Policy& p = c.policies[i];
    slots += std::max<size_t>(1, p.paths.size());
    if (slots > pol_cap - 1) {
      s.error(p.line, index("policies", pox(i)),
              fmt::format("the policies' paths need {} or more slots, more than "
                          "datapath.map_sizes.policies = {} holds (at most {}: slot 0 is "
                          "reserved; a policy takes a slot per path)",
                          slots, pol_cap, pol_cap - 1));
      break;
    }
  }
}

}  // namespace aigw::parse_detail
