// aigw-bench-crc: the cost of the RoCEv2 ICRC's CRC-32 (agent/rdma/crc32)
// per packet size, folded (PCLMULQDQ, where the CPU has it) against zlib's
// crc32 alone, measured in the same run.
//
//   aigw-bench-crc [--calls 200000] [--runs 5]
//
// Prints, per size, the median ns per call of each and their ratio.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "rdma/crc32.hpp"

namespace {

using Feed = uint32_t (*)(uint32_t, std::span<const uint8_t>);

double ns_per_call(Feed f, std::vector<uint8_t>& b, size_t n, int calls) {
  uint32_t sink = 0;
  auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; i++) {
    b[0] = static_cast<uint8_t>(i);  // not the same input twice in a row
    sink ^= f(0xffffffffu, {b.data(), n});
  }
  auto d = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t).count();
  if (sink == 0x12345678u) fmt::print("");  // keep the calls
  return d / calls;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int calls = 200000, runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--calls")
      calls = std::max(1, std::stoi(argv[i + 1]));
    else if (a == "--runs")
      runs = std::max(1, std::stoi(argv[i + 1]));
    else {
      fmt::print(stderr, "usage: aigw-bench-crc [--calls N] [--runs N]\n");
      return 2;
    }
  }
  std::mt19937_64 rng(1);
  std::vector<uint8_t> b(9216);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  fmt::print("{:>6}  {:>12}  {:>12}  {:>6}\n", "bytes", "folded ns", "zlib ns", "ratio");
  for (size_t n : {64, 256, 1100, 4200, 9000}) {
    std::vector<double> f, z;
    for (int r = 0; r < runs; r++) {  // alternately
      f.push_back(ns_per_call(aigw::rdma::crc32_feed, b, n, calls));
      z.push_back(ns_per_call(aigw::rdma::crc32_feed_zlib, b, n, calls));
    }
    double mf = median(f), mz = median(z);
    fmt::print("{:>6}  {:>12.1f}  {:>12.1f}  {:>6.2f}\n", n, mf, mz, mz / mf);
  }
  return 0;
}
