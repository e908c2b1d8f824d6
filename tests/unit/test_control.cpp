// The control socket: protocol helpers, a real ControlServer on a temporary
// socket (io_context in a thread) and a real ControlClient / raw sockets,
// including hostile clients.
// clang-format off
#include <utility>  // before boost/asio.hpp (GCC 12)
// clang-format on

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "control/cli.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"
#include "control/server.hpp"
#include "control_harness.hpp"

using nlohmann::json;
using namespace aigw;
using namespace aigw_test;
using namespace std::chrono_literals;

TEST_CASE("protocol: parse_request validates", "[control]") {
  auto r = parse_request(R"({"cmd":"policy.del","args":{"name":"a"}})");
  CHECK(r.cmd == "policy.del");
  CHECK(r.args == json{{"name", "a"}});
  r = parse_request(R"({"cmd":"status"})");
  CHECK(r.args == json::object());
  r = parse_request(R"({"cmd":"status","args":null})");
  CHECK(r.args == json::object());

  auto bad = [](const char* line, const char* needle) {
    INFO(line);
    try {
      parse_request(line);
      FAIL("accepted");
    } catch (const ProtocolError& e) {
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  bad("", "invalid JSON");
  bad("{", "invalid JSON");
  bad("[1]", "must be a JSON object");
  bad("\"status\"", "must be a JSON object");
  bad("{}", "no \"cmd\"");
  bad(R"({"cmd":1})", "\"cmd\" must be a string");
  bad(R"({"cmd":""})", "empty");
  bad(R"({"cmd":"x","args":[]})", "\"args\" must be an object");
  bad(R"({"cmd":"x","arg":{}})", "unknown request key");
  bad(std::string(kMaxLineBytes + 1, ' ').c_str(), "exceeds");

  CHECK(make_ok(1) == json{{"ok", true}, {"data", 1}});
  CHECK(make_error("x") == json{{"ok", false}, {"error", "x"}});
  CHECK(make_request("status") == json{{"cmd", "status"}, {"args", json::object()}});
  CHECK(to_line(json{{"a", "\xff"}}) == "{\"a\":\"\xEF\xBF\xBD\"}\n");  // never throws
  CHECK_NOTHROW(check_response(make_ok()));
  CHECK_NOTHROW(check_response(make_error("e")));
  CHECK_THROWS_AS(check_response(json{{"ok", false}}), ProtocolError);
  CHECK_THROWS_AS(check_response(json::array()), ProtocolError);
  CHECK_THROWS_AS(check_response(json{{"data", 1}}), ProtocolError);
}

TEST_CASE("control: requests, refusals and handler errors", "[control]") {
  Harness h;
  ControlClient c(h.path(), 5s);
  CHECK(c.call("echo", {{"a", 1}}) == make_ok({{"a", 1}}));
  CHECK(c.call("echo") == make_ok(json::object()));
  CHECK(c.call("refuse") == make_error("nope"));
  CHECK(c.call("crash") == make_error("internal error: boom"));
  CHECK(c.call("crash-int") == make_error("internal error"));
  auto r = c.call("json-error");
  CHECK(r["ok"] == false);
  CHECK(r["error"].get<std::string>().find("internal error") == 0);
  CHECK(c.call("nosuch") == make_error("unknown command 'nosuch'"));
  // Invalid UTF-8 in a handler's data is replaced, not fatal.
  r = c.call("bad-utf8");
  CHECK(r["ok"] == true);
  // A large response arrives whole.
  r = c.call("big");
  CHECK(r["data"].get<std::string>().size() == (4u << 20));
  // Same connection still good.
  CHECK(c.call("echo", {{"b", 2}}) == make_ok({{"b", 2}}));
}

TEST_CASE("control: malformed requests keep the connection usable", "[control]") {
  Harness h;
  RawConn raw(h.path());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "invalid JSON"},
      {"[1,2,3]", "must be a JSON object"},
      {"42", "must be a JSON object"},
      {R"({"args":{}})", "no \"cmd\""},
      {R"({"cmd":5})", "\"cmd\" must be a string"},
      {R"({"cmd":"echo","args":[1]})", "\"args\" must be an object"},
      {"\x01\x02\xff\xfe", "invalid JSON"},
      {std::string("{\"cmd\":\"echo\",\"args\":{\"s\":\"\xff\"}}"), "invalid JSON"},
  };
  for (const auto& [line, needle] : cases) {
    INFO(line);
    REQUIRE(raw.send(line + "\n"));
    json r = raw.read_json();
    CHECK(r["ok"] == false);
    CHECK(r["error"].get<std::string>().find(needle) != std::string::npos);
  }
  // Blank lines are ignored; CRLF is accepted; pipelined requests are
  // answered in order.
  REQUIRE(
      raw.send("\n  \n{\"cmd\":\"echo\",\"args\":{\"n\":1}}\r\n{\"cmd\":\"refuse\"}\n"
               "{\"cmd\":\"echo\",\"args\":{\"n\":3}}\n"));
  CHECK(raw.read_json() == make_ok({{"n", 1}}));
  CHECK(raw.read_json() == make_error("nope"));
  CHECK(raw.read_json() == make_ok({{"n", 3}}));
  // A request split across writes.
  REQUIRE(raw.send("{\"cmd\":\"ec"));
  std::this_thread::sleep_for(50ms);
  REQUIRE(raw.send("ho\",\"args\":{\"n\":4}}\n"));
  CHECK(raw.read_json() == make_ok({{"n", 4}}));
  expect_alive(h.path());
}

TEST_CASE("control: an oversize line gets an error and the connection closes", "[control]") {
  Harness h;
  SECTION("no newline at all") {
    RawConn raw(h.path());
    raw.send(std::string(kMaxLineBytes + 10000, 'a'));  // may fail midway: server stops reading
    json r = raw.read_json();
    CHECK(r["ok"] == false);
    CHECK(r["error"].get<std::string>().find("exceeds 65536 bytes") != std::string::npos);
    CHECK(raw.closed_by_peer());
  }
  SECTION("a long line with its newline") {
    RawConn raw(h.path());
    std::string line =
        "{\"cmd\":\"echo\",\"args\":{\"s\":\"" + std::string(kMaxLineBytes, 'b') + "\"}}\n";
    raw.send(line);
    json r = raw.read_json();
    CHECK(r["ok"] == false);
    CHECK(raw.closed_by_peer());
  }
  SECTION("exactly the limit is fine") {
    RawConn raw(h.path());
    std::string head = "{\"cmd\":\"echo\",\"args\":{\"s\":\"";
    std::string tail = "\"}}";
    std::string line = head + std::string(kMaxLineBytes - head.size() - tail.size(), 'c') + tail;
    REQUIRE(line.size() == kMaxLineBytes);
    REQUIRE(raw.send(line + "\n"));
    json r = raw.read_json();
    CHECK(r["ok"] == true);
  }
  expect_alive(h.path());
  CHECK(h.connections_settling_at(0) == 0);
}

TEST_CASE("control: connection limit, idle timeout, clients leaving", "[control]") {
  ControlServer::Options o;
  o.max_connections = 8;
  o.idle_timeout = 300ms;
  o.request_timeout = 300ms;
  Harness h(o);

  SECTION("connection limit: the longest-idle session makes room") {
    std::vector<std::unique_ptr<RawConn>> conns;
    for (int i = 0; i < 8; ++i) {
      conns.push_back(std::make_unique<RawConn>(h.path()));
      REQUIRE(conns.back()->send("{\"cmd\":\"echo\"}\n"));
      REQUIRE(conns.back()->read_json()["ok"] == true);
    }
    CHECK(h.connections() == 8);
    RawConn extra(h.path());
    REQUIRE(extra.send("{\"cmd\":\"echo\"}\n"));
    CHECK(extra.read_json()["ok"] == true);
    json bye = conns[0]->read_json();
    CHECK(bye["ok"] == false);
    CHECK_THAT(bye["error"].get<std::string>(), Catch::Contains("to make room"));
    CHECK(conns[0]->closed_by_peer());
    CHECK(h.connections() == 8);
    REQUIRE(conns[1]->send("{\"cmd\":\"echo\"}\n"));
    CHECK(conns[1]->read_json()["ok"] == true);
  }
  SECTION("idle connections are closed") {
    RawConn idle(h.path());
    RawConn partial(h.path());
    partial.send("{\"cmd\":");  // slowloris: never finishes its line
    auto t0 = std::chrono::steady_clock::now();
    CHECK(idle.closed_by_peer(3s));
    CHECK(partial.closed_by_peer(3s));
    CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
    // Activity resets the timer.
    RawConn busy(h.path());
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(150ms);
      REQUIRE(busy.send("{\"cmd\":\"echo\"}\n"));
      REQUIRE(busy.read_json()["ok"] == true);
    }
  }
  SECTION("client leaves before its reply") {
    for (int i = 0; i < 5; ++i) {
      RawConn raw(h.path());
      raw.send("{\"cmd\":\"big\"}\n{\"cmd\":\"big\"}\n");
      raw.close();
    }
    // A client that never reads its (large) reply is dropped by the timer.
    RawConn stuck(h.path());
    stuck.send("{\"cmd\":\"big\"}\n");
    std::this_thread::sleep_for(600ms);
    CHECK(h.connections_settling_at(0) == 0);
  }
  SECTION("many sequential clients") {
    for (int i = 0; i < 200; ++i) {
      ControlClient c(h.path(), 5s);
      REQUIRE(c.call("echo", {{"i", i}}) == make_ok({{"i", i}}));
    }
  }
  expect_alive(h.path());
}

TEST_CASE("control: concurrent clients", "[control]") {
  Harness h;
  std::atomic<int> good{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 16; ++t)
    ts.emplace_back([&, t] {
      ControlClient c(h.path(), 10s);
      for (int i = 0; i < 50; ++i) {
        auto r = c.call("echo", {{"t", t}, {"i", i}});
        if (r == make_ok({{"t", t}, {"i", i}})) ++good;
      }
    });
  for (auto& t : ts) t.join();
  CHECK(good == 16 * 50);
}

TEST_CASE("control: socket file lifecycle", "[control]") {
  SECTION("parent directory created, mode applied, file removed on stop") {
    auto h = std::make_unique<Harness>(ControlServer::Options{}, "a/b/aigw.sock", 0660);
    struct stat st {};
    REQUIRE(::lstat(h->path().c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0660);
    REQUIRE(::stat((h->dir().path / "a/b").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    std::string path = h->path();
    h->stop();
    CHECK(::lstat(path.c_str(), &st) != 0);
  }
  SECTION("default mode 0600") {
    Harness h;
    struct stat st {};
    REQUIRE(::lstat(h.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
  }
  SECTION("a stale socket is replaced, a live one refused") {
    TempDir d;
    std::string path = (d.path / "aigw.sock").string();
    {
      // Bound but never listening, then closed: a stale socket file.
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
      REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
      ::close(fd);
    }
    boost::asio::io_context io;
    auto first = std::make_unique<ControlServer>(io, path, 0600, test_handler);
    try {
      ControlServer second(io, path, 0600, test_handler);
      FAIL("second server started");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find("another agent") != std::string::npos);
    }
    // The refused second server must not have removed the first's socket.
    struct stat st {};
    CHECK(::lstat(path.c_str(), &st) == 0);
    first.reset();
    CHECK(::lstat(path.c_str(), &st) != 0);
  }
  SECTION("a non-socket file is never removed") {
    TempDir d;
    std::string path = (d.path / "aigw.sock").string();
    std::ofstream(path) << "precious";
    boost::asio::io_context io;
    CHECK_THROWS_WITH(ControlServer(io, path, 0600, test_handler), Catch::Contains("not a socket"));
    std::ifstream in(path);
    std::string s;
    in >> s;
    CHECK(s == "precious");
  }
  SECTION("a socket replaced by someone else is not removed") {
    TempDir d;
    std::string path = (d.path / "aigw.sock").string();
    boost::asio::io_context io;
    auto s = std::make_unique<ControlServer>(io, path, 0600, test_handler);
    std::filesystem::remove(path);
    std::ofstream(path) << "other";
    s.reset();
    CHECK(std::filesystem::exists(path));
  }
  SECTION("too long a path") {
    boost::asio::io_context io;
    CHECK_THROWS_WITH(ControlServer(io, "/tmp/" + std::string(200, 'x'), 0600, test_handler),
                      Catch::Contains("path longer"));
  }
}

TEST_CASE("control: client reports an unreachable agent", "[control]") {
  TempDir d;
  std::string path = (d.path / "aigw.sock").string();
  SECTION("missing socket") {
    ControlClient c(path, 500ms);
    CHECK_THROWS_WITH(c.call("status"), Catch::Contains("No such file"));
  }
  SECTION("nobody listening") {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    ControlClient c(path, 500ms);
    CHECK_THROWS_AS(c.call("status"), UnreachableError);
    ::close(fd);
  }
  SECTION("a listener that never answers: timeout") {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    ControlClient c(path, 300ms);
    auto t0 = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(c.call("status"), Catch::Contains("timed out"));
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    ::close(fd);
  }
  SECTION("a server that refuses without reading: its reason is shown (issue 8 C2)") {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    ControlClient c(path, 2s);
    c.connect();
    // The refusal arrives and the server is gone before the request is sent.
    int conn = ::accept(fd, nullptr, nullptr);
    REQUIRE(conn >= 0);
    std::string line = to_line(make_error("too many connections (64), try again later"));
    REQUIRE(::send(conn, line.data(), line.size(), MSG_NOSIGNAL) == ssize_t(line.size()));
    ::close(conn);
    json r;
    REQUIRE_NOTHROW(r = c.call("status"));
    CHECK(r == make_error("too many connections (64), try again later"));
    ::close(fd);
  }
  SECTION("the agent goes away between calls") {
    auto h = std::make_unique<Harness>(ControlServer::Options{}, "aigw.sock");
    ControlClient c(h->path(), 2s);
    CHECK(c.call("echo")["ok"] == true);
    h.reset();
    CHECK_THROWS_AS(c.call("echo"), UnreachableError);
  }
}

TEST_CASE("control: aigwctl end to end over a real socket", "[control][cli]") {
  Harness h(ControlServer::Options{}, "aigw.sock");
  SocketTransport t(2s);
  std::ostringstream out, err;
  // test_handler answers policy.show with [args]; -j prints that data.
  int code = run_cli({"-S", h.path(), "-j", "policy", "show", "x"}, out, err, t);
  CHECK(code == kExitOk);
  CHECK(err.str().empty());
  CHECK(json::parse(out.str()) == json::array({{{"name", "x"}}}));
  out.str("");
  code = run_cli({"-S", h.path(), "status"}, out, err, t);
  CHECK(code == kExitRefused);
  CHECK(err.str() == "aigwctl: agent refused: unknown command 'status'\n");
}
