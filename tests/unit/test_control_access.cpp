// The read-only role (issue 8): agent.socket_group in the config, and the
// Access of each command enforced where requests are dispatched.
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "config/diff.hpp"
#include "config/parse.hpp"
#include "control/protocol.hpp"
#include "features/dispatch.hpp"

using namespace aigw;
using nlohmann::json;

namespace {

// What a Logger wrote, read back from a temporary file.
struct CapturedLog {
  std::FILE* f = std::tmpfile();
  Logger log{LogLevel::Debug, f};
  ~CapturedLog() { std::fclose(f); }
  std::string text() {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) s.append(buf, n);
    return s;
  }
};

Peer make_peer(uid_t uid, bool may_write) {
  Peer p;
  p.uid = uid;
  p.gid = uid;
  p.pid = 42;
  p.privileged = uid == 0;
  p.may_write = may_write;
  return p;
}

}  // namespace

TEST_CASE("dispatch: write commands need write access, and are logged with the peer",
          "[control][access]") {
  core::CommandTable t;
  int writes = 0;
  t.add("thing.show", core::Access::Read, [](const json&) -> json { return "shown"; });
  t.add("thing.add", core::Access::Write, [&](const json&) -> json {
    ++writes;
    return nullptr;
  });
  CapturedLog cap;
  Peer ro = make_peer(1000, false), rw = make_peer(0, true);

  CHECK(features::dispatch(t, ro, "thing.show", json::object(), cap.log) == "shown");
  CHECK_THROWS_WITH(features::dispatch(t, ro, "thing.add", json::object(), cap.log),
                    "permission denied: thing.add needs write access (uid 1000 is read-only)");
  CHECK(writes == 0);
  CHECK(features::dispatch(t, rw, "thing.add", json::object(), cap.log) == nullptr);
  CHECK(writes == 1);
  CHECK_THROWS_AS(features::dispatch(t, rw, "nope", json::object(), cap.log), ControlError);

  std::string log = cap.text();
  CHECK_THAT(log, Catch::Contains("debug: control: uid 1000 gid 1000 pid 42: thing.show"));
  CHECK_THAT(log,
             Catch::Contains(
                 "info: control: uid 1000 gid 1000 pid 42: thing.add refused: read-only peer"));
  CHECK_THAT(log, Catch::Contains("info: control: uid 0 gid 0 pid 42: thing.add"));
}

TEST_CASE("config: agent.socket_group, a group name or a gid", "[config][access]") {
  auto ok = [](const std::string& yaml) {
    auto r = parse_config(yaml, "t.yaml");
    REQUIRE(std::holds_alternative<Config>(r));
    return std::get<Config>(r).agent;
  };
  auto bad = [](const std::string& yaml) {
    auto r = parse_config(yaml, "t.yaml");
    REQUIRE(std::holds_alternative<std::vector<ConfigError>>(r));
    auto errs = std::get<std::vector<ConfigError>>(r);
    REQUIRE(errs.size() == 1);
    return errs[0].str();
  };
  CHECK_FALSE(ok("agent: {}\n").socket_gid.has_value());
  auto a = ok("agent:\n  socket_group: root\n");
  CHECK(a.socket_group == "root");
  CHECK(a.socket_gid == std::optional<uint32_t>(0));
  a = ok("agent:\n  socket_group: 4242\n");  // a gid need not have a name
  CHECK(a.socket_gid == std::optional<uint32_t>(4242));
  CHECK(bad("agent:\n  socket_group: no-such-group-aigw\n") ==
        "t.yaml:2: agent.socket_group: unknown group 'no-such-group-aigw'");
  CHECK(bad("agent:\n  socket_group: 4294967295\n") ==
        "t.yaml:2: agent.socket_group: expected a gid 0..4294967294, got '4294967295'");
  CHECK(bad("agent:\n  socket_group: [a]\n") ==
        "t.yaml:2: agent.socket_group: expected a group name or a numeric gid, got a list");
}

TEST_CASE("diff: agent.socket_group needs a restart", "[config][diff][access]") {
  Config a;
  Config b = a;
  b.agent.socket_group = "root";
  b.agent.socket_gid = 0;
  ConfigDiff d = diff(a, b);
  CHECK(d.restart_needed);
  CHECK(d.restart_reason == "restart needed: agent.socket_group changed");
}
