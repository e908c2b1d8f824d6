// Section sids[]: local SIDs and their endpoint behaviours.
#include <aigw/abi.h>
#include <fmt/format.h>

#include "config/behaviors.hpp"
#include "config/parse_util.hpp"

namespace aigw::parse_detail {

namespace {

// The attributes of one SID entry as written (absent: not given).
struct SidEntries {
  std::optional<Entry> table, nexthop, iface;
};

bool unicast(const IpAddr& a) {
  if (is_v6(a)) return !std::get<Ip6>(a).is_zero() && !std::get<Ip6>(a).is_multicast();
  const Ip4& v4 = std::get<Ip4>(a);
  return !v4.is_zero() && !v4.is_multicast() && !v4.is_broadcast();
}

// A next hop on this node itself (loopback) or IPv4 in disguise, for an
// error; nullptr when fine (an IPv6 link-local next hop is an adjacency).
const char* nexthop_problem(const IpAddr& a) {
  if (const auto* v4 = std::get_if<Ip4>(&a)) return v4->b[0] == 127 ? "loopback" : nullptr;
  const Ip6& v6 = std::get<Ip6>(a);
  return v6.is_loopback() ? "loopback" : v6.is_v4_mapped() ? "IPv4-mapped" : nullptr;
}

// `table`: only where the row takes it; a default where it is left out.
void check_table(Sink& s, const BehaviorDesc& d, const SidEntries& e, Sid& sid) {
  if (e.table && !d.takes(kSidAttrTable)) {
    s.error(e.table->line(), e.table->field,
            fmt::format("not valid for {} (only {})", d.name,
                        fmt::join(behaviors_taking(kSidAttrTable), ", ")));
  }
  if (d.takes(kSidAttrTable) && !sid.table) sid.table = kDefaultTable;
}

// `nexthop`: only where the row takes one, of the row's family, unicast.
void check_nexthop(Sink& s, const YAML::Node& n, const std::string& path, const BehaviorDesc& d,
                   const SidEntries& e, const Sid& sid) {
  std::optional<bool> nh_v6 = d.nexthop_v6();
  const char* want = nh_v6.value_or(false) ? "IPv6" : "IPv4";
  if (!nh_v6 && e.nexthop) {
    s.error(e.nexthop->line(), e.nexthop->field, fmt::format("not valid for {}", d.name));
  } else if (nh_v6 && !e.nexthop) {
    if (d.needs(kSidAttrNexthop4 | kSidAttrNexthop6))
      s.error(line_of(n), join(path, "nexthop"),
              fmt::format("required for {} (an {} address)", d.name, want));
  } else if (nh_v6 && sid.nexthop) {
    const IpAddr& a = *sid.nexthop;
    if (is_v6(a) != *nh_v6) {
      s.error(e.nexthop->line(), e.nexthop->field,
              fmt::format("{} needs an {} next hop, got {} address '{}'", d.name, want,
                          is_v6(a) ? "IPv6" : "IPv4", ip_str(a)));
    } else if (!unicast(a)) {
      s.error(e.nexthop->line(), e.nexthop->field,
              fmt::format("expected a unicast next hop, got '{}'", ip_str(a)));
    } else if (const char* kind = nexthop_problem(a)) {
      s.error(e.nexthop->line(), e.nexthop->field,
              fmt::format("{} address '{}' cannot be a next hop", kind, ip_str(a)));
    }
  }
}

// `interface`: only where the row takes one; present where it needs one.
void check_interface(Sink& s, const YAML::Node& n, const std::string& path, const BehaviorDesc& d,
                     const SidEntries& e) {
  if (e.iface && !d.takes(kSidAttrInterface)) {
    s.error(e.iface->line(), e.iface->field,
            fmt::format("not valid for {} (only {})", d.name,
                        fmt::join(behaviors_taking(kSidAttrInterface), ", ")));
  } else if (!e.iface && d.needs(kSidAttrInterface)) {
    s.error(line_of(n), join(path, "interface"),
            fmt::format("required for {} ({})", d.name, d.interface_use));
  }
}

// The row's own check, on a SID that is otherwise valid.
void run_row_check(Sink& s, const YAML::Node& n, const std::string& path, const BehaviorDesc& d,
                   const Sid& sid) {
  if (!d.check) return;
  if (auto issue = d.check(sid)) {
    auto it = sid.lines.find(std::string(issue->key));
    s.error(it == sid.lines.end() ? line_of(n) : it->second, join(path, issue->key),
            std::move(issue->message));
  }
}

// SID blocks are locators (typically /32../64) and SIDs (up to /128).
constexpr unsigned kMinSidPrefix = 16;

std::optional<Prefix> read_sid_prefix(Sink& s, const Entry& e) {
  auto v = read_prefix(s, e);
  if (!v) return std::nullopt;
  if (!v->v6) {
    s.error(e.line(), e.field,
            fmt::format("expected an IPv6 prefix, got IPv4 prefix '{}'", v->str()));
    return std::nullopt;
  }
  if (v->len == 0) {
    s.error(e.line(), e.field, "prefix length must be 1..128");
    return std::nullopt;
  }
  // A local SID is a routable unicast block of this node: never the
  // reserved ::/8 (loopback, unspecified, IPv4-mapped), link-local or
  // multicast space, and never so short that it swallows other traffic.
  const Ip6 start{v->b};  // the block's first address: its kind is the block's
  const char* kind = start.b[0] == 0x00      ? "reserved (::/8: loopback, unspecified, IPv4-mapped)"
                     : start.is_multicast()  ? "multicast"
                     : start.is_link_local() ? "link-local"
                                             : nullptr;
  if (kind) {
    s.error(e.line(), e.field, fmt::format("'{}' is {} address space, not a SID", v->str(), kind));
    return std::nullopt;
  }
  if (v->len < kMinSidPrefix) {
    s.error(e.line(), e.field,
            fmt::format("a SID block shorter than /{} ('{}') would capture other traffic",
                        kMinSidPrefix, v->str()));
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<Sid> sid_impl(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "sid, behavior, ...")) return std::nullopt;
  Sid sid;
  sid.line = line_of(n);
  MapReader m(s, n, path, {"sid", "behavior", "table", "nexthop", "interface"});
  if (auto e = m.require("sid")) {
    sid.lines["sid"] = e->line();
    if (auto v = read_sid_prefix(s, *e)) sid.sid = *v;
  }
  const BehaviorDesc* beh = nullptr;
  if (auto e = m.require("behavior")) {
    auto from = [](std::string_view t) -> std::optional<const BehaviorDesc*> {
      if (const BehaviorDesc* d = find_behavior(t)) return d;
      return std::nullopt;
    };
    auto v = read_enum<const BehaviorDesc*>(s, *e, +from, behavior_names());
    if (v && *v) {
      beh = *v;
      sid.behavior = beh->behavior();
    }
    sid.lines["behavior"] = e->line();
  }
  SidEntries e{m.get("table"), m.get("nexthop"), m.get("interface")};
  if (e.table) {
    if (auto v = read_uint(s, *e.table, 1, kU32Max)) sid.table = static_cast<uint32_t>(*v);
    sid.lines["table"] = e.table->line();
  }
  if (e.nexthop) {
    sid.nexthop = read_ip(s, *e.nexthop);
    sid.lines["nexthop"] = e.nexthop->line();
  }
  if (e.iface) {
    sid.interface = read_ifname(s, *e.iface);
    sid.lines["interface"] = e.iface->line();
  }
  if (beh) {  // which attributes the behaviour takes: its row
    check_table(s, *beh, e, sid);
    check_nexthop(s, n, path, *beh, e, sid);
    check_interface(s, n, path, *beh, e);
    if (s.count() == before) run_row_check(s, n, path, *beh, sid);
  }
  if (s.count() != before) return std::nullopt;
  return sid;
}

// Unique SID prefixes, interfaces that exist, what fits datapath.map_sizes.
void validate_sids(Sink& s, const Config& c, const Origin& o) {
  auto six = [&](size_t i) { return Origin::at(o.sids, i); };
  const std::set<std::string> ports = port_names(c);
  std::map<Prefix, size_t> sids;
  for (size_t i = 0; i < c.sids.size(); ++i) {
    const Sid& sd = c.sids[i];
    std::string path = index("sids", six(i));
    if (auto [pos, fresh] = sids.emplace(sd.sid, i); !fresh) {
      s.error(field_line(sd.lines, "sid", sd.line), join(path, "sid"),
              fmt::format("duplicate SID {} (first at {})", sd.sid.str(),
                          where("sids", six(pos->second), c.sids[pos->second].line)));
    }
    if (sd.interface && !ports.count(*sd.interface) && !o.file_interfaces.count(*sd.interface)) {
      s.error(field_line(sd.lines, "interface", sd.line), join(path, "interface"),
              fmt::format("interface '{}' is not in interfaces[]", *sd.interface));
    }
  }
  uint32_t sid_cap = c.datapath.map_sizes.sids;
  if (o.check_capacity && c.sids.size() > sid_cap) {
    s.error(c.sids[sid_cap].line, "sids",
            fmt::format("{} SIDs do not fit datapath.map_sizes.sids = {}", c.sids.size(), sid_cap));
  }
}

}  // namespace aigw::parse_detail
