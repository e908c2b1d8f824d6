// Packet sequence numbers of InfiniBand / RoCEv2: 24 bits, wrapping. Two
// PSNs are compared by their distance modulo 2^24, taken in
// [-2^23, 2^23): a PSN half the space or more ahead is behind.
#pragma once

#include <cstdint>

namespace aigw::rdma {

inline constexpr uint32_t kPsnMask = 0xffffff;
inline constexpr uint32_t kPsnSpace = 0x1000000;
inline constexpr uint32_t kPsnHalf = 0x800000;

constexpr uint32_t psn_add(uint32_t psn, int64_t n) {
  return static_cast<uint32_t>((static_cast<int64_t>(psn) + n) & kPsnMask);
}

// b - a, modulo 2^24, in [-2^23, 2^23).
constexpr int32_t psn_diff(uint32_t b, uint32_t a) {
  uint32_t d = (b - a) & kPsnMask;
  return d >= kPsnHalf ? static_cast<int32_t>(d) - static_cast<int32_t>(kPsnSpace)
                       : static_cast<int32_t>(d);
}

// a comes before b.
constexpr bool psn_before(uint32_t a, uint32_t b) { return psn_diff(b, a) > 0; }

// A run of PSNs: first, and how many (1..).
struct PsnRange {
  uint32_t first = 0;
  uint32_t count = 0;
  uint32_t last() const { return psn_add(first, static_cast<int64_t>(count) - 1); }
  bool contains(uint32_t psn) const {
    int32_t d = psn_diff(psn, first);
    return d >= 0 && static_cast<uint32_t>(d) < count;
  }
  friend bool operator==(const PsnRange&, const PsnRange&) = default;
};

}  // namespace aigw::rdma
