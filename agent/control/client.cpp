#include "control/client.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace aigw {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Milliseconds left until `deadline` (0 when past), for poll().
int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::string timeout_text(std::chrono::milliseconds t) {
  if (t.count() % 1000 == 0) return fmt::format("{} s", t.count() / 1000);
  return fmt::format("{} ms", t.count());
}

// Waits for `events` on fd; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, ms_left(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) throw UnreachableError(fmt::format("poll: {}", std::strerror(errno)));
  }
}

}  // namespace

ControlClient::ControlClient(std::string path, std::chrono::milliseconds timeout)
    : path_(std::move(path)), timeout_(timeout) {}

ControlClient::~ControlClient() { close(); }

void ControlClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  pending_.clear();
}

void ControlClient::connect() {
  if (fd_ >= 0) return;
  sockaddr_un sa{};
  if (path_.empty() || path_.size() >= sizeof sa.sun_path)
    throw UnreachableError(
        fmt::format("invalid socket path (empty or longer than {} bytes)", sizeof sa.sun_path - 1));
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path_.c_str(), path_.size() + 1);

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw UnreachableError(fmt::format("socket: {}", std::strerror(errno)));
  auto deadline = Clock::now() + timeout_;
  for (;;) {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) break;
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN && Clock::now() < deadline) {
      // The agent's accept backlog is full: it is busy, not gone.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    ::close(fd);
    if (err == EAGAIN)
      throw UnreachableError(fmt::format("connect timed out after {}", timeout_text(timeout_)));
    throw UnreachableError(std::strerror(err));
  }
  fd_ = fd;
  pending_.clear();
}

json ControlClient::call(const std::string& cmd, const json& args) {
  try {
    connect();
    auto deadline = Clock::now() + timeout_;
    const std::string line = to_line(make_request(cmd, args));

    // A server that refuses the connection (too many clients) answers with
    // an error line and closes without reading: the write then fails, but
    // its reason is waiting to be read.
    bool send_failed = false;
    std::size_t sent = 0;
    while (sent < line.size() && !send_failed) {
      ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait_fd(fd_, POLLOUT, deadline))
          throw UnreachableError(
              fmt::format("timed out after {} sending the request", timeout_text(timeout_)));
        continue;
      }
      if (errno != EPIPE && errno != ECONNRESET)
        throw UnreachableError(fmt::format("send: {}", std::strerror(errno)));
      send_failed = true;
    }

    std::size_t scanned = 0;
    for (;;) {
      auto nl = pending_.find('\n', scanned);
      if (nl != std::string::npos) {
        std::string text = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        json r;
        try {
          r = json::parse(text);
        } catch (const json::parse_error& e) {
          throw ProtocolError(fmt::format("invalid response from aigwd: {}", e.what()));
        }
        check_response(r);
        return r;
      }
      scanned = pending_.size();
      if (pending_.size() > kMaxResponseBytes)
        throw ProtocolError(fmt::format("response exceeds {} bytes", kMaxResponseBytes));
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        pending_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0)
        throw UnreachableError(send_failed
                                   ? "aigwd closed the connection before reading the request"
                                   : "aigwd closed the connection without replying");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!wait_fd(fd_, POLLIN, deadline))
          throw UnreachableError(
              fmt::format("timed out after {} waiting for a response", timeout_text(timeout_)));
        continue;
      }
      if (errno == ECONNRESET) throw UnreachableError("aigwd closed the connection");
      throw UnreachableError(fmt::format("recv: {}", std::strerror(errno)));
    }
  } catch (...) {
    close();
    throw;
  }
}

}  // namespace aigw
