// The configuration parser's shared toolkit (internal to agent/config): the
// error sink, mapping access with unknown/duplicate key detection, typed
// readers that report "expected X, got Y" at the offending value, and the
// declarations of the per-section parsers and validators (parse_*.cpp),
// which parse.cpp composes. Not part of the public API (see parse.hpp).
#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "config/model.hpp"
#include "config/parse.hpp"

namespace aigw::parse_detail {

inline constexpr size_t kMaxUnixPath = 107;  // sizeof(sockaddr_un::sun_path) - 1
inline constexpr size_t kMaxNameLen = 63;    // policy names
inline constexpr uint64_t kU32Max = std::numeric_limits<uint32_t>::max();

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

// 1-based source line of a node (0: none).
int line_of(const YAML::Node& n);
// "path.key" ("key" at the top level).
std::string join(const std::string& path, std::string_view key);
// "path[i]".
std::string index(const std::string& path, size_t i);
// What a node is, for "expected X, got Y" messages.
std::string describe(const YAML::Node& n);
// "a or b", "one of a, b, c".
std::string alternatives(const std::vector<std::string_view>& names);
size_t edit_distance(std::string_view a, std::string_view b);

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
            std::initializer_list<std::string_view> allowed);
  std::optional<Entry> get(std::string_view key) const;
  // Reports "required key missing" at the mapping when absent.
  std::optional<Entry> require(std::string_view key) const;

 private:
  Sink& sink_;
  YAML::Node map_;
  std::string path_;
  std::map<std::string, Entry> entries_;
};

// A list element as an Entry (the element is its own key for line numbers).
Entry item(const YAML::Node& seq_item, std::string field);

// ------------------------------------------------------------ typed values

std::optional<std::string> scalar(Sink& s, const Entry& e, std::string_view expected);
// Decimal digits only: no sign, no spaces, no leading zeros, no hex.
std::optional<uint64_t> parse_decimal(std::string_view t);
// Decimal, or hexadecimal with 0x (option types, APN group values).
std::optional<uint64_t> parse_number(std::string_view t);
std::optional<uint64_t> read_uint(Sink& s, const Entry& e, uint64_t lo, uint64_t hi);
// A percentage 0.01..100 with at most two decimals ("5", "0.25"), in
// hundredths of a percent (1..10000).
std::optional<uint32_t> read_percent(Sink& s, const Entry& e);
std::optional<uint64_t> read_number(Sink& s, const Entry& e, uint64_t lo, uint64_t hi);
std::optional<bool> read_bool(Sink& s, const Entry& e);
// "auto" -> kMssAuto, "off" -> kMssOff, or 536..65534.
std::optional<uint16_t> read_mss(Sink& s, const Entry& e);
std::optional<IpAddr> read_ip(Sink& s, const Entry& e);
// An IPv6 unicast address: not ::, not multicast. `what` names it in messages.
std::optional<Ip6> read_ip6_unicast(Sink& s, const Entry& e, std::string_view what);
std::optional<Prefix> read_prefix(Sink& s, const Entry& e);
// Kernel rules (dev_valid_name): 1..15 bytes, not "." or "..", no '/', ':'
// or whitespace.
bool valid_ifname(std::string_view n);
std::optional<std::string> read_ifname(Sink& s, const Entry& e);
// Names (policies, tenants, classes, rules): used in aigwctl arguments, logs
// and metric labels.
std::optional<std::string> read_name(Sink& s, const Entry& e);
std::optional<std::string> read_abs_path(Sink& s, const Entry& e, size_t max_len);
// "0600", "600": owner/group/other permission bits in octal.
std::optional<uint32_t> read_mode(Sink& s, const Entry& e);
// A group name known to this host (getgrnam) or a numeric gid: (as written,
// gid).
std::optional<std::pair<std::string, uint32_t>> read_group(Sink& s, const Entry& e);
// "IPV4:PORT" or "[IPV6]:PORT"; "off" or "" -> "".
std::optional<std::string> read_listen(Sink& s, const Entry& e);
// "15s", "1m", "1h" or a number of seconds.
std::optional<uint32_t> read_duration(Sink& s, const Entry& e, uint32_t lo, uint32_t hi);

// A sequence value; `what` describes the elements.
bool expect_list(Sink& s, const Entry& e, std::string_view what);
// A mapping value or an empty one (section left empty: all defaults).
bool expect_map_or_empty(Sink& s, const Entry& e);
// A list entry that must be a mapping; `keys` lists its main keys.
bool expect_object(Sink& s, const YAML::Node& n, const std::string& path, std::string_view keys);

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

// One object on its own (parse_interface() etc.).
template <typename T>
std::variant<T, std::vector<ConfigError>> one_object(
    std::optional<T> (*impl)(Sink&, const YAML::Node&, const std::string&), const YAML::Node& n,
    const std::string& filename, const std::string& path) {
  Sink s(filename);
  auto v = impl(s, n, path);
  if (v && s.count() == 0) return std::move(*v);
  return std::move(s.errors());
}

// ------------------------------------------------------------ validation helpers

// Positions of the config's objects in the file (parse_config skips objects
// that failed to parse, so vector index != list index).
struct Origin {
  std::vector<size_t> interfaces, policies, sids, tenants, classes, rules;
  int default_line = 0;  // classification.default
  // Names of all interface entries of the file, parsed or not: a SID that
  // refers to an entry with errors gets no second, misleading error.
  std::set<std::string> file_interfaces;
  bool check_capacity = true;

  // List position of the i-th parsed object (i itself for runtime configs).
  static size_t at(const std::vector<size_t>& pos, size_t i) { return pos.empty() ? i : pos[i]; }
};

// The source line of one field of an object, else `fallback`.
int field_line(const FieldLines& lines, const std::string& key, int fallback);
// "policies[2], line 7" ("policies[2]" for runtime objects).
std::string where(std::string_view list, size_t idx, int line);
// Names of the ports (interface names) of the configuration.
std::set<std::string> port_names(const Config& c);

// ------------------------------------------------------------ sections
// Each returns the object, or nullopt after reporting its errors.

// parse_agent_datapath.cpp
void parse_agent(Sink& s, const Entry& e, AgentSettings& a);
// Returns false when map_sizes had errors (capacity checks are then skipped).
bool parse_datapath(Sink& s, const Entry& e, DatapathSettings& d);

// parse_interfaces.cpp
std::optional<Interface> interface_impl(Sink& s, const YAML::Node& n, const std::string& path);
void validate_interfaces(Sink& s, const Config& c, const Origin& o);

// parse_policies.cpp
std::optional<Policy> policy_impl(Sink& s, const YAML::Node& n, const std::string& path);
void validate_policies(Sink& s, const Config& c, const Origin& o);

// parse_sids.cpp
std::optional<Sid> sid_impl(Sink& s, const YAML::Node& n, const std::string& path);
void validate_sids(Sink& s, const Config& c, const Origin& o);

// parse_classification.cpp (apn, tenants, classes, classification)
void parse_apn(Sink& s, const Entry& e, ApnSettings& a);
std::optional<Tenant> tenant_impl(Sink& s, const YAML::Node& n, const std::string& path);
std::optional<ServiceClass> class_impl(Sink& s, const YAML::Node& n, const std::string& path);
// classification.default, classification.rules[].
void parse_classification(Sink& s, const Entry& e, Classification& c, std::vector<size_t>& pos,
                          const ApnSettings& apn, int& default_line);
// parse_shaping.cpp: tenants[].rate, ceil, burst and schedule.
void read_tenant_shape(Sink& s, const MapReader& m, Tenant& t);
void validate_tenants_classes(Sink& s, const Config& c, const Origin& o);
void validate_classification(Sink& s, const Config& c, const Origin& o);

// parse_accounting.cpp (flows, accounting, ipfix)
void parse_flows(Sink& s, const Entry& e, FlowSettings& f);
void parse_elephants(Sink& s, const Entry& e, ElephantSettings& x);
void parse_rdma_proxy(Sink& s, const Entry& e, RdmaProxySettings& x);
void validate_rdma_proxy(Sink& s, const Config& c);
void parse_accounting(Sink& s, const Entry& e, AccountingSettings& a);
// parse_backpressure.cpp
void parse_backpressure(Sink& s, const Entry& e, BackpressureSettings& b);
void parse_ipfix(Sink& s, const Entry& e, IpfixSettings& x);

}  // namespace aigw::parse_detail
