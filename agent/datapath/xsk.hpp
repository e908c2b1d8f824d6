// One AF_XDP socket (libxdp's xsk API) with its own UMEM, bound to one
// queue of one port, for the RDMA proxy: the XDP programs redirect frames
// into it through aigw_xsks (abi.h "RDMA proxy"), each with struct
// aigw_xsk_meta ahead of it; what the proxy sends goes out of the port by
// its TX ring. Half of the UMEM's frames receive (the fill ring), half
// send. Not thread-safe: one thread owns a socket.
#pragma once

#include <aigw/abi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace aigw::dp {

struct XskSettings {
  uint32_t frames = 4096;      // UMEM frames (a power of two): half receive, half send
  uint32_t frame_size = 4096;  // 2048 or 4096
  uint32_t ring = 2048;        // RX / TX / completion ring descriptors (a power of two)
  bool zero_copy = false;      // XDP_ZEROCOPY (drivers that have it), else XDP_COPY
  bool operator==(const XskSettings&) const = default;
};

struct XskCounters {
  uint64_t rx = 0;
  uint64_t rx_bad_meta = 0;     // a frame without aigw's metadata (dropped)
  uint64_t rx_lost_frames = 0;  // receive frames not given back (fill ring short: never expected)
  uint64_t tx = 0;
  uint64_t tx_full = 0;  // nothing free to send with (the frame was dropped)
};

// What the kernel dropped on the way into the socket (XDP_STATISTICS):
// frames the program redirected that the proxy never saw. When the proxy
// falls behind, every receive frame waits in the RX ring and the fill ring
// is empty: the next frame has nothing to be copied into (no_frame).
struct XskKernelDrops {
  uint64_t no_frame = 0;      // rx_dropped: no receive frame free (or too long for one)
  uint64_t rx_ring_full = 0;  // a frame but no room in the RX ring
  uint64_t invalid = 0;       // invalid RX or TX descriptors
  XskKernelDrops& operator+=(const XskKernelDrops& o) {
    no_frame += o.no_frame;
    rx_ring_full += o.rx_ring_full;
    invalid += o.invalid;
    return *this;
  }
};

class XskSocket {
 public:
  // Throws DatapathError naming the port and queue.
  XskSocket(const std::string& ifname, uint32_t queue, const XskSettings& s);
  ~XskSocket();
  XskSocket(const XskSocket&) = delete;
  XskSocket& operator=(const XskSocket&) = delete;

  int fd() const;
  const std::string& ifname() const { return ifname_; }
  uint32_t queue() const { return queue_; }

  // Up to `max` received frames, each to f(frame, metadata); the frame's
  // memory is valid during the call only. Returns how many.
  using RxFn = std::function<void(std::span<const uint8_t>, const aigw_xsk_meta&)>;
  size_t receive(size_t max, const RxFn& f);
  // Copies the frame into a free TX frame and queues it; false (counted)
  // when none is free or it does not fit.
  bool send(std::span<const uint8_t> frame);
  // Hands queued frames to the kernel and takes back the sent ones (in
  // copy mode, as many send calls as that takes while the port takes them).
  void flush();

  const XskCounters& counters() const { return c_; }
  // The kernel's counts; a system call, safe from any thread (zeros when
  // the kernel does not give them).
  XskKernelDrops kernel_drops() const;

 private:
  struct Impl;
  void reclaim();
  void kick();
  uint32_t tx_waiting();  // frames in the TX ring the kernel has not taken

  std::string ifname_;
  uint32_t queue_;
  XskSettings s_;
  std::unique_ptr<Impl> impl_;
  XskCounters c_;
};

}  // namespace aigw::dp
