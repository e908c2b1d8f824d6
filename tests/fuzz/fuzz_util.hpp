// Small pieces shared by the fuzzers (tests/fuzz): a seeded random source,
// hex, the common command-line options and a run budget.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aigw::fuzz {

using Bytes = std::vector<uint8_t>;

// splitmix64: one seed gives one sequence, on every machine.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  uint64_t below(uint64_t n) { return next() % n; }
  bool one_in(uint64_t n) { return below(n) == 0; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }

 private:
  uint64_t s_;
};

std::string to_hex(std::span<const uint8_t> b);
std::optional<Bytes> from_hex(std::string_view s);

// --seed N, --iterations N, --time SECONDS: the run stops at whichever of
// iterations and time comes first (0 = no limit on that one).
struct RunOptions {
  uint64_t seed = 1;
  uint64_t iterations = 0;
  double seconds = 0;
};

// Takes the common options out of argv; the rest are returned in order.
// Returns nullopt (after printing why) on a malformed value.
std::optional<std::vector<std::string>> parse_run_options(int argc, char** argv, RunOptions& opt);

class Budget {
 public:
  explicit Budget(const RunOptions& o) : opt_(o), t0_(std::chrono::steady_clock::now()) {}
  bool more(uint64_t done) const {
    if (opt_.iterations && done >= opt_.iterations) return false;
    return !(opt_.seconds > 0 && elapsed() >= opt_.seconds);
  }
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }

 private:
  RunOptions opt_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace aigw::fuzz
