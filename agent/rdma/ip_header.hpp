// The IP header of a UDP datagram as Linux writes it for an unconnected
// socket that sends with DF: IPv4 ID 0 (the ICRC of RoCEv2 covers the ID),
// TTL / hop limit 64, traffic class 0, no options or extension headers.
// Used where the proxy or a test endpoint must know the header byte for
// byte: the NACK packets, and the ICRC of what a UDP socket sends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace aigw::rdma {

inline constexpr size_t kIp4HeaderLen = 20, kIp6HeaderLen = 40;
inline constexpr uint8_t kIpProtoUdp = 17;

// Writes the header at the start of `b` (zeroed beforehand) for family 4
// or 6, addresses of 4 or 16 bytes, a UDP datagram of udp_len bytes behind
// it; returns the header's length.
size_t write_udp_ip_header(std::span<uint8_t> b, uint8_t family, const uint8_t* src,
                           const uint8_t* dst, size_t udp_len);

// RFC 1071: the 16-bit one's complement sum of b added to s, and its folded
// complement (a checksum field's value).
uint32_t sum16(std::span<const uint8_t> b, uint32_t s = 0);
uint16_t fold(uint32_t s);

}  // namespace aigw::rdma
