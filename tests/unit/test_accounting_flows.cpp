// FlowTracker without BPF: flow tables are injected tick by tick.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "telemetry/flows.hpp"

using namespace aigw;
using namespace aigw::telemetry;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

FlowEntry flow(uint8_t last_octet, uint8_t proto, uint64_t first_ns, uint64_t last_ns,
               uint64_t packets, uint64_t bytes) {
  FlowEntry e;
  uint8_t src[4] = {192, 0, 2, last_octet}, dst[4] = {198, 51, 100, 10};
  std::memcpy(e.key.src, src, 4);
  std::memcpy(e.key.dst, dst, 4);
  e.key.family = 4;
  e.key.proto = proto;
  e.key.sport = htons(40000);
  e.key.dport = htons(9000);
  e.key.dir = AIGW_DIR_OUT;
  e.flow.first_ns = first_ns;
  e.flow.last_ns = last_ns;
  e.flow.packets = packets;
  e.flow.bytes = bytes;
  e.flow.tenant = 7;
  e.flow.cls = 1;
  return e;
}

const auto kWall = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

FlowSettings settings(uint32_t idle, uint32_t active) {
  FlowSettings s;
  s.idle_timeout_s = idle;
  s.active_timeout_s = active;
  return s;
}

}  // namespace

TEST_CASE("active flows are reported every active timeout with deltas", "[flows]") {
  FlowTracker t(settings(15, 10));
  uint64_t t0 = 1000 * kSec;
  auto r = t.tick({flow(10, IPPROTO_UDP, t0, t0 + kSec, 10, 1000)}, t0 + 2 * kSec, kWall);
  CHECK(r.reports.empty());
  CHECK(t.active() == 1);
  r = t.tick({flow(10, IPPROTO_UDP, t0, t0 + 10 * kSec, 100, 10000)}, t0 + 10 * kSec, kWall);
  REQUIRE(r.reports.size() == 1);
  CHECK(r.reports[0].delta_packets == 100);
  CHECK(r.reports[0].delta_bytes == 10000);
  CHECK(r.reports[0].end == FlowEnd::None);
  r = t.tick({flow(10, IPPROTO_UDP, t0, t0 + 15 * kSec, 150, 15000)}, t0 + 15 * kSec, kWall);
  CHECK(r.reports.empty());
  r = t.tick({flow(10, IPPROTO_UDP, t0, t0 + 20 * kSec, 230, 23000)}, t0 + 20 * kSec, kWall);
  REQUIRE(r.reports.size() == 1);
  CHECK(r.reports[0].delta_packets == 130);
  CHECK(r.reports[0].delta_bytes == 13000);
  // wall time: last_ns = now -> now_wall; first_ns = 20 s before
  CHECK(r.reports[0].last_seen == kWall);
  CHECK(r.reports[0].first_seen == kWall - std::chrono::seconds(20));
}

TEST_CASE("idle flows end with a final report and are deleted", "[flows]") {
  FlowTracker t(settings(15, 60));
  uint64_t t0 = 50 * kSec;
  t.tick({flow(10, IPPROTO_UDP, t0, t0 + kSec, 5, 500)}, t0 + kSec, kWall);
  auto r = t.tick({flow(10, IPPROTO_UDP, t0, t0 + 2 * kSec, 7, 700)}, t0 + 17 * kSec, kWall);
  CHECK(r.reports.empty());  // idle exactly 15 s: not yet
  r = t.tick({flow(10, IPPROTO_UDP, t0, t0 + 2 * kSec, 7, 700)}, t0 + 18 * kSec, kWall);
  REQUIRE(r.reports.size() == 1);
  CHECK(r.reports[0].end == FlowEnd::Idle);
  CHECK(r.reports[0].delta_packets == 7);
  REQUIRE(r.ended.size() == 1);
  CHECK(std::memcmp(&r.ended[0], &r.reports[0].key, sizeof(aigw_flow_key)) == 0);
  CHECK(t.active() == 0);
}

TEST_CASE("TCP flows end one second after FIN or RST", "[flows]") {
  FlowTracker t(settings(15, 60));
  uint64_t t0 = 50 * kSec;
  auto e = flow(10, IPPROTO_TCP, t0, t0 + kSec, 5, 500);
  e.flow.tcp_flags = 0x11;  // FIN|ACK
  auto r = t.tick({e}, t0 + kSec + kSec / 2, kWall);
  CHECK(r.reports.empty());
  r = t.tick({e}, t0 + 2 * kSec, kWall);
  REQUIRE(r.reports.size() == 1);
  CHECK(r.reports[0].end == FlowEnd::TcpEnd);
  // a UDP flow with the same flag bits is not a TCP end
  FlowTracker u(settings(15, 60));
  auto x = flow(10, IPPROTO_UDP, t0, t0 + kSec, 5, 500);
  x.flow.tcp_flags = 0x01;
  CHECK(u.tick({x}, t0 + 3 * kSec, kWall).reports.empty());
}

TEST_CASE("a flow entry whose first_ns changed is a new flow", "[flows]") {
  FlowTracker t(settings(15, 5));
  uint64_t t0 = 50 * kSec;
  t.tick({flow(10, IPPROTO_UDP, t0, t0 + kSec, 100, 10000)}, t0 + 4 * kSec, kWall);
  auto r = t.tick({flow(10, IPPROTO_UDP, t0, t0 + 5 * kSec, 120, 12000)}, t0 + 5 * kSec, kWall);
  REQUIRE(r.reports.size() == 1);
  CHECK(r.reports[0].delta_packets == 120);
  uint64_t t1 = t0 + 6 * kSec;  // deleted and created again
  r = t.tick({flow(10, IPPROTO_UDP, t1, t1 + 5 * kSec, 3, 300)}, t1 + 5 * kSec, kWall);
  REQUIRE(r.reports.size() == 1);
  CHECK(r.reports[0].delta_packets == 3);  // not 3 - 120
  CHECK(r.reports[0].delta_bytes == 300);
}

TEST_CASE("flush reports what was not reported yet", "[flows]") {
  FlowTracker t(settings(15, 60));
  uint64_t t0 = 50 * kSec;
  t.tick({flow(10, IPPROTO_UDP, t0, t0 + kSec, 4, 400), flow(11, IPPROTO_UDP, t0, t0, 1, 60)},
         t0 + kSec, kWall);
  auto r = t.flush();
  REQUIRE(r.size() == 2);
  CHECK(r[0].end == FlowEnd::ForcedEnd);
  CHECK(r[0].delta_packets + r[1].delta_packets == 5);
  CHECK(t.active() == 0);
  CHECK(t.flush().empty());
}

TEST_CASE("rates, top and filters", "[flows]") {
  FlowTracker t(settings(15, 60));
  uint64_t t0 = 50 * kSec;
  auto a = flow(10, IPPROTO_UDP, t0, t0, 1, 100);
  auto b = flow(11, IPPROTO_TCP, t0, t0, 50, 2000);
  b.flow.tenant = 9;
  t.tick({a, b}, t0 + kSec, kWall);
  a.flow.packets = 101;
  a.flow.bytes = 100100;  // 100000 B in 2 s = 400 kbit/s
  b.flow.packets = 60;
  b.flow.bytes = 3000;
  t.tick({a, b}, t0 + 3 * kSec, kWall);
  auto cur = t.current();
  REQUIRE(cur.size() == 2);
  auto top = top_flows(cur, FlowOrder::Rate, 1);
  REQUIRE(top.size() == 1);
  CHECK(top[0].bps == Approx(400000));
  CHECK(top[0].pps == Approx(50));
  CHECK(top_flows(cur, FlowOrder::Packets, 0)[0].flow.packets == 101);
  CHECK(top_flows(cur, FlowOrder::Bytes, 5).size() == 2);

  auto count = [&](const FlowFilter& f) {
    size_t n = 0;
    for (const auto& v : cur) n += flow_matches(v, f, 32);
    return n;
  };
  CHECK(count({}) == 2);
  FlowFilter f;
  f.tenant = 9;
  CHECK(count(f) == 1);
  f = {};
  f.src = std::get<Prefix>(Prefix::parse("192.0.2.10/32"));
  CHECK(count(f) == 1);
  f.src = std::get<Prefix>(Prefix::parse("192.0.2.0/24"));
  CHECK(count(f) == 2);
  f.src = std::get<Prefix>(Prefix::parse("2001:db8::/32"));
  CHECK(count(f) == 0);
  f = {};
  f.proto = IPPROTO_TCP;
  CHECK(count(f) == 1);
  f = {};
  f.port = 9000;
  CHECK(count(f) == 2);
  f.port = 9001;
  CHECK(count(f) == 0);
  f = {};
  f.dir = AIGW_DIR_IN;
  CHECK(count(f) == 0);
  f = {};
  f.app_group = 10;
  CHECK(count(f) == 0);  // no APN ID
  CHECK(flow_src(cur[0].key) == "192.0.2.10");
  CHECK(flow_dst(cur[0].key) == "198.51.100.10");
}

TEST_CASE("app-group is the leading bits of the APN ID", "[flows]") {
  aigw_flow f{};
  f.apn_len = 8;
  uint8_t id[8] = {0, 0, 0, 0x0a, 0, 0, 0, 0x01};
  std::memcpy(f.apn, id, 8);
  CHECK(app_group_of(f, 32) == 0x0aull);
  CHECK(app_group_of(f, 64) == 0x0000000a00000001ull);
  CHECK(app_group_of(f, 28) == 0x0ull);
  f.apn_len = 0;
  CHECK_FALSE(app_group_of(f, 32));
}

TEST_CASE("reported counts survive a restart through the saved state", "[flows]") {
  FlowTracker t(settings(15, 5));
  uint64_t t0 = 50 * kSec;
  t.tick({flow(10, IPPROTO_UDP, t0, t0 + 5 * kSec, 100, 10000)}, t0 + 5 * kSec, kWall);
  auto saved = t.state_json();
  FlowTracker u(settings(15, 5));
  u.load_state_json(saved);
  auto r = u.tick({flow(10, IPPROTO_UDP, t0, t0 + 10 * kSec, 130, 13000)}, t0 + 10 * kSec, kWall);
  REQUIRE(r.reports.size() == 1);
  CHECK(r.reports[0].delta_packets == 30);  // not 130: 100 were reported before
  CHECK(r.reports[0].delta_bytes == 3000);
  // a flow that came back as a new entry is not matched to the saved counts
  FlowTracker w(settings(15, 5));
  w.load_state_json(saved);
  uint64_t t1 = t0 + 20 * kSec;
  r = w.tick({flow(10, IPPROTO_UDP, t1, t1 + 5 * kSec, 4, 400)}, t1 + 5 * kSec, kWall);
  REQUIRE(r.reports.size() == 1);
  CHECK(r.reports[0].delta_packets == 4);
  FlowTracker bad(settings(15, 5));
  nlohmann::json bad_key = {{"version", 1}, {"flows", {{"zz", 1, 2, 3, 4}}}};
  CHECK_THROWS(bad.load_state_json(bad_key));
}
