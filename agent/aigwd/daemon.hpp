// aigwd: the lifecycle of the agent. It owns the running configuration (one
// state: the file, aigwctl changes and `config show` all go through it),
// the datapath, the modules (each capability is one, core/module.hpp) and
// the control socket. A change is validated, then planned, added and
// removed by every module in turn; the daemon itself serves only status,
// config show and config reload.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>  // before boost/asio with GCC 12
#include <vector>

#include "common/lock.hpp"
#include "common/log.hpp"
#include "config/model.hpp"
#include "control/server.hpp"
#include "core/commands.hpp"
#include "core/module_set.hpp"
#include "datapath/datapath.hpp"
#include "features/host.hpp"
#include "netlink/links.hpp"

namespace aigw {

namespace features {
class AccountingModule;
class FlowsModule;
class MetricsModule;
}  // namespace features

class Daemon : public features::Host {
 public:
  // Loads nothing yet; start() does the work so that errors surface there.
  Daemon(std::string config_path, Config initial, Logger& log);
  ~Daemon() override;

  // Loads the programs, takes over those an earlier agent left attached,
  // applies the configuration, attaches, opens the control socket. Throws
  // with context on failure (what it attached anew is detached again).
  void start();
  // Runs until SIGTERM/SIGINT, then closes the socket and saves state; the
  // programs stay attached (zero-loss restart; `aigwd --detach` removes them).
  void run();

  // Re-reads the configuration file and applies the difference; on any
  // error the running configuration stays in force. Returns a summary or
  // throws ControlError with the reason.
  std::string reload(const std::string& trigger);

  // features::Host
  const Config& running() const override { return running_; }
  Datapath& datapath() const override { return *dp_; }
  const LinkResolver& links() const override { return *links_; }
  const Logger& log() const override { return log_; }
  void commit(Config next, const std::string& what) override;

 private:
  void build_modules();
  void register_commands();
  void start_control();
  nlohmann::json handle(const Peer& peer, const std::string& cmd, const nlohmann::json& args);
  void wait_signals();
  void schedule_tick();
  void record_reload(bool ok, std::string message);  // takes scrape_mu_
  nlohmann::json status() const;

  std::string config_path_;
  Config running_;
  Logger& log_;
  std::chrono::steady_clock::time_point started_;
  bool started_ok_ = false;  // start() completed
  struct LastReload {
    std::string time;
    std::chrono::system_clock::time_point at;
    bool ok = true;
    std::string message = "initial load";
  } last_reload_;

  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer tick_timer_;
  std::chrono::steady_clock::time_point next_tick_{};
  // Taken first in start(), released last: one agent per control socket.
  std::optional<ExclusiveLock> runtime_lock_;
  std::unique_ptr<NetlinkLinks> links_;
  std::unique_ptr<Datapath> dp_;

  // Serialises a scrape (MetricsModule, on the HTTP threads) against an
  // apply and the facts the modules update in commit(): the io thread holds
  // it around every apply after start; a scrape holds it while it asks the
  // modules. The io thread, the only writer, reads everything else without it.
  mutable std::mutex scrape_mu_;
  // Declared after dp_: destroyed (threads joined) before it; the set of
  // modules outlives the modules (the metrics module refers to it).
  core::ModuleSet modules_;
  std::vector<std::unique_ptr<core::Module>> owned_;
  features::AccountingModule* acct_ = nullptr;
  features::FlowsModule* flows_ = nullptr;
  features::MetricsModule* metrics_ = nullptr;
  core::CommandTable commands_;
  std::unique_ptr<ControlServer> server_;
};

}  // namespace aigw
