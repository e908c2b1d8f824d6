// The agent side of the control socket (see control/protocol.hpp): accepts
// connections on a Unix stream socket, reads JSON request lines and answers
// each with the result of a handler. Runs on one boost::asio::io_context; the
// handler is called on the thread running it, one request at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "control/protocol.hpp"

namespace boost::asio {
class io_context;
}

namespace aigw {

class ControlServer {
 public:
  // Returns the response data for (cmd, args); throws ControlError to refuse
  // (unknown command, bad args, rejected change...). Any other
  // std::exception is answered as "internal error: <what>"; none of them
  // reaches the io_context.
  using Handler = std::function<nlohmann::json(const std::string& cmd, const nlohmann::json& args)>;

  struct Options {
    std::size_t max_line = kMaxLineBytes;                   // longer request line: error + close
    std::size_t max_connections = kMaxConnections;          // beyond: error + close at accept
    std::chrono::milliseconds idle_timeout = kIdleTimeout;  // no request: close
  };

  // Creates the parent directory (0755) when missing, removes a stale socket
  // file (only a socket nobody answers on), binds `path`, sets its mode to
  // `mode` and starts accepting. Throws std::runtime_error with context when
  // the path exists and is not a socket, another agent answers on it, or a
  // system call fails.
  ControlServer(boost::asio::io_context& io, std::string path, unsigned mode, Handler handler,
                Options options);
  ControlServer(boost::asio::io_context& io, std::string path, unsigned mode, Handler handler)
      : ControlServer(io, std::move(path), mode, std::move(handler), Options{}) {}
  // Stops accepting, closes every connection and removes the socket file
  // (if it is still the one this server bound).
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const;
  std::size_t connection_count() const;

 private:
  struct State;
  struct Session;
  static void accept_next(const std::shared_ptr<State>& st);
  std::shared_ptr<State> state_;
};

}  // namespace aigw
