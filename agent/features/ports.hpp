// Ports: which program runs on which kernel interface (attach, re-attach,
// detach), the interface and counter views (interface.show, stats.show) and
// the interface facts and counters of a metrics scrape. The interface map
// entries themselves are the datapath's IfaceTable.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "core/module.hpp"
#include "features/host.hpp"
#include "telemetry/metrics.hpp"

namespace aigw::features {

class PortsModule : public core::Module {
 public:
  explicit PortsModule(Host& host) : host_(host) {}
  std::string_view name() const override { return "ports"; }
  void plan(const core::ApplyContext& ctx) override;
  void add(const core::ApplyContext& ctx) override;
  void remove(const core::ApplyContext& ctx) override;
  void commit(const core::ApplyContext& ctx) override;
  void register_commands(core::CommandTable& t) override;
  void collect(telemetry::Snapshot& s) const override;
  void tick(TimePoint now) override;

 private:
  void check_forwarding(const Config& c) const;
  void check_redirect_targets() const;
  nlohmann::json interfaces() const;
  nlohmann::json stats() const;

  Host& host_;
  // ifindex -> (role, mode) wanted by the plan, and the names for the log.
  std::map<int, std::pair<IfRole, XdpMode>> want_;
  std::map<int, std::string> names_;
  std::vector<telemetry::InterfaceFact> facts_;  // as of the last commit (scrape lock)
  struct XmitWatch {
    std::optional<uint64_t> total;  // transmit drops at the last report
    TimePoint warned{};
  };
  std::map<uint32_t, XmitWatch> xmit_seen_;  // egress ifindex
  bool xmit_read_failed_ = false;
};

}  // namespace aigw::features
