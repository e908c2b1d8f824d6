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
  uint32_t be() const;        // as stored in a __u32 in network order
  bool is_zero() const;       // 0.0.0.0
  bool is_multicast() const;  // 224.0.0.0/4
  bool is_broadcast() const;  // 255.255.255.255
  std::string str() const;
  // Dotted quad only (inet_pton): no "1.2.3", no leading zeros, no spaces.
  static std::optional<Ip4> parse(std::string_view s);
};

struct Ip6 {
  std::array<uint8_t, 16> b{};  // network order
  auto operator<=>(const Ip6&) const = default;
  bool is_zero() const;        // ::
  bool is_multicast() const;   // ff00::/8
  bool is_loopback() const;    // ::1
  bool is_link_local() const;  // fe80::/10
  bool is_v4_mapped() const;   // ::ffff:0:0/96
  std::string str() const;     // RFC 5952 text form
  // inet_pton syntax; no zone ("%eth0"), no brackets, no spaces.
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
  uint8_t max_len() const { return v6 ? 128 : 32; }
  IpAddr addr() const;
  bool contains(const IpAddr& a) const;
  bool contains(const Prefix& p) const;  // p is equal to or more specific than this
  std::string str() const;               // "198.51.100.0/24", "2001:db8::/32"
  // `addr`/`len` with the host bits cleared (len is capped at the family's maximum).
  static Prefix masked(const IpAddr& addr, uint8_t len);
  // Returns the prefix or an error message. "ADDR/LEN" only: LEN is decimal,
  // 0..32 or 0..128, no sign, no spaces, no leading zeros. Messages:
  // "missing prefix length", "bad prefix length '...'", "prefix length N out of
  // range 0..M", "bad address '...'", "host bits set".
  static std::variant<Prefix, std::string> parse(std::string_view s);
};

std::string ip_str(const IpAddr& a);
std::optional<IpAddr> parse_ip(std::string_view s);
inline bool is_v6(const IpAddr& a) { return std::holds_alternative<Ip6>(a); }
// An IPv6 address as is, an IPv4 one mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2).
Ip6 mapped6(const IpAddr& a);

}  // namespace aigw
