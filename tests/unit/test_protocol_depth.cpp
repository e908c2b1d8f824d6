// A control request nested deep enough to exhaust the stack of a recursive
// consumer is refused at parse time; the configuration converter refuses
// deep input on its own too.
#include <catch2/catch.hpp>
#include <string>

#include "config/serialize.hpp"
#include "control/protocol.hpp"

using namespace aigw;

TEST_CASE("deeply nested requests are refused", "[control][protocol]") {
  std::string deep = "{\"cmd\":\"policy.add\",\"args\":{\"policy\":{\"name\":";
  for (int i = 0; i < 15000; ++i) deep += "[";
  for (int i = 0; i < 15000; ++i) deep += "]";
  deep += "}}}";
  REQUIRE(deep.size() < kMaxLineBytes);
  REQUIRE_THROWS_AS(parse_request(deep), ProtocolError);
  try {
    parse_request(deep);
  } catch (const ProtocolError& e) {
    CHECK(std::string(e.what()).find("nested deeper") != std::string::npos);
  }
  // Ordinary nesting still parses.
  Request r = parse_request(
      R"({"cmd":"policy.add","args":{"policy":{"name":"p","prefixes":["192.0.2.0/24"]}}})");
  CHECK(r.cmd == "policy.add");
}

TEST_CASE("from_json refuses deep nesting", "[config][serialize]") {
  nlohmann::json j = "leaf";
  for (int i = 0; i < 40; ++i) j = nlohmann::json::array({j});
  REQUIRE_THROWS_AS(from_json(j), std::invalid_argument);
  nlohmann::json ok = {{"a", {1, 2, {{"b", "c"}}}}};
  CHECK(from_json(ok)["a"][2]["b"].as<std::string>() == "c");
}
