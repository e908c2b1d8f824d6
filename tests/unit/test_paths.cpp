// Multipath policies: the weighted Maglev bucket table (datapath/paths.hpp).
// Shares against the weights, independence of the configuration's order,
// and how many buckets a change of the path set moves, measured against the
// minimum that change must move.
#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <stdexcept>

#include "datapath/paths.hpp"

using namespace aigw;

namespace {

PolicyPath path(int n, uint32_t weight = 1) {
  return {{*Ip6::parse(fmt::format("fc00:{:x}::1", n))}, weight};
}

std::vector<size_t> counts(const std::vector<uint8_t>& t, size_t n) {
  std::vector<size_t> c(n);
  for (uint8_t p : t) {
    REQUIRE(p < n);
    ++c[p];
  }
  return c;
}

// Buckets whose path (by identity) differs between two tables.
size_t moved(const std::vector<PolicyPath>& a, const std::vector<uint8_t>& ta,
             const std::vector<PolicyPath>& b, const std::vector<uint8_t>& tb) {
  size_t n = 0;
  for (size_t i = 0; i < ta.size(); ++i) n += a[ta[i]].segments != b[tb[i]].segments;
  return n;
}

}  // namespace

TEST_CASE("maglev: every path holds buckets in proportion to its weight", "[paths]") {
  for (const auto& weights : std::vector<std::vector<uint32_t>>{
           {1, 1}, {1, 2, 3, 4}, {1, 1, 1, 1, 1, 1, 1, 1}, {1000, 1}, {7, 3, 5}}) {
    std::vector<PolicyPath> ps;
    uint64_t total = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      ps.push_back(path(static_cast<int>(i + 1), weights[i]));
      total += weights[i];
    }
    auto t = maglev_table(ps);
    REQUIRE(t.size() == AIGW_PATH_BUCKETS);
    auto c = counts(t, ps.size());
    for (size_t i = 0; i < ps.size(); ++i) {
      double want = static_cast<double>(AIGW_PATH_BUCKETS) * weights[i] / total;
      INFO(fmt::format("weights {}, path {}: {} buckets, ideal {:.1f}", fmt::join(weights, ":"), i,
                       c[i], want));
      // Credits are whole claims: within one bucket per path of the ideal.
      CHECK(std::abs(static_cast<double>(c[i]) - want) <= static_cast<double>(ps.size()));
      CHECK(c[i] >= 1);
    }
  }
}

TEST_CASE("maglev: the table follows the paths, not their order", "[paths]") {
  std::vector<PolicyPath> a = {path(1, 2), path(2, 1), path(3, 5)};
  std::vector<PolicyPath> b = {a[2], a[0], a[1]};
  auto ta = maglev_table(a), tb = maglev_table(b);
  CHECK(moved(a, ta, b, tb) == 0);
  CHECK(maglev_table(a) == ta);  // deterministic
}

TEST_CASE("maglev: a change of the path set moves few buckets beyond its share", "[paths]") {
  const double m = AIGW_PATH_BUCKETS;
  std::vector<PolicyPath> four = {path(1), path(2), path(3), path(4)};
  auto t4 = maglev_table(four);

  // Remove path 3: its buckets must move (~1/4); the others should stay.
  std::vector<PolicyPath> three = {four[0], four[1], four[3]};
  auto t3 = maglev_table(three);
  size_t must = counts(t4, 4)[2];
  size_t got = moved(four, t4, three, t3);
  std::printf("maglev: remove 1 of 4 paths: %zu buckets moved, %zu must (%.2f%% extra)\n", got,
              must, 100.0 * static_cast<double>(got - must) / m);
  CHECK(got >= must);
  CHECK(static_cast<double>(got - must) <= 0.02 * m);

  // Add a fifth: ~1/5 of the buckets must move to it.
  std::vector<PolicyPath> five = four;
  five.push_back(path(5));
  auto t5 = maglev_table(five);
  must = counts(t5, 5)[4];
  got = moved(four, t4, five, t5);
  std::printf("maglev: add a 5th path: %zu buckets moved, %zu must (%.2f%% extra)\n", got, must,
              100.0 * static_cast<double>(got - must) / m);
  CHECK(got >= must);
  CHECK(static_cast<double>(got - must) <= 0.02 * m);

  // Reweight 1:1:1:1 -> 2:1:1:1: path 1 must gain ~2/5 - 1/4 of the buckets.
  std::vector<PolicyPath> heavier = four;
  heavier[0].weight = 2;
  auto th = maglev_table(heavier);
  must = counts(th, 4)[0] - counts(t4, 4)[0];
  got = moved(four, t4, heavier, th);
  std::printf("maglev: reweight 1 of 4 paths 1 -> 2: %zu buckets moved, %zu must (%.2f%% extra)\n",
              got, must, 100.0 * static_cast<double>(got - must) / m);
  CHECK(got >= must);
  CHECK(static_cast<double>(got - must) <= 0.02 * m);
}

TEST_CASE("maglev: bad path sets are refused, never divided by", "[paths]") {
  CHECK_THROWS_AS(maglev_table({}), std::invalid_argument);
  CHECK_THROWS_AS(maglev_table({path(1, 0), path(2)}), std::invalid_argument);
  CHECK_THROWS_AS(maglev_table({path(1), path(1, 3)}), std::invalid_argument);
  std::vector<PolicyPath> nine;
  for (int i = 1; i <= 9; ++i) nine.push_back(path(i));
  CHECK_THROWS_AS(maglev_table(nine), std::invalid_argument);
  auto one = maglev_table({path(1)});
  CHECK(std::all_of(one.begin(), one.end(), [](uint8_t p) { return p == 0; }));
}

TEST_CASE("encode_path_group: slots, count and the table", "[paths]") {
  Policy p;
  p.name = "p";
  p.paths = {path(1, 3), path(2, 1)};
  p.segments = p.paths[0].segments;
  aigw_path_group g = encode_path_group(p, {5, 9});
  CHECK(g.npaths == 2);
  CHECK(g.slot[0] == 5);
  CHECK(g.slot[1] == 9);
  CHECK(g.slot[2] == 0);
  auto t = maglev_table(p.paths);
  CHECK(std::equal(t.begin(), t.end(), g.bucket));
  CHECK(g.bucket[AIGW_PATH_BUCKETS] == 0);  // the unused tail
  CHECK_THROWS_AS(encode_path_group(p, {5}), std::invalid_argument);
  p.paths.pop_back();
  CHECK_THROWS_AS(encode_path_group(p, {5}), std::invalid_argument);
}
