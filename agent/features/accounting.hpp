// Accounting: samples the datapath's totals every accounting.sample_interval_s
// into periods (telemetry::Accounting: peak/p95, usage records that survive
// restarts), serves usage.show, tenant.show and class.show, and contributes
// the accounting counters and names to a metrics scrape.
#pragma once

#include <memory>
#include <string>

#include "core/module.hpp"
#include "features/host.hpp"
#include "telemetry/accounting.hpp"
#include "telemetry/metrics.hpp"

namespace aigw::features {

class AccountingModule : public core::Module {
 public:
  AccountingModule(Host& host, std::string pin_path);
  ~AccountingModule() override;
  std::string_view name() const override { return "accounting"; }
  // Before the first apply: with persisted state the traffic counted while
  // the agent was down is taken now; without, this reading is the baseline.
  void load();
  void commit(const core::ApplyContext& ctx) override;
  void tick(TimePoint now) override;
  // After the programs are detached: one last sample puts everything counted
  // into the periods in progress and persists them (they stay open; the next
  // start continues them).
  void stop() override;
  void register_commands(core::CommandTable& t) override;
  void collect(telemetry::Snapshot& s) const override;

  const telemetry::Names& names() const;

 private:
  void sample();
  nlohmann::json usage_json(const nlohmann::json& args) const;
  nlohmann::json period_json(const telemetry::PeriodData* p, std::optional<uint16_t> tenant,
                             const std::map<uint16_t, std::string>& ifnames) const;
  nlohmann::json totals_json(bool classes) const;
  std::map<uint16_t, std::string> interface_names() const;

  Host& host_;
  std::string pin_path_;
  std::unique_ptr<telemetry::Accounting> acct_;
  TimePoint last_sample_{};
  bool failing_ = false;              // log a failing read once, not every second
  telemetry::AccountingFacts facts_;  // names only; counters are read per scrape
};

}  // namespace aigw::features
