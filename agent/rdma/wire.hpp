// Network-order fields of the proxy's packets and messages: read at an
// offset of a byte span, written at a pointer or appended.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace aigw::rdma::wire {

inline uint16_t get16(std::span<const uint8_t> b, size_t off) {
  return static_cast<uint16_t>(b[off] << 8 | b[off + 1]);
}
inline uint32_t get24(std::span<const uint8_t> b, size_t off) {
  return static_cast<uint32_t>(b[off]) << 16 | static_cast<uint32_t>(b[off + 1]) << 8 | b[off + 2];
}
inline uint32_t get32(std::span<const uint8_t> b, size_t off) {
  return static_cast<uint32_t>(get16(b, off)) << 16 | get16(b, off + 2);
}

inline void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void append16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void append32(std::vector<uint8_t>& b, uint32_t v) {
  append16(b, static_cast<uint16_t>(v >> 16));
  append16(b, static_cast<uint16_t>(v));
}

}  // namespace aigw::rdma::wire
