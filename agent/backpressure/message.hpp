// Pause and resume between gateways (issue 13): a downstream gateway whose
// queue for a tenant passes XOFF asks its upstream peers to hold exactly
// that tenant, and to let it go again below XON. A UDP datagram (port 4792
// by default) between the gateways' underlay addresses, so it crosses the
// same WAN (the SRv6 underlay) as the tenant's traffic:
//
//   0        4     5      6        8              16        20         24            56
//   | "AGBP" | ver | type | tenant | sequence (BE) | hold_ms | reserved | HMAC-SHA256 |
//
// sequence: the sender's wall clock in ns, strictly increasing per sender,
//   so a receiver refuses what is not newer than the last it took from the
//   peer, or further than kMaxSkew from its own clock: nothing replays,
//   not even across a restart of either side.
// hold_ms: how long a PAUSE holds at most without a refresh (the receiver
//   caps it with its own max_pause_ms: a lost RESUME cannot stall a
//   tenant); 0 in a RESUME.
// The MAC: HMAC-SHA256 of bytes 0..23 with the pair's shared key.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace aigw::bp {

enum class MsgType : uint8_t { Pause = 1, Resume = 2 };

struct Message {
  MsgType type = MsgType::Pause;
  uint16_t tenant = 0;
  uint64_t seq = 0;
  uint32_t hold_ms = 0;
  bool operator==(const Message&) const = default;
};

inline constexpr std::array<uint8_t, 4> kMagic = {'A', 'G', 'B', 'P'};
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kSignedBytes = 24;
inline constexpr size_t kMacBytes = 32;
inline constexpr size_t kMessageSize = kSignedBytes + kMacBytes;
inline constexpr uint16_t kDefaultPort = 4792;
inline constexpr auto kMaxSkew = std::chrono::seconds(30);
inline constexpr size_t kMinKeyBytes = 16, kMaxKeyBytes = 64;

using Key = std::vector<uint8_t>;
using Wire = std::array<uint8_t, kMessageSize>;

Wire encode(const Message& m, const Key& key);

// Why a datagram was refused before its contents were looked at.
enum class Reject { Short, Magic, Version, Type, Mac };
std::string_view reject_name(Reject r);
std::variant<Message, Reject> decode(std::span<const uint8_t> data, const Key& key);

// A key as written in a key file: 32..128 hex digits (16..64 bytes), with
// surrounding white space.
std::optional<Key> parse_key_hex(std::string_view text);

}  // namespace aigw::bp
