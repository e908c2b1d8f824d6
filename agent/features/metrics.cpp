#include "features/metrics.hpp"

#include "common/version.hpp"

namespace aigw::features {

MetricsModule::~MetricsModule() { stop(); }

void MetricsModule::start() {
  const std::string& listen = host_.running().agent.metrics_listen;
  if (listen.empty()) return;
  server_ =
      std::make_unique<telemetry::MetricsServer>(listen, version(), [this] { return snapshot(); });
  host_.log().info("metrics on {}", server_->url());
}

// Joins the HTTP threads: no scrape runs once this returns.
void MetricsModule::stop() { server_.reset(); }

void MetricsModule::record_reload(bool ok, std::chrono::system_clock::time_point at) {
  reload_ok_ = ok;
  reload_time_ = at;
}

void MetricsModule::collect(telemetry::Snapshot& s) const {
  s.config.reload_ok = reload_ok_;
  s.config.reload_time = reload_time_;
}

telemetry::Snapshot MetricsModule::snapshot() const {
  std::lock_guard lock(mu_);
  telemetry::Snapshot s;
  all_.collect(s);
  return s;
}

}  // namespace aigw::features
