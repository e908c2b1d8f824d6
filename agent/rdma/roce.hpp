// RoCEv2 packets (InfiniBand Architecture Specification vol. 1, Annex A17):
// the IB transport over UDP to port 4791. What the proxy reads of them: the
// Base Transport Header (opcode, destination QP, PSN, ack request) and the
// invariant CRC (ICRC) that ends every packet, which it checks and, being a
// retransmitter that sends packets byte for byte, never rewrites.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

namespace aigw::rdma {

inline constexpr uint16_t kRoceV2Port = 4791;
inline constexpr size_t kBthLen = 12;
inline constexpr size_t kIcrcLen = 4;
inline constexpr size_t kUdpLen = 8;

// Base Transport Header.
struct Bth {
  uint8_t opcode = 0;
  bool solicited = false;
  bool migreq = false;
  uint8_t padcount = 0;
  uint8_t version = 0;  // transport header version: 0
  uint16_t pkey = 0;
  bool fecn = false;
  bool becn = false;
  uint32_t dqp = 0;  // destination queue pair, 24 bits
  bool ackreq = false;
  uint32_t psn = 0;  // 24 bits
};

// Opcodes: the top 3 bits name the transport (0 = reliable connection),
// the low 5 the operation.
inline constexpr uint8_t kTransportRc = 0;
inline constexpr uint8_t kOpRcAck = 0x11;
inline constexpr uint8_t kOpRcAtomicAck = 0x12;
inline constexpr uint8_t kOpCnp = 0x81;  // congestion notification (RoCEv2)

constexpr uint8_t transport_of(uint8_t opcode) { return opcode >> 5; }
// A reliable-connection packet that carries a PSN of the sender's stream
// (requests and read responses), as opposed to acknowledgements.
constexpr bool rc_sequenced(uint8_t opcode) {
  return transport_of(opcode) == kTransportRc && opcode != kOpRcAck && opcode != kOpRcAtomicAck;
}

enum class RoceError {
  truncated,   // shorter than its headers (or than the IP length says)
  not_ip,      // neither IPv4 nor IPv6
  ip_options,  // IPv6 extension headers, IPv4 fragments: not handled here
  not_udp,
  not_roce,        // UDP to another port
  bad_udp_length,  // the UDP length disagrees with the IP length
  bad_version,     // BTH transport header version not 0
};
std::string_view name(RoceError e);

// Where the parts of a RoCEv2 packet are, from the start of its IP header.
struct RocePacket {
  int family = 0;  // 4 or 6
  size_t udp_off = 0;
  size_t bth_off = 0;
  size_t icrc_off = 0;  // the packet (by its IP length) ends 4 bytes after
  Bth bth;
};

// Parse an IP packet (no link header). Bytes after the IP length (Ethernet
// padding) are ignored.
std::variant<RocePacket, RoceError> parse_roce(std::span<const uint8_t> ip);

// The ICRC the packet should carry: CRC-32 (the Ethernet polynomial) of
// 8 bytes of 0xff (in place of the link header of native IB), the IP
// packet up to the ICRC with the fields routers change set to all ones
// (IPv4 type of service, TTL and checksum; IPv6 traffic class, flow label
// and hop limit; the UDP checksum; the BTH FECN/BECN/reserved byte), as
// a little-endian number on the wire. `p` must come from parse_roce(ip).
uint32_t icrc_compute(std::span<const uint8_t> ip, const RocePacket& p);
// The ICRC in the packet (as icrc_compute returns it).
uint32_t icrc_read(std::span<const uint8_t> ip, const RocePacket& p);
inline bool icrc_ok(std::span<const uint8_t> ip, const RocePacket& p) {
  return icrc_compute(ip, p) == icrc_read(ip, p);
}
// Write a freshly computed ICRC (the test tools' endpoints do).
void icrc_write(std::span<uint8_t> ip, const RocePacket& p);

}  // namespace aigw::rdma
