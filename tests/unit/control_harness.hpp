// The control socket test harness: a ControlServer on its own io thread with
// a test handler, and a raw client connection. Shared by the control tests.
#pragma once

// clang-format off
#include <utility>  // before boost/asio.hpp (GCC 12)
// clang-format on

#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "control/client.hpp"
#include "control/protocol.hpp"
#include "control/server.hpp"

namespace aigw_test {

using nlohmann::json;
using namespace aigw;
using namespace std::chrono_literals;

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

inline json test_handler(const Peer& peer, const std::string& cmd, const json& args) {
  if (cmd == "echo") return args;
  if (cmd == "whoami")
    return {{"uid", peer.uid}, {"privileged", peer.privileged}, {"may_write", peer.may_write}};
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
                   unsigned mode = 0600, ControlServer::Handler handler = test_handler)
      : path_((dir_.path / sub).string()) {
    server_ = std::make_unique<ControlServer>(io_, path_, mode, std::move(handler), opts);
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
  // Lets other uids reach the socket (the temporary directory is 0700).
  void open_dir() { std::filesystem::permissions(dir_.path, std::filesystem::perms(0755)); }
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

  // How the stream ends after what was read: 0 for an orderly EOF, the
  // errno of a reset, -1 when neither happens within timeout. Data before the
  // end is discarded.
  int end_of_stream(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return -1;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return -1;
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n == 0) return 0;
      if (n < 0) return errno;
    }
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

inline void expect_alive(const std::string& path) {
  ControlClient c(path, 5s);
  auto r = c.call("echo", {{"alive", true}});
  CHECK(r == make_ok({{"alive", true}}));
}

// Starts `f` in a child process as uid/gid 65534 (nobody, unprivileged);
// its return value is the child's exit status (254: it threw, 255: could not
// drop privileges).
inline pid_t spawn_as_nobody(const std::function<int()>& f) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
      ::setresuid(65534, 65534, 65534) != 0)
    ::_exit(255);
  int rc = 254;
  try {
    rc = f();
  } catch (...) {
  }
  ::_exit(rc);
}

inline int wait_child(pid_t pid) {
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return 253;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 252;
}

inline int run_as_nobody(const std::function<int()>& f) { return wait_child(spawn_as_nobody(f)); }

}  // namespace aigw_test
