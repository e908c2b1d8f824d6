#include "rdma/crc32.hpp"

#include <zlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace aigw::rdma {

uint32_t crc32_feed_zlib(uint32_t crc, std::span<const uint8_t> b) {
  // zlib inverts the register before and after
  return ~static_cast<uint32_t>(crc32_z(~crc & 0xffffffffu, b.data(), b.size()));
}

#if defined(__x86_64__)
namespace {

// x^(n*8+32) and x^(n*8-32) mod P, bit-reflected, for folding a 16-byte
// block onto the one n bytes later: n = 64 (four lanes), n = 16 (one).
constexpr long long kFold64Lo = 0x154442bd4, kFold64Hi = 0x1c6e41596;
constexpr long long kFold16Lo = 0x1751997d0, kFold16Hi = 0x0ccaa009e;

__attribute__((target("pclmul,sse4.1"))) inline __m128i load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// x moved on to `next`'s place (x * x^distance mod P, as 128 bits), plus next.
__attribute__((target("pclmul,sse4.1"))) inline __m128i fold(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(
      _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

// n >= 64. The message folds down to one 16-byte block that leaves the
// register where the whole message would from 0 (the starting register is
// added into the first 4 bytes: the CRC is linear); zlib takes that block
// and the bytes after the last whole block.
__attribute__((target("pclmul,sse4.1"))) uint32_t feed_folded(uint32_t crc, const uint8_t* p,
                                                             size_t n) {
  const __m128i k64 = _mm_set_epi64x(kFold64Hi, kFold64Lo);
  const __m128i k16 = _mm_set_epi64x(kFold16Hi, kFold16Lo);
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(crc)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
    x0 = fold(x0, k64, load(p));
    x1 = fold(x1, k64, load(p + 16));
    x2 = fold(x2, k64, load(p + 32));
    x3 = fold(x3, k64, load(p + 48));
  }
  __m128i x = fold(fold(fold(x0, k16, x1), k16, x2), k16, x3);
  for (; n >= 16; p += 16, n -= 16) x = fold(x, k16, load(p));
  alignas(16) uint8_t last[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(last), x);
  return crc32_feed_zlib(crc32_feed_zlib(0, last), {p, n});
}

bool have_clmul() {
  static const bool yes = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return yes;
}

}  // namespace
#endif

uint32_t crc32_feed(uint32_t crc, std::span<const uint8_t> b) {
#if defined(__x86_64__)
  if (b.size() >= 64 && have_clmul()) return feed_folded(crc, b.data(), b.size());
#endif
  return crc32_feed_zlib(crc, b);
}

}  // namespace aigw::rdma
