// Packet construction for the packet fuzzer's corpus: Ethernet, 802.1Q,
// IPv4, IPv6 and its extension headers (Hop-by-Hop/Destination Options with
// PadN and the APN6 option, fragment, SRH), TCP, UDP, ICMP/ICMPv6, with
// lengths and checksums computed (RFC 791, 8200, 8754, 768, 793).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"

namespace aigw::fuzz {

using Ip4 = std::array<uint8_t, 4>;
using Ip6 = std::array<uint8_t, 16>;
using Mac = std::array<uint8_t, 6>;

Ip4 ip4(std::string_view text);  // throws std::invalid_argument
Ip6 ip6(std::string_view text);
Mac mac(std::string_view text);

// RFC 1071 sum of b folded to 16 bits, not complemented, starting at `sum`.
uint32_t csum_add(uint32_t sum, std::span<const uint8_t> b);
uint16_t csum_fold(uint32_t sum);  // ~folded

void put16(Bytes& b, size_t off, uint16_t v);
uint16_t get16(std::span<const uint8_t> b, size_t off);
Bytes cat(std::initializer_list<std::span<const uint8_t>> parts);

Bytes eth(const Mac& dst, const Mac& src, uint16_t type);
Bytes vlan_tag(uint16_t vid, uint16_t inner_type);  // the 4 bytes after the MACs' EtherType 0x8100

struct Ip4Opts {
  uint8_t ttl = 64;
  uint8_t tos = 0;
  bool df = true;
  uint16_t id = 0x1234;
  uint16_t frag = 0;  // offset in 8-byte units | 0x2000 (MF)
};
Bytes ipv4(const Ip4& src, const Ip4& dst, uint8_t proto, std::span<const uint8_t> payload,
           const Ip4Opts& o = {});
Bytes ipv6(const Ip6& src, const Ip6& dst, uint8_t nh, std::span<const uint8_t> payload,
           uint8_t hlim = 64, uint8_t tclass = 0);

// L4 with a checksum over the pseudo-header of (src, dst) (16 bytes each for
// IPv6, 4 for IPv4).
Bytes udp(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint16_t sport,
          uint16_t dport, std::span<const uint8_t> data);
Bytes tcp(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint16_t sport,
          uint16_t dport, uint8_t flags, std::span<const uint8_t> options,
          std::span<const uint8_t> data);
Bytes icmp4_echo(std::span<const uint8_t> data);
Bytes icmp6_echo(const Ip6& src, const Ip6& dst, std::span<const uint8_t> data);
// The L4 checksum in place over a pseudo-header (proto 6, 17, 58).
void set_l4_csum(Bytes& l4, std::span<const uint8_t> src, std::span<const uint8_t> dst,
                 uint8_t proto);

// Options header (Hop-by-Hop / Destination Options) holding `options`,
// padded to 8 octets with Pad1/PadN.
Bytes opts_header(uint8_t nh, std::span<const uint8_t> options);
Bytes apn_option(uint8_t type, std::span<const uint8_t> id);  // APN6: id of 4, 8 or 16 bytes
Bytes frag_header(uint8_t nh, uint16_t offset_units, bool more, uint32_t ident);
// SRH (routing type 4) with segs in wire order (segs[0] = last segment).
Bytes srh(uint8_t nh, const std::vector<Ip6>& segs, uint8_t sl, uint8_t le);

}  // namespace aigw::fuzz
