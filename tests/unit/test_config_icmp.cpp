// datapath.icmp_rate_limit / icmp_burst: defaults, parsing, bounds, round trip.
#include <catch2/catch.hpp>

#include "config/parse.hpp"
#include "config/serialize.hpp"

using namespace aigw;

namespace {
ParseResult parse(const std::string& y) { return parse_config(y, "t.yaml"); }
}  // namespace

TEST_CASE("ICMP rate limit defaults and values", "[config][icmp]") {
  auto r = parse("{}\n");
  REQUIRE(std::holds_alternative<Config>(r));
  CHECK(std::get<Config>(r).datapath.icmp_rate_limit == 1000);
  CHECK(std::get<Config>(r).datapath.icmp_burst == 50);

  r = parse("datapath:\n  icmp_rate_limit: 0\n  icmp_burst: 7\n");
  REQUIRE(std::holds_alternative<Config>(r));
  const Config& c = std::get<Config>(r);
  CHECK(c.datapath.icmp_rate_limit == 0);
  CHECK(c.datapath.icmp_burst == 7);
  auto again = parse_config(to_yaml(c), "round.yaml");
  REQUIRE(std::holds_alternative<Config>(again));
  CHECK(std::get<Config>(again).datapath.icmp_burst == 7);
}

TEST_CASE("ICMP rate limit out of range is a file:line error", "[config][icmp]") {
  auto r = parse("datapath:\n  icmp_burst: 0\n");
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(r));
  const auto& errs = std::get<std::vector<ConfigError>>(r);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].line == 2);
  CHECK(errs[0].field == "datapath.icmp_burst");
}
