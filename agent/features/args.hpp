// Reading control-command arguments and rendering common JSON pieces.
#pragma once

#include <aigw/abi.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/parse.hpp"
#include "control/protocol.hpp"

namespace aigw::features {

// The argument `key` (ControlError when missing).
const nlohmann::json& arg(const nlohmann::json& args, const char* key);
// A string argument (ControlError when missing or not a string).
std::string arg_str(const nlohmann::json& args, const char* key);
// An optional string argument (ControlError when not a string).
std::optional<std::string> opt_str(const nlohmann::json& args, const char* key);
// An optional unsigned argument 0..max.
std::optional<uint64_t> opt_num(const nlohmann::json& args, const char* key, uint64_t max);
// An argument as YAML (for the config parser's object parsers).
YAML::Node yaml_arg(const nlohmann::json& args, const char* key);

// Config errors as one control error text ("; " between them).
inline std::string join_errors(const std::vector<ConfigError>& errs) {
  return format_errors(errs, "; ");
}
nlohmann::json ctr_json(const aigw_ctr& c);
nlohmann::json dir_ctr(uint64_t packets, uint64_t bytes);
std::string hex(const uint8_t* b, size_t n);

}  // namespace aigw::features
