#include "aigwd/daemon.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <csignal>
#include <fstream>
#include <ctime>
#include <set>

#include "common/version.hpp"
#include "config/diff.hpp"
#include "config/parse.hpp"
#include "config/serialize.hpp"

namespace aigw {
namespace {

std::string now_iso() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)));
}

std::string join_errors(const std::vector<ConfigError>& errs) {
  std::string out;
  for (const auto& e : errs) {
    if (!out.empty()) out += "; ";
    out += e.str();
  }
  return out;
}

nlohmann::json ctr_json(const aigw_ctr& c) { return {{"packets", c.packets}, {"bytes", c.bytes}}; }

const nlohmann::json& arg(const nlohmann::json& args, const char* key) {
  if (!args.is_object() || !args.contains(key))
    throw ControlError(fmt::format("missing argument '{}'", key));
  return args.at(key);
}

YAML::Node yaml_arg(const nlohmann::json& args, const char* key) {
  try {
    return from_json(arg(args, key));
  } catch (const std::invalid_argument& e) {
    throw ControlError(fmt::format("argument '{}': {}", key, e.what()));
  }
}

std::string arg_str(const nlohmann::json& args, const char* key) {
  const auto& v = arg(args, key);
  if (!v.is_string()) throw ControlError(fmt::format("argument '{}' must be a string", key));
  return v.get<std::string>();
}

}  // namespace

Daemon::Daemon(std::string config_path, Config initial, Logger& log)
    : config_path_(std::move(config_path)),
      running_(std::move(initial)),
      log_(log),
      started_(std::chrono::steady_clock::now()),
      // Registered now, so a signal during start() waits for run() instead
      // of killing the daemon with XDP attached.
      signals_(io_, SIGHUP, SIGTERM, SIGINT) {
  last_reload_.time = now_iso();
  last_reload_.at = std::chrono::system_clock::now();
}

Daemon::~Daemon() {
  metrics_.reset();  // no scrape may read dp_ from here on
  if (dp_) dp_->detach_all();
}

void Daemon::start() {
  const auto& a = running_.agent;
  links_ = std::make_unique<NetlinkLinks>();
  dp_ = std::make_unique<Datapath>(running_.datapath, a.pin_path, &log_);
  log_.info("datapath loaded, maps pinned under {}", a.pin_path);
  try {
    dp_->apply(running_, *links_);
  } catch (const ApplyError& e) {
    throw std::runtime_error(fmt::format("cannot apply {}: {}", config_path_, e.what()));
  }
  facts_ = facts_of(running_);  // no collector yet: no lock needed
  if (!a.metrics_listen.empty()) {
    metrics_ = std::make_unique<telemetry::MetricsServer>(a.metrics_listen, version(),
                                                          [this] { return metrics_snapshot(); });
    log_.info("metrics on {}", metrics_->url());
  }
  reconcile_attachments(running_);
  check_forwarding(running_);
  server_ = std::make_unique<ControlServer>(
      io_, a.socket, a.socket_mode,
      [this](const std::string& cmd, const nlohmann::json& args) { return handle(cmd, args); });
  log_.info("aigwd {} running: {} interfaces, {} policies, {} SIDs; control socket {}", version(),
            running_.interfaces.size(), running_.policies.size(), running_.sids.size(), a.socket);
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
    io_.stop();
  });
}

void Daemon::run() {
  wait_signals();
  io_.run();
  metrics_.reset();
  server_.reset();
  if (dp_) dp_->detach_all();
  log_.info("detached; maps stay pinned under {} (counters survive a restart)",
            running_.agent.pin_path);
}

// Attach one program per kernel interface; a port with VLAN entries is one
// attachment. Changed role or mode re-attaches (atomic replace of our own).
void Daemon::reconcile_attachments(const Config& next) {
  std::map<int, std::pair<IfRole, XdpMode>> want;
  std::map<int, std::string> names;
  for (const auto& i : next.interfaces) {
    auto li = links_->resolve(i.name);
    if (!li) throw std::runtime_error(fmt::format("interface {} not found", i.name));
    XdpMode mode = i.xdp_mode.value_or(next.datapath.xdp_mode);
    auto [it, fresh] = want.emplace(li->ifindex, std::make_pair(i.role, mode));
    if (!fresh && it->second != std::make_pair(i.role, mode))
      throw std::runtime_error(fmt::format(
          "interface {}: VLAN entries of one port must share role and xdp_mode", i.name));
    names[li->ifindex] = i.name;
  }
  for (int ifindex : dp_->attached())
    if (!want.count(ifindex)) {
      dp_->detach(ifindex);
      log_.info("detached from ifindex {}", ifindex);
    }
  for (const auto& [ifindex, rm] : want) {
    const auto& [role, mode] = rm;
    auto now = dp_->attachment(ifindex);
    if (now == rm) continue;
    if (mode == XdpMode::Generic)
      log_.warn("{}: attaching in generic (skb) XDP mode: for testing, not for production speed",
                names[ifindex]);
    // Native and generic XDP cannot be attached at once: switching modes
    // detaches first (a short gap in which the kernel forwards alone).
    if (now && now->second != mode) dp_->detach(ifindex);
    dp_->attach(ifindex, role, mode);
    log_.info("{}: {} program attached ({} mode)", names[ifindex],
              role == IfRole::Customer ? "headend" : "endpoint", to_string(mode));
  }
}

void Daemon::commit(Config next, const std::string& what) {
  auto errs = validate(next, what);
  if (!errs.empty()) throw ControlError(join_errors(errs));
  ConfigDiff d = diff(running_, next);
  if (d.restart_needed) throw ControlError(fmt::format("{}: {}", what, d.restart_reason));
  // Interfaces must exist before anything is written.
  for (const auto& i : next.interfaces)
    if (!links_->resolve(i.name)) throw ControlError(fmt::format("interface {} not found", i.name));
  std::lock_guard lock(scrape_mu_);  // see Daemon::scrape_mu_
  try {
    dp_->apply(next, *links_);
    reconcile_attachments(next);
  } catch (const std::exception& e) {
    // Put back the running state (apply writes only differences).
    try {
      dp_->apply(running_, *links_);
      reconcile_attachments(running_);
    } catch (const std::exception& e2) {
      log_.error("restoring the running configuration failed: {}", e2.what());
    }
    throw ControlError(e.what());
  }
  running_ = std::move(next);
  facts_ = facts_of(running_);
  log_.info("{}: applied ({})", what, d.empty() ? "no change" : d.summary());
  if (!d.added_interfaces.empty() || !d.changed_interfaces.empty()) check_forwarding(running_);
}

// The XDP FIB lookups run on the ingress port and fail (the packet is
// dropped or handed to the kernel) where the kernel would not forward: say
// so once, at start and after each change, rather than per packet.
void Daemon::check_forwarding(const Config& c) const {
  auto sysctl_is_one = [](const std::string& path) {
    std::ifstream f(path);
    std::string v;
    return f && std::getline(f, v) && v == "1";
  };
  std::set<std::string> seen;
  for (const auto& i : c.interfaces) {
    if (!seen.insert(i.name).second) continue;
    if (!sysctl_is_one(fmt::format("/proc/sys/net/ipv6/conf/{}/forwarding", i.name)))
      log_.warn("{}: IPv6 forwarding is off (net.ipv6.conf.{}.forwarding): the {} program's "
                "IPv6 route lookups will fail",
                i.name, i.name, i.role == IfRole::Customer ? "headend" : "endpoint");
    if (i.role == IfRole::Wan &&
        !sysctl_is_one(fmt::format("/proc/sys/net/ipv4/conf/{}/forwarding", i.name)))
      log_.warn("{}: IPv4 forwarding is off (net.ipv4.conf.{}.forwarding): decapsulated IPv4 "
                "(End.DX4/DT4/DT46) cannot be forwarded from XDP",
                i.name, i.name);
  }
}

std::string Daemon::reload(const std::string& trigger) {
  last_reload_.time = now_iso();
  last_reload_.at = std::chrono::system_clock::now();
  auto loaded = load_config_file(config_path_);
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&loaded)) {
    for (const auto& e : *errs) log_.error("{}", e.str());
    record_reload(false, join_errors(*errs));
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
  facts_.reload_ok = ok;
  facts_.reload_time = last_reload_.at;
}

telemetry::ConfigFacts Daemon::facts_of(const Config& c) const {
  telemetry::ConfigFacts f;
  for (const auto& i : c.interfaces)
    f.interfaces.push_back({i.name, i.vlan, dp_->slot_of(interface_key(i))});
  f.policies = c.policies.size();
  f.sids = c.sids.size();
  f.reload_ok = last_reload_.ok;
  f.reload_time = last_reload_.at;
  return f;
}

telemetry::Snapshot Daemon::metrics_snapshot() const {
  std::lock_guard lock(scrape_mu_);
  return {facts_, dp_->read_stats()};
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

nlohmann::json Daemon::interfaces() const {
  nlohmann::json out = nlohmann::json::array();
  std::set<int> att;
  for (int a : dp_->attached()) att.insert(a);
  for (const auto& i : running_.interfaces) {
    auto li = links_->resolve(i.name);
    nlohmann::json j = {{"name", i.name},
                        {"ifindex", li ? li->ifindex : 0},
                        {"role", to_string(i.role)},
                        {"vrf", i.vrf},
                        {"xdp_mode", to_string(i.xdp_mode.value_or(running_.datapath.xdp_mode))},
                        {"attached", li && att.count(li->ifindex) > 0},
                        {"mtu", li ? li->mtu : 0},
                        {"slot", dp_->slot_of(interface_key(i)).value_or(0)}};
    if (i.vlan) j["vlan"] = *i.vlan;
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json Daemon::stats() const {
  Stats s = dp_->read_stats();
  nlohmann::json ifs = nlohmann::json::array();
  for (const auto& i : running_.interfaces) {
    auto slot = dp_->slot_of(interface_key(i));
    if (!slot) continue;
    Counters c{};
    if (auto it = s.by_slot.find(*slot); it != s.by_slot.end()) c = it->second;
    ifs.push_back({{"name", interface_key(i)},
                   {"slot", *slot},
                   {"rx", ctr_json(c.rx)},
                   {"encap", ctr_json(c.encap)},
                   {"decap", ctr_json(c.decap)},
                   {"fwd", ctr_json(c.fwd)},
                   {"pass", ctr_json(c.pass)},
                   {"drop", ctr_json(c.drop)},
                   {"tx", ctr_json(c.tx)}});
  }
  nlohmann::json drops = nlohmann::json::array(), events = nlohmann::json::array();
  for (unsigned r = 1; r < s.drops.size(); ++r)
    drops.push_back({{"reason", aigw_drop_reason_name(r)},
                     {"packets", s.drops[r].packets},
                     {"bytes", s.drops[r].bytes}});
  for (unsigned e = 1; e < s.events.size(); ++e)
    events.push_back({{"event", aigw_event_name(e)},
                      {"packets", s.events[e].packets},
                      {"bytes", s.events[e].bytes}});
  return {{"interfaces", ifs}, {"drops", drops}, {"events", events}};
}

nlohmann::json Daemon::handle(const std::string& c, const nlohmann::json& args) {
  if (c == cmd::kStatus) return status();
  if (c == cmd::kInterfaceShow) return interfaces();
  if (c == cmd::kStatsShow) return stats();
  if (c == cmd::kConfigShow) return {{"yaml", to_yaml(running_)}, {"config", to_json(running_)}};
  if (c == cmd::kConfigReload) return {{"summary", reload("aigwctl")}};

  if (c == cmd::kPolicyShow) {
    std::string only = args.is_object() && args.contains("name") && args["name"].is_string()
                           ? args["name"].get<std::string>()
                           : "";
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : running_.policies) {
      if (!only.empty() && p.name != only) continue;
      nlohmann::json j = to_json(p);
      j["slot"] = dp_->policy_slot(p.name).value_or(0);
      out.push_back(std::move(j));
    }
    if (!only.empty() && out.empty()) throw ControlError(fmt::format("no policy named {}", only));
    return out;
  }
  if (c == cmd::kSidShow) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : running_.sids) out.push_back(to_json(s));
    return out;
  }
  if (c == cmd::kPolicyAdd) {
    auto parsed = parse_policy(yaml_arg(args, "policy"), "<aigwctl>");
    if (auto* errs = std::get_if<std::vector<ConfigError>>(&parsed))
      throw ControlError(join_errors(*errs));
    Policy p = std::get<Policy>(std::move(parsed));
    for (const auto& q : running_.policies)
      if (q.name == p.name)
        throw ControlError(fmt::format("policy {} exists (delete it first)", p.name));
    Config next = running_;
    next.policies.push_back(std::move(p));
    commit(std::move(next), "<aigwctl>");
    return nullptr;
  }
  if (c == cmd::kPolicyDel) {
    std::string name = arg_str(args, "name");
    Config next = running_;
    auto n = std::erase_if(next.policies, [&](const Policy& p) { return p.name == name; });
    if (n == 0) throw ControlError(fmt::format("no policy named {}", name));
    commit(std::move(next), "<aigwctl>");
    return nullptr;
  }
  if (c == cmd::kSidAdd) {
    auto parsed = parse_sid(yaml_arg(args, "sid"), "<aigwctl>");
    if (auto* errs = std::get_if<std::vector<ConfigError>>(&parsed))
      throw ControlError(join_errors(*errs));
    Sid s = std::get<Sid>(std::move(parsed));
    for (const auto& q : running_.sids)
      if (q.sid == s.sid)
        throw ControlError(fmt::format("SID {} exists (delete it first)", s.sid.str()));
    Config next = running_;
    next.sids.push_back(std::move(s));
    commit(std::move(next), "<aigwctl>");
    return nullptr;
  }
  if (c == cmd::kSidDel) {
    std::string text = arg_str(args, "sid");
    auto pfx = Prefix::parse(text.find('/') == std::string::npos ? text + "/128" : text);
    if (auto* err = std::get_if<std::string>(&pfx))
      throw ControlError(fmt::format("sid: {}", *err));
    Prefix want = std::get<Prefix>(pfx);
    Config next = running_;
    auto n = std::erase_if(next.sids, [&](const Sid& s) { return s.sid == want; });
    if (n == 0) throw ControlError(fmt::format("no SID {}", want.str()));
    commit(std::move(next), "<aigwctl>");
    return nullptr;
  }
  throw ControlError(fmt::format("unknown command '{}'", c));
}

}  // namespace aigw
