#include "features/accounting.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <set>

#include "features/args.hpp"
#include "telemetry/usage.hpp"

namespace aigw::features {

AccountingModule::AccountingModule(Host& host, std::string pin_path)
    : host_(host), pin_path_(std::move(pin_path)) {}

AccountingModule::~AccountingModule() = default;

const telemetry::Names& AccountingModule::names() const { return acct_->names(); }

void AccountingModule::load() {
  const Config& c = host_.running();
  acct_ = std::make_unique<telemetry::Accounting>(c.accounting, &host_.log(), pin_path_);
  acct_->set_names(telemetry::names_of(c));
  sample();
}

void AccountingModule::commit(const core::ApplyContext& ctx) {
  const Config& c = ctx.next;
  if (!ctx.initial && ctx.running.accounting != c.accounting) acct_->configure(c.accounting);
  acct_->set_names(telemetry::names_of(c));
  // The caller holds the scrape lock (see Daemon::scrape_mu_).
  facts_ = telemetry::AccountingFacts{};
  auto n = telemetry::names_of(c);
  facts_.tenants = n.tenants;
  facts_.classes = n.classes;
  for (const auto& p : c.policies) {
    const auto slots = host_.datapath().policy_slots(p.name);
    for (size_t i = 0; i < slots.size(); ++i) {
      facts_.policies[slots[i]] = p.name;
      if (!p.paths.empty()) facts_.paths[slots[i]] = static_cast<uint32_t>(i);
    }
  }
  facts_.flows_capacity = c.datapath.map_sizes.flows;
}

void AccountingModule::tick(TimePoint now) {
  auto interval =
      std::chrono::seconds(std::max<uint32_t>(1, host_.running().accounting.sample_interval_s));
  // 100 ms of slack so that timer jitter does not skip a sample.
  if (now - last_sample_ + std::chrono::milliseconds(100) >= interval) sample();
}

void AccountingModule::stop() {
  if (acct_) sample();
}

void AccountingModule::sample() {
  last_sample_ = std::chrono::steady_clock::now();
  const Datapath& dp = host_.datapath();
  try {
    telemetry::Reading r = telemetry::make_reading(dp.read_usage(), dp.read_apn_usage(),
                                                   dp.read_policy_stats(), dp.read_stats());
    acct_->sample(r, std::chrono::system_clock::now());
    if (failing_) host_.log().info("accounting: counters readable again");
    failing_ = false;
  } catch (const std::exception& e) {
    if (!failing_) host_.log().error("accounting: cannot read the counters: {}", e.what());
    failing_ = true;
  }
}

void AccountingModule::collect(telemetry::Snapshot& s) const {
  // Names are this module's; flows_active and ipfix are the flows and IPFIX
  // modules' part of the same struct.
  s.accounting.tenants = facts_.tenants;
  s.accounting.classes = facts_.classes;
  s.accounting.policies = facts_.policies;
  s.accounting.paths = facts_.paths;
  s.accounting.flows_capacity = facts_.flows_capacity;
  s.accounting.usage = host_.datapath().read_usage();
  s.accounting.policy_stats = host_.datapath().read_policy_stats();
}

void AccountingModule::register_commands(core::CommandTable& t) {
  using core::Access;
  t.add(cmd::kUsageShow, Access::Read, [this](const nlohmann::json& a) { return usage_json(a); });
  t.add(cmd::kTenantShow, Access::Read,
        [this](const nlohmann::json&) { return totals_json(false); });
  t.add(cmd::kClassShow, Access::Read, [this](const nlohmann::json&) { return totals_json(true); });
}

std::map<uint16_t, std::string> AccountingModule::interface_names() const {
  std::map<uint16_t, std::string> ifnames;
  for (const auto& i : host_.running().interfaces)
    if (auto slot = host_.datapath().slot_of(interface_key(i))) ifnames[*slot] = interface_key(i);
  return ifnames;
}

nlohmann::json AccountingModule::period_json(const telemetry::PeriodData* p,
                                             std::optional<uint16_t> tenant,
                                             const std::map<uint16_t, std::string>& ifnames) const {
  if (!p) return nullptr;
  const auto& names = acct_->names();
  nlohmann::json ts = nlohmann::json::array();
  for (const auto& r : telemetry::period_records(*p, names, acct_->configured_tenants()))
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
    std::string name = host_.datapath().policy_at(slot);
    pols.push_back({{"slot", slot},
                    {"name", name.empty() ? fmt::format("slot-{}", slot) : name},
                    {"packets", c.packets},
                    {"bytes", c.bytes}});
  }
  for (const auto& [slot, c] : p->interfaces)
    ifs.push_back({{"slot", slot},
                   {"name", ifnames.count(slot) ? ifnames.at(slot) : fmt::format("slot-{}", slot)},
                   {"rx", dir_ctr(c.packets, c.bytes)}});
  j["app_groups"] = std::move(groups);
  j["policies"] = std::move(pols);
  j["interfaces"] = std::move(ifs);
  return j;
}

nlohmann::json AccountingModule::usage_json(const nlohmann::json& args) const {
  const Config& running = host_.running();
  std::optional<uint16_t> tenant;
  if (args.is_object() && args.contains("tenant")) {
    if (!args["tenant"].is_string()) throw ControlError("argument 'tenant' must be a string");
    tenant = acct_->names().tenant_id(args["tenant"].get<std::string>());
    if (!tenant) throw ControlError(fmt::format("no tenant {}", args["tenant"].get<std::string>()));
  }
  std::vector<uint32_t> periods = running.accounting.periods_s;
  if (args.is_object() && args.contains("period")) {
    if (!args["period"].is_number_unsigned() ||
        args["period"].get<uint64_t>() > std::numeric_limits<uint32_t>::max())
      throw ControlError("argument 'period' must be a number of seconds");
    auto want = args["period"].get<uint64_t>();
    if (std::find(periods.begin(), periods.end(), want) == periods.end())
      throw ControlError(fmt::format("period {} is not configured (accounting.periods)",
                                     telemetry::period_name(static_cast<uint32_t>(want))));
    periods = {static_cast<uint32_t>(want)};
  }
  auto ifnames = interface_names();
  ifnames.emplace(AIGW_IF_SLOT_UNKNOWN, "unconfigured");
  nlohmann::json out = nlohmann::json::array();
  for (uint32_t len : periods)
    out.push_back({{"period_s", len},
                   {"period", telemetry::period_name(len)},
                   {"current", period_json(acct_->current(len), tenant, ifnames)},
                   {"last", period_json(acct_->last_completed(len), tenant, ifnames)}});
  return {{"sample_interval_s", running.accounting.sample_interval_s},
          {"usage_dir", running.accounting.usage_dir},
          {"pending_batches", acct_->pending_batches()},
          {"periods", std::move(out)}};
}

nlohmann::json AccountingModule::totals_json(bool classes) const {
  const auto& names = acct_->names();
  auto usage = host_.datapath().read_usage();
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

}  // namespace aigw::features
