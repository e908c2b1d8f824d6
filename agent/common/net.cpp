#include "common/net.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace aigw {

namespace {

// inet_pton needs a NUL-terminated string; an embedded NUL would silently cut
// the input short, so refuse it up front.
template <size_t N>
bool pton(int af, std::string_view s, std::array<uint8_t, N>& out) {
  if (s.empty() || s.size() > 64 || s.find('\0') != std::string_view::npos) return false;
  std::string z(s);
  return inet_pton(af, z.c_str(), out.data()) == 1;
}

// Decimal 0..max, digits only, no leading zeros ("0" itself is fine).
std::optional<unsigned> parse_len(std::string_view s) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v;
}

void clear_host_bits(std::array<uint8_t, 16>& b, unsigned len, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i) {
    unsigned first_bit = i * 8;
    if (first_bit >= len) {
      b[i] = 0;
    } else if (len - first_bit < 8) {
      b[i] &= static_cast<uint8_t>(0xff00u >> (len - first_bit));
    }
  }
}

bool prefix_match(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b,
                  unsigned len) {
  unsigned full = len / 8, rest = len % 8;
  if (std::memcmp(a.data(), b.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff00u >> rest);
  return (a[full] & mask) == (b[full] & mask);
}

}  // namespace

// ---------------------------------------------------------------- Ip4

uint32_t Ip4::be() const {
  uint32_t v;
  std::memcpy(&v, b.data(), 4);
  return v;
}
bool Ip4::is_zero() const { return b == std::array<uint8_t, 4>{}; }
bool Ip4::is_multicast() const { return (b[0] & 0xf0) == 0xe0; }
bool Ip4::is_broadcast() const { return b == std::array<uint8_t, 4>{255, 255, 255, 255}; }

std::string Ip4::str() const { return fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]); }

std::optional<Ip4> Ip4::parse(std::string_view s) {
  Ip4 a;
  if (!pton(AF_INET, s, a.b)) return std::nullopt;
  return a;
}

// ---------------------------------------------------------------- Ip6

bool Ip6::is_zero() const { return b == std::array<uint8_t, 16>{}; }
bool Ip6::is_multicast() const { return b[0] == 0xff; }
bool Ip6::is_loopback() const {
  return std::all_of(b.begin(), b.begin() + 15, [](uint8_t x) { return x == 0; }) && b[15] == 1;
}
bool Ip6::is_link_local() const { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }
bool Ip6::is_v4_mapped() const {
  return std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; }) &&
         b[10] == 0xff && b[11] == 0xff;
}

std::string Ip6::str() const {
  // glibc prints any ::/96 address except :: and ::1 in the deprecated
  // "IPv4-compatible" dotted form (::0.1.0.2); RFC 5952 section 5 keeps mixed
  // notation for v4-mapped addresses only, so format that case ourselves.
  bool top96_zero = std::all_of(b.begin(), b.begin() + 12, [](uint8_t x) { return x == 0; });
  if (top96_zero) {
    unsigned w6 = (b[12] << 8) | b[13], w7 = (b[14] << 8) | b[15];
    if (w6 == 0) return w7 == 0 ? "::" : fmt::format("::{:x}", w7);
    return fmt::format("::{:x}:{:x}", w6, w7);
  }
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, b.data(), buf, sizeof buf)) return "?";
  return buf;
}

std::optional<Ip6> Ip6::parse(std::string_view s) {
  Ip6 a;
  if (!pton(AF_INET6, s, a.b)) return std::nullopt;
  return a;
}

// ---------------------------------------------------------------- IpAddr

std::string ip_str(const IpAddr& a) {
  return std::visit([](const auto& x) { return x.str(); }, a);
}

std::optional<IpAddr> parse_ip(std::string_view s) {
  if (s.find(':') != std::string_view::npos) {
    if (auto a = Ip6::parse(s)) return IpAddr{*a};
    return std::nullopt;
  }
  if (auto a = Ip4::parse(s)) return IpAddr{*a};
  return std::nullopt;
}

// ---------------------------------------------------------------- Prefix

IpAddr Prefix::addr() const {
  if (v6) {
    Ip6 a;
    a.b = b;
    return a;
  }
  Ip4 a;
  std::copy_n(b.begin(), 4, a.b.begin());
  return a;
}

bool Prefix::contains(const IpAddr& a) const {
  if (is_v6(a) != v6) return false;
  std::array<uint8_t, 16> x{};
  if (v6) {
    x = std::get<Ip6>(a).b;
  } else {
    std::copy_n(std::get<Ip4>(a).b.begin(), 4, x.begin());
  }
  return prefix_match(b, x, len);
}

bool Prefix::contains(const Prefix& p) const {
  return p.v6 == v6 && p.len >= len && prefix_match(b, p.b, len);
}

std::string Prefix::str() const { return fmt::format("{}/{}", ip_str(addr()), len); }

Prefix Prefix::masked(const IpAddr& a, uint8_t len) {
  Prefix p;
  p.v6 = is_v6(a);
  if (p.v6) {
    p.b = std::get<Ip6>(a).b;
  } else {
    std::copy_n(std::get<Ip4>(a).b.begin(), 4, p.b.begin());
  }
  p.len = std::min<uint8_t>(len, p.max_len());
  clear_host_bits(p.b, p.len, p.v6 ? 16 : 4);
  return p;
}

std::variant<Prefix, std::string> Prefix::parse(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::string("missing prefix length");
  std::string_view as = s.substr(0, slash), ls = s.substr(slash + 1);
  auto a = parse_ip(as);
  if (!a) return fmt::format("bad address '{}'", as);
  Prefix p;
  p.v6 = is_v6(*a);
  if (ls.empty()) return std::string("missing prefix length");
  auto len = parse_len(ls);
  if (!len) return fmt::format("bad prefix length '{}'", ls);
  if (*len > p.max_len()) {
    return fmt::format("prefix length {} out of range 0..{}", *len, p.max_len());
  }
  Prefix m = masked(*a, static_cast<uint8_t>(*len));
  if (m.addr() != *a) return std::string("host bits set");
  return m;
}

Ip6 mapped6(const IpAddr& a) {
  if (const auto* v6 = std::get_if<Ip6>(&a)) return *v6;
  Ip6 m;
  m.b[10] = m.b[11] = 0xff;
  std::copy_n(std::get<Ip4>(a).b.begin(), 4, m.b.begin() + 12);
  return m;
}

}  // namespace aigw
