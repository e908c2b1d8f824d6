// Elephant flows from the datapath's heavy-hitter sketch (abi.h
// "elephants"): the counts of one window summed per flow over stages and
// CPUs, and the confirmation over windows with hysteresis: a flow becomes an
// elephant when a window's bytes reach the enter threshold, and stops being
// one after `leave_windows` windows in a row below the leave threshold, so a
// flow near one threshold does not flap.
#pragma once

#include <aigw/abi.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "telemetry/flows.hpp"

namespace aigw::telemetry {

// One fingerprint's count in a window (summed over stages and CPUs).
struct HhCount {
  uint64_t fp = 0;
  uint64_t bytes = 0;
};

// The sketch's slots of one window summed per fingerprint (slots of another
// epoch are empty), those of at least min_bytes, largest first.
std::vector<HhCount> sum_window(const std::vector<aigw_hh_slot>& slots, uint32_t epoch,
                                uint64_t min_bytes = 1);

// One flow's count in a window, named.
struct HhSample {
  aigw_flow_key key{};
  uint64_t bytes = 0;
  uint32_t slot = 0;  // policy slot (path) the flow took when named
};

// The counts whose fingerprint `key_of` names (aigw_hh_keys), in order;
// `unnamed` counts the others (a flow spread so thin over CPUs that none
// reached key_bytes, or whose name the LRU let go).
using KeyLookup = std::function<std::optional<aigw_hh_key>(uint64_t fp)>;
std::vector<HhSample> name_counts(const std::vector<HhCount>& counts, const KeyLookup& key_of,
                                  size_t* unnamed = nullptr);

// The window of a CLOCK_MONOTONIC time, as the datapath computes it.
inline uint64_t hh_epoch(uint64_t ns, uint64_t mult) { return AIGW_HH_EPOCH(ns, mult); }
// The multiplier of a window (> 0).
uint64_t hh_mult(std::chrono::nanoseconds window);
// The first nanosecond of window e (rounded up).
uint64_t hh_epoch_start(uint64_t e, uint64_t mult);

struct Elephant {
  aigw_flow_key key{};
  uint64_t window_bytes = 0;  // bytes in the last window read
  double rate_bps = 0;        // bits/s over the last window read
  double peak_bps = 0;
  double demand_bps = 0;  // the rate, its dips smoothed: max(rate, demand decaying
                          // by half every hold time), what placement uses
  double mean_bps = 0;    // the rate averaged over about a hold time (EWMA)
  uint32_t slot = 0;      // path (policy slot) of its last packet
  uint64_t since_ns = 0;  // CLOCK_MONOTONIC end of the window that confirmed it
  uint32_t below = 0;     // windows in a row below the leave threshold
};

struct HhThresholds {
  uint64_t enter_bytes = 0;  // per window
  uint64_t leave_bytes = 0;  // per window, <= enter_bytes
  uint32_t leave_windows = 1;
  // Flows on these policy slots: their own (enter, leave) bytes per window
  // (a share of their policy's capacity).
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> per_slot;

  uint64_t enter_for(uint32_t slot) const;
  uint64_t leave_for(uint32_t slot) const;
  uint64_t min_enter() const;
  uint64_t min_leave() const;
};

class ElephantSet {
 public:
  using Map = std::map<aigw_flow_key, Elephant, FlowKeyLess>;
  struct Change {
    std::vector<aigw_flow_key> entered, left;
  };
  // One window's sums (window_ns long, ending at end_ns).
  Change window(const std::vector<HhSample>& samples, const HhThresholds& t, uint64_t window_ns,
                uint64_t end_ns);
  // Windows the reader could not read (it fell behind): they count as
  // below the leave threshold for every elephant.
  Change missed(uint32_t windows, const HhThresholds& t);
  const Map& elephants() const { return set_; }
  void clear() { set_.clear(); }

 private:
  Map set_;
};

}  // namespace aigw::telemetry
