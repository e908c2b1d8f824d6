// The sending half of backpressure: the XOFF/XON thresholds (README
// formula), 802.1Qbb PFC frames, and the configuration that drives them
// (backpressure.source, peers[].rtt_ms, tenants[].pfc_priority,
// interfaces[].speed).
#include <catch2/catch.hpp>

#include "backpressure/pfc.hpp"
#include "backpressure/thresholds.hpp"
#include "config/parse.hpp"
#include "config/serialize.hpp"

using namespace aigw::bp;
using namespace std::chrono_literals;

TEST_CASE("Thresholds: XON = drain x T, XOFF = 2 XON, headroom = fill x T", "[backpressure]") {
  // 1 Gbit/s tenant, 20 ms feedback: 2.5 MB XON, 5 MB XOFF, 2.5 MB + a frame headroom
  auto t = thresholds(1'000'000'000, 1'000'000'000, 20ms);
  CHECK(t.xon_bytes == 2'500'000);
  CHECK(t.xoff_bytes == 5'000'000);
  CHECK(t.headroom_bytes == 2'500'000 + kFrameBytes);
  CHECK(t.buffer_bytes() == 7'500'000 + kFrameBytes);
  // headroom follows the filling rate and the delay, not a link's speed
  auto two = thresholds(1'000'000'000, 2'000'000'000, 20ms);
  CHECK(two.headroom_bytes == 5'000'000 + kFrameBytes);
  CHECK(two.xon_bytes == t.xon_bytes);
  auto far = thresholds(1'000'000'000, 1'000'000'000, 40ms);
  CHECK(far.buffer_bytes() - kFrameBytes == 2 * (t.buffer_bytes() - kFrameBytes));
  // a slow tenant on a short loop: a few frames at least
  auto small = thresholds(100'000'000, 100'000'000, 100us);
  CHECK(small.xon_bytes == kMinXonBytes);
  CHECK(small.xoff_bytes == 2 * kMinXonBytes);
  // 100 Gbit/s over 1 s does not overflow
  CHECK(bytes_in(100'000'000'000, 1'000'000us) == 12'500'000'000);
}

TEST_CASE("PFC frames: 802.1Qbb layout, one priority, round trip", "[backpressure]") {
  Mac src = {0x02, 0xa1, 0x9e, 0x00, 0x01, 0x02};
  auto f = pfc_frame(src, 3, 0xffff);
  CHECK(f.size() == 60);
  CHECK(std::equal(kPfcDst.begin(), kPfcDst.end(), f.begin()));
  CHECK(std::equal(src.begin(), src.end(), f.begin() + 6));
  CHECK((f[12] == 0x88 && f[13] == 0x08));  // MAC Control
  CHECK((f[14] == 0x01 && f[15] == 0x01));  // PFC opcode
  CHECK((f[16] == 0x00 && f[17] == 0x08));  // class-enable: priority 3
  CHECK((f[18 + 6] == 0xff && f[19 + 6] == 0xff));
  for (size_t i = 0; i < 8; i++)
    if (i != 3) CHECK((f[18 + 2 * i] | f[19 + 2 * i]) == 0);
  auto p = parse_pfc(f);
  REQUIRE(p);
  CHECK(p->enabled == 0x08);
  CHECK(p->quanta[3] == 0xffff);
  CHECK(parse_pfc(pfc_frame(src, 7, 0))->quanta[7] == 0);
  auto other = f;
  other[15] = 0x00;  // 802.3x PAUSE (opcode 1), not PFC
  CHECK(!parse_pfc(other));
  CHECK(!parse_pfc(std::span(f.data(), 20)));
  // 65535 quanta of 512 bit times: 3.36 ms at 10 Gbit/s, 33.6 ms at 1 Gbit/s
  CHECK(pfc_duration(0xffff, 10'000'000'000) == 3'355'392ns);
  CHECK(pfc_duration(0xffff, 1'000'000'000) == 33'553'920ns);
  CHECK(pfc_duration(0xffff, 0) == 0ns);
}

TEST_CASE("backpressure sending keys: parsed, refused, round trip", "[config][backpressure]") {
  auto r = aigw::parse_config(
      "interfaces:\n"
      "  - {name: eth0, role: customer, speed: 200mbit}\n"
      "  - {name: eth1, role: wan}\n"
      "tenants:\n"
      "  - {name: gold, id: 7, rate: 100mbit, pfc_priority: 3}\n"
      "backpressure:\n"
      "  source: \"fc00:a::1\"\n"
      "  peers:\n"
      "    - {name: gwb, address: \"fc00:b::1\", key_file: /k, rtt_ms: 25}\n",
      "t.yaml");
  REQUIRE(std::holds_alternative<aigw::Config>(r));
  const auto& c = std::get<aigw::Config>(r);
  CHECK(c.interfaces[0].speed_bps == 200'000'000);
  CHECK(c.interfaces[1].speed_bps == 0);
  CHECK(c.tenants[0].pfc_priority == 3);
  REQUIRE(c.backpressure.source);
  CHECK(aigw::ip_str(*c.backpressure.source) == "fc00:a::1");
  CHECK(c.backpressure.peers[0].rtt_ms == 25);
  auto again = aigw::parse_config(aigw::to_yaml(c), "round.yaml");
  REQUIRE(std::holds_alternative<aigw::Config>(again));
  CHECK(std::get<aigw::Config>(again) == c);

  auto one = [](const std::string& text) {
    auto res = aigw::parse_config(text, "t.yaml");
    REQUIRE(std::holds_alternative<std::vector<aigw::ConfigError>>(res));
    auto errs = std::get<std::vector<aigw::ConfigError>>(res);
    REQUIRE(errs.size() == 1);
    return errs[0];
  };
  auto e = one("tenants:\n  - {name: gold, id: 7, rate: 100mbit, pfc_priority: 8}\n");
  CHECK(e.field == "tenants[0].pfc_priority");
  e = one("tenants:\n  - {name: gold, id: 7, pfc_priority: 3}\n");
  CHECK(e.message.find("needs a rate") != std::string::npos);
  e = one("interfaces:\n  - {name: eth0, role: wan, speed: 1kbit}\n");
  CHECK(e.field == "interfaces[0].speed");
  CHECK(e.line == 2);
  e =
      one("backpressure:\n  peers:\n    - {name: gwb, address: \"fc00:b::1\", key_file: /k, "
          "rtt_ms: 0}\n");
  CHECK(e.field == "backpressure.peers[0].rtt_ms");
  e = one("backpressure:\n  source: nowhere\n");
  CHECK(e.field == "backpressure.source");
}
