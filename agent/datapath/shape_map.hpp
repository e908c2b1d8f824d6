// The shaped path's map (abi.h "shaping"): the HTB class of each shaped
// tenant's queue, read by the headend to hand that tenant's packets to the
// kernel (tc_customer_ingress, the WAN port's HTB) instead of past it.
#pragma once

#include <cstdint>

namespace aigw {
class Loader;
}

namespace aigw::dp {

class ShapeMap {
 public:
  explicit ShapeMap(const Loader& l);
  // priority 0: the tenant keeps the XDP fast path; flags: AIGW_SHAPE_F_*.
  // Throws DatapathError.
  void set(uint16_t tenant, uint32_t priority, uint32_t flags = 0);

 private:
  int fd_;
};

}  // namespace aigw::dp
