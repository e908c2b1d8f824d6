// aigwd: owns the running configuration (one state: the file, aigwctl
// changes and `config show` all go through it), the datapath and the
// control socket.
#pragma once

#include <utility>  // before boost/asio with GCC 12

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "config/model.hpp"
#include "control/server.hpp"
#include "datapath/datapath.hpp"
#include "netlink/links.hpp"

namespace aigw {

class Daemon {
 public:
  // Loads nothing yet; start() does the work so that errors surface there.
  Daemon(std::string config_path, Config initial, Logger& log);
  ~Daemon();

  // Loads the programs, applies the configuration, attaches, opens the
  // control socket. Throws with context on failure (nothing left attached).
  void start();
  // Runs until SIGTERM/SIGINT; then detaches and closes the socket.
  void run();

  // Re-reads the configuration file and applies the difference; on any
  // error the running configuration stays in force. Returns a summary or
  // throws ControlError with the reason.
  std::string reload(const std::string& trigger);

 private:
  nlohmann::json handle(const std::string& cmd, const nlohmann::json& args);
  // Validate `next` as a whole, program it and make it the running state.
  void commit(Config next, const std::string& what);
  void reconcile_attachments(const Config& next);
  void wait_signals();

  nlohmann::json status() const;
  nlohmann::json interfaces() const;
  nlohmann::json stats() const;

  std::string config_path_;
  Config running_;
  Logger& log_;
  std::chrono::steady_clock::time_point started_;
  struct LastReload {
    std::string time;
    bool ok = true;
    std::string message = "initial load";
  } last_reload_;

  std::map<int, std::pair<IfRole, XdpMode>> running_attach_;  // ifindex -> attached as

  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  std::unique_ptr<NetlinkLinks> links_;
  std::unique_ptr<Datapath> dp_;
  std::unique_ptr<ControlServer> server_;
};

}  // namespace aigw
