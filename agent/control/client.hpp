// The client side of the control socket (see control/protocol.hpp): one
// connection, synchronous calls with a deadline.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "control/protocol.hpp"

namespace aigw {

// The agent could not be reached: socket missing, connection refused,
// timeout, or the connection broke before a response arrived.
struct UnreachableError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class ControlClient {
 public:
  // Does not connect yet; the first call() does. `timeout` bounds the
  // connect and each call (send + response).
  explicit ControlClient(std::string path = kDefaultSocketPath,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Connects now (no-op when connected). Throws UnreachableError.
  void connect();
  // Sends {"cmd","args"} and returns the whole response object
  // ({"ok":true,"data":...} or {"ok":false,"error":...}). Throws
  // UnreachableError (transport) or ProtocolError (a response that is not
  // valid protocol). After a throw the connection is closed; the next call
  // reconnects.
  nlohmann::json call(const std::string& cmd,
                      const nlohmann::json& args = nlohmann::json::object());
  void close();

  const std::string& path() const { return path_; }

  // Largest response accepted (config.show of a big config is the largest).
  static constexpr std::size_t kMaxResponseBytes = 64u << 20;

 private:
  std::string path_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::string pending_;  // bytes received after the last response line
};

}  // namespace aigw
