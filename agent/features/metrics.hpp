// The Prometheus endpoint: started after the first apply when
// agent.metrics_listen is set; every scrape asks every module for its part
// (core::Module::collect) under the lock that serialises scrapes against
// applies.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "core/module_set.hpp"
#include "features/host.hpp"
#include "telemetry/metrics.hpp"

namespace aigw::features {

class MetricsModule : public core::Module {
 public:
  MetricsModule(Host& host, const core::ModuleSet& all, std::mutex& scrape_mu)
      : host_(host), all_(all), mu_(scrape_mu) {}
  ~MetricsModule() override;
  std::string_view name() const override { return "metrics"; }
  void start() override;
  void stop() override;
  void collect(telemetry::Snapshot& s) const override;
  // The outcome of the last load/reload. Caller holds the scrape lock.
  void record_reload(bool ok, std::chrono::system_clock::time_point at);

 private:
  telemetry::Snapshot snapshot() const;  // any thread; takes the scrape lock
  Host& host_;
  const core::ModuleSet& all_;
  std::mutex& mu_;
  bool reload_ok_ = true;
  std::chrono::system_clock::time_point reload_time_{};
  std::unique_ptr<telemetry::MetricsServer> server_;
};

}  // namespace aigw::features
