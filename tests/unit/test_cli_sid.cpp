// aigwctl sid: what comes from the behaviour table (config/behaviors.hpp)
// is pinned here: the help's argument lines and the behaviour names.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "config/behaviors.hpp"
#include "control/cli.hpp"

using nlohmann::json;
using namespace aigw;

namespace {

class NoTransport : public CliTransport {
 public:
  int calls = 0;
  json call(const std::string&, const std::string&, const json&) override {
    ++calls;
    return json{{"ok", true}, {"data", nullptr}};
  }
};

}  // namespace

TEST_CASE("sid add --help: argument lines generated from the behaviour table", "[cli][behaviors]") {
  NoTransport t;
  std::ostringstream out, err;
  CHECK(run_cli({"sid", "add", "--help"}, out, err, t) == kExitOk);
  CHECK(t.calls == 0);
  const std::string expected =
      "Arguments:\n"
      "  SID           IPv6 address (= /128) or locator+function prefix\n"
      "  behavior B    End, End.X, End.DX4, End.DX6, End.DT4, End.DT6, End.DT46\n"
      "  table N       End.DT*: routing table for the lookup (default 254)\n"
      "  nh ADDR       End.X / End.DX6: IPv6 next hop; End.DX4: IPv4 next hop\n"
      "  dev IFNAME    End.X: the adjacency's interface; End.DX*: optional\n"
      "Example:\n"
      "  aigwctl sid add fc00:1::100 behavior End.DT4 table 100\n";
  INFO(out.str());
  CHECK(out.str().find(expected) != std::string::npos);
}

TEST_CASE("sid add: every behaviour of the table, in any case", "[cli][behaviors]") {
  for (const auto& d : behaviors()) {
    std::string lower(d.name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    NoTransport t;
    std::ostringstream out, err;
    CHECK(run_cli({"sid", "add", "fc00::1", "behavior", lower}, out, err, t) == kExitOk);
    CHECK(t.calls == 1);
  }
  NoTransport t;
  std::ostringstream out, err;
  CHECK(run_cli({"sid", "add", "fc00::1", "behavior", "End.Q"}, out, err, t) == kExitUsage);
  CHECK(err.str().find("bad behavior 'End.Q' (one of End, End.X, End.DX4, End.DX6, End.DT4, "
                       "End.DT6, End.DT46)") != std::string::npos);
}
