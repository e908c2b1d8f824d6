// Elephants: confirmation with hysteresis over windows
// (telemetry/elephants.hpp), the sketch's window arithmetic, placement on
// capacity changes and path loss (policy/placement.hpp), and the
// configuration (elephants:, paths' capacity_mbps).
#include <catch2/catch.hpp>
#include <cstring>
#include <variant>

#include "config/parse.hpp"
#include "config/serialize.hpp"
#include "policy/placement.hpp"
#include "telemetry/elephants.hpp"

using namespace aigw;

namespace {

aigw_flow_key key(uint16_t n) {
  aigw_flow_key k{};
  k.family = 4;
  k.proto = 17;
  k.sport = n;
  return k;
}

aigw_hh_slot slot(uint64_t fp, uint32_t bytes, uint32_t epoch) { return {fp, bytes, epoch}; }

constexpr uint64_t kWin = 40000000;  // 40 ms

}  // namespace

TEST_CASE("a window's counts are summed per flow over stages and CPUs", "[elephants]") {
  std::vector<aigw_hh_slot> slots = {slot(1, 100, 7), slot(2, 500, 7),
                                     slot(1, 50, 7),  slot(3, 9999, 6) /* another window: empty */,
                                     slot(1, 25, 7),  slot(4, 10, 7)};
  auto s = telemetry::sum_window(slots, 7, 20);
  REQUIRE(s.size() == 2);  // fingerprint 4 is under min_bytes
  CHECK(s[0].fp == 2);
  CHECK(s[0].bytes == 500);
  CHECK(s[1].fp == 1);
  CHECK(s[1].bytes == 175);
  // named through aigw_hh_keys; a count without a key is counted apart
  size_t unnamed = 0;
  auto named = telemetry::name_counts(
      s,
      [](uint64_t fp) -> std::optional<aigw_hh_key> {
        if (fp != 1) return std::nullopt;
        aigw_hh_key k{};
        k.key = key(99);
        k.slot = 3;
        return k;
      },
      &unnamed);
  REQUIRE(named.size() == 1);
  CHECK(named[0].key.sport == 99);
  CHECK(named[0].bytes == 175);
  CHECK(named[0].slot == 3);
  CHECK(unnamed == 1);
}

TEST_CASE("window numbers: the agent's arithmetic is the datapath's", "[elephants]") {
  uint64_t m = telemetry::hh_mult(std::chrono::milliseconds(40));
  for (uint64_t e : {uint64_t{1}, uint64_t{12345}, uint64_t{987654321}}) {
    uint64_t start = telemetry::hh_epoch_start(e, m);
    CHECK(telemetry::hh_epoch(start, m) == e);
    CHECK(telemetry::hh_epoch(start - 1024, m) == e - 1);  // the clock's 1.024 us grain
  }
  // windows are 40 ms long within 1e-5
  uint64_t len = telemetry::hh_epoch_start(1001, m) - telemetry::hh_epoch_start(1, m);
  CHECK(std::abs(double(len) / 1000 - 40e6) < 40e6 * 1e-5);
}

TEST_CASE("elephants enter at the enter threshold and leave after the hold", "[elephants]") {
  telemetry::ElephantSet set;
  telemetry::HhThresholds t{1000, 500, 3};
  auto w = [&](std::vector<std::pair<uint16_t, uint64_t>> v, uint64_t end) {
    std::vector<telemetry::HhSample> s;
    for (auto [n, b] : v) s.push_back({key(n), b, 0});
    std::sort(s.begin(), s.end(), [](auto& a, auto& b) { return a.bytes > b.bytes; });
    return set.window(s, t, kWin, end);
  };
  auto c = w({{1, 999}, {2, 1000}}, 1);
  REQUIRE(c.entered.size() == 1);
  CHECK(c.entered[0].sport == 2);
  CHECK(set.elephants().at(key(2)).rate_bps == Approx(1000 * 8 / 0.04));
  // between the thresholds: stays (no flapping), below leave for 3 windows: goes
  CHECK(w({{2, 700}}, 2).left.empty());
  CHECK(w({{2, 400}}, 3).left.empty());
  CHECK(w({{2, 600}}, 4).left.empty());  // back above leave: the count restarts
  CHECK(w({{2, 100}}, 5).left.empty());
  CHECK(w({}, 6).left.empty());
  c = w({}, 7);
  REQUIRE(c.left.size() == 1);
  CHECK(set.elephants().empty());
  // windows the reader missed count as below
  w({{3, 5000}}, 8);
  CHECK(set.missed(3, t).left.size() == 1);
}

TEST_CASE("placement: largest first onto the most room, in proportion to capacity", "[elephants]") {
  // 4 paths of 400/100/300/200 (units), no mice, 8 elephants of 100 not
  // yet placed: every path ends within its capacity (4/1/2/1).
  std::vector<placement::PathLoad> paths = {{1, 400, 0}, {2, 100, 0}, {3, 300, 0}, {4, 200, 0}};
  std::vector<placement::Flow> flows;
  for (uint64_t i = 0; i < 8; ++i) flows.push_back({i, 100, 0, 0});
  auto got = placement::place(paths, flows);
  std::map<uint32_t, int> per;
  for (auto [id, s] : got) ++per[s];
  CHECK(per == std::map<uint32_t, int>{{1, 4}, {2, 1}, {3, 2}, {4, 1}});
  // twice the demand: the flows go where the share per flow is largest
  for (auto& f : flows) f.rate_bps = 200;
  per.clear();
  for (auto [id, s] : placement::place(paths, flows)) ++per[s];
  CHECK(per == std::map<uint32_t, int>{{1, 3}, {2, 1}, {3, 2}, {4, 2}});
}

TEST_CASE("placement counts the mice by weight and keeps flows where they fit", "[elephants]") {
  // The policy carries 310, of which 160 are the elephants: 150 of mice,
  // 1:3 by weight (37.5 / 112.5). Path 2 (capacity 100) has no room left:
  // its elephant moves; the one on path 1 stays.
  std::vector<placement::PathLoad> paths = {{1, 200, 100, 1}, {2, 100, 210, 3}};
  std::vector<placement::Flow> flows = {{0, 100, 1, 1}, {1, 60, 2, 2}};
  auto got = placement::place(paths, flows);
  CHECK(got.at(0) == 1);
  CHECK(got.at(1) == 1);
  // where it fits, a flow stays even when another path has a little more
  // room (less than half its rate): wobbling rates move nothing
  paths = {{1, 100, 0, 1}, {2, 100, 0, 1}};
  flows = {{0, 40, 2, 2}, {1, 30, 1, 1}, {2, 20, 2, 2}};
  got = placement::place(paths, flows);
  CHECK(got == std::map<uint64_t, uint32_t>{{0, 2}, {1, 1}, {2, 2}});
  // capacity change: path 1 shrinks to 50: its elephant goes to path 2
  paths = {{1, 50, 100, 1}, {2, 400, 0, 1}};
  flows = {{0, 100, 1, 1}};
  CHECK(placement::place(paths, flows).at(0) == 2);
}

TEST_CASE("placement: elastic flows held back by full paths fill an empty one", "[elephants]") {
  // 4 paths of 40/30/20/10; 8 TCP flows hashed 4/3/1/0, each path full
  // (its rate shared by its flows), the 10 empty. Their rates alone say
  // they fit where they are; as elastic flows (an equal share, 12.5, of
  // the capacity) one moves to the empty path, and nothing else moves.
  std::vector<placement::PathLoad> paths = {
      {1, 40, 38, 4}, {2, 30, 28.5, 3}, {3, 20, 19, 2}, {4, 10, 0, 1}};
  std::vector<placement::Flow> flows;
  for (uint64_t i = 0; i < 4; ++i) flows.push_back({i, 9.5, 1, 0});
  for (uint64_t i = 4; i < 7; ++i) flows.push_back({i, 9.5, 2, 0});
  flows.push_back({7, 19, 3, 0});
  auto count = [](const std::map<uint64_t, uint32_t>& at) {
    std::map<uint32_t, int> per;
    for (auto [id, s] : at) ++per[s];
    return per;
  };
  CHECK(count(placement::place(paths, flows, false)) ==
        std::map<uint32_t, int>{{1, 4}, {2, 3}, {3, 1}});
  auto got = placement::place(paths, flows);
  CHECK(count(got) == std::map<uint32_t, int>{{1, 3}, {2, 3}, {3, 1}, {4, 1}});
  // and once there (every path full, rates shared anew), nothing moves
  for (auto& f : flows) f.target = got.at(f.id);
  std::map<uint32_t, int> per = count(got);
  for (auto& p : paths) p.load_bps = p.capacity_bps * 0.95;
  for (auto& f : flows) f.rate_bps = paths[f.target - 1].load_bps / per[f.target];
  CHECK(placement::place(paths, flows) == got);
  // a flow that moved a short while ago (settled) stays, even where a move
  // would help; one whose path is gone moves all the same
  paths = {{1, 40, 38, 4}, {2, 30, 28.5, 3}, {3, 20, 19, 2}, {4, 10, 0, 1}};
  for (auto& f : flows) {
    f.target = 0;
    f.settled = f.on == 1;
  }
  for (uint64_t i = 0; i < 4; ++i) flows[i].rate_bps = 9.5;
  CHECK(count(placement::place(paths, flows)).count(4) == 1);  // one of path 2's moves
  for (auto& f : flows) f.settled = true;
  CHECK(count(placement::place(paths, flows)).count(4) == 0);
  flows[7].on = 9;  // its path is gone
  CHECK(placement::place(paths, flows).at(7) != 9);
  // a path with room holds back nobody: a flow there keeps its rate as demand
  paths = {{1, 100, 50, 1}, {2, 100, 0, 1}};
  flows = {{0, 50, 1, 0}};
  CHECK(placement::place(paths, flows).at(0) == 1);
}

TEST_CASE("mice weights follow capacity less the elephants", "[elephants]") {
  // 40/30/20/10 with 30 of elephants on the 40 and 25 on the 30: rooms
  // 10/5/20/10 -> 500/250/1000/500; a path full of elephants keeps 5 %
  CHECK(placement::adapted_weights({40, 30, 20, 10}, {30, 25, 0, 0}) ==
        std::vector<uint32_t>{500, 250, 1000, 500});
  CHECK(placement::adapted_weights({100, 100}, {200, 0}) == std::vector<uint32_t>{50, 1000});
  CHECK(placement::adapted_weights({100, 100}, {0, 0}) == std::vector<uint32_t>{1000, 1000});
  CHECK(placement::adapted_weights({0, 0}, {0, 0}) == std::vector<uint32_t>{1, 1});
  CHECK_THROWS(placement::adapted_weights({1}, {}));
  // shares, not numbers: 400/200 is 1000/500; a change of a fifth or less is none
  CHECK_FALSE(placement::weights_differ({400, 200}, {1000, 500}));
  CHECK_FALSE(placement::weights_differ({1000, 500}, {1000, 420}));
  CHECK(placement::weights_differ({1000, 500}, {1000, 380}));
  CHECK(placement::weights_differ({1000, 500}, {1000}));
}

TEST_CASE("placement after a path is lost uses the paths left", "[elephants]") {
  std::vector<placement::PathLoad> paths = {{1, 100, 0}, {3, 100, 0}};
  std::vector<placement::Flow> flows = {{0, 80, 2, 2}, {1, 80, 2, 2}};  // on the lost path 2
  auto got = placement::place(paths, flows);
  CHECK(got.at(0) != got.at(1));
  for (auto [id, s] : got) CHECK((s == 1 || s == 3));
  CHECK_THROWS(placement::place({}, flows));
  auto caps = placement::capacities_from_weights({1, 3}, 400);
  CHECK(caps == std::vector<double>{100, 300});
  CHECK(placement::capacities_from_weights({}, 400).empty());
}

TEST_CASE("elephants: and capacity_mbps in the configuration", "[elephants][config]") {
  const std::string base =
      "interfaces:\n  - {name: c0, role: customer}\n  - {name: w0, role: wan}\n"
      "policies:\n  - name: mp\n    prefixes: [198.51.100.0/24]\n    source: fc00:a::1\n"
      "    paths:\n";
  auto ok = parse_config(base +
                             "      - {segments: [fc00:b::1], capacity_mbps: 10000}\n"
                             "      - {segments: [fc00:c::1], capacity_mbps: 2500}\n"
                             "      - {segments: [fc00:d::1], capacity_mbps: 5000, weight: 7}\n"
                             "elephants: {window_ms: 20, enter_mbps: 500, leave_mbps: 200}\n",
                         "t.yaml");
  REQUIRE(std::holds_alternative<Config>(ok));
  const Config& c = std::get<Config>(ok);
  REQUIRE(c.policies.at(0).paths.size() == 3);
  CHECK(c.policies[0].paths[0].weight == 1000);  // from the capacity
  CHECK(c.policies[0].paths[1].weight == 250);
  CHECK(c.policies[0].paths[2].weight == 7);  // given
  CHECK(c.elephants.window_ms == 20);
  CHECK(c.elephants.enter_mbps == 500);
  auto bad = [&](const std::string& y) {
    auto r = parse_config(y, "t.yaml");
    REQUIRE(std::holds_alternative<std::vector<ConfigError>>(r));
    return std::get<std::vector<ConfigError>>(r).at(0).str();
  };
  CHECK(bad(base + "      - {segments: [fc00:b::1], capacity_mbps: 0}\n"
                   "      - {segments: [fc00:c::1], capacity_mbps: 1}\n")
            .find("capacity_mbps") != std::string::npos);
  CHECK(bad(base + "      - {segments: [fc00:b::1], capacity_mbps: 100}\n"
                   "      - {segments: [fc00:c::1]}\n")
            .find("for some paths only") != std::string::npos);
  CHECK(bad(base + "      - {segments: [fc00:b::1]}\n      - {segments: [fc00:c::1]}\n"
                   "elephants: {enter_mbps: 10, leave_mbps: 20}\n")
            .find("t.yaml:11: elephants.leave_mbps: 20 is above enter_mbps") != std::string::npos);
  CHECK(bad(base + "      - {segments: [fc00:b::1]}\n      - {segments: [fc00:c::1]}\n"
                   "elephants: {window_ms: 5}\n")
            .find("window_ms") != std::string::npos);
  // shares of a policy's capacity: percentages with up to two decimals
  const std::string two =
      base + "      - {segments: [fc00:b::1]}\n      - {segments: [fc00:c::1]}\n";
  auto pct = parse_config(two + "elephants: {enter_pct: 2.5}\n", "t.yaml");
  REQUIRE(std::holds_alternative<Config>(pct));
  CHECK(std::get<Config>(pct).elephants.enter_pct_x100 == 250);
  CHECK(std::get<Config>(pct).elephants.leave_pct_x100 == 125);  // half, when not given
  auto both = parse_config(two + "elephants: {enter_pct: 10, leave_pct: 0.05}\n", "t.yaml");
  REQUIRE(std::holds_alternative<Config>(both));
  CHECK(std::get<Config>(both).elephants.leave_pct_x100 == 5);
  // the running configuration written out reads back the same
  auto again = parse_config(to_yaml(std::get<Config>(both)), "t.yaml");
  REQUIRE(std::holds_alternative<Config>(again));
  CHECK(std::get<Config>(again).elephants == std::get<Config>(both).elephants);
  for (const char* v : {"0", "100.5", "0.001", "-1", "5.", "abc", "1e2"})
    CHECK(bad(two + "elephants: {enter_pct: " + v + "}\n")
              .find("elephants.enter_pct: expected a "
                    "percentage") != std::string::npos);
  CHECK(bad(two + "elephants: {leave_pct: 1}\n").find("needs enter_pct") != std::string::npos);
  CHECK(bad(two + "elephants: {enter_pct: 1, leave_pct: 2}\n")
            .find("t.yaml:11: elephants.leave_pct: 2 is above enter_pct (1)") != std::string::npos);
}

TEST_CASE("elephants: thresholds per policy slot", "[elephants]") {
  // slot 5 has its own thresholds (a share of its policy's capacity): a flow
  // there enters at 100 bytes a window; elsewhere at 1000
  telemetry::HhThresholds t;
  t.enter_bytes = 1000;
  t.leave_bytes = 500;
  t.leave_windows = 2;
  t.per_slot[5] = {100, 50};
  CHECK(t.min_enter() == 100);
  CHECK(t.min_leave() == 50);
  auto key = [](uint16_t port) {
    aigw_flow_key k{};
    k.dport = port;
    return k;
  };
  telemetry::ElephantSet set;
  std::vector<telemetry::HhSample> w = {{key(1), 800, 3}, {key(2), 200, 5}, {key(3), 80, 5}};
  auto c = set.window(w, t, 1000000, 1);
  CHECK(c.entered.size() == 1);
  CHECK(set.elephants().count(key(2)) == 1);
  // 60 bytes a window keeps it (above its leave threshold of 50)
  for (int i = 0; i < 3; ++i) set.window({{key(2), 60, 5}}, t, 1000000, 2 + i);
  CHECK(set.elephants().count(key(2)) == 1);
  set.window({{key(2), 40, 5}}, t, 1000000, 9);
  CHECK(set.window({{key(2), 40, 5}}, t, 1000000, 10).left.size() == 1);
}
