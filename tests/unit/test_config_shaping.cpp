// tenants[].rate / ceil / burst and the rate syntax (config/rate.hpp):
// values, bounds, file:line errors, round trip.
#include <catch2/catch.hpp>

#include "config/parse.hpp"
#include "config/rate.hpp"
#include "config/serialize.hpp"

using namespace aigw;

namespace {

ParseResult parse(const std::string& y) { return parse_config(y, "t.yaml"); }

// The one error of a tenants list with one tenant: (line, field, message).
std::tuple<int, std::string, std::string> one_error(const std::string& tenant) {
  auto r = parse("tenants:\n  - " + tenant + "\n");
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(r));
  const auto& errs = std::get<std::vector<ConfigError>>(r);
  REQUIRE(errs.size() == 1);
  return {errs[0].line, errs[0].field, errs[0].message};
}

}  // namespace

TEST_CASE("Rates: tc units, decimals, bytes refused", "[config][shaping]") {
  CHECK(parse_rate("100mbit") == 100'000'000u);
  CHECK(parse_rate("2Gbit") == 2'000'000'000u);
  CHECK(parse_rate("1.5gbit") == 1'500'000'000u);
  CHECK(parse_rate("100gbit") == 100'000'000'000u);
  CHECK(parse_rate("64kbit") == 64'000u);
  CHECK(parse_rate("0.001kbit") == 1u);
  std::string why;
  CHECK_FALSE(parse_rate("1gbps", &why));
  CHECK(why.find("bytes per second") != std::string::npos);
  CHECK_FALSE(parse_rate("100", &why));
  CHECK_FALSE(parse_rate("gbit", &why));
  CHECK_FALSE(parse_rate("1.2345gbit", &why));
  CHECK_FALSE(parse_rate("0.0001kbit", &why));
  CHECK_FALSE(parse_rate("-1mbit", &why));
  CHECK_FALSE(parse_rate("99999999999999tbit", &why));
  CHECK(rate_str(2'000'000'000) == "2gbit");
  CHECK(rate_str(1'500'000'000) == "1500mbit");
  CHECK(rate_str(100'000'001) == "100000001bit");
}

TEST_CASE("Tenant rates: parsed, defaults, round trip", "[config][shaping]") {
  auto r = parse(
      "tenants:\n"
      "  - {name: gold, id: 7, rate: 2gbit, ceil: 5gbit, burst: 262144}\n"
      "  - {name: free, id: 8}\n");
  REQUIRE(std::holds_alternative<Config>(r));
  const Config& c = std::get<Config>(r);
  CHECK(c.tenants[0].rate_bps == 2'000'000'000u);
  CHECK(c.tenants[0].ceil_bps == 5'000'000'000u);
  CHECK(c.tenants[0].burst_bytes == 262144u);
  CHECK(c.tenants[1].rate_bps == 0);
  auto again = parse_config(to_yaml(c), "round.yaml");
  REQUIRE(std::holds_alternative<Config>(again));
  CHECK(std::get<Config>(again).tenants == c.tenants);
}

TEST_CASE("Tenant rates: bad values are file:line errors", "[config][shaping]") {
  auto [line, field, msg] = one_error("{name: gold, id: 7, rate: 50mbit}");
  CHECK(line == 2);
  CHECK(field == "tenants[0].rate");
  CHECK(msg.find("outside 100mbit..100gbit") != std::string::npos);
  std::tie(line, field, msg) = one_error("{name: gold, id: 7, rate: 200gbit}");
  CHECK(msg.find("outside") != std::string::npos);
  std::tie(line, field, msg) = one_error("{name: gold, id: 7, rate: 1gbit, ceil: 500mbit}");
  CHECK(field == "tenants[0].ceil");
  CHECK(msg.find("below the rate 1gbit") != std::string::npos);
  std::tie(line, field, msg) = one_error("{name: gold, id: 7, ceil: 1gbit}");
  CHECK(msg == "ceil needs a rate");
  std::tie(line, field, msg) = one_error("{name: gold, id: 7, rate: 1gbit, burst: 10}");
  CHECK(field == "tenants[0].burst");
  std::tie(line, field, msg) = one_error("{name: gold, id: 7, rate: 1gbps}");
  CHECK(msg.find("bytes per second") != std::string::npos);
}
