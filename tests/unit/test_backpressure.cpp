// Pause/resume messages between gateways (agent/backpressure): the wire
// format and its MAC, and the receiver's holds (refresh, cap, expiry,
// replay, skew, several peers); the backpressure section of the config.
#include <openssl/hmac.h>

#include <catch2/catch.hpp>

#include "backpressure/holds.hpp"
#include "backpressure/message.hpp"
#include "config/parse.hpp"
#include "config/serialize.hpp"

using namespace aigw::bp;
using namespace std::chrono_literals;

namespace {

const Key kKey = *parse_key_hex("00112233445566778899aabbccddeeff");

// The datagram with its MAC made again over the (changed) signed bytes.
Wire resign(Wire w, const Key& k) {
  unsigned len = 0;
  HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()), w.data(), kSignedBytes,
       w.data() + kSignedBytes, &len);
  return w;
}

constexpr int64_t kNow = 1'800'000'000'000'000'000;  // wall clock ns (2027)

Message msg(MsgType t, uint16_t tenant, int64_t seq, uint32_t hold_ms = 500) {
  return Message{t, tenant, static_cast<uint64_t>(seq), hold_ms};
}

}  // namespace

TEST_CASE("Pause message: layout, round trip, MAC checked first", "[backpressure]") {
  Message m{MsgType::Pause, 0x0102, 0x1122334455667788, 250};
  Wire w = encode(m, kKey);
  CHECK(std::string(w.begin(), w.begin() + 4) == "AGBP");
  CHECK(w[4] == 1);
  CHECK(w[5] == 1);
  CHECK((w[6] == 0x01 && w[7] == 0x02));
  CHECK((w[8] == 0x11 && w[15] == 0x88));
  CHECK((w[16] == 0 && w[19] == 250));
  auto d = decode(w, kKey);
  REQUIRE(std::holds_alternative<Message>(d));
  CHECK(std::get<Message>(d) == m);

  for (size_t i = 0; i < kMessageSize; i++) {  // any bit of it
    Wire bad = w;
    bad[i] ^= 0x10;
    auto r = decode(bad, kKey);
    REQUIRE(std::holds_alternative<Reject>(r));
    CHECK(std::get<Reject>(r) == (i < 4 ? Reject::Magic : Reject::Mac));
  }
  Key other = kKey;
  other[0] ^= 1;
  CHECK(std::get<Reject>(decode(w, other)) == Reject::Mac);
  CHECK(std::get<Reject>(decode(std::span(w).first(kMessageSize - 1), kKey)) == Reject::Short);
  Wire v = w;
  v[4] = 2;
  CHECK(std::get<Reject>(decode(resign(v, kKey), kKey)) == Reject::Version);
  v = w;
  v[5] = 3;
  CHECK(std::get<Reject>(decode(resign(v, kKey), kKey)) == Reject::Type);
  CHECK(reject_name(Reject::Mac) == "bad_mac");
}

TEST_CASE("Pause keys: hex, 16..64 bytes", "[backpressure]") {
  CHECK(parse_key_hex(" 00112233445566778899AABBCCDDEEFF\n")->size() == 16);
  CHECK(parse_key_hex(std::string(128, 'a'))->size() == 64);
  CHECK_FALSE(parse_key_hex("0011223344556677"));  // 8 bytes: too short
  CHECK_FALSE(parse_key_hex(std::string(130, 'a')));
  CHECK_FALSE(parse_key_hex("00112233445566778899aabbccddeefg"));
  CHECK_FALSE(parse_key_hex("00112233445566778899aabbccddeef"));  // odd
}

TEST_CASE("Holds: pause, refresh, resume, capped expiry", "[backpressure]") {
  Holds h(200ms);
  auto t0 = Holds::Clock::time_point{} + 1h;
  auto o = h.take(0, msg(MsgType::Pause, 7, kNow, 1000), true, kNow, t0);
  CHECK(o.verdict == Holds::Verdict::Paused);
  CHECK(o.changed);
  CHECK(h.held(7));
  CHECK(h.next_expiry() == t0 + 200ms);  // capped by max_pause
  CHECK(h.expire(t0 + 199ms).empty());
  o = h.take(0, msg(MsgType::Pause, 7, kNow + 1, 100), true, kNow, t0 + 150ms);
  CHECK(o.verdict == Holds::Verdict::Refreshed);
  CHECK_FALSE(o.changed);
  CHECK(h.expire(t0 + 200ms).empty());  // refreshed: until 250 ms
  CHECK(h.expire(t0 + 250ms) == std::vector<uint16_t>{7});
  CHECK_FALSE(h.held(7));
  // A lost resume: the pause ends by itself; a later resume changes nothing.
  o = h.take(0, msg(MsgType::Resume, 7, kNow + 2, 0), true, kNow, t0 + 300ms);
  CHECK(o.verdict == Holds::Verdict::NotPaused);
  CHECK_FALSE(o.changed);
  h.take(0, msg(MsgType::Pause, 7, kNow + 3), true, kNow, t0 + 400ms);
  o = h.take(0, msg(MsgType::Resume, 7, kNow + 4, 0), true, kNow, t0 + 410ms);
  CHECK(o.verdict == Holds::Verdict::Resumed);
  CHECK(o.changed);
  CHECK_FALSE(h.next_expiry());
}

TEST_CASE("Holds: replay, skew, unknown tenants, several peers", "[backpressure]") {
  Holds h(500ms);
  auto t0 = Holds::Clock::time_point{} + 1h;
  CHECK(h.take(0, msg(MsgType::Pause, 7, kNow + 10), true, kNow, t0).verdict ==
        Holds::Verdict::Paused);
  CHECK(h.take(0, msg(MsgType::Resume, 7, kNow + 10, 0), true, kNow, t0).verdict ==
        Holds::Verdict::Replayed);  // same sequence
  CHECK(h.take(0, msg(MsgType::Resume, 7, kNow + 5, 0), true, kNow, t0).verdict ==
        Holds::Verdict::Replayed);  // older
  CHECK(h.held(7));
  int64_t skew = std::chrono::nanoseconds(kMaxSkew).count();
  CHECK(h.take(0, msg(MsgType::Resume, 7, kNow + skew + 1, 0), true, kNow, t0).verdict ==
        Holds::Verdict::Skewed);
  CHECK(h.take(0, msg(MsgType::Resume, 7, kNow - skew - 1, 0), true, kNow, t0).verdict ==
        Holds::Verdict::Skewed);
  CHECK(h.take(0, msg(MsgType::Pause, 9, kNow + 11), false, kNow, t0).verdict ==
        Holds::Verdict::UnknownTenant);
  CHECK_FALSE(h.held(9));
  // Peer 1 holds 7 too: peer 0's resume does not let it go.
  auto o = h.take(1, msg(MsgType::Pause, 7, kNow + 1), true, kNow, t0);
  CHECK(o.verdict == Holds::Verdict::Paused);
  CHECK_FALSE(o.changed);  // held already
  o = h.take(0, msg(MsgType::Resume, 7, kNow + 12, 0), true, kNow, t0);
  CHECK(o.verdict == Holds::Verdict::Resumed);
  CHECK_FALSE(o.changed);
  CHECK(h.held(7));
  CHECK(h.forget_peer(1) == std::vector<uint16_t>{7});
  CHECK_FALSE(h.held(7));
  CHECK(verdict_name(Holds::Verdict::Replayed) == "replayed");
}

TEST_CASE("backpressure: peers parsed, bad ones refused, round trip", "[config][backpressure]") {
  auto r = aigw::parse_config(
      "backpressure:\n"
      "  port: 4800\n"
      "  max_pause_ms: 500\n"
      "  peers:\n"
      "    - {name: gwb, address: \"fc00:b::1\", key_file: /etc/aigw/gwb.key}\n"
      "    - {name: gwc, address: 192.0.2.7, key_file: /etc/aigw/gwc.key}\n",
      "t.yaml");
  REQUIRE(std::holds_alternative<aigw::Config>(r));
  const auto& b = std::get<aigw::Config>(r).backpressure;
  CHECK(b.port == 4800);
  CHECK(b.max_pause_ms == 500);
  REQUIRE(b.peers.size() == 2);
  CHECK(aigw::ip_str(b.peers[1].address) == "192.0.2.7");
  auto again = aigw::parse_config(aigw::to_yaml(std::get<aigw::Config>(r)), "round.yaml");
  REQUIRE(std::holds_alternative<aigw::Config>(again));
  CHECK(std::get<aigw::Config>(again).backpressure == b);

  auto one = [](const std::string& peers, const std::string& extra = "") {
    auto res = aigw::parse_config("backpressure:\n" + extra + "  peers:\n" + peers, "t.yaml");
    REQUIRE(std::holds_alternative<std::vector<aigw::ConfigError>>(res));
    auto errs = std::get<std::vector<aigw::ConfigError>>(res);
    REQUIRE(errs.size() == 1);
    return errs[0];
  };
  auto e = one("    - {name: gwb, address: \"ff02::1\", key_file: /k}\n");
  CHECK(e.field == "backpressure.peers[0].address");
  CHECK(e.message.find("unicast") != std::string::npos);
  e = one("    - {name: gwb, address: \"fc00:b::1\", key_file: k}\n");
  CHECK(e.field == "backpressure.peers[0].key_file");
  e = one("    - {name: gwb, address: \"fc00:b::1\"}\n");
  CHECK((e.field + e.message).find("key_file") != std::string::npos);
  e =
      one("    - {name: gwb, address: \"fc00:b::1\", key_file: /k}\n"
          "    - {name: gwb, address: \"fc00:c::1\", key_file: /k}\n");
  CHECK(e.line == 4);
  CHECK(e.message.find("already defined at line 3") != std::string::npos);
  e =
      one("    - {name: gwb, address: \"fc00:b::1\", key_file: /k}\n"
          "    - {name: gwc, address: \"fc00:b::1\", key_file: /k}\n");
  CHECK(e.field == "backpressure.peers[1].address");
  e = one("    - {name: gwb, address: \"fc00:b::1\", key_file: /k}\n", "  max_pause_ms: 5\n");
  CHECK(e.field == "backpressure.max_pause_ms");
  e = one("    - {name: gwb, address: \"fc00:b::1\", key_file: /k, key: abc}\n");
  CHECK(e.field.find("key") != std::string::npos);
}
