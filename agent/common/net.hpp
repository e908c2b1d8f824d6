// Address and prefix value types with strict parsing (no resolver, no
// surprises): "192.0.2.1", "2001:db8::1", "198.51.100.0/24", "fc00:a::/48".
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace aigw {

struct Ip4 {
  std::array<uint8_t, 4> b{};  // network order
  auto operator<=>(const Ip4&) const = default;
  uint32_t be() const;  // as stored in a __u32 in network order
  std::string str() const;
  static std::optional<Ip4> parse(std::string_view s);
};

struct Ip6 {
  std::array<uint8_t, 16> b{};  // network order
  auto operator<=>(const Ip6&) const = default;
  bool is_zero() const;
  std::string str() const;  // RFC 5952 text form
  static std::optional<Ip6> parse(std::string_view s);
};

using IpAddr = std::variant<Ip4, Ip6>;

// A prefix; host bits must be zero to parse (an operator typo like
// 192.0.2.1/24 is an error, not silently masked).
struct Prefix {
  bool v6 = false;
  std::array<uint8_t, 16> b{};  // v4 uses the first 4 bytes
  uint8_t len = 0;
  auto operator<=>(const Prefix&) const = default;
  std::string str() const;
  // Returns the prefix or an error message ("host bits set", "bad length"...).
  static std::variant<Prefix, std::string> parse(std::string_view s);
};

std::string ip_str(const IpAddr& a);
std::optional<IpAddr> parse_ip(std::string_view s);

}  // namespace aigw
