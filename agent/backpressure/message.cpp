#include "backpressure/message.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace aigw::bp {
namespace {

constexpr size_t kVersionAt = 4, kTypeAt = 5, kTenantAt = 6, kSeqAt = 8, kHoldAt = 16;

void put_be(uint8_t* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

uint64_t get_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

std::array<uint8_t, kMacBytes> mac_of(const uint8_t* data, const Key& key) {
  std::array<uint8_t, kMacBytes> out{};
  unsigned len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, kSignedBytes, out.data(),
            &len) ||
      len != kMacBytes)
    throw std::runtime_error("HMAC-SHA256 failed");
  return out;
}

}  // namespace

Wire encode(const Message& m, const Key& key) {
  Wire w{};
  std::copy(kMagic.begin(), kMagic.end(), w.begin());
  w[kVersionAt] = kVersion;
  w[kTypeAt] = static_cast<uint8_t>(m.type);
  put_be(&w[kTenantAt], m.tenant, 2);
  put_be(&w[kSeqAt], m.seq, 8);
  put_be(&w[kHoldAt], m.hold_ms, 4);
  auto mac = mac_of(w.data(), key);
  std::copy(mac.begin(), mac.end(), w.begin() + kSignedBytes);
  return w;
}

std::string_view reject_name(Reject r) {
  switch (r) {
    case Reject::Short:
      return "short";
    case Reject::Magic:
      return "bad_magic";
    case Reject::Version:
      return "bad_version";
    case Reject::Type:
      return "bad_type";
    case Reject::Mac:
      return "bad_mac";
  }
  return "unknown";
}

// The MAC is checked before any field is believed.
std::variant<Message, Reject> decode(std::span<const uint8_t> d, const Key& key) {
  if (d.size() != kMessageSize) return Reject::Short;
  if (!std::equal(kMagic.begin(), kMagic.end(), d.begin())) return Reject::Magic;
  auto mac = mac_of(d.data(), key);
  if (CRYPTO_memcmp(mac.data(), d.data() + kSignedBytes, kMacBytes) != 0) return Reject::Mac;
  if (d[kVersionAt] != kVersion) return Reject::Version;
  uint8_t type = d[kTypeAt];
  if (type != static_cast<uint8_t>(MsgType::Pause) && type != static_cast<uint8_t>(MsgType::Resume))
    return Reject::Type;
  Message m;
  m.type = static_cast<MsgType>(type);
  m.tenant = static_cast<uint16_t>(get_be(&d[kTenantAt], 2));
  m.seq = get_be(&d[kSeqAt], 8);
  m.hold_ms = static_cast<uint32_t>(get_be(&d[kHoldAt], 4));
  return m;
}

std::optional<Key> parse_key_hex(std::string_view t) {
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!t.empty() && space(t.front())) t.remove_prefix(1);
  while (!t.empty() && space(t.back())) t.remove_suffix(1);
  if (t.size() % 2 || t.size() < 2 * kMinKeyBytes || t.size() > 2 * kMaxKeyBytes)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Key k;
  for (size_t i = 0; i < t.size(); i += 2) {
    int hi = nibble(t[i]), lo = nibble(t[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    k.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return k;
}

}  // namespace aigw::bp
