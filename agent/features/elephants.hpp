// Elephant flows: every detection window (elephants.window_ms) the module
// reads the half of the datapath's heavy-hitter sketch that the window
// which just ended wrote (abi.h "elephants"), confirms elephants with
// hysteresis (telemetry/elephants.hpp) and, for multipath policies, places
// them on the paths with room (policy/placement.hpp) through per-flow pins
// that the datapath follows at the next flowlet gap. Serves
// `aigwctl flow elephants`, logs every elephant that enters or leaves and
// exports per-path load, capacity and elephants.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "core/module.hpp"
#include "datapath/elephant_maps.hpp"
#include "features/host.hpp"
#include "policy/placement.hpp"
#include "telemetry/elephants.hpp"
#include "telemetry/metrics.hpp"

namespace boost::asio {
class io_context;
}

namespace aigw::features {

class ElephantsModule : public core::Module {
 public:
  ElephantsModule(Host& host, boost::asio::io_context& io);
  ~ElephantsModule() override;
  std::string_view name() const override { return "elephants"; }
  void commit(const core::ApplyContext& ctx) override;
  void start() override;
  void stop() override;
  void register_commands(core::CommandTable& t) override;
  void collect(telemetry::Snapshot& s) const override;

 private:
  struct Timer;
  // A multipath policy's paths as the placement sees them.
  struct PathInfo {
    std::string policy;
    uint32_t index = 0, head = 0, weight = 1;  // weight: what new flows hash over now
    uint32_t configured_weight = 1;
    std::optional<double> capacity_bps;  // configured
    double load_bps = 0;                 // over the last window read
    double avg_bps = 0;                  // over about a second (EWMA): what operators see
    uint64_t bytes_seen = 0;             // cumulative counter at that read
  };
  struct Pin {
    uint32_t head = 0, target = 0;
    uint64_t set_ns = 0;  // when the target was last set (CLOCK_MONOTONIC)
    bool moved = false;   // the target was not where the flow was: it moves at a gap
  };

  void schedule();
  void on_window();
  void hold_in_place(aigw_path_pin& v, uint32_t seen_on, uint32_t head, uint64_t now) const;
  void log_placement(const std::vector<placement::PathLoad>& paths,
                     const std::vector<placement::Flow>& flows,
                     const std::vector<aigw_flow_key>& keys,
                     const std::map<uint64_t, uint32_t>& placed) const;
  void read_window(uint64_t epoch);
  void measure_paths();
  void place();
  void adapt_weights();
  std::map<uint32_t, std::vector<uint32_t>> policy_paths() const;
  bool write_weights(const std::vector<uint32_t>& slots, const std::vector<uint32_t>& weights);
  void write_pins(const std::map<aigw_flow_key, Pin, telemetry::FlowKeyLess>& want);
  void adopt_pins();
  void drop_all_pins();
  void write_cfg();
  telemetry::HhThresholds thresholds() const;
  std::string path_name(uint32_t slot) const;
  // The path an elephant is on, or is placed on and waits to move to.
  uint32_t path_of(const aigw_flow_key& k, const telemetry::Elephant& el) const;
  nlohmann::json elephants_json() const;

  Host& host_;
  boost::asio::io_context& io_;
  std::unique_ptr<Timer> timer_;
  std::optional<dp::ElephantMaps> maps_;
  ElephantSettings s_;
  uint64_t mult_ = 0;
  std::optional<uint64_t> last_epoch_;  // the last window read
  telemetry::ElephantSet set_;
  std::map<uint32_t, PathInfo> paths_;  // slot -> path of a multipath policy
  std::map<aigw_flow_key, Pin, telemetry::FlowKeyLess> pins_;
  uint64_t last_measure_ns_ = 0;                 // when measure_paths last read the counters
  uint64_t adopted_until_ns_ = 0;                // pins of an earlier agent kept until then
  std::map<uint32_t, uint64_t> weights_set_ns_;  // policy head -> when its weights last changed
  // Read by scrapes on other threads.
  mutable std::mutex mu_;
  telemetry::ElephantFacts facts_;
};

}  // namespace aigw::features
