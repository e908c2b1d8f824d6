#include "datapath/xsk.hpp"

#include <fmt/format.h>
#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <xdp/xsk.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "datapath/types.hpp"

namespace aigw::dp {

namespace {

constexpr auto kBusyWait = std::chrono::seconds(1);

// Frames a copy-mode send call transmits at most: the kernel's
// TX_BATCH_SIZE, the socket's default TX budget.
constexpr uint32_t kTxBudget = 32;

bool power_of_two(uint32_t x) { return x && !(x & (x - 1)); }

struct UmemArea {
  void* p = MAP_FAILED;
  size_t len = 0;
  explicit UmemArea(size_t n) : len(n) {
    p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  ~UmemArea() {
    if (p != MAP_FAILED) munmap(p, len);
  }
  UmemArea(const UmemArea&) = delete;
  UmemArea& operator=(const UmemArea&) = delete;
};

}  // namespace

// Destruction order matters: the socket before the UMEM, the UMEM before
// its memory (members are destroyed in reverse order).
struct XskSocket::Impl {
  std::unique_ptr<UmemArea> area;
  struct UmemDel {
    void operator()(xsk_umem* u) const { xsk_umem__delete(u); }
  };
  struct SockDel {
    void operator()(xsk_socket* s) const { xsk_socket__delete(s); }
  };
  std::unique_ptr<xsk_umem, UmemDel> umem;
  std::unique_ptr<xsk_socket, SockDel> sock;
  xsk_ring_prod fill{}, tx{};
  xsk_ring_cons comp{}, rx{};
  std::vector<uint64_t> free_tx;  // UMEM addresses of TX frames not in flight
  uint32_t queued = 0;            // TX descriptors not yet handed over (flush)
};

XskSocket::XskSocket(const std::string& ifname, uint32_t queue, const XskSettings& s)
    : ifname_(ifname), queue_(queue), s_(s), impl_(std::make_unique<Impl>()) {
  auto fail = [&](const std::string& what, int err) {
    return DatapathError(fmt::format("AF_XDP socket on {} queue {}: {}: {}", ifname, queue, what,
                                     std::strerror(err)));
  };
  if (!power_of_two(s.frames) || s.frames < 64 || !power_of_two(s.ring) ||
      (s.frame_size != 2048 && s.frame_size != 4096))
    throw fail("frames and ring must be powers of two (frames >= 64), frame_size 2048 or 4096",
               EINVAL);
  auto& m = *impl_;
  m.area = std::make_unique<UmemArea>(size_t{s.frames} * s.frame_size);
  if (m.area->p == MAP_FAILED) throw fail("UMEM memory", errno);
  xsk_umem_config uc{};
  uc.fill_size = s.frames / 2;
  uc.comp_size = s.ring;
  uc.frame_size = s.frame_size;
  uc.frame_headroom = XSK_UMEM__DEFAULT_FRAME_HEADROOM;
  xsk_umem* u = nullptr;
  if (int r = xsk_umem__create(&u, m.area->p, m.area->len, &m.fill, &m.comp, &uc))
    throw fail("UMEM", -r);
  m.umem.reset(u);
  xsk_socket_config sc{};
  sc.rx_size = s.ring;
  sc.tx_size = s.ring;
  sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // aigw's programs redirect
  sc.bind_flags = XDP_USE_NEED_WAKEUP | (s.zero_copy ? XDP_ZEROCOPY : XDP_COPY);
  // A queue whose socket was just closed stays busy until the kernel has
  // released that socket's buffer pool, which it does in deferred work:
  // a socket made again at once (a reload, a restart of the proxy) waits
  // for it, a bounded time.
  xsk_socket* x = nullptr;
  auto busy_until = std::chrono::steady_clock::now() + kBusyWait;
  int r;
  while ((r = xsk_socket__create(&x, ifname.c_str(), queue, u, &m.rx, &m.tx, &sc)) == -EBUSY &&
         std::chrono::steady_clock::now() < busy_until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (r) throw fail(r == -EBUSY ? "socket (the queue has another AF_XDP socket)" : "socket", -r);
  m.sock.reset(x);
  // First half of the frames to the fill ring (receive), the rest send.
  uint32_t idx = 0, n = s.frames / 2;
  if (xsk_ring_prod__reserve(&m.fill, n, &idx) != n) throw fail("fill ring", ENOSPC);
  for (uint32_t i = 0; i < n; i++)
    *xsk_ring_prod__fill_addr(&m.fill, idx + i) = uint64_t{i} * s.frame_size;
  xsk_ring_prod__submit(&m.fill, n);
  for (uint32_t i = n; i < s.frames; i++) m.free_tx.push_back(uint64_t{i} * s.frame_size);
}

XskSocket::~XskSocket() = default;

int XskSocket::fd() const { return xsk_socket__fd(impl_->sock.get()); }

XskKernelDrops XskSocket::kernel_drops() const {
  xdp_statistics st{};
  socklen_t len = sizeof(st);
  if (getsockopt(fd(), SOL_XDP, XDP_STATISTICS, &st, &len)) return {};
  // (a kernel before 5.9 fills the first three fields only: zeros after)
  return {st.rx_dropped, st.rx_ring_full, st.rx_invalid_descs + st.tx_invalid_descs};
}

size_t XskSocket::receive(size_t max, const RxFn& f) {
  auto& m = *impl_;
  uint32_t idx = 0;
  size_t n = xsk_ring_cons__peek(&m.rx, static_cast<uint32_t>(max), &idx);
  if (!n) {
    if (xsk_ring_prod__needs_wakeup(&m.fill))
      recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    return 0;
  }
  // Every frame received goes back to the fill ring, which has room for
  // all receive frames (were it ever short, the frames stay out, counted).
  uint32_t fidx = 0;
  bool refill = xsk_ring_prod__reserve(&m.fill, static_cast<uint32_t>(n), &fidx) == n;
  if (!refill) c_.rx_lost_frames += n;
  for (size_t i = 0; i < n; i++) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&m.rx, idx + static_cast<uint32_t>(i));
    auto* p = static_cast<uint8_t*>(xsk_umem__get_data(m.area->p, d->addr));
    uint64_t in_frame = d->addr % s_.frame_size;
    aigw_xsk_meta meta{};
    if (in_frame >= sizeof(meta)) std::memcpy(&meta, p - sizeof(meta), sizeof(meta));
    c_.rx++;
    if (meta.magic != AIGW_XSK_MAGIC)
      c_.rx_bad_meta++;
    else
      f(std::span<const uint8_t>(p, d->len), meta);
    if (refill)
      *xsk_ring_prod__fill_addr(&m.fill, fidx + static_cast<uint32_t>(i)) = d->addr - in_frame;
  }
  if (refill) xsk_ring_prod__submit(&m.fill, static_cast<uint32_t>(n));
  xsk_ring_cons__release(&m.rx, static_cast<uint32_t>(n));
  return n;
}

void XskSocket::reclaim() {
  auto& m = *impl_;
  uint32_t idx = 0;
  size_t n = xsk_ring_cons__peek(&m.comp, s_.ring, &idx);
  for (size_t i = 0; i < n; i++)
    m.free_tx.push_back(*xsk_ring_cons__comp_addr(&m.comp, idx + static_cast<uint32_t>(i)));
  xsk_ring_cons__release(&m.comp, static_cast<uint32_t>(n));
}

bool XskSocket::send(std::span<const uint8_t> frame) {
  auto& m = *impl_;
  if (m.free_tx.empty()) reclaim();
  uint32_t idx = 0;
  if (m.free_tx.empty() || frame.size() > s_.frame_size ||
      xsk_ring_prod__reserve(&m.tx, 1, &idx) != 1) {
    c_.tx_full++;
    return false;
  }
  uint64_t addr = m.free_tx.back();
  m.free_tx.pop_back();
  std::memcpy(xsk_umem__get_data(m.area->p, addr), frame.data(), frame.size());
  xdp_desc* d = xsk_ring_prod__tx_desc(&m.tx, idx);
  d->addr = addr;
  d->len = static_cast<uint32_t>(frame.size());
  d->options = 0;
  xsk_ring_prod__submit(&m.tx, 1);
  m.queued++;
  c_.tx++;
  if (m.queued >= s_.ring / 4) flush();
  return true;
}

uint32_t XskSocket::tx_waiting() { return s_.ring - xsk_prod_nb_free(&impl_->tx, s_.ring); }

// Copy mode transmits in the send call, at most 32 frames a call (the
// socket's TX budget), and says EAGAIN while more wait, or when the
// completion ring or the port's queue is full. So the call is made again,
// the completions taken back in between, while each call sends some: a
// burst leaves in one flush, not 32 frames a pass of the proxy's loop (the
// rest waited for the next frame the proxy sent, or for its poll; and the
// TX ring, filling, dropped what came at tx_full). When a call sends
// nothing (the port busy), what is left goes with the next frame queued or
// at the proxy's poll (which transmits in copy mode): each call costs a
// system call, and an skb built and freed when the driver answers busy
// (retrying at every pass of the proxy's loop doubled the CPU per packet
// in tests/bench/rdma_pps.py).
void XskSocket::kick() {
  uint32_t waiting = tx_waiting();
  for (uint32_t i = 0; waiting && i <= s_.ring / kTxBudget; i++) {
    if (sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 && errno != EAGAIN && errno != EBUSY)
      return;
    reclaim();
    uint32_t left = tx_waiting();
    if (left >= waiting) return;
    waiting = left;
  }
}

void XskSocket::flush() {
  auto& m = *impl_;
  if (m.queued && xsk_ring_prod__needs_wakeup(&m.tx)) kick();
  m.queued = 0;
  reclaim();
}

}  // namespace aigw::dp
