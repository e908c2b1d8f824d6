// Flow tracking: every second, reads aigw_flows, ends idle flows (reported
// to IPFIX, then deleted), and serves flow.top / flow.show. The tracker's
// reported counts are saved on a clean stop and loaded at the next start.
#pragma once

#include <atomic>

#include "core/module.hpp"
#include "features/accounting.hpp"
#include "features/host.hpp"
#include "features/ipfix.hpp"
#include "telemetry/flows.hpp"

namespace aigw::features {

class FlowsModule : public core::Module {
 public:
  FlowsModule(Host& host, const AccountingModule& acct, IpfixModule& ipfix)
      : host_(host), acct_(acct), ipfix_(ipfix) {}
  std::string_view name() const override { return "flows"; }
  void load();
  void commit(const core::ApplyContext& ctx) override { tracker_.configure(ctx.next.flows); }
  void tick(TimePoint now) override;
  void stop() override { save_state(); }
  void register_commands(core::CommandTable& t) override;
  void collect(telemetry::Snapshot& s) const override;

 private:
  std::string state_path() const;
  void save_state();
  nlohmann::json flows_json(const nlohmann::json& args, bool top) const;
  telemetry::FlowFilter filter_of(const nlohmann::json& args) const;
  nlohmann::json view_json(const telemetry::FlowView& v,
                           const std::map<uint16_t, std::string>& ifnames) const;

  Host& host_;
  const AccountingModule& acct_;
  IpfixModule& ipfix_;
  telemetry::FlowTracker tracker_{FlowSettings{}};
  std::atomic<uint64_t> active_{0};
};

}  // namespace aigw::features
