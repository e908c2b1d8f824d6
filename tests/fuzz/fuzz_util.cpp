#include "fuzz_util.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace aigw::fuzz {

std::string to_hex(std::span<const uint8_t> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) {
    s.push_back(kDigits[c >> 4]);
    s.push_back(kDigits[c & 0xf]);
  }
  return s;
}

std::optional<Bytes> from_hex(std::string_view s) {
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.size() % 2) return std::nullopt;
  Bytes out(s.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    int hi = val(s[2 * i]), lo = val(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

namespace {

template <typename T>
bool parse_number(std::string_view name, std::string_view text, T& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec == std::errc() && p == text.data() + text.size()) return true;
  fmt::print(stderr, "{}: not a number: '{}'\n", name, text);
  return false;
}

bool parse_seconds(std::string_view text, double& out) {
  char* end = nullptr;
  std::string s(text);
  out = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size() && out >= 0) return true;
  fmt::print(stderr, "--time: not a number of seconds: '{}'\n", text);
  return false;
}

}  // namespace

std::optional<std::vector<std::string>> parse_run_options(int argc, char** argv, RunOptions& opt) {
  std::vector<std::string> rest;
  for (int i = 1; i < argc; i++) {
    std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    bool ok = true;
    if (a == "--seed" && has_value)
      ok = parse_number(a, argv[++i], opt.seed);
    else if (a == "--iterations" && has_value)
      ok = parse_number(a, argv[++i], opt.iterations);
    else if (a == "--time" && has_value)
      ok = parse_seconds(argv[++i], opt.seconds);
    else
      rest.emplace_back(a);
    if (!ok) return std::nullopt;
  }
  return rest;
}

}  // namespace aigw::fuzz
