// The NACK as a packet: a UDP datagram to kNackPort carrying the message
// of nack.hpp, addressed from the stream's responder to its requester, so
// that it follows the stream's reverse path (inside the SRv6 tunnel) to the
// gateway that cached the stream, which takes it out of the traffic there.
// A MISS is addressed the other way, from the requester to the responder:
// it follows the stream to the receiving gateway.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "rdma/nack.hpp"

namespace aigw::rdma {

inline constexpr uint16_t kNackPort = 4793;  // UDP destination port of NACKs

// The IP packet (IPv4 or IPv6 by n.family; the UDP checksum computed);
// the message with its MAC when a key is given.
std::vector<uint8_t> nack_packet(const Nack& n, std::span<const uint8_t> key = {});

// The NACK an IP packet carries, if it is one (UDP to kNackPort with a
// well-formed message); otherwise nullopt, and *error names why when the
// packet was addressed to kNackPort but did not decode.
std::optional<Nack> nack_of_packet(std::span<const uint8_t> ip, std::optional<NackError>* error,
                                   std::span<const uint8_t> key = {});

}  // namespace aigw::rdma
