// Control socket limits against hostile clients (issue 8 C1, C2): the
// request deadline, refusals that reach the client, unprivileged peers
// (uid nobody, from a child process) with their cap, the reserved slots and
// the read-only role.
#include <sstream>
#include <vector>

#include "control/cli.hpp"
#include "control_harness.hpp"

using namespace aigw_test;

namespace {

const std::string kEcho = "{\"cmd\":\"echo\"}\n";

}  // namespace

TEST_CASE("control limits: a request must be complete within request_timeout of its first byte",
          "[control]") {
  ControlServer::Options o;
  o.request_timeout = 400ms;
  o.idle_timeout = 10s;
  Harness h(o);
  RawConn slow(h.path());
  // One byte every 50 ms, never the newline: trickling must not extend it.
  const std::string req = std::string(R"({"cmd":"echo","args":{"pad":")") + std::string(60, 'x');
  auto t0 = std::chrono::steady_clock::now();
  std::optional<std::string> bye;
  for (char c : req) {
    slow.send(std::string(1, c));
    if ((bye = slow.read_line(50ms))) break;
  }
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(bye.has_value());
  CHECK(json::parse(*bye) == make_error("request not complete within 400 ms"));
  CHECK(took >= 350ms);
  CHECK(took < 1500ms);
  CHECK(slow.closed_by_peer(3s));
  CHECK(h.connections() == 0);
  // A complete request on time is fine, and so is the next one.
  RawConn ok(h.path());
  REQUIRE(ok.send("{\"cmd\":"));
  std::this_thread::sleep_for(200ms);
  REQUIRE(ok.send("\"echo\"}\n"));
  CHECK(ok.read_json()["ok"] == true);
  std::this_thread::sleep_for(300ms);  // idle between requests is not a request
  REQUIRE(ok.send(kEcho));
  CHECK(ok.read_json()["ok"] == true);
}

TEST_CASE("control limits: a refused client reads the refusal, then an orderly end (C2)",
          "[control]") {
  ControlServer::Options o;
  o.max_connections = 1;
  o.idle_timeout = 10s;
  Harness h(o);
  // The only slot is busy writing a reply nobody reads: nothing can be displaced.
  RawConn stuck(h.path());
  REQUIRE(stuck.send("{\"cmd\":\"big\"}\n"));
  REQUIRE(h.connections_settling_at(1) == 1);
  std::this_thread::sleep_for(100ms);
  const std::string refusal = "too many connections (1), try again later";

  SECTION("raw client: request sent before reading") {
    RawConn extra(h.path());
    REQUIRE(extra.send(kEcho));
    auto line = extra.read_line();
    REQUIRE(line.has_value());
    CHECK(json::parse(*line) == make_error(refusal));
    CHECK(extra.end_of_stream() == 0);  // not ECONNRESET
  }
  SECTION("aigwctl prints the server's reason and exits 2") {
    for (int i = 0; i < 20; ++i) {
      SocketTransport t(2s);
      std::ostringstream out, err;
      int code = run_cli({"-S", h.path(), "policy", "show"}, out, err, t);
      INFO("attempt " << i);
      CHECK(code == kExitRefused);
      CHECK(err.str() == "aigwctl: agent refused: " + refusal + "\n");
    }
  }
  CHECK(h.connections() == 1);
}

TEST_CASE("control limits: a per-uid cap for unprivileged peers", "[control]") {
  ControlServer::Options o;
  o.max_per_uid = 3;
  o.idle_timeout = 10s;
  Harness h(o, "run/aigw.sock", 0666);
  h.open_dir();
  int rc = run_as_nobody([&] {
    std::vector<std::unique_ptr<RawConn>> held;
    for (int i = 0; i < 3; ++i) {
      held.push_back(std::make_unique<RawConn>(h.path()));
      if (!held.back()->send(kEcho)) return 1;
      if (held.back()->read_json()["ok"] != true) return 2;
    }
    ControlClient c(h.path(), 2s);
    if (c.call("echo") != make_error("too many connections from uid 65534 (3), try again later"))
      return 3;
    for (auto& conn : held) {  // none of them was displaced
      if (!conn->send(kEcho) || conn->read_json()["ok"] != true) return 4;
    }
    return 0;
  });
  CHECK(rc == 0);
  expect_alive(h.path());  // root is not capped
}

TEST_CASE("control limits: unprivileged peers never take the reserved slots", "[control]") {
  ControlServer::Options o;
  o.max_connections = 4;
  o.reserved_connections = 2;
  o.idle_timeout = 10s;
  Harness h(o, "run/aigw.sock", 0666);
  h.open_dir();
  // Root's two sessions are the oldest; nobody's third connection must
  // displace nobody's own oldest, not them.
  RawConn r1(h.path()), r2(h.path());
  for (auto* r : {&r1, &r2}) {
    REQUIRE(r->send(kEcho));
    REQUIRE(r->read_json()["ok"] == true);
  }
  int rc = run_as_nobody([&] {
    RawConn a(h.path()), b(h.path());
    for (auto* c : {&a, &b}) {
      if (!c->send(kEcho) || c->read_json()["ok"] != true) return 1;
    }
    RawConn c(h.path());
    if (!c.send(kEcho) || c.read_json()["ok"] != true) return 2;
    auto bye = a.read_line();
    if (!bye ||
        json::parse(*bye)["error"].get<std::string>().find("to make room") == std::string::npos)
      return 3;
    if (!b.send(kEcho) || b.read_json()["ok"] != true) return 4;
    return 0;
  });
  CHECK(rc == 0);
  for (auto* r : {&r1, &r2}) {
    REQUIRE(r->send(kEcho));
    CHECK(r->read_json()["ok"] == true);
  }
}

TEST_CASE("control limits: the read-only role comes from the peer's uid", "[control]") {
  ControlServer::Options o;
  o.read_only_others = true;
  Harness h(o, "run/aigw.sock", 0666);
  h.open_dir();
  int rc = run_as_nobody([&] {
    ControlClient c(h.path(), 2s);
    auto r = c.call("whoami");
    if (r != make_ok({{"uid", 65534}, {"privileged", false}, {"may_write", false}})) return 1;
    return 0;
  });
  CHECK(rc == 0);
  ControlClient c(h.path(), 2s);
  CHECK(c.call("whoami") == make_ok({{"uid", 0}, {"privileged", true}, {"may_write", true}}));
}
