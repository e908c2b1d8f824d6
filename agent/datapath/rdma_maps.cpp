#include "datapath/rdma_maps.hpp"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include "datapath/loader.hpp"
#include "datapath/types.hpp"

namespace aigw::dp {

RdmaMaps::RdmaMaps(const Loader& l)
    : fd_sel_(l.map_fd("aigw_rdma_sel")), fd_xsks_(l.map_fd("aigw_xsks")) {}

void RdmaMaps::select(const RdmaSelection& sel) {
  for (uint32_t t = 0; t < sel.size(); t++) {
    uint32_t v = sel[t];
    if (bpf_map_update_elem(fd_sel_, &t, &v, BPF_ANY))
      throw DatapathError(fmt::format("aigw_rdma_sel[{}]: {}", t, std::strerror(errno)));
  }
}

void RdmaMaps::set_socket(uint16_t port_slot, uint32_t queue, int xsk_fd) {
  uint32_t k = key(port_slot, queue);
  if (queue >= AIGW_XSK_QUEUES || k >= AIGW_XSK_ENTRIES)
    throw DatapathError(
        fmt::format("aigw_xsks: port slot {} queue {} out of range", port_slot, queue));
  if (bpf_map_update_elem(fd_xsks_, &k, &xsk_fd, BPF_ANY))
    throw DatapathError(fmt::format("aigw_xsks[{}] (port slot {} queue {}): {}", k, port_slot,
                                    queue, std::strerror(errno)));
}

void RdmaMaps::clear_socket(uint16_t port_slot, uint32_t queue) {
  uint32_t k = key(port_slot, queue);
  bpf_map_delete_elem(fd_xsks_, &k);  // a closed socket leaves the map by itself
}

int xdp_inject(int prog_fd, uint32_t ifindex, std::span<const uint8_t> frame) {
  xdp_md ctx{};
  ctx.data_end = static_cast<uint32_t>(frame.size());
  ctx.ingress_ifindex = ifindex;
  LIBBPF_OPTS(bpf_test_run_opts, o);
  o.data_in = frame.data();
  o.data_size_in = static_cast<uint32_t>(frame.size());
  o.ctx_in = &ctx;
  o.ctx_size_in = sizeof(ctx);
  o.repeat = 1;
  o.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
  return bpf_prog_test_run_opts(prog_fd, &o) ? errno : 0;
}

}  // namespace aigw::dp
