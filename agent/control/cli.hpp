// aigwctl's logic, kept out of main() so tests can drive it: argument
// handling (iproute2 style: OBJECT VERB [ARGS...], keyword arguments,
// abbreviations), request building, response rendering and exit codes.
//
//   aigwctl [-j|--json] [-S|--socket PATH] OBJECT VERB [ARGS...]
//
// Exit codes: kExitOk; kExitUsage (unknown object/verb, missing or bad
// arguments); kExitRefused (the agent answered {"ok":false}, or `config
// check` found errors); kExitUnreachable (no agent on the socket, timeout,
// broken or invalid response).
#pragma once

#include <chrono>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aigw {

class ControlClient;

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;
inline constexpr int kExitRefused = 2;
inline constexpr int kExitUnreachable = 3;

// How aigwctl talks to the agent.
class CliTransport {
 public:
  virtual ~CliTransport() = default;
  // Sends one request to the agent on `socket_path` and returns the whole
  // response object ({"ok":true,"data":...} / {"ok":false,"error":...}).
  // Throws UnreachableError (transport) or ProtocolError (bad response).
  virtual nlohmann::json call(const std::string& socket_path, const std::string& cmd,
                              const nlohmann::json& args) = 0;
};

// The real transport: a ControlClient per socket path, kept for reuse.
class SocketTransport : public CliTransport {
 public:
  explicit SocketTransport(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~SocketTransport() override;
  nlohmann::json call(const std::string& socket_path, const std::string& cmd,
                      const nlohmann::json& args) override;

 private:
  std::chrono::milliseconds timeout_;
  std::map<std::string, std::unique_ptr<ControlClient>> clients_;
};

// Runs one aigwctl command line. `args` excludes the program name (argv[1..]).
// Normal output goes to `out`; diagnostics ("aigwctl: ...") to `err`.
// `config check FILE` runs locally and never uses the transport.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            CliTransport& transport);

}  // namespace aigw
