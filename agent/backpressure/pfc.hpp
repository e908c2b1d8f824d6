// IEEE 802.1Qbb priority flow control frames (the MAC Control PFC frame,
// 802.1Q-2018 clause 36): what the gateway sends its hosts on a customer
// port to pause one priority, as a ToR does.
//
//   0      6      12       14       16              18             34    60
//   | dst  | src  | 0x8808 | 0x0101 | class-enable  | time[0..7]   | pad |
//
// dst 01:80:c2:00:00:01; class-enable: bit p set pauses priority p for
// time[p] quanta (512 bit times at the port's speed); time 0 resumes it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

namespace aigw::bp {

inline constexpr uint16_t kMacControlEthertype = 0x8808;
inline constexpr uint16_t kPfcOpcode = 0x0101;
inline constexpr size_t kPfcFrameBytes = 60;  // the minimum frame, without the FCS
inline constexpr uint16_t kPfcMaxQuanta = 0xffff;
inline constexpr std::array<uint8_t, 6> kPfcDst = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x01};

using Mac = std::array<uint8_t, 6>;
using PfcFrame = std::array<uint8_t, kPfcFrameBytes>;

PfcFrame pfc_frame(const Mac& src, uint8_t priority, uint16_t quanta);

struct PfcPause {
  uint8_t enabled = 0;  // class-enable vector (bit p: priority p)
  std::array<uint16_t, 8> quanta{};
  bool operator==(const PfcPause&) const = default;
};
// A frame's PFC contents, or nothing when it is not a PFC frame.
std::optional<PfcPause> parse_pfc(std::span<const uint8_t> frame);

// How long `quanta` pause a port of `speed_bps` (512 bit times each).
std::chrono::nanoseconds pfc_duration(uint16_t quanta, uint64_t speed_bps);

}  // namespace aigw::bp
