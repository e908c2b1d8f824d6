#include "features/args.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "config/serialize.hpp"

namespace aigw::features {

const nlohmann::json& arg(const nlohmann::json& args, const char* key) {
  if (!args.is_object() || !args.contains(key))
    throw ControlError(fmt::format("missing argument '{}'", key));
  return args.at(key);
}

std::string arg_str(const nlohmann::json& args, const char* key) {
  const auto& v = arg(args, key);
  if (!v.is_string()) throw ControlError(fmt::format("argument '{}' must be a string", key));
  return v.get<std::string>();
}

std::optional<std::string> opt_str(const nlohmann::json& args, const char* key) {
  if (!args.is_object() || !args.contains(key)) return std::nullopt;
  if (!args[key].is_string())
    throw ControlError(fmt::format("argument '{}' must be a string", key));
  return args[key].get<std::string>();
}

std::optional<uint64_t> opt_num(const nlohmann::json& args, const char* key, uint64_t max) {
  if (!args.is_object() || !args.contains(key)) return std::nullopt;
  if (!args[key].is_number_unsigned() || args[key].get<uint64_t>() > max)
    throw ControlError(fmt::format("argument '{}' must be an integer 0..{}", key, max));
  return args[key].get<uint64_t>();
}

YAML::Node yaml_arg(const nlohmann::json& args, const char* key) {
  try {
    return from_json(arg(args, key));
  } catch (const std::invalid_argument& e) {
    throw ControlError(fmt::format("argument '{}': {}", key, e.what()));
  }
}

nlohmann::json ctr_json(const aigw_ctr& c) { return {{"packets", c.packets}, {"bytes", c.bytes}}; }

nlohmann::json dir_ctr(uint64_t packets, uint64_t bytes) {
  return {{"packets", packets}, {"bytes", bytes}};
}

std::string hex(const uint8_t* b, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", b[i]);
  return s;
}

}  // namespace aigw::features
