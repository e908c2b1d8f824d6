#include "aigwd/daemon.hpp"

#include <arpa/inet.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <ctime>
#include <fstream>
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
      signals_(io_, SIGHUP, SIGTERM, SIGINT),
      tick_timer_(io_) {
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
  // Accounting reads the pinned counters before anything is attached: with
  // persisted state the traffic counted while we were down is taken now;
  // without, this reading is the baseline (accounting.hpp).
  acct_ = std::make_unique<telemetry::Accounting>(running_.accounting, &log_, a.pin_path);
  acct_->set_names(telemetry::names_of(running_));
  sample_accounting();
  load_flow_state();
  try {
    dp_->apply(running_, *links_);
  } catch (const ApplyError& e) {
    throw std::runtime_error(fmt::format("cannot apply {}: {}", config_path_, e.what()));
  }
  facts_ = facts_of(running_);  // no collector yet: no lock needed
  apply_accounting(nullptr);
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
  schedule_tick();
  io_.run();
  metrics_.reset();
  server_.reset();
  if (dp_) dp_->detach_all();
  // Nothing is counted any more: one last sample puts everything counted so
  // far into the periods in progress and persists them. Periods still in
  // progress stay open (no record): the next start continues them.
  if (acct_) sample_accounting();
  save_flow_state();
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
  const Config old = std::exchange(running_, std::move(next));
  facts_ = facts_of(running_);
  apply_accounting(&old);
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
  telemetry::Snapshot s{facts_, dp_->read_stats(), acct_facts_};
  s.accounting.usage = dp_->read_usage();
  s.accounting.policy_stats = dp_->read_policy_stats();
  s.accounting.flows_active = flows_active_.load();
  return s;
}

// ------------------------------------------------------------------ accounting

void Daemon::schedule_tick() {
  auto now = std::chrono::steady_clock::now();
  next_tick_ = next_tick_ == std::chrono::steady_clock::time_point{}
                   ? now + std::chrono::seconds(1)
                   : next_tick_ + std::chrono::seconds(1);
  if (next_tick_ < now) next_tick_ = now + std::chrono::seconds(1);  // fell behind: no burst
  tick_timer_.expires_at(next_tick_);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    tick();
    schedule_tick();
  });
}

void Daemon::tick() {
  auto now = std::chrono::steady_clock::now();
  auto interval =
      std::chrono::seconds(std::max<uint32_t>(1, running_.accounting.sample_interval_s));
  // 100 ms of slack so that timer jitter does not skip a sample.
  if (now - last_sample_ + std::chrono::milliseconds(100) >= interval) sample_accounting();
  track_flows();
}

void Daemon::sample_accounting() {
  last_sample_ = std::chrono::steady_clock::now();
  try {
    telemetry::Reading r = telemetry::make_reading(dp_->read_usage(), dp_->read_apn_usage(),
                                                   dp_->read_policy_stats(), dp_->read_stats());
    acct_->sample(r, std::chrono::system_clock::now());
    if (tick_failed_) log_.info("accounting: counters readable again");
    tick_failed_ = false;
  } catch (const std::exception& e) {
    if (!tick_failed_) log_.error("accounting: cannot read the counters: {}", e.what());
    tick_failed_ = true;
  }
}

void Daemon::track_flows() {
  try {
    auto now_wall = std::chrono::system_clock::now();
    std::vector<telemetry::FlowReport> reports;
    if (running_.flows.enabled) {
      auto entries = dp_->read_flows();
      auto t = flows_.tick(entries, telemetry::monotonic_ns(), now_wall);
      if (!t.ended.empty()) dp_->delete_flows(t.ended);
      reports = std::move(t.reports);
    } else if (flows_.active()) {
      reports = flows_.flush();
    }
    flows_active_ = flows_.active();
    if (ipfix_) {
      // Templates go with the first data and then every template_refresh_s
      // while there is data (a collector started after aigwd gets them with
      // the first records it can use).
      if (!reports.empty()) ipfix_->export_reports(reports, now_wall);
      std::lock_guard lock(scrape_mu_);
      acct_facts_.ipfix = telemetry::AccountingFacts::Ipfix{
          ipfix_->records_sent(), ipfix_->messages_sent(), ipfix_->send_errors()};
    }
  } catch (const std::exception& e) {
    log_.debug("flows: {}", e.what());
  }
}

// The flow tracker's reported counts are saved on a clean stop only and the
// file is removed once loaded: after a crash the first IPFIX report of a
// flow that outlived it repeats what was reported since the last clean stop
// (the usage records do not depend on this: they come from aigw_usage).
std::string Daemon::flow_state_path() const {
  const auto& dir = running_.accounting.state_dir;
  return dir.empty() ? std::string() : dir + "/flows.json";
}

void Daemon::load_flow_state() {
  const std::string path = flow_state_path();
  if (path.empty()) return;
  std::ifstream f(path);
  if (!f) return;
  try {
    auto j = nlohmann::json::parse(f);
    if (j.at("owner").get<std::string>() == running_.agent.pin_path) {
      flows_.load_state_json(j.at("tracker"));
      log_.info("flows: reported counts of {} flows loaded from {}",
                j.at("tracker").at("flows").size(), path);
    }
  } catch (const std::exception& e) {
    log_.warn("flows: ignoring {}: {}", path, e.what());
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

void Daemon::save_flow_state() {
  const std::string path = flow_state_path();
  if (path.empty() || !running_.flows.enabled) return;
  try {
    nlohmann::json j = {{"owner", running_.agent.pin_path}, {"tracker", flows_.state_json()}};
    telemetry::write_file_atomic(path, j.dump() + "\n");
  } catch (const std::exception& e) {
    log_.error("flows: cannot save {}: {}", path, e.what());
  }
}

void Daemon::apply_accounting(const Config* old) {
  if (old && old->accounting != running_.accounting) acct_->configure(running_.accounting);
  acct_->set_names(telemetry::names_of(running_));
  flows_.configure(running_.flows);
  if (!old || old->ipfix != running_.ipfix) {
    ipfix_.reset();
    if (!running_.ipfix.collectors.empty()) {
      telemetry::IpfixNames names;
      names.policy = [this](uint32_t slot) -> std::optional<Policy> {
        std::string name = dp_->policy_at(slot);
        for (const auto& p : running_.policies)
          if (p.name == name) return p;
        return std::nullopt;
      };
      names.tenant = [this](uint16_t id) { return acct_->names().tenant(id); };
      names.service_class = [this](uint8_t id) { return acct_->names().cls(id); };
      names.ifindex = [this](uint16_t slot) -> uint32_t {
        for (const auto& i : running_.interfaces)
          if (dp_->slot_of(interface_key(i)) == slot)
            if (auto li = links_->resolve(i.name)) return static_cast<uint32_t>(li->ifindex);
        return 0;
      };
      try {
        ipfix_ = std::make_unique<telemetry::IpfixExporter>(running_.ipfix, std::move(names));
        log_.info("ipfix: exporting to {}", fmt::join(running_.ipfix.collectors, ", "));
      } catch (const std::exception& e) {
        log_.error("ipfix: exporter not started: {}", e.what());
      }
    }
  }
  // The caller holds scrape_mu_ (commit) or no collector exists yet (start).
  acct_facts_ = accounting_facts_of(running_);
}

telemetry::AccountingFacts Daemon::accounting_facts_of(const Config& c) const {
  telemetry::AccountingFacts f;
  auto n = telemetry::names_of(c);
  f.tenants = n.tenants;
  f.classes = n.classes;
  for (const auto& p : c.policies)
    if (auto slot = dp_->policy_slot(p.name)) f.policies[*slot] = p.name;
  f.flows_capacity = c.datapath.map_sizes.flows;
  return f;
}

namespace {

std::string hex(const uint8_t* b, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", b[i]);
  return s;
}

nlohmann::json dir_ctr(uint64_t packets, uint64_t bytes) {
  return {{"packets", packets}, {"bytes", bytes}};
}

}  // namespace

nlohmann::json Daemon::flows_json(const nlohmann::json& args, bool top) const {
  const auto& names = acct_->names();
  telemetry::FlowFilter f;
  auto str = [&](const char* k) -> std::optional<std::string> {
    if (!args.is_object() || !args.contains(k)) return std::nullopt;
    if (!args[k].is_string()) throw ControlError(fmt::format("argument '{}' must be a string", k));
    return args[k].get<std::string>();
  };
  auto num = [&](const char* k, uint64_t max) -> std::optional<uint64_t> {
    if (!args.is_object() || !args.contains(k)) return std::nullopt;
    if (!args[k].is_number_unsigned() || args[k].get<uint64_t>() > max)
      throw ControlError(fmt::format("argument '{}' must be an integer 0..{}", k, max));
    return args[k].get<uint64_t>();
  };
  auto prefix = [&](const char* k) -> std::optional<Prefix> {
    auto v = str(k);
    if (!v) return std::nullopt;
    auto p = Prefix::parse(*v);
    if (auto* e = std::get_if<std::string>(&p)) throw ControlError(fmt::format("{}: {}", k, *e));
    return std::get<Prefix>(p);
  };
  if (auto t = str("tenant")) {
    f.tenant = names.tenant_id(*t);
    if (!f.tenant) throw ControlError(fmt::format("no tenant {}", *t));
  }
  if (auto c = str("class")) {
    f.cls = names.class_id(*c);
    if (!f.cls) throw ControlError(fmt::format("no service class {}", *c));
  }
  f.app_group = num("app_group", UINT64_MAX);
  f.src = prefix("src");
  f.dst = prefix("dst");
  if (auto p = num("proto", 255)) f.proto = static_cast<uint8_t>(*p);
  if (auto p = num("port", 65535)) f.port = static_cast<uint16_t>(*p);
  if (auto d = str("dir")) {
    if (*d != "in" && *d != "out") throw ControlError("argument 'dir' must be in or out");
    f.dir = *d == "in" ? AIGW_DIR_IN : AIGW_DIR_OUT;
  }
  std::vector<telemetry::FlowView> views;
  const uint8_t agbits = running_.apn.app_group_bits;
  for (const auto& v : flows_.current())
    if (top || telemetry::flow_matches(v, f, agbits)) views.push_back(v);
  if (top) {
    auto order = telemetry::FlowOrder::Bytes;
    if (auto by = str("by")) {
      if (*by == "packets")
        order = telemetry::FlowOrder::Packets;
      else if (*by == "rate")
        order = telemetry::FlowOrder::Rate;
      else if (*by != "bytes")
        throw ControlError("argument 'by' must be bytes, packets or rate");
    }
    views = telemetry::top_flows(std::move(views), order, num("n", 1000000).value_or(20));
  } else {
    views = telemetry::top_flows(std::move(views), telemetry::FlowOrder::Bytes, 0);
  }
  std::map<uint16_t, std::string> ifnames;
  for (const auto& i : running_.interfaces)
    if (auto slot = dp_->slot_of(interface_key(i))) ifnames[*slot] = interface_key(i);
  auto wall = [](std::chrono::system_clock::time_point t) {
    return telemetry::rfc3339(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  };
  nlohmann::json list = nlohmann::json::array();
  for (const auto& v : views) {
    const auto& k = v.key;
    const auto& fl = v.flow;
    nlohmann::json j = {{"src", telemetry::flow_src(k)},
                        {"dst", telemetry::flow_dst(k)},
                        {"sport", ntohs(k.sport)},
                        {"dport", ntohs(k.dport)},
                        {"proto", k.proto},
                        {"family", k.family},
                        {"dir", aigw_dir_name(k.dir)},
                        {"interface", ifnames.count(k.ifslot) ? ifnames[k.ifslot] : "-"},
                        {"vrf", k.vrf},
                        {"tenant", names.tenant(fl.tenant)},
                        {"tenant_id", fl.tenant},
                        {"class", names.cls(fl.cls)},
                        {"class_id", fl.cls},
                        {"dscp", fl.dscp},
                        {"tcp_flags", fl.tcp_flags},
                        {"packets", fl.packets},
                        {"bytes", fl.bytes},
                        {"bps", v.bps},
                        {"pps", v.pps},
                        {"first_seen", wall(v.first_seen)},
                        {"last_seen", wall(v.last_seen)}};
    if (fl.apn_len && fl.apn_len <= AIGW_APN_MAX_ID_LEN) {
      j["apn"] = hex(fl.apn, fl.apn_len);
      if (auto g = telemetry::app_group_of(fl, agbits)) j["app_group"] = *g;
    }
    if (fl.policy_slot) j["policy"] = dp_->policy_at(fl.policy_slot);
    list.push_back(std::move(j));
  }
  return {{"active", flows_.active()},
          {"capacity", running_.datapath.map_sizes.flows},
          {"enabled", running_.flows.enabled},
          {"flows", std::move(list)}};
}

nlohmann::json Daemon::usage_json(const nlohmann::json& args) const {
  const auto& names = acct_->names();
  std::optional<uint16_t> tenant;
  if (args.is_object() && args.contains("tenant")) {
    if (!args["tenant"].is_string()) throw ControlError("argument 'tenant' must be a string");
    tenant = names.tenant_id(args["tenant"].get<std::string>());
    if (!tenant) throw ControlError(fmt::format("no tenant {}", args["tenant"].get<std::string>()));
  }
  std::vector<uint32_t> periods = running_.accounting.periods_s;
  if (args.is_object() && args.contains("period")) {
    if (!args["period"].is_number_unsigned())
      throw ControlError("argument 'period' must be a number of seconds");
    auto want = args["period"].get<uint64_t>();
    if (std::find(periods.begin(), periods.end(), want) == periods.end())
      throw ControlError(fmt::format("period {} is not configured (accounting.periods)",
                                     telemetry::period_name(static_cast<uint32_t>(want))));
    periods = {static_cast<uint32_t>(want)};
  }
  auto configured = acct_->configured_tenants();
  std::map<uint16_t, std::string> ifnames;
  for (const auto& i : running_.interfaces)
    if (auto slot = dp_->slot_of(interface_key(i))) ifnames[*slot] = interface_key(i);
  ifnames.emplace(AIGW_IF_SLOT_UNKNOWN, "unconfigured");
  auto period = [&](const telemetry::PeriodData* p) -> nlohmann::json {
    if (!p) return nullptr;
    nlohmann::json ts = nlohmann::json::array();
    for (const auto& r : telemetry::period_records(*p, names, configured))
      if (!tenant || r.tenant_id == *tenant) ts.push_back(telemetry::to_json(r));
    nlohmann::json j = {{"start", telemetry::rfc3339(p->start)},
                        {"end", telemetry::rfc3339(p->start + p->period_s)},
                        {"samples", p->samples},
                        {"tenants", std::move(ts)}};
    if (tenant) return j;  // the other aggregates are not per tenant
    nlohmann::json groups = nlohmann::json::array(), pols = nlohmann::json::array(),
                   ifs = nlohmann::json::array();
    for (const auto& [k, c] : p->apn)
      groups.push_back({{"dir", aigw_dir_name(k.first)},
                        {"app_group", k.second},
                        {"packets", c.packets},
                        {"bytes", c.bytes}});
    for (const auto& [slot, c] : p->policies) {
      std::string name = dp_->policy_at(slot);
      pols.push_back({{"slot", slot},
                      {"name", name.empty() ? fmt::format("slot-{}", slot) : name},
                      {"packets", c.packets},
                      {"bytes", c.bytes}});
    }
    for (const auto& [slot, c] : p->interfaces)
      ifs.push_back(
          {{"slot", slot},
           {"name", ifnames.count(slot) ? ifnames.at(slot) : fmt::format("slot-{}", slot)},
           {"rx", dir_ctr(c.packets, c.bytes)}});
    j["app_groups"] = std::move(groups);
    j["policies"] = std::move(pols);
    j["interfaces"] = std::move(ifs);
    return j;
  };
  nlohmann::json out = nlohmann::json::array();
  for (uint32_t len : periods)
    out.push_back({{"period_s", len},
                   {"period", telemetry::period_name(len)},
                   {"current", period(acct_->current(len))},
                   {"last", period(acct_->last_completed(len))}});
  return {{"sample_interval_s", running_.accounting.sample_interval_s},
          {"usage_dir", running_.accounting.usage_dir},
          {"pending_batches", acct_->pending_batches()},
          {"periods", std::move(out)}};
}

nlohmann::json Daemon::totals_json(bool classes) const {
  const auto& names = acct_->names();
  auto usage = dp_->read_usage();
  // id -> [dir] counters
  std::map<uint16_t, std::array<aigw_ctr, AIGW_DIR_MAX>> sums;
  for (uint32_t i = 0; i < usage.size(); ++i) {
    if (usage[i].packets == 0 && usage[i].bytes == 0) continue;
    auto k = telemetry::usage_key(i);
    if (k.dir >= AIGW_DIR_MAX) continue;
    auto& c = sums[classes ? k.cls : k.tenant][k.dir];
    c.packets += usage[i].packets;
    c.bytes += usage[i].bytes;
  }
  std::set<uint16_t> ids;
  if (classes)
    for (const auto& [id, n] : names.classes) ids.insert(id);
  else
    for (const auto& [id, n] : names.tenants) ids.insert(id);
  for (const auto& [id, c] : sums) ids.insert(id);
  nlohmann::json out = nlohmann::json::array();
  for (uint16_t id : ids) {
    auto c = sums.count(id) ? sums[id] : std::array<aigw_ctr, AIGW_DIR_MAX>{};
    nlohmann::json j = {{"name", classes ? names.cls(static_cast<uint8_t>(id)) : names.tenant(id)},
                        {"id", id},
                        {"out", dir_ctr(c[AIGW_DIR_OUT].packets, c[AIGW_DIR_OUT].bytes)},
                        {"in", dir_ctr(c[AIGW_DIR_IN].packets, c[AIGW_DIR_IN].bytes)}};
    if (classes) {
      j["builtin"] = id < AIGW_CLASS_BUILTIN_MAX;
      j["configured"] = names.classes.count(static_cast<uint8_t>(id)) > 0;
    } else {
      j["configured"] = names.tenants.count(id) > 0;
    }
    out.push_back(std::move(j));
  }
  return out;
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
  if (c == cmd::kFlowTop) return flows_json(args, true);
  if (c == cmd::kFlowShow) return flows_json(args, false);
  if (c == cmd::kUsageShow) return usage_json(args);
  if (c == cmd::kTenantShow) return totals_json(false);
  if (c == cmd::kClassShow) return totals_json(true);

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
