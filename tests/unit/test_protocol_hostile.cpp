// Control requests that used to get through (issue 8 C3, C4): a key given
// twice, control characters in the command name.
#include <catch2/catch.hpp>

#include "control/protocol.hpp"

using aigw::parse_request;
using aigw::ProtocolError;

TEST_CASE("protocol: a key given twice is refused, at any depth", "[control][protocol]") {
  // With "last wins" this ran config.reload while a reader saw status.
  CHECK_THROWS_WITH(parse_request(R"({"cmd":"status","cmd":"config.reload"})"),
                    "duplicate key \"cmd\" in request");
  CHECK_THROWS_WITH(parse_request(R"({"cmd":"policy.del","args":{"name":"a","name":"b"}})"),
                    "duplicate key \"name\" in request");
  // The same key in sibling objects is fine.
  auto r = parse_request(R"({"cmd":"x","args":{"a":{"k":1},"b":{"k":2}}})");
  CHECK(r.args["b"]["k"] == 2);
}

TEST_CASE("protocol: control characters in cmd are refused and shown escaped",
          "[control][protocol]") {
  CHECK_THROWS_WITH(parse_request("{\"cmd\":\"sta\\u0000tus\"}"),
                    "\"cmd\" contains control characters: \"sta\\x00tus\"");
  CHECK_THROWS_AS(parse_request("{\"cmd\":\"a\\nb\"}"), ProtocolError);
  CHECK(parse_request(R"({"cmd":"status"})").cmd == "status");
}
