// IPFIX export: (re)creates the exporter when ipfix settings change, sends
// the flow reports the flows module hands it, and contributes its counters
// to a metrics scrape.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "core/module.hpp"
#include "features/accounting.hpp"
#include "features/host.hpp"
#include "telemetry/ipfix.hpp"

namespace aigw::features {

class IpfixModule : public core::Module {
 public:
  IpfixModule(Host& host, const AccountingModule& acct) : host_(host), acct_(acct) {}
  ~IpfixModule() override;
  std::string_view name() const override { return "ipfix"; }
  void commit(const core::ApplyContext& ctx) override;
  void collect(telemetry::Snapshot& s) const override;
  // Templates go with the first data and then every template_refresh_s
  // while there is data (a collector started after aigwd gets them with the
  // first records it can use).
  void export_reports(const std::vector<telemetry::FlowReport>& reports,
                      std::chrono::system_clock::time_point now);

 private:
  void restart(const IpfixSettings& s);
  Host& host_;
  const AccountingModule& acct_;
  std::unique_ptr<telemetry::IpfixExporter> exporter_;
  // Copies of the exporter's counters for the scrape thread.
  std::atomic<bool> on_{false};
  std::atomic<uint64_t> records_{0}, messages_{0}, errors_{0};
};

}  // namespace aigw::features
