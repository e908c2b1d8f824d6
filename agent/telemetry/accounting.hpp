// Traffic accounting: turns the datapath's cumulative counters (per
// direction, tenant and service class; per APN app-group; per policy; per
// interface) into per-period totals, peak and 95th-percentile bit rates, and
// usage records (telemetry/usage.hpp) when a period ends.
//
// Sampling. Every sample_interval_s the daemon reads the counters (a
// Reading) and calls sample(). The delta of every counter since the previous
// reading is added to the period in progress of every configured period
// length. Periods are aligned to wall-clock boundaries (a 60 s period starts
// at a whole minute UTC, 3600 s at a whole hour); a sample's delta counts in
// the period in which it is read (the traffic of the last interval before a
// boundary lands in the next period: at most one sample interval off).
//
// Rates. Each sample gives every (tenant, direction) a bit rate: delta bytes
// * 8 / seconds since the previous sample (a tenant without traffic in that
// sample has 0 b/s). peak = the largest sample rate of the period. p95 =
// nearest-rank 95th percentile over all the samples of the period: sort the
// N sample rates ascending and take the one at 1-based rank ceil(0.95 * N)
// (N = 20 -> the 19th; N = 60 -> the 57th; N = 1 -> that one).
//
// A period length added by a reload starts counting at the next sample: its
// first record covers only the traffic since then. A length removed by a
// reload drops its period in progress (logged).
//
// Restart and reload safety. After every sample the state (the last-read
// cumulative counters, the periods in progress with their accumulators, the
// last completed periods, and the closed periods whose records are not yet
// written) is persisted atomically to <state_dir>/accounting.json. On start
// it is loaded and the first delta is (current pinned counter - persisted
// last read): traffic that passed while the agent was down counts once, in
// the period in progress when it is read. A counter below its last-read
// value means the maps were recreated: the current value is then the delta.
// Without a state file the first reading is the baseline (delta 0): counters
// of an earlier life of the pins that were never persisted are not billed.
// A period boundary that passed while the agent was down closes the period
// with what it had accumulated; a period in which no sample at all was taken
// has no record. Closed periods' records are persisted as pending before
// they are written, and written with idempotent file names (usage.hpp), so a
// crash between the two rewrites the same file instead of losing or
// doubling it. A write failure logs one line and keeps the batch for the
// next sample.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "config/model.hpp"
#include "datapath/types.hpp"
#include "telemetry/usage.hpp"

namespace aigw::telemetry {

using ApnKey = std::pair<uint8_t, uint64_t>;  // (direction, app-group)

// The datapath's cumulative counters at one moment (per-CPU sums; entries
// whose counters are zero may be left out: absent = zero).
struct Reading {
  std::map<uint32_t, aigw_ctr> usage;       // AIGW_USAGE_INDEX(dir, tenant, cls)
  std::map<ApnKey, aigw_ctr> apn;           // Datapath::read_apn_usage()
  std::map<uint32_t, aigw_ctr> policies;    // policy slot
  std::map<uint16_t, aigw_ctr> interfaces;  // counter slot -> rx
};

Reading make_reading(const std::vector<aigw_ctr>& usage, const ApnUsage& apn,
                     const std::map<uint32_t, aigw_ctr>& policies, const Stats& stats);

// Decoded AIGW_USAGE_INDEX.
struct UsageKey {
  uint8_t dir = 0;
  uint16_t tenant = 0;
  uint8_t cls = 0;
};
UsageKey usage_key(uint32_t index);

// Display names of tenant and class ids (from the configuration).
struct Names {
  std::map<uint16_t, std::string> tenants;  // 0 = "unclassified" + configured
  std::map<uint8_t, std::string> classes;   // built-ins + configured
  std::string tenant(uint16_t id) const;    // "tenant-N" when unknown
  std::string cls(uint8_t id) const;        // "class-N" when unknown
  std::optional<uint16_t> tenant_id(const std::string& name_or_id) const;
  std::optional<uint8_t> class_id(const std::string& name_or_id) const;
};
Names names_of(const Config& c);

// One period's accumulated traffic.
struct PeriodData {
  uint32_t period_s = 0;
  int64_t start = 0;     // Unix seconds, multiple of period_s
  uint32_t samples = 0;  // rate samples taken in it
  std::map<uint32_t, aigw_ctr> usage;
  std::map<ApnKey, aigw_ctr> apn;
  std::map<uint32_t, aigw_ctr> policies;
  std::map<uint16_t, aigw_ctr> interfaces;
  // (dir, tenant) -> bit rates of the samples in which it had traffic, only
  // the highest rate_values_needed() of them (a p95 needs no more, and an
  // hour of 1 s samples for every tenant would otherwise be kept and
  // persisted every second); every other sample of the period was lower.
  std::map<std::pair<uint8_t, uint16_t>, std::vector<uint64_t>> rates;
};

struct RateStats {
  uint64_t peak_bps = 0, p95_bps = 0;
};
// Peak and nearest-rank p95 over `samples` samples, given the highest
// non-zero ones (`top`: all of them, or at least the highest
// samples - ceil(0.95 samples) + 1); the samples not in `top` are 0 b/s or
// lower than all of `top`.
RateStats rate_stats(std::vector<uint64_t> top, uint32_t samples);
// How many of the highest rates a period must keep for an exact p95.
size_t rate_values_needed(uint32_t period_s, uint32_t sample_interval_s);
// Keeps the k highest values of v (in no particular order).
void keep_top(std::vector<uint64_t>& v, size_t k);

// Records of a period: one per tenant with traffic, plus every tenant in
// `configured` (with zeros).
std::vector<UsageRecord> period_records(const PeriodData& p, const Names& names,
                                        const std::vector<uint16_t>& configured);

class Accounting {
 public:
  // Loads <state_dir>/accounting.json when present (an unreadable file is
  // logged, kept as accounting.json.bad and ignored). `owner` names the
  // counters the state belongs to (the daemon passes its pin path): a state
  // file of another owner (two agents sharing a state_dir) is not loaded,
  // since its last-read counters are not ours.
  Accounting(const AccountingSettings& settings, const Logger* log = nullptr,
             std::string owner = "");

  // New settings (reload): periods no longer configured are dropped (their
  // partial data with them, logged); new ones start at the next sample.
  void configure(const AccountingSettings& settings);
  // Names and configured tenants used for records closed from now on.
  void set_names(Names names);

  // One sample of the cumulative counters at wall time `now`.
  void sample(const Reading& r, std::chrono::system_clock::time_point now);
  // Persist the state now (also done by every sample). Returns false (and
  // logs) on failure.
  bool save();

  const AccountingSettings& settings() const { return s_; }
  const Names& names() const { return names_; }
  const PeriodData* current(uint32_t period_s) const;
  const PeriodData* last_completed(uint32_t period_s) const;
  std::vector<uint16_t> configured_tenants() const;
  size_t pending_batches() const { return pending_.size(); }
  std::string state_path() const;

  // The persisted form (exposed for tests).
  nlohmann::json state_json() const;
  // Throws std::exception on malformed input.
  void load_state_json(const nlohmann::json& j);

 private:
  void close_ended(int64_t now_s);
  void expire_usage();  // accounting.retention
  void write_pending();

  AccountingSettings s_;
  const Logger* log_;
  std::string owner_;
  Names names_;
  bool have_last_ = false;
  bool save_failed_ = false;
  Reading last_;
  int64_t last_ms_ = 0;  // wall time of the last reading, Unix ms
  std::map<uint32_t, PeriodData> current_, completed_;
  std::vector<std::vector<UsageRecord>> pending_;  // closed, not yet written
};

nlohmann::json to_json(const PeriodData& p);
PeriodData period_from_json(const nlohmann::json& j);
UsageRecord usage_record_from_json(const nlohmann::json& j);

}  // namespace aigw::telemetry
