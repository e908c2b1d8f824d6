// Usage records for billing: one record per tenant and closed aggregation
// period, written as JSON Lines (default) or CSV.
//
// Files: one file per period length and period start, holding the records
// of every tenant of that period:
//     <usage_dir>/usage-<len>-<YYYYMMDD>T<HHMMSS>Z.<jsonl|csv>
// e.g. usage-1m-20261124T123400Z.jsonl (len: "10s", "1m", "1h", "90s"...;
// the timestamp is the period start in UTC, so `ls` sorts them in time and
// `usage-1m-20261124T*` globs one UTC day).
//
// Why one file per batch and not an appended day file: a batch file is
// written atomically (temp file in the same directory, fsync, rename,
// fsync of the directory), its name is a function of the period alone, so
// writing the same batch again (after a crash between the write and the
// state update that marks it written) replaces it with identical content:
// a record is never lost, duplicated or half-written, and the cost of a
// write does not grow with the day.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/period.hpp"
#include "config/model.hpp"

namespace aigw::telemetry {

struct DirUsage {
  uint64_t bytes = 0, packets = 0;
  uint64_t peak_bps = 0, p95_bps = 0;  // bits per second (see accounting.hpp)
  bool operator==(const DirUsage&) const = default;
};

struct ClassUsage {
  uint8_t id = 0;
  std::string name;
  uint64_t out_bytes = 0, out_packets = 0, in_bytes = 0, in_packets = 0;
  bool operator==(const ClassUsage&) const = default;
};

// One tenant over one period. out = customer -> WAN, in = WAN -> customer;
// bytes are L3 bytes of the customer packets (IP header + payload, before
// encapsulation / after decapsulation).
struct UsageRecord {
  uint16_t tenant_id = 0;
  std::string tenant;
  int64_t period_start = 0;  // Unix seconds (UTC), a multiple of period_s
  uint32_t period_s = 0;
  DirUsage out, in;
  std::vector<ClassUsage> classes;  // by class id, only classes with traffic
  bool operator==(const UsageRecord&) const = default;
};

struct UsageWriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// common/period.hpp
using aigw::parse_period;
using aigw::period_name;
using aigw::rfc3339;

nlohmann::json to_json(const UsageRecord& r);
// The CSV header and one row: per-class breakdown as
// "class:out_bytes:out_packets:in_bytes:in_packets" items joined by ';'.
std::string csv_header();
std::string to_csv(const UsageRecord& r);

// File name of the batch of (period_s, period_start) in `format`.
std::string usage_file_name(uint32_t period_s, int64_t period_start, UsageFormat format);

// Writes `text` to `path` atomically: temp file in the same directory,
// fsync, rename over `path`, fsync of the directory. Creates the directory
// (and parents) when missing. Throws UsageWriteError with the path and errno.
void write_file_atomic(const std::string& path, const std::string& text);

// Removes the temp files ("NAME.tmp.PID") that write_file_atomic of a process
// that is gone left in `dir` (killed between create and rename); those of a
// live process are kept. Returns how many went; a missing dir is none.
size_t remove_stale_temp_files(const std::string& dir);

// accounting.retention: removes the usage files (usage-*.jsonl / .csv) of
// dir last written more than retention_s before `now` (0: none). Returns
// how many went.
size_t remove_expired_usage(const std::string& dir, uint32_t retention_s,
                            std::filesystem::file_time_type now);

// Writes one period's records (all of the same period) to `dir`; returns the
// file written. Throws UsageWriteError.
std::string write_usage_batch(const std::string& dir, UsageFormat format,
                              const std::vector<UsageRecord>& records);

}  // namespace aigw::telemetry
