// Configuration output: YAML (`aigwctl config show`, a file parse_config()
// reads back to an equal Config) and JSON (control socket), with the key names
// of the YAML reference. Also the JSON -> YAML bridge the daemon uses to run
// aigwctl requests through the same parse_policy()/parse_sid() as the file.
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>

#include "config/model.hpp"

namespace aigw {

// The whole configuration, every setting explicit, lists in order.
// parse_config(to_yaml(c), f) yields a Config equal to c (source lines
// aside) for any c that passes validation.
std::string to_yaml(const Config& c);

// Same keys as the YAML. Optional fields that are unset are left out;
// tcp_mss/tcp_mss_clamp are "auto", "off" or a number; socket_mode is an
// octal string ("0600").
nlohmann::json to_json(const Config& c);
nlohmann::json to_json(const Interface& i);
nlohmann::json to_json(const Policy& p);
nlohmann::json to_json(const Sid& s);
nlohmann::json to_json(const Tenant& t);
nlohmann::json to_json(const ServiceClass& c);
nlohmann::json to_json(const ClassRule& r);

// A JSON value as a YAML node tree (objects -> mappings, arrays -> sequences,
// strings/numbers/booleans -> scalars of their text, null -> null). The nodes
// carry no source position: errors from parsing them report line 0.
// Throws std::invalid_argument for nesting deeper than 32 levels.
YAML::Node from_json(const nlohmann::json& j);

}  // namespace aigw
