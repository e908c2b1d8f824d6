#include "datapath/elephant_maps.hpp"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "datapath/loader.hpp"
#include "datapath/map_io.hpp"

namespace aigw::dp {
namespace {

constexpr uint32_t kHalfSlots = AIGW_HH_HALF_SLOTS;

}  // namespace

ElephantMaps::ElephantMaps(const Loader& l)
    : fd_hh_(l.map_fd("aigw_hh")),
      fd_keys_(l.map_fd("aigw_hh_keys")),
      fd_cfg_(l.map_fd("aigw_hh_cfg")),
      fd_pins_(l.map_fd("aigw_path_pins")),
      ncpus_(l.ncpus()) {}

void ElephantMaps::set_cfg(uint64_t mult, uint32_t npins, uint32_t key_bytes) {
  aigw_hh_cfg c{};
  c.mult = mult;
  c.npins = npins;
  c.key_bytes = key_bytes;
  uint32_t zero = 0;
  if (bpf_map_update_elem(fd_cfg_, &zero, &c, BPF_ANY) != 0)
    throw ApplyError(fmt::format("aigw_hh_cfg: {}", maps::errstr(errno)));
}

std::vector<aigw_hh_slot> ElephantMaps::read_half(uint32_t half) const {
  const size_t per_cpu = (sizeof(aigw_hh_half) + 7) / 8 * 8;
  std::vector<uint8_t> buf(per_cpu * static_cast<size_t>(ncpus_));
  uint32_t k = half & 1;
  if (bpf_map_lookup_elem(fd_hh_, &k, buf.data()) != 0)
    throw ApplyError(fmt::format("aigw_hh[{}]: {}", k, maps::errstr(errno)));
  std::vector<aigw_hh_slot> out(size_t(kHalfSlots) * ncpus_);
  for (int c = 0; c < ncpus_; ++c)
    std::memcpy(&out[size_t(c) * kHalfSlots], buf.data() + size_t(c) * per_cpu,
                sizeof(aigw_hh_half));
  return out;
}

std::optional<aigw_hh_key> ElephantMaps::key_of(uint64_t fp) const {
  aigw_hh_key v{};
  if (bpf_map_lookup_elem(fd_keys_, &fp, &v) != 0) return std::nullopt;
  return v;
}

std::vector<std::pair<uint64_t, aigw_hh_key>> ElephantMaps::read_keys() const {
  std::vector<std::pair<uint64_t, aigw_hh_key>> out;
  maps::for_each_entry(
      fd_keys_, sizeof(uint64_t), sizeof(aigw_hh_key), [&](const uint8_t* k, const uint8_t* v) {
        out.emplace_back(maps::from_bytes<uint64_t>(k), maps::from_bytes<aigw_hh_key>(v));
      });
  return out;
}

std::vector<std::pair<aigw_flow_key, aigw_path_pin>> ElephantMaps::read_pins() const {
  std::vector<std::pair<aigw_flow_key, aigw_path_pin>> out;
  maps::for_each_entry(fd_pins_, sizeof(aigw_flow_key), sizeof(aigw_path_pin),
                       [&](const uint8_t* k, const uint8_t* v) {
                         out.emplace_back(maps::from_bytes<aigw_flow_key>(k),
                                          maps::from_bytes<aigw_path_pin>(v));
                       });
  return out;
}

std::optional<aigw_path_pin> ElephantMaps::get_pin(const aigw_flow_key& k) const {
  aigw_path_pin v{};
  if (bpf_map_lookup_elem(fd_pins_, &k, &v) != 0) return std::nullopt;
  return v;
}

void ElephantMaps::put_pin(const aigw_flow_key& k, const aigw_path_pin& p) {
  if (bpf_map_update_elem(fd_pins_, &k, &p, BPF_ANY) != 0) {
    int err = errno;
    throw ApplyError(fmt::format("aigw_path_pins{}: {}",
                                 err == E2BIG ? fmt::format(" (full: {} pins)", AIGW_MAX_PINS) : "",
                                 maps::errstr(err)));
  }
}

void ElephantMaps::delete_pin(const aigw_flow_key& k) { bpf_map_delete_elem(fd_pins_, &k); }

}  // namespace aigw::dp
