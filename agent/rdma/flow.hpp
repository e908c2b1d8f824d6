// A RoCEv2 stream the proxy follows: one direction of a reliable
// connection, requester to responder, named by the addresses and the
// destination QP (RoCEv2 carries no source QP).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
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

// Eight bytes at a time (a hash per packet, several per packet on the
// proxy's path): the words of both addresses, then the family and QP,
// each mixed by a multiply and a shift.
struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const {
    constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
    auto word = [](const std::array<uint8_t, 16>& a, size_t i) {
      uint64_t w;
      std::memcpy(&w, a.data() + 8 * i, sizeof(w));
      return w;
    };
    uint64_t h = (uint64_t{k.family} << 32 | k.dqp) * kMul;
    for (uint64_t w : {word(k.src, 0), word(k.src, 1), word(k.dst, 0), word(k.dst, 1)}) {
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    return static_cast<size_t>(h);
  }
};

}  // namespace aigw::rdma
