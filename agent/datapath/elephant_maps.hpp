// The elephants' maps (abi.h "elephants"): the heavy-hitter sketch the
// agent reads each window, its settings, and the pins it writes.
#pragma once

#include <aigw/abi.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace aigw {
class Loader;
}

namespace aigw::dp {

class ElephantMaps {
 public:
  explicit ElephantMaps(const Loader& l);
  // Detection window multiplier (0 = off), the pins in force, and the
  // count at which a flow's key is written to aigw_hh_keys.
  void set_cfg(uint64_t mult, uint32_t npins, uint32_t key_bytes);
  // Every CPU's slots of sketch half `half` (AIGW_HH_HALF_SLOTS
  // per CPU, back to back).
  std::vector<aigw_hh_slot> read_half(uint32_t half) const;
  // The flow a fingerprint names, if aigw_hh_keys has it.
  std::optional<aigw_hh_key> key_of(uint64_t fp) const;
  std::vector<std::pair<uint64_t, aigw_hh_key>> read_keys() const;
  std::vector<std::pair<aigw_flow_key, aigw_path_pin>> read_pins() const;
  std::optional<aigw_path_pin> get_pin(const aigw_flow_key& k) const;
  // Throws ApplyError (a full map names AIGW_MAX_PINS).
  void put_pin(const aigw_flow_key& k, const aigw_path_pin& p);
  void delete_pin(const aigw_flow_key& k);

 private:
  int fd_hh_, fd_keys_, fd_cfg_, fd_pins_, ncpus_;
};

}  // namespace aigw::dp
