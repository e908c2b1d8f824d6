#include "datapath/elephant_maps.hpp"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "datapath/loader.hpp"
#include "datapath/map_io.hpp"

namespace aigw::dp {
namespace {

constexpr uint32_t kHalfSlots = AIGW_HH_STAGES * AIGW_HH_ROWS;

// One key at a time: the fallback where batched lookups are refused.
void read_each(int fd, uint32_t first, uint32_t n, size_t per_key, uint8_t* out) {
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t k = first + i;
    if (bpf_map_lookup_elem(fd, &k, out + i * per_key) != 0)
      std::memset(out + i * per_key, 0, per_key);
  }
}

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

// A batched read from key `first` (a batch starts after its in_batch key).
std::vector<aigw_hh_slot> ElephantMaps::read_half(uint32_t half) const {
  const size_t per_key = maps::percpu_value_size(sizeof(aigw_hh_slot), ncpus_);
  std::vector<uint8_t> buf(per_key * kHalfSlots);
  std::vector<uint32_t> keys(kHalfSlots);
  uint32_t first = (half & 1) * kHalfSlots, count = kHalfSlots, token = first - 1;
  LIBBPF_OPTS(bpf_map_batch_opts, o);
  int r = bpf_map_lookup_batch(fd_hh_, first ? &token : nullptr, &token, keys.data(), buf.data(),
                               &count, &o);
  bool whole = (r == 0 || errno == ENOENT) && count == kHalfSlots && keys[0] == first;
  if (!whole) read_each(fd_hh_, first, kHalfSlots, per_key, buf.data());
  std::vector<aigw_hh_slot> out;
  out.reserve(size_t(kHalfSlots) * ncpus_);
  for (uint32_t i = 0; i < kHalfSlots; ++i)
    for (int c = 0; c < ncpus_; ++c)
      out.push_back(
          maps::from_bytes<aigw_hh_slot>(buf.data() + i * per_key + c * sizeof(aigw_hh_slot)));
  return out;
}

std::optional<aigw_hh_key> ElephantMaps::key_of(uint64_t fp) const {
  aigw_hh_key v{};
  if (bpf_map_lookup_elem(fd_keys_, &fp, &v) != 0) return std::nullopt;
  return v;
}

std::vector<std::pair<uint64_t, aigw_hh_key>> ElephantMaps::read_keys() const {
  std::vector<std::pair<uint64_t, aigw_hh_key>> out;
  maps::for_each_entry(fd_keys_, sizeof(uint64_t), sizeof(aigw_hh_key),
                       [&](const uint8_t* k, const uint8_t* v) {
                         out.emplace_back(maps::from_bytes<uint64_t>(k),
                                          maps::from_bytes<aigw_hh_key>(v));
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
