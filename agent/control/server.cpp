// clang-format off
#include <utility>  // before boost/asio.hpp (GCC 12)
// clang-format on
#include "control/server.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/log.hpp"

namespace aigw {

namespace asio = boost::asio;
using local_stream = asio::local::stream_protocol;
using nlohmann::json;

using Clock = std::chrono::steady_clock;

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

// The peer's credentials; unknown (-1, unprivileged) when the kernel cannot
// tell.
Peer peer_of(int fd, uid_t self, bool read_only_others) {
  Peer p;
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) == 0 && len == sizeof c) {
    p.uid = c.uid;
    p.gid = c.gid;
    p.pid = c.pid;
  }
  const auto unknown = static_cast<uid_t>(-1);
  p.privileged = p.uid != unknown && (p.uid == 0 || p.uid == self);
  p.may_write = p.privileged || !read_only_others;
  return p;
}

long seconds_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - t).count();
}

}  // namespace

std::string Peer::str() const {
  if (uid == static_cast<uid_t>(-1)) return "unknown peer";
  return fmt::format("uid {} gid {} pid {}", uid, gid, pid);
}

struct ControlServer::State {
  State(asio::io_context& io, std::string p, Handler h, Options o)
      : io(io), path(std::move(p)), handler(std::move(h)), opts(o), acceptor(io), retry(io) {}

  template <class... A>
  void info(fmt::format_string<A...> f, A&&... a) const {
    if (opts.log) opts.log->info(f, std::forward<A>(a)...);
  }
  template <class... A>
  void debug(fmt::format_string<A...> f, A&&... a) const {
    if (opts.log) opts.log->debug(f, std::forward<A>(a)...);
  }

  asio::io_context& io;
  std::string path;
  Handler handler;
  Options opts;
  local_stream::acceptor acceptor;
  asio::steady_timer retry;      // backoff after an accept error (EMFILE...)
  std::set<Session*> sessions;   // holding a slot
  std::set<Session*> lingering;  // said goodbye, draining the client's request
  uid_t self_uid = ::geteuid();
  bool stopped = false;
  dev_t dev = 0;
  ino_t ino = 0;
};

struct ControlServer::Session : std::enable_shared_from_this<Session> {
  Session(std::shared_ptr<State> st, local_stream::socket s, Peer p)
      : st(std::move(st)),
        sock(std::move(s)),
        idle(sock.get_executor()),
        deadline(sock.get_executor()),
        peer(std::move(p)) {}
  ~Session() {
    st->sessions.erase(this);
    st->lingering.erase(this);
  }

  std::shared_ptr<State> st;
  local_stream::socket sock;
  asio::steady_timer idle;      // no complete request for idle_timeout
  asio::steady_timer deadline;  // request started, or lingering
  Peer peer;
  std::string in;   // received bytes not yet consumed
  std::string out;  // response being written
  std::array<char, 8192> buf{};
  Clock::time_point last_active = Clock::now();  // connected, request received, response sent
  bool in_request = false;                       // bytes of an unfinished request received
  bool reading = false;
  bool writing = false;
  bool draining = false;  // goodbye said: reads are discarded
  bool closed = false;

  void start() {
    st->sessions.insert(this);
    arm_idle();
    next();
  }

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ec;
    sock.shutdown(local_stream::socket::shutdown_both, ec);
    sock.close(ec);
    idle.cancel();
    deadline.cancel();
    st->sessions.erase(this);
    st->lingering.erase(this);
  }

  // Sends `line` (an error saying why), stops sending and drains what the
  // client sends for at most opts.linger, then closes. Frees the slot now.
  void goodbye(std::string line) {
    if (closed || draining) return;
    draining = true;
    st->sessions.erase(this);
    idle.cancel();
    if (st->lingering.size() >= st->opts.max_lingering) {
      boost::system::error_code ec;  // best effort, never block the agent on it
      sock.non_blocking(true, ec);
      sock.send(asio::buffer(line), 0, ec);
      return close();
    }
    st->lingering.insert(this);
    deadline.expires_after(st->opts.linger);
    deadline.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->close();
    });
    out = std::move(line);
    asio::async_write(
        sock, asio::buffer(out),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
          if (self->closed) return;
          if (ec) return self->close();
          boost::system::error_code e;
          self->sock.shutdown(local_stream::socket::shutdown_send, e);
          if (!self->reading) self->read();
        });
  }

  void arm_idle() {
    idle.expires_after(st->opts.idle_timeout);
    idle.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed || self->draining) return;
      // A re-arm may have raced with an expiry already queued.
      if (self->idle.expiry() > Clock::now()) return;
      self->st->debug("control: {} idle for {} s, closed", self->peer.str(),
                      seconds_since(self->last_active));
      self->close();
    });
  }

  // The first byte of a request starts its deadline; more bytes do not move it.
  void arm_deadline() {
    deadline.expires_after(st->opts.request_timeout);
    deadline.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed || self->draining || !self->in_request) return;
      if (self->deadline.expiry() > Clock::now()) return;
      auto ms = self->st->opts.request_timeout.count();
      self->st->info("control: {}: request not complete within {} ms, closed", self->peer.str(),
                     ms);
      self->goodbye(to_line(make_error(fmt::format("request not complete within {} ms", ms))));
    });
  }

  void track_partial() {
    if (!in.empty() && !in_request) {
      in_request = true;
      arm_deadline();
    }
  }

  void request_received() {
    in_request = false;
    deadline.cancel();
    last_active = Clock::now();
    arm_idle();
  }

  // Answers the next buffered request, or reads more.
  void next() {
    if (closed || draining) return;
    std::size_t start = 0;
    for (;;) {
      auto nl = in.find('\n', start);
      if (nl == std::string::npos) {
        in.erase(0, start);
        if (in.size() > st->opts.max_line) return fail_line_too_long();
        track_partial();
        return read();
      }
      if (nl - start > st->opts.max_line) return fail_line_too_long();
      std::string_view line(in.data() + start, nl - start);
      start = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank
      request_received();
      out = to_line(answer(line));
      in.erase(0, start);
      return write();
    }
  }

  void read() {
    if (reading) return;
    reading = true;
    sock.async_read_some(
        asio::buffer(buf),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          self->reading = false;
          if (self->closed) return;
          if (ec) return self->close();  // EOF, reset, or closed by the server
          if (self->draining) return self->read();
          self->in.append(self->buf.data(), n);
          self->next();
        });
  }

  void write() {
    writing = true;
    asio::async_write(
        sock, asio::buffer(out),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
          self->writing = false;
          if (self->closed) return;
          self->out.clear();
          if (ec) return self->close();  // EPIPE: client left
          self->last_active = Clock::now();
          self->arm_idle();
          self->next();
        });
  }

  void fail_line_too_long() {
    in.clear();
    st->info("control: {}: request line exceeds {} bytes, closed", peer.str(), st->opts.max_line);
    goodbye(to_line(make_error(fmt::format("request line exceeds {} bytes", st->opts.max_line))));
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
      return make_ok(st->handler(peer, req.cmd, req.args));
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
                             Options options, gid_t gid)
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
  if (gid != static_cast<gid_t>(-1) && ::chown(p.c_str(), static_cast<uid_t>(-1), gid) != 0) {
    int err = errno;
    undo();
    throw sys_error(p, fmt::format("chown to group {}", gid), err);
  }
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
  for (auto* set : {&st.sessions, &st.lingering}) {
    auto copy = *set;  // close() erases from the set
    for (Session* s : copy) s->close();
  }
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
    Peer peer = peer_of(sock.native_handle(), st->self_uid, st->opts.read_only_others);
    admit(st, std::make_shared<Session>(st, std::move(sock), std::move(peer)));
    accept_next(st);
  });
}

// Gives the newcomer a slot: refuses it over its uid's cap, and when the
// slots it may use are full closes the longest-idle session it may displace
// (see server.hpp), or refuses it when there is none.
void ControlServer::admit(const std::shared_ptr<State>& st, std::shared_ptr<Session> s) {
  const Options& o = st->opts;
  const Peer& p = s->peer;
  auto refuse = [&](const std::string& why) {
    st->info("control: refused {}: {}", p.str(), why);
    s->goodbye(to_line(make_error(why)));
  };
  std::size_t same_uid = 0, unprivileged = 0;
  for (auto* x : st->sessions) {
    if (x->peer.privileged) continue;
    ++unprivileged;
    if (x->peer.uid == p.uid) ++same_uid;
  }
  if (!p.privileged && same_uid >= o.max_per_uid)
    return refuse(fmt::format("too many connections from uid {} ({}), try again later", p.uid,
                              o.max_per_uid));
  const std::size_t shared =
      o.max_connections - std::min(o.reserved_connections, o.max_connections);
  bool full = st->sessions.size() >= o.max_connections || (!p.privileged && unprivileged >= shared);
  if (full) {
    Session* victim = nullptr;
    for (auto* x : st->sessions) {
      if (x->writing || (!p.privileged && x->peer.privileged)) continue;
      if (!victim || x->last_active < victim->last_active) victim = x;
    }
    if (!victim)
      return refuse(fmt::format("too many connections ({}), try again later", o.max_connections));
    long idle_s = seconds_since(victim->last_active);
    st->info("control: closed {} (idle {} s) to make room for {}", victim->peer.str(), idle_s,
             p.str());
    victim->goodbye(to_line(make_error(fmt::format(
        "connection closed by aigwd to make room: all control connections in use and this one "
        "idle longest ({} s)",
        idle_s))));
  }
  st->debug("control: connection from {}{}", p.str(), p.may_write ? "" : " (read-only)");
  s->start();
}

}  // namespace aigw
