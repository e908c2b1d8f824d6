// CRC-32 (IEEE 802.3, the reflected polynomial 0xedb88320), the CRC of the
// RoCEv2 ICRC: the register fed with bytes, without the inversions a
// caller adds at the start and the end.
#pragma once

#include <cstdint>
#include <span>

namespace aigw::rdma {

// The register after `b`, from `crc`. On x86-64 with PCLMULQDQ, 64 bytes
// and more are folded 64 at a time by carry-less multiplication (Intel's
// "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ"); the
// rest, and every byte elsewhere, goes through zlib's crc32.
uint32_t crc32_feed(uint32_t crc, std::span<const uint8_t> b);

// zlib's path alone, for the tests to compare with.
uint32_t crc32_feed_zlib(uint32_t crc, std::span<const uint8_t> b);

}  // namespace aigw::rdma
