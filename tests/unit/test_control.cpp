// The control socket: protocol helpers, a real ControlServer on a temporary
// socket (io_context in a thread) and a real ControlClient / raw sockets,
// including hostile clients.
#include <utility>  // before boost/asio.hpp (GCC 12)

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "control/cli.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"
#include "control/server.hpp"

using nlohmann::json;
using namespace aigw;
using namespace std::chrono_literals;

namespace {

// A temporary directory removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aigw-ctl-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

json test_handler(const std::string& cmd, const json& args) {
  if (cmd == "echo") return args;
  if (cmd == "policy.show") return json::array({args});
  if (cmd == "refuse") throw ControlError("nope");
  if (cmd == "crash") throw std::runtime_error("boom");
  if (cmd == "crash-int") throw 42;
  if (cmd == "json-error") return json::parse("{");  // throws json::parse_error
  if (cmd == "big") return std::string(4u << 20, 'x');
  if (cmd == "bad-utf8") return std::string("\xff\xfe");
  throw ControlError("unknown command '" + cmd + "'");
}

// A ControlServer running on its own io_context thread.
class Harness {
 public:
  explicit Harness(ControlServer::Options opts = {}, std::string sub = "run/aigw.sock",
                   unsigned mode = 0600)
      : path_((dir_.path / sub).string()) {
    server_ = std::make_unique<ControlServer>(io_, path_, mode, test_handler, opts);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Harness() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    boost::asio::post(io_, [this] {
      server_.reset();
      guard_.reset();
    });
    thread_.join();
  }

  // Runs f on the io thread and returns its result.
  template <typename F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return fut.get();
  }

  std::size_t connections() {
    return on_io([this] { return server_ ? server_->connection_count() : 0; });
  }
  // The connection count once it settles at `n` (or after 2 s).
  std::size_t connections_settling_at(std::size_t n) {
    for (int i = 0; i < 200 && connections() != n; ++i) std::this_thread::sleep_for(10ms);
    return connections();
  }

  const std::string& path() const { return path_; }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::string path_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_{
      io_.get_executor()};
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
};

// A raw client socket for speaking (or abusing) the protocol by hand.
class RawConn {
 public:
  explicit RawConn(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  }
  ~RawConn() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Sends what it can; a peer that closed is not an error here.
  bool send(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 2000) <= 0) return false;
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // The next line (without '\n'), or nullopt on EOF/error/timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char tmp[65536];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

  json read_json(std::chrono::milliseconds timeout = 5s) {
    auto line = read_line(timeout);
    REQUIRE(line.has_value());
    return json::parse(*line);
  }

  // True when the server closed the connection (EOF or reset) within timeout.
  bool closed_by_peer(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return true;
    }
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

void expect_alive(const std::string& path) {
  ControlClient c(path, 5s);
  auto r = c.call("echo", {{"alive", true}});
  CHECK(r == make_ok({{"alive", true}}));
}

}  // namespace

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
  Harness h(o);

  SECTION("connection limit") {
    std::vector<std::unique_ptr<RawConn>> conns;
    for (int i = 0; i < 8; ++i) {
      conns.push_back(std::make_unique<RawConn>(h.path()));
      REQUIRE(conns.back()->send("{\"cmd\":\"echo\"}\n"));
      REQUIRE(conns.back()->read_json()["ok"] == true);
    }
    CHECK(h.connections() == 8);
    RawConn extra(h.path());
    json r = extra.read_json();
    CHECK(r["ok"] == false);
    CHECK(r["error"].get<std::string>().find("too many connections") != std::string::npos);
    CHECK(extra.closed_by_peer());
    conns.pop_back();
    CHECK(h.connections_settling_at(7) == 7);
    ControlClient c(h.path(), 5s);
    CHECK(c.call("echo", {{"x", 1}}) == make_ok({{"x", 1}}));
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
