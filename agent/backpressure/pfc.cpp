#include "backpressure/pfc.hpp"

#include <algorithm>

namespace aigw::bp {
namespace {

constexpr size_t kTypeOff = 12, kOpOff = 14, kEnableOff = 16, kTimeOff = 18;
constexpr uint64_t kQuantumBits = 512;

void put16(PfcFrame& f, size_t off, uint16_t v) {
  f[off] = static_cast<uint8_t>(v >> 8);
  f[off + 1] = static_cast<uint8_t>(v);
}

uint16_t get16(std::span<const uint8_t> f, size_t off) {
  return static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
}

}  // namespace

PfcFrame pfc_frame(const Mac& src, uint8_t priority, uint16_t quanta) {
  PfcFrame f{};
  std::copy(kPfcDst.begin(), kPfcDst.end(), f.begin());
  std::copy(src.begin(), src.end(), f.begin() + 6);
  put16(f, kTypeOff, kMacControlEthertype);
  put16(f, kOpOff, kPfcOpcode);
  put16(f, kEnableOff, static_cast<uint16_t>(1u << (priority & 7)));
  put16(f, kTimeOff + 2 * (priority & 7), quanta);
  return f;
}

std::optional<PfcPause> parse_pfc(std::span<const uint8_t> frame) {
  if (frame.size() < kTimeOff + 16 || get16(frame, kTypeOff) != kMacControlEthertype ||
      get16(frame, kOpOff) != kPfcOpcode)
    return std::nullopt;
  PfcPause p;
  p.enabled = static_cast<uint8_t>(get16(frame, kEnableOff));
  for (size_t i = 0; i < 8; i++) p.quanta[i] = get16(frame, kTimeOff + 2 * i);
  return p;
}

std::chrono::nanoseconds pfc_duration(uint16_t quanta, uint64_t speed_bps) {
  if (!speed_bps) return std::chrono::nanoseconds(0);
  auto bits = static_cast<unsigned __int128>(quanta) * kQuantumBits * 1'000'000'000;
  return std::chrono::nanoseconds(static_cast<int64_t>(bits / speed_bps));
}

}  // namespace aigw::bp
