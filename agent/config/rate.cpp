#include "config/rate.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <limits>
#include <utility>

namespace aigw {
namespace {

constexpr std::array<std::pair<std::string_view, uint64_t>, 5> kUnits = {{
    {"tbit", 1'000'000'000'000},
    {"gbit", 1'000'000'000},
    {"mbit", 1'000'000},
    {"kbit", 1'000},
    {"bit", 1},
}};

std::optional<uint64_t> fail(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return std::nullopt;
}

// "12" or "12.345" as thousandths: 12000, 12345.
std::optional<uint64_t> thousandths(std::string_view num) {
  uint64_t whole = 0, frac = 0;
  size_t dot = num.find('.');
  std::string_view w = num.substr(0, dot);
  std::string_view f = dot == std::string_view::npos ? "" : num.substr(dot + 1);
  if (w.empty() || w.size() > 12 || (dot != std::string_view::npos && (f.empty() || f.size() > 3)))
    return std::nullopt;
  for (char c : w) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    whole = whole * 10 + static_cast<uint64_t>(c - '0');
  }
  for (size_t i = 0; i < 3; i++) {
    char c = i < f.size() ? f[i] : '0';
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    frac = frac * 10 + static_cast<uint64_t>(c - '0');
  }
  return whole * 1000 + frac;
}

}  // namespace

std::optional<uint64_t> parse_rate(std::string_view text, std::string* why) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t end = lower.find_first_not_of("0123456789.");
  std::string_view num = std::string_view(lower).substr(0, end);
  std::string_view unit = end == std::string::npos ? "" : std::string_view(lower).substr(end);
  if (unit.ends_with("bps") || unit == "b")
    return fail(why, fmt::format("'{}': bytes per second; write bits: kbit, mbit, gbit", text));
  for (const auto& [name, mult] : kUnits) {
    if (unit != name) continue;
    auto t = thousandths(num);
    if (!t) return fail(why, fmt::format("'{}': expected a number before '{}'", text, name));
    if (*t > std::numeric_limits<uint64_t>::max() / mult)
      return fail(why, fmt::format("'{}': too large", text));
    uint64_t milli = *t * mult;
    if (milli % 1000) return fail(why, fmt::format("'{}': finer than one bit per second", text));
    return milli / 1000;
  }
  return fail(why, fmt::format("'{}': expected a rate such as 500mbit, 2gbit, 1.5gbit", text));
}

std::string rate_str(uint64_t bps) {
  for (const auto& [name, mult] : kUnits)
    if (bps && bps % mult == 0) return fmt::format("{}{}", bps / mult, name);
  return fmt::format("{}bit", bps);
}

}  // namespace aigw
