// A RoCEv2 stream the proxy follows: one direction of a reliable
// connection, requester to responder, named by the addresses and the
// destination QP (RoCEv2 carries no source QP).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>

#include "rdma/roce.hpp"

namespace aigw::rdma {

struct FlowKey {
  uint8_t family = 6;
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  uint32_t dqp = 0;
  friend bool operator==(const FlowKey&, const FlowKey&) = default;
  // The address pair the other way round (the responder's ACKs), QP unset.
  FlowKey reversed_pair() const {
    FlowKey k = *this;
    std::swap(k.src, k.dst);
    k.dqp = 0;
    return k;
  }
  FlowKey pair() const {
    FlowKey k = *this;
    k.dqp = 0;
    return k;
  }
};

// The key of a parsed packet (ip as given to parse_roce).
inline FlowKey flow_of(std::span<const uint8_t> ip, const RocePacket& p) {
  FlowKey k;
  k.family = static_cast<uint8_t>(p.family);
  k.dqp = p.bth.dqp;
  size_t off = p.family == 4 ? 12 : 8, len = p.family == 4 ? 4 : 16;
  for (size_t i = 0; i < len; i++) {
    k.src[i] = ip[off + i];
    k.dst[i] = ip[off + len + i];
  }
  return k;
}

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const {
    uint64_t h = 0xcbf29ce484222325ull ^ k.family;
    auto mix = [&h](uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
    for (uint8_t b : k.src) mix(b);
    for (uint8_t b : k.dst) mix(b);
    for (int i = 0; i < 3; i++) mix(static_cast<uint8_t>(k.dqp >> (8 * i)));
    return static_cast<size_t>(h);
  }
};

}  // namespace aigw::rdma
