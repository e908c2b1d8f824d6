#include "rdma/nack.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "rdma/wire.hpp"

namespace aigw::rdma {

using namespace wire;

std::string_view name(NackError e) {
  switch (e) {
    case NackError::truncated:
      return "truncated";
    case NackError::bad_magic:
      return "bad_magic";
    case NackError::bad_version:
      return "bad_version";
    case NackError::bad_type:
      return "bad_type";
    case NackError::bad_family:
      return "bad_family";
    case NackError::bad_ranges:
      return "bad_ranges";
    case NackError::bad_range:
      return "bad_range";
    case NackError::unauthenticated:
      return "unauthenticated";
    case NackError::bad_mac:
      return "bad_mac";
  }
  return "unknown";
}

namespace {

// HMAC-SHA256 of b with key, its first kNackMacLen bytes.
std::array<uint8_t, kNackMacLen> mac_of(std::span<const uint8_t> b, std::span<const uint8_t> key) {
  std::array<uint8_t, EVP_MAX_MD_SIZE> full{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), b.data(), b.size(), full.data(),
            &len) ||
      len < kNackMacLen)
    throw std::runtime_error("HMAC-SHA256 failed");
  std::array<uint8_t, kNackMacLen> out{};
  std::copy_n(full.begin(), kNackMacLen, out.begin());
  return out;
}

}  // namespace

std::vector<uint8_t> encode(const Nack& n, std::span<const uint8_t> key) {
  size_t nr = std::min(n.ranges.size(), kNackMaxRanges);
  std::vector<uint8_t> b;
  b.reserve(kNackHeaderLen + nr * kNackRangeLen + kNackMacLen);
  append16(b, kNackMagic);
  b.push_back(key.empty() ? kNackVersion : kNackVersionMac);
  b.push_back(n.type);
  append32(b, n.seq);
  b.push_back(n.family);
  b.push_back(static_cast<uint8_t>(nr));
  append16(b, 0);
  append32(b, n.dqp & kPsnMask);
  b.insert(b.end(), n.src.begin(), n.src.end());
  b.insert(b.end(), n.dst.begin(), n.dst.end());
  for (size_t i = 0; i < nr; i++) {
    append32(b, n.ranges[i].first & kPsnMask);
    append32(b, n.ranges[i].count);
  }
  if (!key.empty()) {
    auto mac = mac_of(b, key);
    b.insert(b.end(), mac.begin(), mac.end());
  }
  return b;
}

std::variant<Nack, NackError> decode_nack(std::span<const uint8_t> b,
                                          std::span<const uint8_t> key) {
  if (b.size() < kNackHeaderLen) return NackError::truncated;
  if (get16(b, 0) != kNackMagic) return NackError::bad_magic;
  if (b[2] != kNackVersion && b[2] != kNackVersionMac) return NackError::bad_version;
  if ((b[2] == kNackVersionMac) != !key.empty()) return NackError::unauthenticated;
  if (!key.empty()) {
    if (b.size() < kNackHeaderLen + kNackMacLen) return NackError::truncated;
    auto body = b.first(b.size() - kNackMacLen);
    auto mac = mac_of(body, key);
    if (CRYPTO_memcmp(mac.data(), b.data() + body.size(), kNackMacLen) != 0)
      return NackError::bad_mac;
    b = body;
  }
  if (b[3] != kNackType && b[3] != kMissType) return NackError::bad_type;
  Nack n;
  n.type = b[3];
  n.seq = get32(b, 4);
  n.family = b[8];
  if (n.family != 4 && n.family != 6) return NackError::bad_family;
  size_t nr = b[9];
  if (nr == 0 || nr > kNackMaxRanges) return NackError::bad_ranges;
  if (b.size() < kNackHeaderLen + nr * kNackRangeLen) return NackError::truncated;
  if (b.size() > kNackHeaderLen + nr * kNackRangeLen) return NackError::bad_ranges;
  n.dqp = get32(b, 12);
  if (n.dqp > kPsnMask) return NackError::bad_range;
  std::copy_n(b.begin() + 16, 16, n.src.begin());
  std::copy_n(b.begin() + 32, 16, n.dst.begin());
  for (size_t i = 0; i < nr; i++) {
    size_t off = kNackHeaderLen + i * kNackRangeLen;
    PsnRange r{get32(b, off), get32(b, off + 4)};
    if (r.first > kPsnMask || r.count == 0 || r.count >= kPsnHalf) return NackError::bad_range;
    n.ranges.push_back(r);
  }
  return n;
}

}  // namespace aigw::rdma
