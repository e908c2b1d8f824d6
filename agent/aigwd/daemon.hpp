// aigwd: owns the running configuration (one state: the file, aigwctl
// changes and `config show` all go through it), the datapath and the
// control socket.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>  // before boost/asio with GCC 12

#include "common/log.hpp"
#include "config/model.hpp"
#include "control/server.hpp"
#include "datapath/datapath.hpp"
#include "netlink/links.hpp"
#include "telemetry/accounting.hpp"
#include "telemetry/flows.hpp"
#include "telemetry/ipfix.hpp"
#include "telemetry/metrics.hpp"

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
  void check_forwarding(const Config& c) const;
  void wait_signals();
  // Metrics hookup: the collector runs on the HTTP threads of the metrics
  // listener, everything else here on the io_context thread.
  telemetry::Snapshot metrics_snapshot() const;            // any thread; takes scrape_mu_
  telemetry::ConfigFacts facts_of(const Config& c) const;  // io thread
  void record_reload(bool ok, std::string message);        // io thread; takes scrape_mu_

  nlohmann::json status() const;
  nlohmann::json interfaces() const;
  nlohmann::json stats() const;

  // Accounting and flow tracking (io thread): a 1 s tick; accounting samples
  // every accounting.sample_interval_s of them.
  void schedule_tick();
  void tick();
  void sample_accounting();
  void track_flows();
  std::string flow_state_path() const;
  void load_flow_state();
  void save_flow_state();
  // After a load/reload/change: settings, names, IPFIX exporter, the names
  // a scrape shows. Caller holds scrape_mu_ (or no collector exists yet).
  void apply_accounting(const Config* old);
  telemetry::AccountingFacts accounting_facts_of(const Config& c) const;  // io thread
  nlohmann::json flows_json(const nlohmann::json& args, bool top) const;
  nlohmann::json usage_json(const nlohmann::json& args) const;
  nlohmann::json totals_json(bool classes) const;

  std::string config_path_;
  Config running_;
  Logger& log_;
  std::chrono::steady_clock::time_point started_;
  struct LastReload {
    std::string time;
    std::chrono::system_clock::time_point at;
    bool ok = true;
    std::string message = "initial load";
  } last_reload_;


  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  std::unique_ptr<NetlinkLinks> links_;
  std::unique_ptr<Datapath> dp_;
  std::unique_ptr<ControlServer> server_;

  // What a scrape reads from another thread, and the lock that makes it safe.
  // Datapath::apply() rewrites the std::map of counter slots that
  // Datapath::read_stats() iterates (and slot_of() reads), so the two must not
  // overlap: the io thread holds scrape_mu_ around every apply() after start
  // and every facts_ update; the collector holds it while it reads both. The
  // io thread, the only writer, reads dp_ and running_ without it. facts_ is
  // updated in the same critical section as apply(), so a scrape never maps
  // counter slots to stale interface names. (The kernel map reads themselves
  // need no lock: map fds are fixed after load, lookups are syscalls.)
  mutable std::mutex scrape_mu_;
  telemetry::ConfigFacts facts_;
  telemetry::AccountingFacts acct_facts_;  // names only; counters are read per scrape
  std::atomic<uint64_t> flows_active_{0};

  boost::asio::steady_timer tick_timer_;
  std::chrono::steady_clock::time_point next_tick_{}, last_sample_{};
  bool tick_failed_ = false;  // log a failing read once, not every second
  std::unique_ptr<telemetry::Accounting> acct_;
  telemetry::FlowTracker flows_{FlowSettings{}};
  std::unique_ptr<telemetry::IpfixExporter> ipfix_;
  // Declared after dp_: destroyed (HTTP threads joined) before the datapath.
  std::unique_ptr<telemetry::MetricsServer> metrics_;
};

}  // namespace aigw
