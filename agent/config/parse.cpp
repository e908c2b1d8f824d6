#include "config/parse.hpp"

#include <aigw/abi.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace aigw {

namespace {

constexpr size_t kMaxFileSize = 16 << 20;
constexpr size_t kMaxUnixPath = 107;  // sizeof(sockaddr_un::sun_path) - 1
constexpr size_t kMaxNameLen = 63;    // policy names
constexpr uint64_t kU32Max = std::numeric_limits<uint32_t>::max();

// ------------------------------------------------------------ error sink

class Sink {
 public:
  explicit Sink(const std::string& file) : file_(file) {}
  void error(int line, std::string field, std::string message) {
    errors_.push_back({file_, line, std::move(field), std::move(message)});
  }
  size_t count() const { return errors_.size(); }
  std::vector<ConfigError>& errors() { return errors_; }

 private:
  const std::string& file_;
  std::vector<ConfigError> errors_;
};

int line_of(const YAML::Node& n) {
  if (!n.IsDefined()) return 0;
  int l = n.Mark().line;
  return l < 0 ? 0 : l + 1;
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

std::string index(const std::string& path, size_t i) { return fmt::format("{}[{}]", path, i); }

// What a node is, for "expected X, got Y" messages.
std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "an empty value";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return fmt::format("'{}'", n.Scalar());
    default:
      return "nothing";
  }
}

// "a or b", "one of a, b, c".
std::string alternatives(const std::vector<std::string_view>& names) {
  if (names.size() == 2) return fmt::format("{} or {}", names[0], names[1]);
  return fmt::format("one of {}", fmt::join(names, ", "));
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diag = up;
    }
  }
  return row[b.size()];
}

// ------------------------------------------------------------ map access

// One `key: value` of a mapping. Errors about the value point at the value,
// or at the key when the value is empty (yaml-cpp marks an empty value at
// the start of the next line).
struct Entry {
  YAML::Node key, value;
  std::string field;
  int line() const { return value.IsNull() ? line_of(key) : line_of(value); }
};

// Reads a mapping with a fixed set of keys: reports unknown, duplicate and
// non-scalar keys once, then hands out entries by name.
class MapReader {
 public:
  MapReader(Sink& sink, const YAML::Node& map, std::string path,
            std::initializer_list<std::string_view> allowed)
      : sink_(sink), map_(map), path_(std::move(path)) {
    std::map<std::string, int> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      // Copies: `it->` yields a temporary proxy.
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      if (!k.IsScalar()) {
        sink_.error(line_of(k), path_.empty() ? "<key>" : path_,
                    fmt::format("expected a key name, got {}", describe(k)));
        continue;
      }
      const std::string& name = k.Scalar();
      std::string field = join(path_, name);
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string hint;
        for (std::string_view a : allowed) {
          if (edit_distance(name, a) <= 2) {
            hint = fmt::format(" (did you mean '{}'?)", a);
            break;
          }
        }
        sink_.error(line_of(k), field, "unknown key" + hint);
        continue;
      }
      if (auto [pos, fresh] = seen.emplace(name, line_of(k)); !fresh) {
        sink_.error(line_of(k), field,
                    fmt::format("duplicate key (first at line {})", pos->second));
        continue;
      }
      entries_.emplace(name, Entry{k, v, field});
    }
  }

  std::optional<Entry> get(std::string_view key) const {
    auto it = entries_.find(std::string(key));
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  std::optional<Entry> require(std::string_view key) const {
    auto e = get(key);
    if (!e) sink_.error(line_of(map_), join(path_, key), "required key missing");
    return e;
  }

 private:
  Sink& sink_;
  YAML::Node map_;
  std::string path_;
  std::map<std::string, Entry> entries_;
};

// ------------------------------------------------------------ typed values

std::optional<std::string> scalar(Sink& s, const Entry& e, std::string_view expected) {
  if (!e.value.IsScalar()) {
    s.error(e.line(), e.field, fmt::format("expected {}, got {}", expected, describe(e.value)));
    return std::nullopt;
  }
  return e.value.Scalar();
}

// Decimal digits only: no sign, no spaces, no leading zeros (YAML 1.1 would
// read 0644 as octal), no hex.
std::optional<uint64_t> parse_decimal(std::string_view t) {
  if (t.empty() || t.size() > 19) return std::nullopt;
  if (t.size() > 1 && t[0] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::optional<uint64_t> read_uint(Sink& s, const Entry& e, uint64_t lo, uint64_t hi) {
  std::string expected = fmt::format("an integer {}..{}", lo, hi);
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  auto v = parse_decimal(*t);
  if (!v || *v < lo || *v > hi) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> read_bool(Sink& s, const Entry& e) {
  auto t = scalar(s, e, "true or false");
  if (!t) return std::nullopt;
  if (*t == "true" || *t == "True" || *t == "TRUE") return true;
  if (*t == "false" || *t == "False" || *t == "FALSE") return false;
  s.error(e.line(), e.field, fmt::format("expected true or false, got '{}'", *t));
  return std::nullopt;
}

template <typename T>
std::optional<T> read_enum(Sink& s, const Entry& e, std::optional<T> (*from)(std::string_view),
                           const std::vector<std::string_view>& names) {
  std::string expected = alternatives(names);
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  if (auto v = from(*t)) return v;
  std::string hint;
  for (std::string_view n : names) {
    if (n.size() == t->size() && std::equal(n.begin(), n.end(), t->begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      hint = " (names are case-sensitive)";
    }
  }
  s.error(e.line(), e.field, fmt::format("expected {}, got '{}'{}", expected, *t, hint));
  return std::nullopt;
}

// "auto" -> kMssAuto, "off" -> kMssOff, or 536..65534.
std::optional<uint16_t> read_mss(Sink& s, const Entry& e) {
  constexpr std::string_view expected = "auto, off or an integer 536..65534";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  if (*t == "auto") return kMssAuto;
  if (*t == "off") return kMssOff;
  auto v = parse_decimal(*t);
  if (!v || *v < 536 || *v > 65534) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  return static_cast<uint16_t>(*v);
}

std::optional<IpAddr> read_ip(Sink& s, const Entry& e) {
  auto t = scalar(s, e, "an IP address");
  if (!t) return std::nullopt;
  auto a = parse_ip(*t);
  if (!a) s.error(e.line(), e.field, fmt::format("expected an IP address, got '{}'", *t));
  return a;
}

// An IPv6 unicast address: not ::, not multicast. `what` names it in messages.
std::optional<Ip6> read_ip6_unicast(Sink& s, const Entry& e, std::string_view what) {
  auto t = scalar(s, e, "an IPv6 address");
  if (!t) return std::nullopt;
  auto a = parse_ip(*t);
  if (!a) {
    s.error(e.line(), e.field, fmt::format("expected an IPv6 address, got '{}'", *t));
    return std::nullopt;
  }
  if (!is_v6(*a)) {
    s.error(e.line(), e.field, fmt::format("expected an IPv6 address, got IPv4 address '{}'", *t));
    return std::nullopt;
  }
  const Ip6& v6 = std::get<Ip6>(*a);
  if (v6.is_zero()) {
    s.error(e.line(), e.field, fmt::format("the unspecified address '{}' cannot be {}", *t, what));
    return std::nullopt;
  }
  if (v6.is_multicast()) {
    s.error(e.line(), e.field, fmt::format("multicast address '{}' cannot be {}", *t, what));
    return std::nullopt;
  }
  return v6;
}

std::optional<Prefix> read_prefix(Sink& s, const Entry& e) {
  auto t = scalar(s, e, "an IP prefix");
  if (!t) return std::nullopt;
  auto r = Prefix::parse(*t);
  if (auto* msg = std::get_if<std::string>(&r)) {
    std::string hint;
    if (*msg == "host bits set") {
      auto slash = t->find('/');
      auto a = parse_ip(std::string_view(*t).substr(0, slash));
      auto len = parse_decimal(std::string_view(*t).substr(slash + 1));
      if (a && len) {
        hint = fmt::format(" (did you mean {}?)",
                           Prefix::masked(*a, static_cast<uint8_t>(*len)).str());
      }
    } else if (*msg == "missing prefix length") {
      if (auto a = parse_ip(*t)) {
        hint = fmt::format(" (write {}/{} for a single address)", *t, is_v6(*a) ? 128 : 32);
      }
    }
    s.error(e.line(), e.field, fmt::format("bad prefix '{}': {}{}", *t, *msg, hint));
    return std::nullopt;
  }
  return std::get<Prefix>(r);
}

// Kernel rules (dev_valid_name): 1..15 bytes, not "." or "..", no '/', ':'
// or whitespace.
bool valid_ifname(std::string_view n) {
  if (n.empty() || n.size() > 15 || n == "." || n == "..") return false;
  return std::none_of(n.begin(), n.end(), [](char c) {
    return c == '/' || c == ':' || c == '\0' || std::isspace(static_cast<unsigned char>(c));
  });
}

std::optional<std::string> read_ifname(Sink& s, const Entry& e) {
  constexpr std::string_view expected =
      "an interface name (1..15 characters, no '/', ':' or whitespace)";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  if (!valid_ifname(*t)) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  return t;
}

// Policy names: used in aigwctl arguments, logs and metric labels.
std::optional<std::string> read_name(Sink& s, const Entry& e) {
  constexpr std::string_view expected = "a name of 1..63 letters, digits, '.', '_' or '-'";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  bool ok =
      !t->empty() && t->size() <= kMaxNameLen && std::all_of(t->begin(), t->end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      });
  if (!ok) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  return t;
}

std::optional<std::string> read_abs_path(Sink& s, const Entry& e, size_t max_len) {
  auto t = scalar(s, e, "an absolute path");
  if (!t) return std::nullopt;
  if (t->empty() || (*t)[0] != '/' || t->find('\0') != std::string::npos) {
    s.error(e.line(), e.field, fmt::format("expected an absolute path, got '{}'", *t));
    return std::nullopt;
  }
  if (t->size() > max_len) {
    s.error(e.line(), e.field,
            fmt::format("path is {} bytes long, at most {} fit", t->size(), max_len));
    return std::nullopt;
  }
  return t;
}

// "0600", "600": owner/group/other permission bits in octal.
std::optional<uint32_t> read_mode(Sink& s, const Entry& e) {
  constexpr std::string_view expected = "an octal mode string like \"0600\" (0000..0777)";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  std::string_view v = *t;
  if (v.size() == 4 && v[0] == '0') v.remove_prefix(1);
  bool ok =
      v.size() == 3 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '7'; });
  if (!ok) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  return static_cast<uint32_t>(std::stoul(std::string(v), nullptr, 8));
}

// agent.metrics_listen: "IPV4:PORT" or "[IPV6]:PORT" (IP literals only: the
// agent never resolves names), port 1..65535; "off" or "" disables (-> "").
// The accepted text is what civetweb takes as listening_ports, unchanged.
std::optional<std::string> read_listen(Sink& s, const Entry& e) {
  constexpr std::string_view expected = "IPV4:PORT, [IPV6]:PORT or off";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  if (t->empty() || *t == "off") return std::string();
  auto bad = [&](std::string_view why) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}': {}", expected, *t, why));
    return std::nullopt;
  };
  std::string_view v = *t, host, port;
  if (v.front() == '[') {
    auto close = v.find(']');
    if (close == std::string_view::npos) return bad("missing ']' after the IPv6 address");
    host = v.substr(1, close - 1);
    if (close + 1 >= v.size() || v[close + 1] != ':') return bad("missing ':PORT' after ']'");
    port = v.substr(close + 2);
    auto a = Ip6::parse(host);
    if (!a) return bad(fmt::format("'{}' is not an IPv6 address", host));
    if (a->is_multicast()) return bad("a multicast address cannot be listened on");
  } else {
    auto colon = v.rfind(':');
    if (colon == std::string_view::npos) return bad("missing ':PORT'");
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
    if (host.empty()) return bad("missing host (127.0.0.1 for this machine only)");
    if (host.find(':') != std::string_view::npos)
      return bad(fmt::format("write an IPv6 address in brackets: [{}]:{}", host, port));
    auto a = Ip4::parse(host);
    if (!a) return bad(fmt::format("'{}' is not an IPv4 address (no host names)", host));
    if (a->is_multicast() || a->is_broadcast())
      return bad("a multicast or broadcast address cannot be listened on");
  }
  auto p = parse_decimal(port);
  if (!p || *p < 1 || *p > 65535) return bad(fmt::format("port '{}' is not 1..65535", port));
  return t;
}

// A sequence value; `what` describes the elements.
bool expect_list(Sink& s, const Entry& e, std::string_view what) {
  if (e.value.IsSequence()) return true;
  s.error(e.line(), e.field, fmt::format("expected a list of {}, got {}", what, describe(e.value)));
  return false;
}

// A mapping value or an empty one (section left empty: all defaults).
bool expect_map_or_empty(Sink& s, const Entry& e) {
  if (e.value.IsMap() || e.value.IsNull()) return true;
  s.error(e.line(), e.field, fmt::format("expected a mapping, got {}", describe(e.value)));
  return false;
}

Entry item(const YAML::Node& seq_item, std::string field) {
  return Entry{seq_item, seq_item, std::move(field)};
}

bool expect_object(Sink& s, const YAML::Node& n, const std::string& path, std::string_view keys) {
  if (n.IsMap()) return true;
  s.error(line_of(n), path, fmt::format("expected a mapping ({}), got {}", keys, describe(n)));
  return false;
}

// ------------------------------------------------------------ objects

std::optional<Interface> interface_impl(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, role, ...")) return std::nullopt;
  Interface i;
  i.line = line_of(n);
  MapReader m(s, n, path, {"name", "role", "vrf", "vlan", "xdp_mode", "mss_clamp", "apn_trust"});
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

std::optional<Sid> sid_impl(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "sid, behavior, ...")) return std::nullopt;
  Sid sid;
  sid.line = line_of(n);
  MapReader m(s, n, path, {"sid", "behavior", "table", "nexthop", "interface"});
  if (auto e = m.require("sid")) {
    sid.lines["sid"] = e->line();
    if (auto v = read_prefix(s, *e)) {
      if (!v->v6) {
        s.error(e->line(), e->field,
                fmt::format("expected an IPv6 prefix, got IPv4 prefix '{}'", v->str()));
      } else if (v->len == 0) {
        s.error(e->line(), e->field, "prefix length must be 1..128");
      } else {
        sid.sid = *v;
      }
    }
  }
  std::optional<Behavior> beh;
  if (auto e = m.require("behavior")) {
    beh = read_enum<Behavior>(
        s, *e, behavior_from_string,
        {"End", "End.X", "End.DX4", "End.DX6", "End.DT4", "End.DT6", "End.DT46"});
    if (beh) sid.behavior = *beh;
    sid.lines["behavior"] = e->line();
  }
  auto table = m.get("table");
  if (table) {
    if (auto v = read_uint(s, *table, 1, kU32Max)) sid.table = static_cast<uint32_t>(*v);
    sid.lines["table"] = table->line();
  }
  auto nexthop = m.get("nexthop");
  if (nexthop) {
    sid.nexthop = read_ip(s, *nexthop);
    sid.lines["nexthop"] = nexthop->line();
  }
  auto iface = m.get("interface");
  if (iface) {
    sid.interface = read_ifname(s, *iface);
    sid.lines["interface"] = iface->line();
  }

  // Which fields the behaviour takes.
  if (beh) {
    const char* bname = to_string(*beh);
    bool dt = is_dt(*beh);
    if (table && !dt) {
      s.error(table->line(), table->field,
              fmt::format("not valid for {} (only End.DT4, End.DT6, End.DT46)", bname));
    }
    if (dt && !sid.table) sid.table = kDefaultTable;

    std::optional<bool> nh_v6;  // family the behaviour needs, nullopt: no next hop
    if (*beh == Behavior::EndX || *beh == Behavior::EndDX6) nh_v6 = true;
    if (*beh == Behavior::EndDX4) nh_v6 = false;
    if (!nh_v6 && nexthop) {
      s.error(nexthop->line(), nexthop->field, fmt::format("not valid for {}", bname));
    } else if (nh_v6 && !nexthop) {
      s.error(line_of(n), join(path, "nexthop"),
              fmt::format("required for {} (an {} address)", bname, *nh_v6 ? "IPv6" : "IPv4"));
    } else if (nh_v6 && sid.nexthop) {
      const IpAddr& a = *sid.nexthop;
      std::string fam = is_v6(a) ? "IPv6" : "IPv4";
      if (is_v6(a) != *nh_v6) {
        s.error(nexthop->line(), nexthop->field,
                fmt::format("{} needs an {} next hop, got {} address '{}'", bname,
                            *nh_v6 ? "IPv6" : "IPv4", fam, ip_str(a)));
      } else if (is_v6(a) ? (std::get<Ip6>(a).is_zero() || std::get<Ip6>(a).is_multicast())
                          : (std::get<Ip4>(a).is_zero() || std::get<Ip4>(a).is_multicast() ||
                             std::get<Ip4>(a).is_broadcast())) {
        s.error(nexthop->line(), nexthop->field,
                fmt::format("expected a unicast next hop, got '{}'", ip_str(a)));
      }
    }

    bool takes_iface =
        *beh == Behavior::EndX || *beh == Behavior::EndDX4 || *beh == Behavior::EndDX6;
    if (iface && !takes_iface) {
      s.error(iface->line(), iface->field,
              fmt::format("not valid for {} (only End.X, End.DX4, End.DX6)", bname));
    } else if (!iface && *beh == Behavior::EndX) {
      s.error(line_of(n), join(path, "interface"),
              "required for End.X (the adjacency's interface)");
    }
  }
  if (s.count() != before) return std::nullopt;
  return sid;
}

// ------------------------------------------------------------ issue 3: APN, classification

// Decimal, or hexadecimal with 0x (option types, APN group values).
std::optional<uint64_t> parse_number(std::string_view t) {
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    t.remove_prefix(2);
    if (t.empty() || t.size() > 16) return std::nullopt;
    uint64_t v = 0;
    for (char c : t) {
      int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
              : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                          : -1;
      if (d < 0) return std::nullopt;
      v = v << 4 | static_cast<uint64_t>(d);
    }
    return v;
  }
  return parse_decimal(t);
}

std::optional<uint64_t> read_number(Sink& s, const Entry& e, uint64_t lo, uint64_t hi) {
  std::string expected = fmt::format("an integer {}..{} (decimal or 0x hex)", lo, hi);
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  auto v = parse_number(*t);
  if (!v || *v < lo || *v > hi) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  return v;
}

// "15s", "1m", "1h" or a number of seconds.
std::optional<uint32_t> read_duration(Sink& s, const Entry& e, uint32_t lo, uint32_t hi) {
  std::string expected =
      fmt::format("a duration {}s..{}s (\"30s\", \"5m\", \"1h\" or seconds)", lo, hi);
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  std::string_view v = *t;
  uint64_t unit = 1;
  if (!v.empty()) {
    char u = v.back();
    if (u == 's' || u == 'm' || u == 'h') {
      unit = u == 's' ? 1 : u == 'm' ? 60 : 3600;
      v.remove_suffix(1);
    }
  }
  auto n = parse_decimal(v);
  if (!n || *n > hi || *n * unit < lo || *n * unit > hi) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  return static_cast<uint32_t>(*n * unit);
}

int field_line_or(const FieldLines& lines, const std::string& key, int fallback) {
  auto it = lines.find(key);
  return it == lines.end() ? fallback : it->second;
}

// Writes `width` bits of `v` at bit offset `off` (big-endian) into b.
void put_bits(std::array<uint8_t, 16>& b, unsigned off, unsigned width, uint64_t v) {
  for (unsigned i = 0; i < width; i++) {
    unsigned bit = off + i;
    if ((v >> (width - 1 - i)) & 1) b[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
  }
}

}  // namespace

std::variant<ApnId, std::string> parse_apn_id(std::string_view t, const ApnSettings& a) {
  ApnId id;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') &&
      t.find(':') == std::string_view::npos) {
    std::string_view h = t.substr(2);
    if (h.size() != 8 && h.size() != 16 && h.size() != 32)
      return fmt::format("{} hex digits, expected 8, 16 or 32 (a 32, 64 or 128-bit ID)", h.size());
    id.len = static_cast<uint8_t>(h.size() / 2);
    for (size_t i = 0; i < h.size(); i += 2) {
      auto v = parse_number(fmt::format("0x{}", h.substr(i, 2)));
      if (!v) return "not a hex number";
      id.b[i / 2] = static_cast<uint8_t>(*v);
    }
    return id;
  }
  auto colon = t.find(':');
  if (colon == std::string_view::npos)
    return std::string("expected 0x and 8, 16 or 32 hex digits, or APP:USER");
  auto app = parse_number(t.substr(0, colon));
  auto user = parse_number(t.substr(colon + 1));
  if (!app || !user) return std::string("APP and USER must be decimal or 0x hex numbers");
  auto fits = [](uint64_t v, unsigned bits) { return bits >= 64 || v < (uint64_t{1} << bits); };
  if (!fits(*app, a.app_group_bits))
    return fmt::format("APP {} does not fit apn.app_group_bits = {}", *app, a.app_group_bits);
  if (!fits(*user, a.user_group_bits))
    return fmt::format("USER {} does not fit apn.user_group_bits = {}", *user, a.user_group_bits);
  id.len = static_cast<uint8_t>(a.id_bits / 8);
  put_bits(id.b, 0, a.app_group_bits, *app);
  put_bits(id.b, a.app_group_bits, a.user_group_bits, *user);
  return id;
}

std::optional<uint8_t> protocol_from_string(std::string_view s) {
  if (s == "tcp") return 6;
  if (s == "udp") return 17;
  if (s == "icmp") return 1;
  if (s == "icmpv6") return 58;
  if (s == "sctp") return 132;
  if (auto v = parse_decimal(s); v && *v <= 255) return static_cast<uint8_t>(*v);
  return std::nullopt;
}

namespace {

std::optional<ApnId> read_apn_id(Sink& s, const Entry& e, const ApnSettings& a) {
  constexpr std::string_view expected = "an APN ID (0x + 8/16/32 hex digits, or APP:USER)";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  auto r = parse_apn_id(*t, a);
  if (auto* msg = std::get_if<std::string>(&r)) {
    s.error(e.line(), e.field, fmt::format("bad APN ID '{}': {}", *t, *msg));
    return std::nullopt;
  }
  return std::get<ApnId>(r);
}

// "N" or "LO-HI".
std::optional<PortRange> read_ports(Sink& s, const Entry& e) {
  constexpr std::string_view expected = "a port 0..65535 or a range \"LO-HI\"";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  std::string_view v = *t;
  auto dash = v.find('-');
  auto lo = parse_decimal(v.substr(0, dash));
  auto hi = dash == std::string_view::npos ? lo : parse_decimal(v.substr(dash + 1));
  if (!lo || !hi || *lo > 65535 || *hi > 65535) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  if (*lo > *hi) {
    s.error(e.line(), e.field, fmt::format("range '{}' is empty: {} > {}", *t, *lo, *hi));
    return std::nullopt;
  }
  return PortRange{static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)};
}

// One prefix or a list of prefixes. Lines go to lines["<key>[k]"].
std::vector<Prefix> read_prefixes(Sink& s, const Entry& e, const std::string& key,
                                  FieldLines& lines) {
  std::vector<Prefix> out;
  if (e.value.IsScalar()) {
    if (auto p = read_prefix(s, e)) out.push_back(*p);
    lines[index(key, 0)] = e.line();
    return out;
  }
  if (!expect_list(s, e, "IPv4/IPv6 prefixes")) return out;
  if (e.value.size() == 0) s.error(e.line(), e.field, "at least one prefix is required");
  for (size_t k = 0; k < e.value.size(); ++k) {
    Entry pe = item(e.value[k], index(e.field, k));
    if (auto p = read_prefix(s, pe)) out.push_back(*p);
    lines[index(key, k)] = pe.line();
  }
  return out;
}

std::optional<Tenant> tenant_impl(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, id")) return std::nullopt;
  Tenant t;
  t.line = line_of(n);
  MapReader m(s, n, path, {"name", "id"});
  if (auto e = m.require("name")) {
    if (auto v = read_name(s, *e)) {
      t.name = *v;
      if (t.name == "unclassified")
        s.error(e->line(), e->field, "'unclassified' is reserved (tenant id 0)");
    }
    t.lines["name"] = e->line();
  }
  if (auto e = m.require("id")) {
    if (auto v = read_uint(s, *e, 1, AIGW_MAX_TENANTS - 1)) t.id = static_cast<uint16_t>(*v);
    t.lines["id"] = e->line();
  }
  if (s.count() != before) return std::nullopt;
  return t;
}

std::optional<ServiceClass> class_impl(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, id")) return std::nullopt;
  ServiceClass c;
  c.line = line_of(n);
  MapReader m(s, n, path, {"name", "id"});
  if (auto e = m.require("name")) {
    if (auto v = read_name(s, *e)) {
      c.name = *v;
      for (unsigned k = 0; k < AIGW_CLASS_BUILTIN_MAX; k++)
        if (c.name == aigw_class_builtin_name(k))
          s.error(e->line(), e->field, fmt::format("'{}' is a built-in class (id {})", c.name, k));
    }
    c.lines["name"] = e->line();
  }
  if (auto e = m.require("id")) {
    if (auto v = read_uint(s, *e, AIGW_CLASS_BUILTIN_MAX, AIGW_MAX_CLASSES - 1))
      c.id = static_cast<uint8_t>(*v);
    c.lines["id"] = e->line();
  }
  if (s.count() != before) return std::nullopt;
  return c;
}

// "eth1" or "eth1 vlan 10" (interface_key()).
std::optional<std::string> read_interface_key(Sink& s, const Entry& e) {
  constexpr std::string_view expected = "an interface (\"eth1\" or \"eth1 vlan 10\")";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  std::string_view v = *t;
  auto sp = v.find(" vlan ");
  bool ok = valid_ifname(v.substr(0, sp));
  if (ok && sp != std::string_view::npos) {
    auto vid = parse_decimal(v.substr(sp + 6));
    ok = vid && *vid >= 1 && *vid <= 4094;
  }
  if (!ok) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  return t;
}

std::optional<ClassRule> rule_impl(Sink& s, const YAML::Node& n, const std::string& path,
                                   const ApnSettings& apn) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, priority, match, set")) return std::nullopt;
  ClassRule r;
  r.line = line_of(n);
  MapReader m(s, n, path, {"name", "priority", "match", "set"});
  if (auto e = m.require("name")) {
    if (auto v = read_name(s, *e)) r.name = *v;
    r.lines["name"] = e->line();
  }
  if (auto e = m.get("priority")) {
    if (auto v = read_uint(s, *e, 0, kU32Max)) r.priority = static_cast<uint32_t>(*v);
    r.lines["priority"] = e->line();
  }
  if (auto e = m.get("match"); e && expect_map_or_empty(s, *e) && e->value.IsMap()) {
    MapReader mm(s, e->value, e->field,
                 {"interface", "src", "dst", "protocol", "sport", "dport", "dscp", "apn"});
    if (auto f = mm.get("interface")) {
      r.interface = read_interface_key(s, *f);
      r.lines["interface"] = f->line();
    }
    if (auto f = mm.get("src")) r.src = read_prefixes(s, *f, "src", r.lines);
    if (auto f = mm.get("dst")) r.dst = read_prefixes(s, *f, "dst", r.lines);
    auto fam = [](const std::vector<Prefix>& v, bool v6) {
      return std::any_of(v.begin(), v.end(), [&](const Prefix& p) { return p.v6 == v6; });
    };
    if (!r.src.empty() && !r.dst.empty() && !(fam(r.src, false) && fam(r.dst, false)) &&
        !(fam(r.src, true) && fam(r.dst, true))) {
      s.error(field_line_or(r.lines, "dst[0]", e->line()), join(e->field, "dst"),
              "src and dst have no address family in common: the rule can never match");
    }
    if (auto f = mm.get("protocol")) {
      r.protocol = read_enum<uint8_t>(s, *f, protocol_from_string,
                                      {"tcp", "udp", "icmp", "icmpv6", "sctp", "0..255"});
      r.lines["protocol"] = f->line();
    }
    for (auto [key, out] : {std::pair{"sport", &r.sport}, {"dport", &r.dport}}) {
      auto f = mm.get(key);
      if (!f) continue;
      *out = read_ports(s, *f);
      r.lines[key] = f->line();
      if (r.protocol && *r.protocol != 6 && *r.protocol != 17 && *r.protocol != 132) {
        s.error(f->line(), f->field,
                fmt::format("ports need protocol tcp, udp or sctp (or none), not {}",
                            protocol_str(*r.protocol)));
      }
    }
    if (auto f = mm.get("dscp")) {
      if (auto v = read_uint(s, *f, 0, 63)) r.dscp = static_cast<uint8_t>(*v);
      r.lines["dscp"] = f->line();
    }
    if (auto f = mm.get("apn")) {
      r.lines["apn"] = f->line();
      ApnMatch am;
      std::optional<ApnId> value, mask;
      if (f->value.IsMap()) {
        MapReader am_r(s, f->value, f->field, {"value", "mask"});
        if (auto g = am_r.require("value")) value = read_apn_id(s, *g, apn);
        if (auto g = am_r.get("mask")) {
          mask = read_apn_id(s, *g, apn);
          if (mask && value && mask->len != value->len) {
            s.error(
                g->line(), g->field,
                fmt::format("mask is {} bits, value is {} bits", mask->len * 8, value->len * 8));
            mask.reset();
          }
        }
      } else {
        value = read_apn_id(s, *f, apn);  // shorthand: exact match
      }
      if (value) {
        am.value = *value;
        if (mask) {
          am.mask = *mask;
        } else {
          am.mask.len = value->len;
          std::fill_n(am.mask.b.begin(), value->len, 0xff);
        }
        r.apn = am;
      }
    }
  }
  if (auto e = m.get("set"); e && expect_map_or_empty(s, *e) && e->value.IsMap()) {
    MapReader ms(s, e->value, e->field, {"tenant", "class", "dscp", "policy", "apn"});
    if (auto f = ms.get("tenant")) {
      r.tenant = read_name(s, *f);
      r.lines["tenant"] = f->line();
    }
    if (auto f = ms.get("class")) {
      r.service_class = read_name(s, *f);
      r.lines["class"] = f->line();
    }
    if (auto f = ms.get("dscp")) {
      if (auto v = read_uint(s, *f, 0, 63)) r.set_dscp = static_cast<uint8_t>(*v);
      r.lines["set.dscp"] = f->line();
    }
    if (auto f = ms.get("policy")) {
      r.policy = read_name(s, *f);
      r.lines["policy"] = f->line();
    }
    if (auto f = ms.get("apn")) {
      r.set_apn = read_apn_id(s, *f, apn);
      r.lines["set.apn"] = f->line();
    }
  }
  if (s.count() != before) return std::nullopt;
  return r;
}

// ------------------------------------------------------------ validation

// Positions of the config's objects in the file (parse_config skips objects
// that failed to parse, so vector index != list index).
struct Origin {
  std::vector<size_t> interfaces, policies, sids, tenants, classes, rules;
  int default_line = 0;  // classification.default
  // Names of all interface entries of the file, parsed or not: a SID that
  // refers to an entry with errors gets no second, misleading error.
  std::set<std::string> file_interfaces;
  bool check_capacity = true;
};

int field_line(const FieldLines& lines, const std::string& key, int fallback) {
  auto it = lines.find(key);
  return it == lines.end() ? fallback : it->second;
}

std::string where(std::string_view list, size_t idx, int line) {
  return line > 0 ? fmt::format("{}[{}], line {}", list, idx, line)
                  : fmt::format("{}[{}]", list, idx);
}

void validate_impl(Sink& s, const Config& c, const Origin& o) {
  auto ifx = [&](size_t i) { return o.interfaces.empty() ? i : o.interfaces[i]; };
  auto pox = [&](size_t i) { return o.policies.empty() ? i : o.policies[i]; };
  auto six = [&](size_t i) { return o.sids.empty() ? i : o.sids[i]; };

  // Interfaces: one entry per (name, vlan); one role and one mode per port.
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

  // Policies: unique names, each (vrf, prefix) steered by one policy.
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

  // SIDs: unique prefixes, interfaces that exist.
  std::map<Prefix, size_t> sids;
  for (size_t i = 0; i < c.sids.size(); ++i) {
    const Sid& sd = c.sids[i];
    std::string path = index("sids", six(i));
    if (auto [pos, fresh] = sids.emplace(sd.sid, i); !fresh) {
      s.error(field_line(sd.lines, "sid", sd.line), join(path, "sid"),
              fmt::format("duplicate SID {} (first at {})", sd.sid.str(),
                          where("sids", six(pos->second), c.sids[pos->second].line)));
    }
    if (sd.interface && !by_port.count(*sd.interface) && !o.file_interfaces.count(*sd.interface)) {
      s.error(field_line(sd.lines, "interface", sd.line), join(path, "interface"),
              fmt::format("interface '{}' is not in interfaces[]", *sd.interface));
    }
  }
  uint32_t sid_cap = c.datapath.map_sizes.sids;
  if (o.check_capacity && c.sids.size() > sid_cap) {
    s.error(c.sids[sid_cap].line, "sids",
            fmt::format("{} SIDs do not fit datapath.map_sizes.sids = {}", c.sids.size(), sid_cap));
  }

  // Tenants and classes: unique names and ids.
  auto unique = [&](const auto& list, std::string_view section, const std::vector<size_t>& pos,
                    const char* what) {
    std::map<std::string, size_t> names;
    std::map<unsigned, size_t> ids;
    auto px = [&](size_t i) { return pos.empty() ? i : pos[i]; };
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& x = list[i];
      std::string path = index(std::string(section), px(i));
      if (auto [p, fresh] = names.emplace(x.name, i); !fresh)
        s.error(field_line(x.lines, "name", x.line), join(path, "name"),
                fmt::format("duplicate {} name '{}' (first at {})", what, x.name,
                            where(section, px(p->second), list[p->second].line)));
      if (auto [p, fresh] = ids.emplace(unsigned{x.id}, i); !fresh)
        s.error(
            field_line(x.lines, "id", x.line), join(path, "id"),
            fmt::format("{} id {} already used by '{}' ({})", what, unsigned{x.id},
                        list[p->second].name, where(section, px(p->second), list[p->second].line)));
    }
  };
  unique(c.tenants, "tenants", o.tenants, "tenant");
  unique(c.classes, "classes", o.classes, "class");

  // Classification: references, unique names, what fits the datapath.
  const auto& cl = c.classification;
  auto known_tenant = [&](const std::string& n) {
    return n == "unclassified" ||
           std::any_of(c.tenants.begin(), c.tenants.end(), [&](auto& t) { return t.name == n; });
  };
  auto known_class = [&](const std::string& n) {
    for (unsigned k = 0; k < AIGW_CLASS_BUILTIN_MAX; k++)
      if (n == aigw_class_builtin_name(k)) return true;
    return std::any_of(c.classes.begin(), c.classes.end(), [&](auto& x) { return x.name == n; });
  };
  if (cl.default_tenant && !known_tenant(*cl.default_tenant))
    s.error(o.default_line, "classification.default.tenant",
            fmt::format("unknown tenant '{}' (not in tenants[])", *cl.default_tenant));
  if (!known_class(cl.default_class))
    s.error(o.default_line, "classification.default.class",
            fmt::format("unknown class '{}' (not built-in, not in classes[])", cl.default_class));
  std::map<std::string, const Interface*> ifaces;
  for (const auto& it : c.interfaces) ifaces.emplace(interface_key(it), &it);
  std::map<std::string, const Policy*> pols;
  for (const auto& p : c.policies) pols.emplace(p.name, &p);
  std::map<std::string, size_t> rule_names;
  std::set<std::pair<std::array<uint8_t, 16>, uint8_t>> masks;
  auto rx = [&](size_t i) { return o.rules.empty() ? i : o.rules[i]; };
  for (size_t i = 0; i < cl.rules.size(); ++i) {
    const ClassRule& r = cl.rules[i];
    std::string path = index("classification.rules", rx(i));
    auto at = [&](const char* key) { return field_line(r.lines, key, r.line); };
    if (auto [p, fresh] = rule_names.emplace(r.name, i); !fresh)
      s.error(at("name"), join(path, "name"),
              fmt::format("duplicate rule name '{}' (first at {})", r.name,
                          where("classification.rules", rx(p->second), cl.rules[p->second].line)));
    const Interface* rif = nullptr;
    if (r.interface) {
      auto it = ifaces.find(*r.interface);
      if (it == ifaces.end()) {
        // An entry of the file that failed to parse has its own error already.
        std::string port = r.interface->substr(0, r.interface->find(' '));
        bool failed_entry = o.file_interfaces.count(port) && !by_port.count(port);
        if (!failed_entry)
          s.error(at("interface"), join(path, "match.interface"),
                  fmt::format("interface '{}' is not in interfaces[]", *r.interface));
      } else if (it->second->role != IfRole::Customer) {
        s.error(at("interface"), join(path, "match.interface"),
                fmt::format("interface '{}' is a wan port; rules match customer interfaces",
                            *r.interface));
      } else {
        rif = it->second;
      }
    }
    if (r.policy) {
      auto it = pols.find(*r.policy);
      if (it == pols.end()) {
        s.error(at("policy"), join(path, "set.policy"),
                fmt::format("policy '{}' is not in policies[]", *r.policy));
      } else if (rif && rif->vrf != it->second->vrf) {
        s.error(at("policy"), join(path, "set.policy"),
                fmt::format("policy '{}' is in VRF {}, interface '{}' in VRF {}", *r.policy,
                            it->second->vrf, *r.interface, rif->vrf));
      } else if (!rif) {
        // Without match.interface the rule matches every customer port: it
        // must not steer a port's traffic into another VRF's policy.
        for (const auto& i : c.interfaces)
          if (i.role == IfRole::Customer && i.vrf != it->second->vrf) {
            s.error(at("policy"), join(path, "set.policy"),
                    fmt::format("policy '{}' is in VRF {} but the rule matches interface '{}' "
                                "in VRF {}: add match.interface",
                                *r.policy, it->second->vrf, interface_key(i), i.vrf));
            break;
          }
      }
    }
    if (r.tenant && !known_tenant(*r.tenant))
      s.error(at("tenant"), join(path, "set.tenant"),
              fmt::format("unknown tenant '{}' (not in tenants[])", *r.tenant));
    if (r.service_class && !known_class(*r.service_class))
      s.error(at("class"), join(path, "set.class"),
              fmt::format("unknown class '{}' (not built-in, not in classes[])", *r.service_class));
    if (r.apn) {
      masks.insert({r.apn->mask.b, r.apn->mask.len});
      if (masks.size() == AIGW_APN_MAX_MASKS + 1)
        s.error(at("apn"), join(path, "match.apn"),
                fmt::format("rule '{}' brings the number of distinct APN masks over {}", r.name,
                            AIGW_APN_MAX_MASKS));
    }
    if (i == AIGW_CLS_MAX_RULES)
      s.error(r.line, path,
              fmt::format("rule '{}' is rule {}: at most {} classification rules are supported",
                          r.name, i + 1, AIGW_CLS_MAX_RULES));
  }
}

// ------------------------------------------------------------ sections

void parse_agent(Sink& s, const Entry& e, AgentSettings& a) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field,
              {"socket", "socket_mode", "pin_path", "log_level", "metrics_listen"});
  if (auto f = m.get("socket")) {
    if (auto v = read_abs_path(s, *f, kMaxUnixPath)) a.socket = *v;
  }
  if (auto f = m.get("socket_mode")) {
    if (auto v = read_mode(s, *f)) a.socket_mode = *v;
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

// Parses each entry of a list section with `one`, keeping the successes and
// their list positions.
template <typename T, typename F>
void parse_list(Sink& s, const std::optional<Entry>& e, std::string_view what, std::vector<T>& out,
                std::vector<size_t>& pos, F one) {
  if (!e || e->value.IsNull()) return;
  if (!expect_list(s, *e, what)) return;
  for (size_t i = 0; i < e->value.size(); ++i) {
    if (auto v = one(s, e->value[i], index(e->field, i))) {
      out.push_back(std::move(*v));
      pos.push_back(i);
    }
  }
}

template <typename T>
std::variant<T, std::vector<ConfigError>> one_object(
    std::optional<T> (*impl)(Sink&, const YAML::Node&, const std::string&), const YAML::Node& n,
    const std::string& filename, const std::string& path) {
  Sink s(filename);
  auto v = impl(s, n, path);
  if (v && s.count() == 0) return std::move(*v);
  return std::move(s.errors());
}

void parse_apn(Sink& s, const Entry& e, ApnSettings& a) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field,
              {"option_type", "header", "id_bits", "app_group_bits", "user_group_bits"});
  if (auto f = m.get("option_type")) {
    // 0 and 1 are Pad1 and PadN.
    if (auto v = read_number(s, *f, 2, 255)) a.option_type = static_cast<uint8_t>(*v);
  }
  if (auto f = m.get("header")) {
    if (auto v = read_enum<ApnHeader>(s, *f, apn_header_from_string, {"hop-by-hop", "destination"}))
      a.header = *v;
  }
  std::optional<Entry> bits_entry = m.get("id_bits");
  if (bits_entry) {
    auto from = [](std::string_view t) -> std::optional<uint8_t> {
      if (t == "32") return 32;
      if (t == "64") return 64;
      if (t == "128") return 128;
      return std::nullopt;
    };
    if (auto v = read_enum<uint8_t>(s, *bits_entry, +from, {"32", "64", "128"})) a.id_bits = *v;
  }
  auto app = m.get("app_group_bits");
  if (app) {
    if (auto v = read_uint(s, *app, 1, 64)) a.app_group_bits = static_cast<uint8_t>(*v);
  }
  auto user = m.get("user_group_bits");
  if (user) {
    if (auto v = read_uint(s, *user, 0, 64)) a.user_group_bits = static_cast<uint8_t>(*v);
  }
  if (a.app_group_bits + a.user_group_bits > a.id_bits) {
    const Entry& at = user ? *user : app ? *app : bits_entry ? *bits_entry : e;
    s.error(at.line(), at.field,
            fmt::format("app_group_bits + user_group_bits = {} exceed id_bits = {}",
                        a.app_group_bits + a.user_group_bits, unsigned{a.id_bits}));
  }
}

// classification.default, classification.rules[].
void parse_classification(Sink& s, const Entry& e, Classification& c, std::vector<size_t>& pos,
                          const ApnSettings& apn, int& default_line) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field, {"default", "rules"});
  if (auto f = m.get("default"); f && expect_map_or_empty(s, *f) && f->value.IsMap()) {
    default_line = f->line();
    MapReader d(s, f->value, f->field, {"tenant", "class", "apn"});
    if (auto g = d.get("tenant")) c.default_tenant = read_name(s, *g);
    if (auto g = d.get("class")) {
      if (auto v = read_name(s, *g)) c.default_class = *v;
    }
    if (auto g = d.get("apn")) c.default_apn = read_apn_id(s, *g, apn);
  }
  parse_list(s, m.get("rules"), "classification rules", c.rules, pos,
             [&](Sink& sk, const YAML::Node& n, const std::string& path) {
               return rule_impl(sk, n, path, apn);
             });
}

void parse_flows(Sink& s, const Entry& e, FlowSettings& f) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field, {"enabled", "idle_timeout", "active_timeout"});
  if (auto g = m.get("enabled")) {
    if (auto v = read_bool(s, *g)) f.enabled = *v;
  }
  if (auto g = m.get("idle_timeout")) {
    if (auto v = read_duration(s, *g, 1, 86400)) f.idle_timeout_s = *v;
  }
  if (auto g = m.get("active_timeout")) {
    if (auto v = read_duration(s, *g, 1, 86400)) f.active_timeout_s = *v;
  }
}

// "", "off" -> "" (off), or an absolute path.
std::optional<std::string> read_dir_or_off(Sink& s, const Entry& e) {
  if (e.value.IsScalar() && (e.value.Scalar().empty() || e.value.Scalar() == "off"))
    return std::string();
  return read_abs_path(s, e, 4095);
}

void parse_accounting(Sink& s, const Entry& e, AccountingSettings& a) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field,
              {"periods", "sample_interval", "usage_dir", "usage_format", "state_dir"});
  auto periods = m.get("periods");
  if (periods && expect_list(s, *periods, "durations")) {
    a.periods_s.clear();
    if (periods->value.size() == 0)
      s.error(periods->line(), periods->field, "at least one period is required");
    for (size_t k = 0; k < periods->value.size(); ++k) {
      Entry pe = item(periods->value[k], index(periods->field, k));
      auto v = read_duration(s, pe, 1, 31 * 86400);
      if (!v) continue;
      if (std::find(a.periods_s.begin(), a.periods_s.end(), *v) != a.periods_s.end())
        s.error(pe.line(), pe.field, fmt::format("period of {}s listed twice", *v));
      a.periods_s.push_back(*v);
    }
  }
  if (auto g = m.get("sample_interval")) {
    if (auto v = read_duration(s, *g, 1, 3600)) {
      a.sample_interval_s = *v;
      for (uint32_t p : a.periods_s)
        if (p % *v != 0) {
          s.error(g->line(), g->field, fmt::format("{}s does not divide the period of {}s", *v, p));
          break;
        }
    }
  }
  if (auto g = m.get("usage_dir")) {
    if (auto v = read_dir_or_off(s, *g)) a.usage_dir = *v;
  }
  if (auto g = m.get("usage_format")) {
    auto from = [](std::string_view t) -> std::optional<UsageFormat> {
      if (t == "jsonl") return UsageFormat::JsonLines;
      if (t == "csv") return UsageFormat::Csv;
      return std::nullopt;
    };
    if (auto v = read_enum<UsageFormat>(s, *g, +from, {"jsonl", "csv"})) a.usage_format = *v;
  }
  if (auto g = m.get("state_dir")) {
    if (auto v = read_dir_or_off(s, *g)) a.state_dir = *v;
  }
}

// "ADDR:PORT" or "[V6]:PORT" with a port, no "off".
std::optional<std::string> read_collector(Sink& s, const Entry& e) {
  if (e.value.IsScalar() && (e.value.Scalar().empty() || e.value.Scalar() == "off")) {
    s.error(e.line(), e.field, "expected IPV4:PORT or [IPV6]:PORT, got 'off'");
    return std::nullopt;
  }
  auto v = read_listen(s, e);
  if (v && v->empty()) return std::nullopt;
  return v;
}

void parse_ipfix(Sink& s, const Entry& e, IpfixSettings& x) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field,
              {"collectors", "observation_domain", "template_refresh", "enterprise"});
  if (auto g = m.get("collectors"); g && !g->value.IsNull() && expect_list(s, *g, "collectors")) {
    for (size_t k = 0; k < g->value.size(); ++k) {
      Entry ce = item(g->value[k], index(g->field, k));
      if (auto v = read_collector(s, ce)) {
        if (std::find(x.collectors.begin(), x.collectors.end(), *v) != x.collectors.end())
          s.error(ce.line(), ce.field, fmt::format("collector {} listed twice", *v));
        x.collectors.push_back(*v);
      }
    }
  }
  if (auto g = m.get("observation_domain")) {
    if (auto v = read_uint(s, *g, 0, kU32Max)) x.observation_domain = static_cast<uint32_t>(*v);
  }
  if (auto g = m.get("template_refresh")) {
    if (auto v = read_duration(s, *g, 1, 86400)) x.template_refresh_s = *v;
  }
  if (auto g = m.get("enterprise")) {
    if (auto v = read_uint(s, *g, 1, kU32Max)) x.enterprise = static_cast<uint32_t>(*v);
  }
}

}  // namespace

// ------------------------------------------------------------ public API

std::string ConfigError::str() const {
  if (field.empty()) return fmt::format("{}:{}: {}", file, line, message);
  return fmt::format("{}:{}: {}: {}", file, line, field, message);
}

std::string format_errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.str();
  }
  return out;
}

std::variant<Interface, std::vector<ConfigError>> parse_interface(const YAML::Node& n,
                                                                  const std::string& filename,
                                                                  const std::string& path) {
  return one_object<Interface>(interface_impl, n, filename, path);
}

std::variant<Policy, std::vector<ConfigError>> parse_policy(const YAML::Node& n,
                                                            const std::string& filename,
                                                            const std::string& path) {
  return one_object<Policy>(policy_impl, n, filename, path);
}

std::variant<Sid, std::vector<ConfigError>> parse_sid(const YAML::Node& n,
                                                      const std::string& filename,
                                                      const std::string& path) {
  return one_object<Sid>(sid_impl, n, filename, path);
}

std::vector<ConfigError> validate(const Config& c, const std::string& filename) {
  Sink s(filename);
  validate_impl(s, c, Origin{});
  return std::move(s.errors());
}

ParseResult parse_config(std::string_view yaml_text, const std::string& filename) {
  Sink s(filename);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml_text));
  } catch (const YAML::ParserException& ex) {
    s.error(ex.mark.line < 0 ? 0 : ex.mark.line + 1, "",
            fmt::format("YAML syntax error: {}", ex.msg));
    return std::move(s.errors());
  } catch (const YAML::Exception& ex) {
    s.error(0, "", fmt::format("YAML error: {}", ex.what()));
    return std::move(s.errors());
  }
  if (docs.empty() || docs[0].IsNull()) {
    s.error(1, "", "empty configuration (write {} to configure nothing)");
    return std::move(s.errors());
  }
  if (docs.size() > 1) {
    s.error(line_of(docs[1]), "", "more than one YAML document ('---'); expected exactly one");
  }
  const YAML::Node& root = docs[0];
  if (!root.IsMap()) {
    s.error(line_of(root), "",
            fmt::format("expected a mapping (agent, datapath, interfaces, policies, sids) at "
                        "the top level, got {}",
                        describe(root)));
    return std::move(s.errors());
  }

  Config c;
  Origin o;
  MapReader top(s, root, "",
                {"agent", "datapath", "interfaces", "policies", "sids", "apn", "tenants", "classes",
                 "classification", "flows", "accounting", "ipfix"});
  if (auto e = top.get("agent")) parse_agent(s, *e, c.agent);
  if (auto e = top.get("datapath")) o.check_capacity = parse_datapath(s, *e, c.datapath);
  auto ifs = top.get("interfaces");
  parse_list(s, ifs, "interfaces", c.interfaces, o.interfaces, interface_impl);
  if (ifs && ifs->value.IsSequence()) {
    for (const auto& n : ifs->value) {
      if (n.IsMap() && n["name"].IsScalar()) o.file_interfaces.insert(n["name"].Scalar());
    }
  }
  parse_list(s, top.get("policies"), "policies", c.policies, o.policies, policy_impl);
  parse_list(s, top.get("sids"), "SIDs", c.sids, o.sids, sid_impl);
  // apn before classification: APP:USER IDs follow its template.
  if (auto e = top.get("apn")) parse_apn(s, *e, c.apn);
  parse_list(s, top.get("tenants"), "tenants", c.tenants, o.tenants, tenant_impl);
  parse_list(s, top.get("classes"), "classes", c.classes, o.classes, class_impl);
  if (auto e = top.get("classification"))
    parse_classification(s, *e, c.classification, o.rules, c.apn, o.default_line);
  if (auto e = top.get("flows")) parse_flows(s, *e, c.flows);
  if (auto e = top.get("accounting")) parse_accounting(s, *e, c.accounting);
  if (auto e = top.get("ipfix")) parse_ipfix(s, *e, c.ipfix);
  validate_impl(s, c, o);

  if (s.count() == 0) return c;
  auto& errs = s.errors();
  std::stable_sort(errs.begin(), errs.end(),
                   [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  return std::move(errs);
}

ParseResult load_config_file(const std::string& path) {
  auto fail = [&](std::string msg) -> ParseResult {
    return std::vector<ConfigError>{{path, 0, "", std::move(msg)}};
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("cannot open: {}", std::strerror(errno)));
  struct FdGuard {
    int fd;
    ~FdGuard() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(fmt::format("cannot stat: {}", std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) return fail("is a directory");
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("cannot read: {}", std::strerror(errno)));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileSize) {
      return fail(fmt::format("file larger than {} bytes", kMaxFileSize));
    }
  }
  return parse_config(text, path);
}

}  // namespace aigw
