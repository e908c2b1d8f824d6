// The selective NACK, gateway to gateway: the receiving gateway of a RoCEv2
// flow names the PSN ranges it misses; the sending gateway resends them
// from its cache. It travels inside the SRv6 tunnel between the two
// gateways as a UDP datagram to the proxy port (network byte order):
//
//    0  magic    u16  0xa16e
//    2  version  u8   1; 2 = with a MAC after the ranges
//    3  type     u8   1 = NACK; 2 = MISS (the answer: PSNs of a NACK that
//                     the sending gateway no longer holds, or never did)
//    4  seq      u32  the receiving gateway's NACK counter for this flow
//    8  family   u8   4 or 6: the RoCEv2 flow's addresses
//    9  nranges  u8   1..kNackMaxRanges
//   10  reserved u16  0
//   12  dqp      u32  the destination QP (24 bits, top byte 0)
//   16  src      16 bytes: the flow's source (IPv4 in the first 4 bytes)
//   32  dst      16 bytes: its destination (the responder)
//   48  ranges   nranges x { first u32 (24 bits), count u32 (1..2^23) }
//    .. mac      16 bytes (version 2): HMAC-SHA256 of everything before it
//                with the gateways' shared key (rdma_proxy.key_file),
//                truncated to 128 bits
//
// The flow (src, dst, dqp) is the requester-to-responder stream the sending
// gateway cached; seq lets it ignore a NACK older than one it answered. A
// MISS carries the seq of the NACK it answers and travels the other way,
// from the sending gateway to the receiving one, which then stops waiting
// for those PSNs: it releases what it holds to the hosts' go-back-N at
// once, rather than after give_up.
//
// With a key, a gateway sends version 2 and takes nothing else: a NACK
// makes it resend and a MISS makes it release held packets, so without
// the key a host on the WAN path could make it do either. The MAC is
// checked before any other field is read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "rdma/psn.hpp"

namespace aigw::rdma {

inline constexpr uint16_t kNackMagic = 0xa16e;
inline constexpr uint8_t kNackVersion = 1;     // no MAC
inline constexpr uint8_t kNackVersionMac = 2;  // a MAC after the ranges
inline constexpr size_t kNackMacLen = 16;
inline constexpr uint8_t kNackType = 1;
inline constexpr uint8_t kMissType = 2;
inline constexpr size_t kNackHeaderLen = 48;
inline constexpr size_t kNackRangeLen = 8;
inline constexpr size_t kNackMaxRanges = 32;
inline constexpr size_t kNackMaxLen = kNackHeaderLen + kNackMaxRanges * kNackRangeLen + kNackMacLen;

struct Nack {
  uint32_t seq = 0;
  uint8_t family = 6;
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  uint32_t dqp = 0;
  std::vector<PsnRange> ranges;
  uint8_t type = kNackType;  // kNackType or kMissType
  friend bool operator==(const Nack&, const Nack&) = default;
};

enum class NackError {
  truncated,  // shorter than its header or its ranges
  bad_magic,
  bad_version,
  bad_type,
  bad_family,
  bad_ranges,       // 0 or more than kNackMaxRanges, or the length disagrees
  bad_range,        // a PSN or QP over 24 bits, a count of 0 or half the PSN space
  unauthenticated,  // no MAC (version 1) where a key is set, or a MAC where none is
  bad_mac,          // the MAC is not the key's
};
std::string_view name(NackError e);

// Encoded (version 2 with its MAC when a key is given); ranges beyond
// kNackMaxRanges are not sent (the next NACK names them).
std::vector<uint8_t> encode(const Nack& n, std::span<const uint8_t> key = {});
// Decoded: with a key, only version 2 with that key's MAC; without, only
// version 1.
std::variant<Nack, NackError> decode_nack(std::span<const uint8_t> b,
                                          std::span<const uint8_t> key = {});

}  // namespace aigw::rdma
