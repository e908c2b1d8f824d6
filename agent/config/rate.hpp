// Rates as operators write them, as tc(8) does: a decimal number with a
// unit of bits per second, SI (powers of 1000): "bit", "kbit", "mbit",
// "gbit", "tbit"; at most three decimals ("1.5gbit"). Bytes per second
// ("bps", tc's spelling, "mbps"...) are refused: too easily read as bits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aigw {

// Bits per second, or nullopt with the reason in *why.
std::optional<uint64_t> parse_rate(std::string_view text, std::string* why = nullptr);
// The shortest exact form: 2000000000 -> "2gbit", 1500000 -> "1500kbit".
std::string rate_str(uint64_t bps);

// The shaped tenant's rates (tenants[].rate, ceil).
inline constexpr uint64_t kMinTenantRate = 100'000'000;      // 100 Mbit/s
inline constexpr uint64_t kMaxTenantRate = 100'000'000'000;  // 100 Gbit/s
inline constexpr uint64_t kMinPortSpeed = 10'000'000;        // interfaces[].speed
inline constexpr uint64_t kMaxPortSpeed = 10'000'000'000'000;  // 10 Tbit/s

}  // namespace aigw
