#include "aigwd/daemon.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <csignal>
#include <ctime>
#include <filesystem>

#include "common/notify.hpp"
#include "common/version.hpp"
#include "config/diff.hpp"
#include "config/parse.hpp"
#include "config/serialize.hpp"
#include "features/accounting.hpp"
#include "features/args.hpp"
#include "features/backpressure.hpp"
#include "features/dispatch.hpp"
#include "features/elephants.hpp"
#include "features/flows.hpp"
#include "features/ipfix.hpp"
#include "features/metrics.hpp"
#include "features/objects.hpp"
#include "features/ports.hpp"
#include "features/rdma_proxy.hpp"
#include "features/route_events.hpp"
#include "features/shaping.hpp"

namespace aigw {
namespace {

std::string now_iso() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)));
}

}  // namespace

Daemon::Daemon(std::string config_path, Config initial, Logger& log)
    : config_path_(std::move(config_path)),
      running_(std::move(initial)),
      log_(log),
      started_(std::chrono::steady_clock::now()),
      // Registered now, so a signal during start() waits for run() instead
      // of killing the daemon with XDP attached.
      signals_(io_, SIGHUP, SIGTERM, SIGINT),
      tick_timer_(io_) {
  last_reload_.time = now_iso();
  last_reload_.at = std::chrono::system_clock::now();
}

// A start that failed half way removes only what it attached where no aigw
// program was; a stop (or failure) leaves the programs attached: they
// forward with the pinned maps until the next agent takes them over.
Daemon::~Daemon() {
  if (metrics_) metrics_->stop();  // no scrape may read dp_ from here on
  if (dp_ && !started_ok_) dp_->detach_fresh();
}

// Every capability, in apply order: the datapath's map tables first (their
// additions make before the ports attach and break after they detach), then
// the agent's own modules.
void Daemon::build_modules() {
  for (core::Module* m : dp_->modules()) modules_.add(*m);
  auto own = [&](auto module) {
    auto* raw = module.get();
    owned_.push_back(std::move(module));
    modules_.add(*raw);
    return raw;
  };
  own(std::make_unique<features::PortsModule>(*this));
  own(std::make_unique<features::PoliciesModule>(*this));
  own(std::make_unique<features::SidsModule>(*this));
  own(std::make_unique<features::RouteEventsModule>(*this, io_));
  acct_ = own(std::make_unique<features::AccountingModule>(*this, running_.agent.pin_path));
  auto* ipfix = own(std::make_unique<features::IpfixModule>(*this, *acct_));
  flows_ = own(std::make_unique<features::FlowsModule>(*this, *acct_, *ipfix));
  own(std::make_unique<features::ElephantsModule>(*this, io_));
  own(std::make_unique<features::RdmaProxyModule>(*this));
  auto* shaping = own(std::make_unique<features::ShapingModule>(*this));
  own(std::make_unique<features::BackpressureModule>(*this, *shaping));
  metrics_ = own(std::make_unique<features::MetricsModule>(*this, modules_, scrape_mu_));
}

void Daemon::start() {
  const auto& a = running_.agent;
  if (auto old = kernel_too_old(kernel_release())) throw std::runtime_error(*old);
  // Before anything is loaded, attached or written: a second agent for the
  // same control socket (or, in the loader, the same pin path) stops here.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(a.socket).parent_path(), ec);
  runtime_lock_.emplace(a.socket + ".lock", fmt::format("the control socket {}", a.socket));
  links_ = std::make_unique<NetlinkLinks>();
  dp_ = std::make_unique<Datapath>(running_.datapath, a.pin_path, &log_);
  log_.info("datapath loaded, maps pinned under {}", a.pin_path);
  // Programs an earlier agent left attached keep forwarding until the
  // apply below replaces them (atomically) or removes them.
  if (auto taken = dp_->adopt_attached(); !taken.empty())
    log_.info("taking over the aigw programs left attached on {} port(s)", taken.size());
  build_modules();
  // Before anything is attached: accounting takes the pinned counters, the
  // flow tracker its saved state.
  acct_->load();
  flows_->load();
  CachingResolver links(*links_);
  try {
    modules_.apply(core::ApplyContext{running_, running_, links, true});
  } catch (const ApplyError& e) {
    throw std::runtime_error(fmt::format("cannot apply {}: {}", config_path_, e.what()));
  }
  {
    std::lock_guard lock(scrape_mu_);
    metrics_->record_reload(last_reload_.ok, last_reload_.at);
  }
  modules_.start();
  register_commands();
  start_control();
  started_ok_ = true;
  log_.info("aigwd {} running: {} interfaces, {} policies, {} SIDs; control socket {}", version(),
            running_.interfaces.size(), running_.policies.size(), running_.sids.size(), a.socket);
}

// With agent.socket_group the group gets read/write on the socket and every
// peer other than root and the agent's own uid is read-only (README, control
// socket).
void Daemon::start_control() {
  const auto& a = running_.agent;
  ControlServer::Options o;
  o.log = &log_;
  unsigned mode = a.socket_mode;
  gid_t gid = static_cast<gid_t>(-1);
  if (a.socket_gid) {
    gid = static_cast<gid_t>(*a.socket_gid);
    mode |= 0060;
    o.read_only_others = true;
  }
  server_ = std::make_unique<ControlServer>(
      io_, a.socket, mode,
      [this](const Peer& peer, const std::string& cmd, const nlohmann::json& args) {
        return handle(peer, cmd, args);
      },
      o, gid);
  if (a.socket_gid)
    log_.info(
        "control socket {}: mode {:04o}, group {} ({}); peers other than uid 0 and the agent's uid "
        "are read-only",
        a.socket, mode, a.socket_group, gid);
}

void Daemon::wait_signals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      try {
        log_.info("SIGHUP: {}", reload("SIGHUP"));
      } catch (const std::exception& e) {
        log_.error("SIGHUP: reload refused, running configuration kept: {}", e.what());
      }
      wait_signals();
      return;
    }
    log_.info("signal {}: shutting down", sig);
    sd_notify("STOPPING=1");
    io_.stop();
  });
}

// Modules tick once a second (accounting samples on its own interval).
void Daemon::schedule_tick() {
  auto now = std::chrono::steady_clock::now();
  next_tick_ = next_tick_ == std::chrono::steady_clock::time_point{}
                   ? now + std::chrono::seconds(1)
                   : next_tick_ + std::chrono::seconds(1);
  if (next_tick_ < now) next_tick_ = now + std::chrono::seconds(1);  // fell behind: no burst
  tick_timer_.expires_at(next_tick_);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    modules_.tick(std::chrono::steady_clock::now());
    schedule_tick();
  });
}

void Daemon::run() {
  wait_signals();
  schedule_tick();
  // systemd (Type=notify): the ports are attached and the socket answers.
  sd_notify(fmt::format("READY=1\nSTATUS={} interfaces, {} policies, {} SIDs",
                        running_.interfaces.size(), running_.policies.size(),
                        running_.sids.size()));
  io_.run();
  metrics_->stop();  // no scrape during the shutdown, as before
  server_.reset();
  // The modules take their last readings and save their state (metrics
  // stop first); the programs keep forwarding and counting in the pinned
  // maps, which the next agent continues from.
  modules_.stop();
  log_.info(
      "stopped; the XDP programs stay attached to {} port(s) and forward with the maps pinned "
      "under {} until the next aigwd takes them over (`aigwd --detach` removes them)",
      dp_ ? dp_->attached().size() : 0, running_.agent.pin_path);
}

void Daemon::commit(Config next, const std::string& what) {
  auto errs = validate(next, what);
  if (!errs.empty()) throw ControlError(features::join_errors(errs));
  ConfigDiff d = diff(running_, next);
  if (d.restart_needed) throw ControlError(fmt::format("{}: {}", what, d.restart_reason));
  // Interfaces must exist before anything is written.
  for (const auto& i : next.interfaces)
    if (!links_->resolve(i.name)) throw ControlError(fmt::format("interface {} not found", i.name));
  std::lock_guard lock(scrape_mu_);  // see Daemon::scrape_mu_
  try {
    CachingResolver links(*links_);
    modules_.apply(core::ApplyContext{next, running_, links, false});
  } catch (const std::exception& e) {
    // Put back the running state (an apply writes only differences).
    try {
      CachingResolver links(*links_);
      modules_.apply(core::ApplyContext{running_, running_, links, false});
    } catch (const std::exception& e2) {
      log_.error("restoring the running configuration failed: {}", e2.what());
    }
    throw ControlError(e.what());
  }
  running_ = std::move(next);
  log_.info("{}: applied ({})", what, d.empty() ? "no change" : d.summary());
}

std::string Daemon::reload(const std::string& trigger) {
  // systemd shows "reloading" until READY=1 again, whatever the outcome.
  sd_notify(sd_reloading_state());
  struct Ready {
    const Daemon& d;
    ~Ready() {
      sd_notify(fmt::format("READY=1\nSTATUS=last reload {}: {}", d.last_reload_.ok ? "ok" : "refused",
                            d.last_reload_.message.substr(0, 200)));
    }
  } ready{*this};
  last_reload_.time = now_iso();
  last_reload_.at = std::chrono::system_clock::now();
  auto loaded = load_config_file(config_path_);
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&loaded)) {
    for (const auto& e : *errs) log_.error("{}", e.str());
    record_reload(false, features::join_errors(*errs));
    throw ControlError(fmt::format("{} rejected, running configuration kept: {}", config_path_,
                                   last_reload_.message));
  }
  Config next = std::get<Config>(std::move(loaded));
  ConfigDiff d = diff(running_, next);
  try {
    commit(std::move(next), config_path_);
  } catch (const ControlError& e) {
    record_reload(false, e.what());
    throw ControlError(
        fmt::format("reload ({}) refused, running configuration kept: {}", trigger, e.what()));
  }
  if (auto l = log_level_from_string(running_.agent.log_level)) log_.set_level(*l);
  record_reload(true, d.empty() ? "no change" : d.summary());
  return last_reload_.message;
}

void Daemon::record_reload(bool ok, std::string message) {
  last_reload_.ok = ok;
  last_reload_.message = std::move(message);
  std::lock_guard lock(scrape_mu_);
  metrics_->record_reload(ok, last_reload_.at);
}

void Daemon::register_commands() {
  using core::Access;
  commands_.add(cmd::kStatus, Access::Read, [this](const nlohmann::json&) { return status(); });
  commands_.add(cmd::kConfigShow, Access::Read, [this](const nlohmann::json&) -> nlohmann::json {
    return {{"yaml", to_yaml(running_)}, {"config", to_json(running_)}};
  });
  commands_.add(cmd::kConfigReload, Access::Write, [this](const nlohmann::json&) -> nlohmann::json {
    return {{"summary", reload("aigwctl")}};
  });
  modules_.register_commands(commands_);
}

nlohmann::json Daemon::handle(const Peer& peer, const std::string& c, const nlohmann::json& args) {
  return features::dispatch(commands_, peer, c, args, log_);
}

nlohmann::json Daemon::status() const {
  auto up =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  return {
      {"version", version()},
      {"uptime_s", up.count()},
      {"config_file", config_path_},
      {"pin_path", running_.agent.pin_path},
      {"socket", running_.agent.socket},
      {"interfaces", running_.interfaces.size()},
      {"policies", running_.policies.size()},
      {"sids", running_.sids.size()},
      {"last_reload",
       {{"time", last_reload_.time}, {"ok", last_reload_.ok}, {"message", last_reload_.message}}}};
}

}  // namespace aigw
