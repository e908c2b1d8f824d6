#include "datapath/shape_map.hpp"

#include <aigw/abi.h>
#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "datapath/loader.hpp"
#include "datapath/types.hpp"

namespace aigw::dp {

ShapeMap::ShapeMap(const Loader& l) : fd_(l.map_fd("aigw_shape")) {}

void ShapeMap::set(uint16_t tenant, uint32_t priority, uint32_t flags) {
  uint32_t k = tenant;
  aigw_shape v{priority, flags};
  if (k >= AIGW_MAX_TENANTS || bpf_map_update_elem(fd_, &k, &v, BPF_ANY))
    throw DatapathError(
        fmt::format("aigw_shape[{}]: {}", k,
                    k >= AIGW_MAX_TENANTS ? "no such tenant id" : std::strerror(errno)));
}

}  // namespace aigw::dp
