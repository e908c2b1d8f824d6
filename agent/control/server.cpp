// clang-format off
#include <utility>  // before boost/asio.hpp (GCC 12)
// clang-format on
#include "control/server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/asio.hpp>
#include <fmt/format.h>

namespace aigw {

namespace asio = boost::asio;
using local_stream = asio::local::stream_protocol;
using nlohmann::json;

namespace {

std::runtime_error sys_error(const std::string& path, std::string_view what, int err) {
  return std::runtime_error(
      fmt::format("control socket {}: {}: {}", path, what, std::strerror(err)));
}

// Creates the missing directories of `dir` with mode 0755.
void make_parent_dirs(const std::string& socket_path) {
  std::filesystem::path dir = std::filesystem::path(socket_path).parent_path();
  if (dir.empty()) return;
  std::vector<std::filesystem::path> missing;
  for (auto p = dir; !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        throw std::runtime_error(
            fmt::format("control socket {}: {} is not a directory", socket_path, p.string()));
      break;
    }
    if (errno != ENOENT) throw sys_error(socket_path, fmt::format("stat {}", p.string()), errno);
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0) {
      if (errno == EEXIST) continue;  // created concurrently
      throw sys_error(socket_path, fmt::format("mkdir {}", it->string()), errno);
    }
    ::chmod(it->c_str(), 0755);  // exact mode whatever the umask
  }
}

// Whether something accepts connections on the Unix socket at `path`.
bool socket_answers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sys_error(path, "socket", errno);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int err = errno;
  ::close(fd);
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS) return true;  // EAGAIN: backlog full
  if (err == ECONNREFUSED || err == ENOENT) return false;
  throw sys_error(path, "probing existing socket", err);
}

}  // namespace

struct ControlServer::State {
  State(asio::io_context& io, std::string p, Handler h, Options o)
      : io(io), path(std::move(p)), handler(std::move(h)), opts(o), acceptor(io), retry(io) {}

  asio::io_context& io;
  std::string path;
  Handler handler;
  Options opts;
  local_stream::acceptor acceptor;
  asio::steady_timer retry;  // backoff after an accept error (EMFILE...)
  std::set<Session*> sessions;
  bool stopped = false;
  dev_t dev = 0;
  ino_t ino = 0;
};

struct ControlServer::Session : std::enable_shared_from_this<Session> {
  Session(std::shared_ptr<State> st, local_stream::socket s)
      : st(std::move(st)), sock(std::move(s)), timer(sock.get_executor()) {}
  ~Session() { st->sessions.erase(this); }

  std::shared_ptr<State> st;
  local_stream::socket sock;
  asio::steady_timer timer;
  std::string in;   // received bytes not yet consumed
  std::string out;  // response being written
  std::array<char, 8192> buf{};
  bool closed = false;

  void start() {
    st->sessions.insert(this);
    arm_timer();
    next();
  }

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ec;
    sock.shutdown(local_stream::socket::shutdown_both, ec);
    sock.close(ec);
    timer.cancel();
    st->sessions.erase(this);
  }

  void arm_timer() {
    timer.expires_after(st->opts.idle_timeout);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed) return;
      // A re-arm may have raced with an expiry already queued.
      if (self->timer.expiry() > asio::steady_timer::clock_type::now()) return;
      self->close();
    });
  }

  // Answers the next buffered request, or reads more.
  void next() {
    if (closed) return;
    std::size_t start = 0;
    for (;;) {
      auto nl = in.find('\n', start);
      if (nl == std::string::npos) {
        in.erase(0, start);
        if (in.size() > st->opts.max_line) return fail_line_too_long();
        return read();
      }
      if (nl - start > st->opts.max_line) return fail_line_too_long();
      std::string_view line(in.data() + start, nl - start);
      start = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank
      out = to_line(answer(line));
      in.erase(0, start);
      return write(false);
    }
  }

  void read() {
    sock.async_read_some(
        asio::buffer(buf),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          if (self->closed) return;
          if (ec) return self->close();  // EOF, reset, or closed by the server
          self->in.append(self->buf.data(), n);
          self->next();
        });
  }

  void write(bool then_close) {
    asio::async_write(
        sock, asio::buffer(out),
        [self = shared_from_this(), then_close](const boost::system::error_code& ec, std::size_t) {
          if (self->closed) return;
          self->out.clear();
          if (ec || then_close) return self->close();  // EPIPE: client left
          self->arm_timer();
          self->next();
        });
  }

  void fail_line_too_long() {
    in.clear();
    out = to_line(make_error(fmt::format("request line exceeds {} bytes", st->opts.max_line)));
    write(true);
  }

  json answer(std::string_view line) {
    Request req;
    try {
      req = parse_request(line);
    } catch (const ProtocolError& e) {
      return make_error(e.what());
    } catch (const std::exception& e) {
      return make_error(fmt::format("bad request: {}", e.what()));
    }
    try {
      return make_ok(st->handler(req.cmd, req.args));
    } catch (const ControlError& e) {
      return make_error(e.what());
    } catch (const std::exception& e) {
      return make_error(fmt::format("internal error: {}", e.what()));
    } catch (...) {
      return make_error("internal error");
    }
  }
};

ControlServer::ControlServer(asio::io_context& io, std::string path, unsigned mode, Handler handler,
                             Options options)
    : state_(std::make_shared<State>(io, std::move(path), std::move(handler), options)) {
  const std::string& p = state_->path;
  if (p.empty()) throw std::runtime_error("control socket: empty path");
  if (p.size() >= sizeof(sockaddr_un::sun_path))
    throw std::runtime_error(fmt::format("control socket {}: path longer than {} bytes", p,
                                         sizeof(sockaddr_un::sun_path) - 1));
  if (!state_->handler) throw std::invalid_argument("ControlServer: empty handler");

  make_parent_dirs(p);

  struct stat st {};
  if (::lstat(p.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error(
          fmt::format("control socket {}: exists and is not a socket; not removing it", p));
    if (socket_answers(p))
      throw std::runtime_error(
          fmt::format("control socket {}: another agent is answering on it", p));
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
      throw sys_error(p, "removing stale socket", errno);
  } else if (errno != ENOENT) {
    throw sys_error(p, "stat", errno);
  }

  auto& acc = state_->acceptor;
  boost::system::error_code ec;
  acc.open(local_stream(), ec);
  if (ec) throw std::runtime_error(fmt::format("control socket {}: socket: {}", p, ec.message()));
  // Linux creates the socket file with the socket inode's mode (minus the
  // umask): restrict it before bind so the file is never more open than asked.
  ::fchmod(acc.native_handle(), mode & 07777);
  acc.bind(local_stream::endpoint(p), ec);
  if (ec) throw std::runtime_error(fmt::format("control socket {}: bind: {}", p, ec.message()));
  auto undo = [&] { ::unlink(p.c_str()); };
  if (::chmod(p.c_str(), mode & 07777) != 0) {
    int err = errno;
    undo();
    throw sys_error(p, "chmod", err);
  }
  if (::lstat(p.c_str(), &st) != 0) {
    int err = errno;
    undo();
    throw sys_error(p, "stat", err);
  }
  state_->dev = st.st_dev;
  state_->ino = st.st_ino;
  acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    undo();
    throw std::runtime_error(fmt::format("control socket {}: listen: {}", p, ec.message()));
  }
  ::fcntl(acc.native_handle(), F_SETFD, FD_CLOEXEC);
  accept_next(state_);
}

ControlServer::~ControlServer() {
  auto& st = *state_;
  st.stopped = true;
  boost::system::error_code ec;
  st.acceptor.close(ec);
  st.retry.cancel();
  auto sessions = st.sessions;  // close() erases from the set
  for (Session* s : sessions) s->close();
  struct stat sb {};
  if (::lstat(st.path.c_str(), &sb) == 0 && sb.st_dev == st.dev && sb.st_ino == st.ino)
    ::unlink(st.path.c_str());
}

const std::string& ControlServer::path() const { return state_->path; }

std::size_t ControlServer::connection_count() const { return state_->sessions.size(); }

// Accept loop: a static member working on State, so no handler refers to the
// ControlServer object itself.
void ControlServer::accept_next(const std::shared_ptr<State>& st) {
  st->acceptor.async_accept([st](const boost::system::error_code& ec, local_stream::socket sock) {
    if (st->stopped) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // EMFILE, ENOBUFS...: back off instead of spinning.
      st->retry.expires_after(std::chrono::milliseconds(100));
      st->retry.async_wait([st](const boost::system::error_code& e) {
        if (!e && !st->stopped) accept_next(st);
      });
      return;
    }
    ::fcntl(sock.native_handle(), F_SETFD, FD_CLOEXEC);
    if (st->sessions.size() >= st->opts.max_connections) {
      // Best effort: tell the client why, never block the agent on it.
      boost::system::error_code e;
      sock.non_blocking(true, e);
      std::string line = to_line(make_error(
          fmt::format("too many connections ({}), try again later", st->opts.max_connections)));
      sock.send(asio::buffer(line), 0, e);
      sock.shutdown(local_stream::socket::shutdown_both, e);
      sock.close(e);
    } else {
      std::make_shared<Session>(st, std::move(sock))->start();
    }
    accept_next(st);
  });
}

}  // namespace aigw
