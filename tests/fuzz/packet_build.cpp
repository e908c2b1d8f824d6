#include "packet_build.hpp"

#include <arpa/inet.h>

#include <stdexcept>
#include <string>

namespace aigw::fuzz {

Ip4 ip4(std::string_view text) {
  Ip4 a{};
  if (inet_pton(AF_INET, std::string(text).c_str(), a.data()) != 1)
    throw std::invalid_argument("bad IPv4 address " + std::string(text));
  return a;
}

Ip6 ip6(std::string_view text) {
  Ip6 a{};
  if (inet_pton(AF_INET6, std::string(text).c_str(), a.data()) != 1)
    throw std::invalid_argument("bad IPv6 address " + std::string(text));
  return a;
}

Mac mac(std::string_view text) {
  Mac m{};
  unsigned v[6];
  if (std::sscanf(std::string(text).c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5]) != 6)
    throw std::invalid_argument("bad MAC " + std::string(text));
  for (int i = 0; i < 6; i++) m[i] = static_cast<uint8_t>(v[i]);
  return m;
}

uint32_t csum_add(uint32_t sum, std::span<const uint8_t> b) {
  size_t i = 0;
  for (; i + 1 < b.size(); i += 2) sum += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
  if (i < b.size()) sum += static_cast<uint32_t>(b[i] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}

uint16_t get16(std::span<const uint8_t> b, size_t off) {
  return static_cast<uint16_t>(b[off] << 8 | b[off + 1]);
}

Bytes cat(std::initializer_list<std::span<const uint8_t>> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes eth(const Mac& dst, const Mac& src, uint16_t type) {
  Bytes b(14);
  std::copy(dst.begin(), dst.end(), b.begin());
  std::copy(src.begin(), src.end(), b.begin() + 6);
  put16(b, 12, type);
  return b;
}

Bytes vlan_tag(uint16_t vid, uint16_t inner_type) {
  Bytes b(4);
  put16(b, 0, vid & 0xfff);
  put16(b, 2, inner_type);
  return b;
}

Bytes ipv4(const Ip4& src, const Ip4& dst, uint8_t proto, std::span<const uint8_t> payload,
           const Ip4Opts& o) {
  Bytes h(20);
  h[0] = 0x45;
  h[1] = o.tos;
  put16(h, 2, static_cast<uint16_t>(20 + payload.size()));
  put16(h, 4, o.id);
  put16(h, 6, static_cast<uint16_t>(o.frag | (o.df ? 0x4000 : 0)));
  h[8] = o.ttl;
  h[9] = proto;
  std::copy(src.begin(), src.end(), h.begin() + 12);
  std::copy(dst.begin(), dst.end(), h.begin() + 16);
  put16(h, 10, csum_fold(csum_add(0, h)));
  return cat({h, payload});
}

Bytes ipv6(const Ip6& src, const Ip6& dst, uint8_t nh, std::span<const uint8_t> payload,
           uint8_t hlim, uint8_t tclass) {
  Bytes h(40);
  h[0] = static_cast<uint8_t>(0x60 | tclass >> 4);
  h[1] = static_cast<uint8_t>(tclass << 4);
  put16(h, 4, static_cast<uint16_t>(payload.size()));
  h[6] = nh;
  h[7] = hlim;
  std::copy(src.begin(), src.end(), h.begin() + 8);
  std::copy(dst.begin(), dst.end(), h.begin() + 24);
  return cat({h, payload});
}

void set_l4_csum(Bytes& l4, std::span<const uint8_t> src, std::span<const uint8_t> dst,
                 uint8_t proto) {
  const size_t at = proto == 6 ? 16 : proto == 17 ? 6 : 2;
  if (l4.size() < at + 2) return;
  put16(l4, at, 0);
  uint32_t s = csum_add(csum_add(0, src), dst);
  s += proto;
  s += static_cast<uint32_t>(l4.size());
  uint16_t c = csum_fold(csum_add(s, l4));
  if (proto == 17 && c == 0) c = 0xffff;
  put16(l4, at, c);
}

Bytes udp(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint16_t sport,
          uint16_t dport, std::span<const uint8_t> data) {
  Bytes u(8);
  put16(u, 0, sport);
  put16(u, 2, dport);
  put16(u, 4, static_cast<uint16_t>(8 + data.size()));
  u.insert(u.end(), data.begin(), data.end());
  set_l4_csum(u, src, dst, 17);
  return u;
}

Bytes tcp(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint16_t sport,
          uint16_t dport, uint8_t flags, std::span<const uint8_t> options,
          std::span<const uint8_t> data) {
  Bytes t(20);
  put16(t, 0, sport);
  put16(t, 2, dport);
  t[7] = 1;  // sequence number 1
  const size_t optlen = (options.size() + 3) / 4 * 4;
  t[12] = static_cast<uint8_t>((20 + optlen) / 4 << 4);
  t[13] = flags;
  put16(t, 14, 65535);
  t.insert(t.end(), options.begin(), options.end());
  t.resize(20 + optlen, 1);  // NOP padding
  t.insert(t.end(), data.begin(), data.end());
  set_l4_csum(t, src, dst, 6);
  return t;
}

Bytes icmp4_echo(std::span<const uint8_t> data) {
  Bytes m{8, 0, 0, 0, 0x12, 0x34, 0, 1};
  m.insert(m.end(), data.begin(), data.end());
  put16(m, 2, csum_fold(csum_add(0, m)));
  return m;
}

Bytes icmp6_echo(const Ip6& src, const Ip6& dst, std::span<const uint8_t> data) {
  Bytes m{128, 0, 0, 0, 0x12, 0x34, 0, 1};
  m.insert(m.end(), data.begin(), data.end());
  set_l4_csum(m, src, dst, 58);
  return m;
}

Bytes opts_header(uint8_t nh, std::span<const uint8_t> options) {
  Bytes b{nh, 0};
  b.insert(b.end(), options.begin(), options.end());
  const size_t pad = (8 - b.size() % 8) % 8;
  if (pad == 1) {
    b.push_back(0);
  } else if (pad) {
    b.push_back(1);
    b.push_back(static_cast<uint8_t>(pad - 2));
    b.resize(b.size() + pad - 2, 0);
  }
  b[1] = static_cast<uint8_t>(b.size() / 8 - 1);
  return b;
}

Bytes apn_option(uint8_t type, std::span<const uint8_t> id) {
  const uint8_t id_type = id.size() == 4 ? 1 : id.size() == 8 ? 2 : 3;
  Bytes o{type, static_cast<uint8_t>(4 + id.size()), id_type, 0, 0, 0};
  o.insert(o.end(), id.begin(), id.end());
  return o;
}

Bytes frag_header(uint8_t nh, uint16_t offset_units, bool more, uint32_t ident) {
  Bytes f{nh, 0, 0, 0, 0, 0, 0, 0};
  put16(f, 2, static_cast<uint16_t>(offset_units << 3 | (more ? 1 : 0)));
  put16(f, 4, static_cast<uint16_t>(ident >> 16));
  put16(f, 6, static_cast<uint16_t>(ident));
  return f;
}

Bytes srh(uint8_t nh, const std::vector<Ip6>& segs, uint8_t sl, uint8_t le) {
  Bytes s{nh, static_cast<uint8_t>(2 * segs.size()), 4, sl, le, 0, 0, 0};
  for (const auto& a : segs) s.insert(s.end(), a.begin(), a.end());
  return s;
}

}  // namespace aigw::fuzz
