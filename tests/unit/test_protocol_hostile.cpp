// Control requests that used to get through (issue 8 C3, C4): a key given
// twice, control characters in the command name, a number beyond 32 bits.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "config/model.hpp"
#include "control/protocol.hpp"
#include "core/commands.hpp"
#include "features/accounting.hpp"
#include "features/host.hpp"

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

TEST_CASE("protocol: a number beyond a double is a protocol error, not a json exception",
          "[control][protocol]") {
  // Found by the protocol fuzzer: nlohmann's out_of_range escaped parse_request.
  CHECK_THROWS_AS(parse_request(R"({"args":-14469598189E9779973,"cmd":"policy.add"})"),
                  ProtocolError);
}

namespace {

// Enough of a Host for a command refused before it reads anything else.
class ConfigOnlyHost : public aigw::features::Host {
 public:
  aigw::Config config;
  aigw::Logger logger;
  const aigw::Config& running() const override { return config; }
  aigw::Datapath& datapath() const override { throw std::logic_error("no datapath in this test"); }
  const aigw::LinkResolver& links() const override { throw std::logic_error("no links"); }
  const aigw::Logger& log() const override { return logger; }
  void commit(aigw::Config, const std::string&) override { throw std::logic_error("no commit"); }
};

}  // namespace

TEST_CASE("usage.show: a period beyond 32 bits is refused, not truncated (C4)",
          "[control][protocol]") {
  ConfigOnlyHost host;
  host.config.accounting.periods_s = {60};  // 4294967356 = 2^32 + 60
  aigw::features::AccountingModule acct(host, "/nonexistent");
  aigw::core::CommandTable t;
  acct.register_commands(t);
  const auto* usage = t.find(aigw::cmd::kUsageShow);
  REQUIRE(usage);
  CHECK(usage->access == aigw::core::Access::Read);
  for (auto bad : {nlohmann::json(4294967356ull), nlohmann::json(4294967296ull),
                   nlohmann::json(-60), nlohmann::json(60.5), nlohmann::json("60")})
    CHECK_THROWS_WITH(usage->handler({{"period", bad}}),
                      "argument 'period' must be a number of seconds");
}
