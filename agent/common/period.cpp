#include "common/period.hpp"

#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <string_view>

namespace aigw {

std::string rfc3339(int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string period_name(uint32_t s) {
  if (s != 0 && s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s != 0 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s != 0 && s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

std::optional<uint32_t> parse_period(const std::string& text) {
  if (text.empty()) return std::nullopt;
  uint64_t mult = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 's':
      mult = 1;
      digits.remove_suffix(1);
      break;
    case 'm':
      mult = 60;
      digits.remove_suffix(1);
      break;
    case 'h':
      mult = 3600;
      digits.remove_suffix(1);
      break;
    case 'd':
      mult = 86400;
      digits.remove_suffix(1);
      break;
    default:
      break;
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size())
    return std::nullopt;
  if (v == 0 || v > UINT32_MAX / mult) return std::nullopt;
  return static_cast<uint32_t>(v * mult);
}

}  // namespace aigw
