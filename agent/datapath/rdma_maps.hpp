// The RDMA proxy's maps (abi.h "RDMA proxy"): which tenants' and classes'
// RoCEv2 the XDP programs hand to the proxy (aigw_rdma_sel), and its
// AF_XDP sockets (aigw_xsks); and a way for the proxy to send a packet
// through a program as if it had arrived on a port (its NACKs enter the
// SRv6 tunnel through the headend like any steered packet).
#pragma once

#include <aigw/abi.h>

#include <array>
#include <cstdint>
#include <span>

namespace aigw {
class Loader;
}

namespace aigw::dp {

// Class bitmap per tenant id (bit c: class c).
using RdmaSelection = std::array<uint32_t, AIGW_MAX_TENANTS>;

class RdmaMaps {
 public:
  explicit RdmaMaps(const Loader& l);
  // Throws DatapathError.
  void select(const RdmaSelection& sel);
  void set_socket(uint16_t port_slot, uint32_t queue, int xsk_fd);
  void clear_socket(uint16_t port_slot, uint32_t queue);
  static uint32_t key(uint16_t port_slot, uint32_t queue) {
    return uint32_t{port_slot} * AIGW_XSK_QUEUES + queue;
  }

 private:
  int fd_sel_, fd_xsks_;
};

// Runs XDP program prog_fd once on frame as received on ifindex, queue 0,
// and does what it decides for real (BPF_F_TEST_XDP_LIVE_FRAMES: a
// redirect goes out, a pass reaches the kernel's stack). Returns 0 or an
// errno.
int xdp_inject(int prog_fd, uint32_t ifindex, std::span<const uint8_t> frame);

}  // namespace aigw::dp
