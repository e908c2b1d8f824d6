// Time periods and UTC timestamps as the operator writes and reads them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace aigw {

// "2026-11-24T12:34:00Z".
std::string rfc3339(int64_t unix_s);
// "10s", "1m", "1h", "90s", "2h", "1d": the shortest exact unit.
std::string period_name(uint32_t seconds);
// Inverse of period_name (also "60" = seconds); nullopt when invalid or 0.
std::optional<uint32_t> parse_period(const std::string& text);

}  // namespace aigw
