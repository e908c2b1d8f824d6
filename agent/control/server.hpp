// The agent side of the control socket (see control/protocol.hpp): accepts
// connections on a Unix stream socket, reads JSON request lines and answers
// each with the result of a handler. Runs on one boost::asio::io_context; the
// handler is called on the thread running it, one request at a time.
//
// Hostile or broken clients (issue 8): the operator must always get in.
//
// - Each connection's peer (uid, gid, pid) is taken with SO_PEERCRED at
//   accept. A peer is privileged when its uid is 0 or the agent's own uid.
// - Slots: at most max_connections sessions. reserved_connections of them
//   are for privileged peers only; unprivileged peers share the rest, at most
//   max_per_uid sessions per uid. A peer over its uid's cap is refused.
// - When the slots a newcomer may use are full, the session idle the longest
//   (no complete request received or response sent for the longest time; a
//   session writing a response is never chosen) is closed to make room: it
//   gets one error line saying why. An unprivileged newcomer may only
//   displace unprivileged sessions. Only when nothing can be displaced is the
//   newcomer refused.
// - A request must be complete (newline received) within request_timeout of
//   its first byte; trickled bytes do not extend it. A session with no
//   complete request for idle_timeout is closed; only complete requests and
//   sent responses count as activity.
// - A refused, displaced or timed-out client gets one error line, then the
//   server shuts down its write side and drains the client's request for at
//   most `linger` before closing (closing with unread data would make the
//   kernel reset the connection and hide the line). At most max_lingering
//   such connections linger; beyond that they are closed at once.
// - With read_only_others, an unprivileged peer's Peer::may_write is false:
//   the handler refuses it every command that changes state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "control/protocol.hpp"

namespace boost::asio {
class io_context;
}

namespace aigw {

class Logger;

// Who is on the other end of a connection (SO_PEERCRED at accept).
struct Peer {
  uid_t uid = static_cast<uid_t>(-1);  // -1: unknown (treated as unprivileged)
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;
  bool privileged = false;  // uid 0 or the agent's own uid
  bool may_write = true;    // may run commands that change state
  // "uid 1000 gid 1000 pid 4242", for logs and messages.
  std::string str() const;
};

class ControlServer {
 public:
  // Returns the response data for (cmd, args) from `peer`; throws
  // ControlError to refuse (unknown command, bad args, rejected change,
  // permission denied...). Any other std::exception is answered as
  // "internal error: <what>"; none of them reaches the io_context.
  using Handler = std::function<nlohmann::json(const Peer& peer, const std::string& cmd,
                                               const nlohmann::json& args)>;

  struct Options {
    std::size_t max_line = kMaxLineBytes;                     // longer request line: error + close
    std::size_t max_connections = kMaxConnections;            // sessions in all
    std::size_t reserved_connections = kReservedConnections;  // of those, privileged only
    std::size_t max_per_uid = kMaxConnectionsPerUid;        // per unprivileged uid; beyond: refused
    std::chrono::milliseconds idle_timeout = kIdleTimeout;  // no complete request: close
    std::chrono::milliseconds request_timeout = kRequestTimeout;  // first byte to newline
    std::chrono::milliseconds linger = kRefusalLinger;  // drain a refused client's request
    std::size_t max_lingering = kMaxLingering;          // beyond: closed at once
    bool read_only_others = false;  // unprivileged peers get Peer::may_write = false
    const Logger* log = nullptr;    // refusals and evictions at info, connections at debug
  };

  // Creates the parent directory (0755) when missing, removes a stale socket
  // file (only a socket nobody answers on), binds `path`, sets its mode to
  // `mode`, and its group to `gid` unless gid is -1, and starts accepting.
  // Throws std::runtime_error with context when the path exists and is not a
  // socket, another agent answers on it, or a system call fails.
  ControlServer(boost::asio::io_context& io, std::string path, unsigned mode, Handler handler,
                Options options, gid_t gid = static_cast<gid_t>(-1));
  ControlServer(boost::asio::io_context& io, std::string path, unsigned mode, Handler handler)
      : ControlServer(io, std::move(path), mode, std::move(handler), Options{}) {}
  // Stops accepting, closes every connection and removes the socket file
  // (if it is still the one this server bound).
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const;
  // Sessions holding a slot (lingering refused connections excluded).
  std::size_t connection_count() const;

 private:
  struct State;
  struct Session;
  static void accept_next(const std::shared_ptr<State>& st);
  static void admit(const std::shared_ptr<State>& st, std::shared_ptr<Session> s);
  std::shared_ptr<State> state_;
};

}  // namespace aigw
