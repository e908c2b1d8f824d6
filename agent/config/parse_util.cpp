// The configuration parser's shared toolkit: see parse_util.hpp.
#include "config/parse_util.hpp"

#include <fmt/format.h>
#include <grp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace aigw::parse_detail {

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

namespace {

// A key as an error names it: quoted when it is empty or holds characters
// that would break the "file:line: field: message" line.
std::string key_label(const std::string& name) {
  bool plain = !name.empty();
  for (unsigned char c : name) plain = plain && c >= 0x20 && c != 0x7f && c != '"';
  if (plain) return name;
  std::string out = "\"";
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out + "\"";
}

}  // namespace

MapReader::MapReader(Sink& sink, const YAML::Node& map, std::string path,
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
    std::string field = join(path_, key_label(name));
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
      sink_.error(line_of(k), field, fmt::format("duplicate key (first at line {})", pos->second));
      continue;
    }
    entries_.emplace(name, Entry{k, v, field});
  }
}

std::optional<Entry> MapReader::get(std::string_view key) const {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::optional<Entry> MapReader::require(std::string_view key) const {
  auto e = get(key);
  if (!e) sink_.error(line_of(map_), join(path_, key), "required key missing");
  return e;
}

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

std::optional<uint32_t> read_percent(Sink& s, const Entry& e) {
  constexpr std::string_view expected = "a percentage 0.01..100 (at most two decimals)";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  std::string_view v = *t;
  auto dot = v.find('.');
  std::string_view whole = v.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : v.substr(dot + 1);
  auto w = parse_decimal(whole);
  bool digits = frac.find_first_not_of("0123456789") == std::string_view::npos;
  bool frac_ok = dot == std::string_view::npos || (!frac.empty() && frac.size() <= 2 && digits);
  uint64_t hundredths = 0;
  if (w && frac_ok && *w <= 100) {
    hundredths = *w * 100;
    if (!frac.empty()) hundredths += (frac[0] - '0') * 10 + (frac.size() > 1 ? frac[1] - '0' : 0);
  }
  if (hundredths < 1 || hundredths > 10000) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  return static_cast<uint32_t>(hundredths);
}

std::optional<bool> read_bool(Sink& s, const Entry& e) {
  auto t = scalar(s, e, "true or false");
  if (!t) return std::nullopt;
  if (*t == "true" || *t == "True" || *t == "TRUE") return true;
  if (*t == "false" || *t == "False" || *t == "FALSE") return false;
  s.error(e.line(), e.field, fmt::format("expected true or false, got '{}'", *t));
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
  // Routable unicast only (global or ULA): the others never leave the node
  // or the link, or are IPv4 in disguise.
  const char* kind = v6.is_loopback()     ? "loopback"
                     : v6.is_link_local() ? "link-local"
                     : v6.is_v4_mapped()  ? "IPv4-mapped"
                                          : nullptr;
  if (kind) {
    s.error(e.line(), e.field,
            fmt::format("{} address '{}' cannot be {} (not routable)", kind, *t, what));
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

// agent.socket_group: a numeric gid is taken as is (it need not have a
// name); a name must be in the group database now.
std::optional<std::pair<std::string, uint32_t>> read_group(Sink& s, const Entry& e) {
  constexpr std::string_view expected = "a group name or a numeric gid";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  if (auto n = parse_decimal(*t)) {
    if (*n < 0xffffffffu) return std::pair{*t, static_cast<uint32_t>(*n)};
    s.error(e.line(), e.field, fmt::format("expected a gid 0..4294967294, got '{}'", *t));
    return std::nullopt;
  }
  if (t->empty() || t->find_first_of(" \t:/,") != std::string::npos) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  group gr{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  int rc = ::getgrnam_r(t->c_str(), &gr, buf.data(), buf.size(), &found);
  if (rc == ERANGE) {
    buf.resize(1u << 20);
    rc = ::getgrnam_r(t->c_str(), &gr, buf.data(), buf.size(), &found);
  }
  if (rc != 0) {
    s.error(e.line(), e.field, fmt::format("looking up group '{}': {}", *t, std::strerror(rc)));
    return std::nullopt;
  }
  if (!found) {
    s.error(e.line(), e.field, fmt::format("unknown group '{}'", *t));
    return std::nullopt;
  }
  return std::pair{*t, static_cast<uint32_t>(found->gr_gid)};
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
      fmt::format("a duration {}s..{}s (\"30s\", \"5m\", \"1h\", \"7d\" or seconds)", lo, hi);
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  std::string_view v = *t;
  uint64_t unit = 1;
  if (!v.empty()) {
    char u = v.back();
    if (u == 's' || u == 'm' || u == 'h' || u == 'd') {
      unit = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : 86400;
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

// ------------------------------------------------------------ validation helpers

int field_line(const FieldLines& lines, const std::string& key, int fallback) {
  auto it = lines.find(key);
  return it == lines.end() ? fallback : it->second;
}

std::string where(std::string_view list, size_t idx, int line) {
  return line > 0 ? fmt::format("{}[{}], line {}", list, idx, line)
                  : fmt::format("{}[{}]", list, idx);
}

std::set<std::string> port_names(const Config& c) {
  std::set<std::string> out;
  for (const auto& i : c.interfaces) out.insert(i.name);
  return out;
}

}  // namespace aigw::parse_detail
