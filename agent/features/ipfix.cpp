#include "features/ipfix.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "telemetry/metrics.hpp"

namespace aigw::features {

IpfixModule::~IpfixModule() = default;

void IpfixModule::commit(const core::ApplyContext& ctx) {
  if (ctx.initial || ctx.running.ipfix != ctx.next.ipfix) restart(ctx.next.ipfix);
}

// A collector that cannot be reached does not refuse the configuration: the
// exporter is off, and the log says why.
void IpfixModule::restart(const IpfixSettings& s) {
  exporter_.reset();
  on_ = false;
  records_ = messages_ = errors_ = 0;
  if (s.collectors.empty()) return;
  telemetry::IpfixNames names;
  // The policy as the flow's path: its segment list is the path's.
  names.policy = [this](uint32_t slot) -> std::optional<Policy> {
    auto pp = host_.datapath().path_at(slot);
    if (!pp) return std::nullopt;
    for (Policy p : host_.running().policies) {
      if (p.name != pp->first) continue;
      if (pp->second < p.paths.size()) p.segments = p.paths[pp->second].segments;
      return p;
    }
    return std::nullopt;
  };
  names.tenant = [this](uint16_t id) { return acct_.names().tenant(id); };
  names.service_class = [this](uint8_t id) { return acct_.names().cls(id); };
  names.ifindex = [this](uint16_t slot) -> uint32_t {
    for (const auto& i : host_.running().interfaces)
      if (host_.datapath().slot_of(interface_key(i)) == slot)
        if (auto li = host_.links().resolve(i.name)) return static_cast<uint32_t>(li->ifindex);
    return 0;
  };
  try {
    exporter_ = std::make_unique<telemetry::IpfixExporter>(s, std::move(names));
    on_ = true;
    host_.log().info("ipfix: exporting to {}", fmt::join(s.collectors, ", "));
  } catch (const std::exception& e) {
    host_.log().error("ipfix: exporter not started: {}", e.what());
  }
}

void IpfixModule::export_reports(const std::vector<telemetry::FlowReport>& reports,
                                 std::chrono::system_clock::time_point now) {
  if (!exporter_) return;
  if (!reports.empty()) exporter_->export_reports(reports, now);
  records_ = exporter_->records_sent();
  messages_ = exporter_->messages_sent();
  errors_ = exporter_->send_errors();
}

void IpfixModule::collect(telemetry::Snapshot& s) const {
  if (on_) s.accounting.ipfix = telemetry::AccountingFacts::Ipfix{records_, messages_, errors_};
}

}  // namespace aigw::features
