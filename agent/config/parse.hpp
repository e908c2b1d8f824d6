// YAML configuration parsing and validation (README "Configuration
// reference" is the contract). Every problem is reported as a ConfigError
// "file:line: field: message"; all errors are collected, not just the first,
// and a file with any error yields no Config at all.
//
// Field paths name the offending value: `interfaces[0].role`,
// `policies[2].segments[1]`, `datapath.map_sizes.sids`. Lines are 1-based and
// point at the offending value (for a missing key: at the mapping that lacks
// it; for an empty value: at its key). Objects built at runtime (aigwctl) have
// line 0.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/model.hpp"

namespace aigw {

struct ConfigError {
  std::string file;
  int line = 0;
  std::string field;  // may be empty (YAML syntax errors, unreadable file)
  std::string message;
  // "file:line: field: message" ("file:line: message" when field is empty).
  std::string str() const;
  bool operator==(const ConfigError&) const = default;
};

// All errors, one str() per line (no trailing newline).
std::string format_errors(const std::vector<ConfigError>& errors, std::string_view sep = "\n");

using ParseResult = std::variant<Config, std::vector<ConfigError>>;

// Reads and parses a file. A missing/unreadable file gives one error with
// line 0 and the file name as given.
ParseResult load_config_file(const std::string& path);

// Parses a whole configuration document and runs validate() on it. An empty
// document is an error (a truncated file must not mean "remove everything";
// write `{}` for an empty configuration).
ParseResult parse_config(std::string_view yaml_text, const std::string& filename);

// One object, checked on its own (types, ranges, field combinations), as used
// for each list entry of a file and for aigwctl requests (see from_json() in
// serialize.hpp; filename "<aigwctl>"). `path` prefixes the field names of
// the errors ("policies[2]" in a file). Cross-object rules are validate()'s.
// End.DT* SIDs without `table` get kDefaultTable.
std::variant<Interface, std::vector<ConfigError>> parse_interface(
    const YAML::Node& n, const std::string& filename, const std::string& path = "interface");
std::variant<Policy, std::vector<ConfigError>> parse_policy(const YAML::Node& n,
                                                            const std::string& filename,
                                                            const std::string& path = "policy");
std::variant<Sid, std::vector<ConfigError>> parse_sid(const YAML::Node& n,
                                                      const std::string& filename,
                                                      const std::string& path = "sid");

// Cross-object checks on a Config whose objects each passed parse_*():
// unique interface entries (name, or name+vlan) with one role and one
// xdp_mode per port, unique policy names, no (vrf, prefix) in two places,
// unique SIDs, SID interfaces defined in interfaces[], and object counts
// fitting datapath.map_sizes and AIGW_MAX_IFACES. Lines come from the
// objects' `line`/`lines`.
std::vector<ConfigError> validate(const Config& c, const std::string& filename);

// An APN ID as written in YAML: "0x" + 8/16/32 hex digits, or "APP:USER"
// (decimal or 0x numbers) laid out by the apn template (APP in the leading
// app_group_bits, USER in the next user_group_bits, id_bits long). Returns the
// ID or an error message.
std::variant<ApnId, std::string> parse_apn_id(std::string_view text, const ApnSettings& a);

// tcp, udp, icmp, icmpv6, sctp or a decimal number 0..255.
std::optional<uint8_t> protocol_from_string(std::string_view s);

}  // namespace aigw
