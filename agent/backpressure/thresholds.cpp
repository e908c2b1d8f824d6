#include "backpressure/thresholds.hpp"

#include <algorithm>

namespace aigw::bp {

uint64_t bytes_in(uint64_t bps, std::chrono::microseconds t) {
  auto us = static_cast<unsigned __int128>(std::max<int64_t>(t.count(), 0));
  return static_cast<uint64_t>(bps * us / 8'000'000);
}

Thresholds thresholds(uint64_t drain_bps, uint64_t fill_bps, std::chrono::microseconds feedback) {
  Thresholds t;
  t.xon_bytes = std::max(bytes_in(drain_bps, feedback), kMinXonBytes);
  t.xoff_bytes = 2 * t.xon_bytes;
  t.headroom_bytes = bytes_in(fill_bps, feedback) + kFrameBytes;
  return t;
}

}  // namespace aigw::bp
