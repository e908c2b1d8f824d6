// The flow tracker: reads aigw_flows every tick, reports per flow the
// counts since its previous report (to IPFIX), ends idle and finished flows
// (final report, then the entry is deleted), and keeps the current view for
// `aigwctl flow top/show`.
//
// A flow entry is identified by its key and its first_ns: an entry whose
// first_ns changed is a new flow (the old one was deleted and the key came
// back), so its counts start from zero. A flow has ended when it has been
// idle (now - last_ns) longer than flows.idle_timeout_s, or when a TCP FIN
// or RST was seen and it has been idle for at least kTcpEndIdle. An active
// flow is reported every flows.active_timeout_s. Datapath times are
// bpf_ktime_get_ns() (CLOCK_MONOTONIC); they are converted to wall time with
// the offset between the two clocks at the tick.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "datapath/types.hpp"
#include "telemetry/flow_report.hpp"

namespace aigw::telemetry {

inline constexpr uint64_t kTcpEndIdleNs = 1'000'000'000;  // FIN/RST + this idle = ended

// One flow as `flow top/show` shows it.
struct FlowView {
  aigw_flow_key key{};
  aigw_flow flow{};
  double bps = 0, pps = 0;  // over the last tick (0 for a flow first seen in it)
  std::chrono::system_clock::time_point first_seen{}, last_seen{};
};

// Result of one tick: reports to export and the entries to delete.
struct FlowTick {
  std::vector<FlowReport> reports;
  std::vector<aigw_flow_key> ended;
};

// Byte order of flow keys (std::map keys).
struct FlowKeyLess {
  bool operator()(const aigw_flow_key& a, const aigw_flow_key& b) const;
};

class FlowTracker {
 public:
  explicit FlowTracker(FlowSettings s) : s_(s) {}
  void configure(const FlowSettings& s) { s_ = s; }

  // `entries` = Datapath::read_flows(); now_mono_ns = CLOCK_MONOTONIC now,
  // now_wall = the wall clock at the same moment.
  FlowTick tick(const std::vector<FlowEntry>& entries, uint64_t now_mono_ns,
                std::chrono::system_clock::time_point now_wall);
  // Final reports (FlowEnd::ForcedEnd) of every tracked flow with counts not
  // yet reported, e.g. when flow tracking is switched off. Forgets them.
  std::vector<FlowReport> flush();

  const std::vector<FlowView>& current() const { return view_; }
  size_t active() const { return view_.size(); }

  // What was reported of each flow, persisted across an agent restart (the
  // flows stay in the pinned map): without it the first report after a
  // restart would repeat everything reported before. Entries whose flow is
  // gone or new (first_ns differs) when next read are ignored.
  nlohmann::json state_json() const;
  // Throws std::exception on malformed input (nothing loaded then).
  void load_state_json(const nlohmann::json& j);

 private:
  struct Seen {
    uint64_t first_ns = 0;
    uint64_t rep_packets = 0, rep_bytes = 0;  // cumulative counts at the last report
    uint64_t last_report_ns = 0;              // CLOCK_MONOTONIC of the last report
    uint64_t prev_packets = 0, prev_bytes = 0, prev_tick_ns = 0;  // for rates
    aigw_flow last{};
    aigw_flow_key key{};
    std::chrono::system_clock::time_point first_wall{}, last_wall{};
  };
  FlowSettings s_;
  std::map<aigw_flow_key, Seen, FlowKeyLess> seen_;
  std::vector<FlowView> view_;
};

// CLOCK_MONOTONIC now in ns (the clock of bpf_ktime_get_ns()).
uint64_t monotonic_ns();

// Filters of `aigwctl flow show` (all given must hold).
struct FlowFilter {
  std::optional<uint16_t> tenant;
  std::optional<uint8_t> cls;
  std::optional<uint64_t> app_group;  // leading app_group_bits of the flow's APN ID
  std::optional<Prefix> src, dst;     // packet orientation (key.src / key.dst)
  std::optional<uint8_t> proto;
  std::optional<uint16_t> port;  // source or destination port
  std::optional<uint8_t> dir;    // AIGW_DIR_*
};

// App-group of an APN ID: its leading `bits` bits, right-aligned (0 when
// the flow has none).
std::optional<uint64_t> app_group_of(const aigw_flow& f, uint8_t bits);
bool flow_matches(const FlowView& v, const FlowFilter& f, uint8_t app_group_bits);

enum class FlowOrder { Bytes, Packets, Rate };
// The first n flows by `order` (descending); n = 0: all.
std::vector<FlowView> top_flows(std::vector<FlowView> flows, FlowOrder order, size_t n);

// Text of the addresses of a key ("192.0.2.10", "2001:db8::1").
std::string flow_src(const aigw_flow_key& k);
std::string flow_dst(const aigw_flow_key& k);
// The RoCEv2 destination QP of the flow's key (0 when it is not RoCEv2).
inline uint32_t flow_dqp(const aigw_flow_key& k) {
  return uint32_t{k.dqp[0]} << 16 | uint32_t{k.dqp[1]} << 8 | k.dqp[2];
}

}  // namespace aigw::telemetry
