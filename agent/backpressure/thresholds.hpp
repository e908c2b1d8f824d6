// XOFF/XON thresholds of a tenant's queue (issue 13; README "Backpressure").
//
// A queue that asks its sender to stop must still hold what arrives while
// the request travels and takes effect, and when it asks it to go again it
// must not run dry before the sender's traffic is back. Both spans are the
// feedback delay T (the round trip to the sender, plus the watch's period
// and the sender's reaction), so with the queue drained at D bit/s and
// filled at up to F bit/s:
//
//   XON      = D x T          (drains during T after RESUME: stays busy)
//   XOFF     = 2 x XON        (the hysteresis: one XON between the two)
//   headroom = F x T          (arrives during T after PAUSE: no drop)
//   buffer   = XOFF + headroom = (2D + F) x T
//
// each at least a few full frames. Headroom grows with the tenant's rate
// and the round trip, not the link's: a 1 Gbit/s tenant across 20 ms needs
// 7.5 MB, whatever the port's speed.
#pragma once

#include <chrono>
#include <cstdint>

namespace aigw::bp {

inline constexpr uint64_t kFrameBytes = 1600;  // a full frame, and change
inline constexpr uint64_t kMinXonBytes = 4 * kFrameBytes;

struct Thresholds {
  uint64_t xon_bytes = 0, xoff_bytes = 0, headroom_bytes = 0;
  uint64_t buffer_bytes() const { return xoff_bytes + headroom_bytes; }
  bool operator==(const Thresholds&) const = default;
};

// The bytes of `bps` during `t`.
uint64_t bytes_in(uint64_t bps, std::chrono::microseconds t);

Thresholds thresholds(uint64_t drain_bps, uint64_t fill_bps, std::chrono::microseconds feedback);

}  // namespace aigw::bp
