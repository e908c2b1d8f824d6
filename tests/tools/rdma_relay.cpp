// aigw-rdma-relay: the RDMA proxy's logic (agent/rdma/proxy.hpp) standing in
// the wire between a host port and a WAN port of the current namespace, on
// AF_PACKET sockets: a test harness for the protocol core on real packets
// and real timing, until the proxy runs in aigwd on AF_XDP behind the XDP
// programs. Two relays, one at each end of a lossy WAN, make a proxy pair.
//
//   aigw-rdma-relay --host DEV --wan DEV [--nack-ms 3] [--give-up-ms 100]
//                   [--keep-ms 100] [--max-held 4096] [--seconds S]
//
// host -> WAN: every frame goes on; sequenced RC packets are cached first.
// WAN -> host: a NACK (UDP to rdma::kNackPort) is consumed and answered by
// resending the cached frames it names; RoCEv2 goes through the stream's
// reorder buffer (NACKs go back on the WAN port, Ethernet addresses those of
// the last frame from the WAN, swapped: one peer, as in a wire); anything
// else goes on. On SIGTERM / SIGINT / --seconds, one JSON line of counters.
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "packet_port.hpp"
#include "rdma/nack_packet.hpp"
#include "rdma/proxy.hpp"

namespace {

using namespace aigw::rdma;
using Frame = std::vector<uint8_t>;

volatile std::sig_atomic_t g_stop = 0;  // set by the signal handler only

constexpr size_t kEthLen = 14;

std::span<const uint8_t> ip_of(const Frame& f) {
  if (f.size() <= kEthLen) return {};
  uint16_t type = static_cast<uint16_t>(f[12] << 8 | f[13]);
  if (type != 0x0800 && type != 0x86dd) return {};
  return std::span<const uint8_t>(f).subspan(kEthLen);
}

class Relay {
 public:
  Relay(int host, int wan, ProxyLimits lim) : host_(host), wan_(wan), proxy_(lim) {}

  void from_host(Frame f, Clock::time_point now) {
    auto ip = ip_of(f);
    if (!ip.empty()) {
      auto r = parse_roce(ip);
      if (auto* p = std::get_if<RocePacket>(&r)) proxy_.egress(ip, *p, f, now);
    }
    send(wan_, f);
  }

  void from_wan(Frame f, Clock::time_point now) {
    auto ip = ip_of(f);
    if (ip.empty()) return send(host_, f);
    std::optional<NackError> err;
    if (auto n = nack_of_packet(ip, &err)) {
      for (const Frame* c : proxy_.on_nack(*n)) send(wan_, *c);
      return;
    }
    if (err) {
      bad_nacks_++;
      return;
    }
    auto r = parse_roce(ip);
    auto* p = std::get_if<RocePacket>(&r);
    if (!p) return send(host_, f);
    std::copy_n(f.begin(), 12, peer_macs_.begin());
    have_macs_ = true;
    take(proxy_.ingress(ip, *p, std::move(f), now));
  }

  void tick(Clock::time_point now) { take(proxy_.tick(now)); }

  void print() {
    const auto& c = proxy_.counters();
    ReorderCounters rx{};
    proxy_.for_each_rx([&](const FlowKey&, const ReorderQp<Frame>& q) {
      const auto& x = q.counters();
      rx.holes += x.holes, rx.given_up += x.given_up, rx.overflows += x.overflows;
      rx.late += x.late, rx.duplicates += x.duplicates;
      rx.max_depth = std::max(rx.max_depth, x.max_depth);
    });
    fmt::print(
        "{{\"nacks_sent\":{},\"nacks_received\":{},\"nacks_stale\":{},\"nacks_unknown\":{},"
        "\"bad_nacks\":{},\"resent\":{},\"acks_matched\":{},\"holes\":{},\"given_up\":{},"
        "\"overflows\":{},\"late\":{},\"duplicates\":{},\"max_depth\":{}}}\n",
        c.nacks_sent, c.nacks_received, c.nacks_stale, c.nacks_unknown, bad_nacks_, c.resent,
        c.acks_matched, rx.holes, rx.given_up, rx.overflows, rx.late, rx.duplicates, rx.max_depth);
  }

 private:
  void take(typename Proxy<Frame>::Out out) {
    for (const auto& d : out.deliver) send(host_, d);
    for (const auto& n : out.nacks) {
      if (!have_macs_) continue;
      auto ip = nack_packet(n);
      Frame f(kEthLen + ip.size());
      std::copy_n(peer_macs_.begin() + 6, 6, f.begin());  // to the sender of the data
      std::copy_n(peer_macs_.begin(), 6, f.begin() + 6);
      f[12] = n.family == 4 ? 0x08 : 0x86;
      f[13] = n.family == 4 ? 0x00 : 0xdd;
      std::copy(ip.begin(), ip.end(), f.begin() + kEthLen);
      send(wan_, f);
    }
  }

  static void send(int fd, const Frame& f) {
    for (int tries = 0; tries < 1000; tries++) {
      if (::send(fd, f.data(), f.size(), 0) >= 0) return;
      if (errno != EAGAIN && errno != ENOBUFS) return;
      poll(nullptr, 0, 1);
    }
  }

  int host_, wan_;
  Proxy<Frame> proxy_;
  std::array<uint8_t, 12> peer_macs_{};
  bool have_macs_ = false;
  uint64_t bad_nacks_ = 0;
};

bool read_one(int fd, Frame& f) {
  std::array<uint8_t, 65536> buf;
  ssize_t n = recv(fd, buf.data(), buf.size(), 0);
  if (n <= 0) return false;
  f.assign(buf.begin(), buf.begin() + n);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string host, wan;
    ProxyLimits lim;
    lim.reorder.nack_interval = std::chrono::milliseconds(3);
    lim.reorder.give_up = std::chrono::milliseconds(100);
    lim.cache.keep = std::chrono::milliseconds(100);
    long seconds = 86400;
    for (int i = 1; i + 1 < argc; i += 2) {
      std::string k = argv[i], v = argv[i + 1];
      if (k == "--host")
        host = v;
      else if (k == "--wan")
        wan = v;
      else if (k == "--nack-ms")
        lim.reorder.nack_interval = std::chrono::milliseconds(std::stol(v));
      else if (k == "--give-up-ms")
        lim.reorder.give_up = std::chrono::milliseconds(std::stol(v));
      else if (k == "--keep-ms")
        lim.cache.keep = std::chrono::milliseconds(std::stol(v));
      else if (k == "--max-held")
        lim.reorder.max_held = static_cast<uint32_t>(std::stoul(v));
      else if (k == "--seconds")
        seconds = std::stol(v);
      else
        throw std::runtime_error("unknown option " + k);
    }
    if (host.empty() || wan.empty()) throw std::runtime_error("usage: --host DEV --wan DEV");
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    std::signal(SIGINT, [](int) { g_stop = 1; });
    aigw::Fd h = aigw::tools::open_packet_port(host), w = aigw::tools::open_packet_port(wan);
    Relay relay(h.get(), w.get(), lim);
    auto end = Clock::now() + std::chrono::seconds(seconds);
    auto next_tick = Clock::now();
    std::printf("{\"ready\":true}\n");
    std::fflush(stdout);
    Frame f;
    while (!g_stop && Clock::now() < end) {
      pollfd p[2] = {{h.get(), POLLIN, 0}, {w.get(), POLLIN, 0}};
      timespec ts{0, 500'000};
      ppoll(p, 2, &ts, nullptr);
      for (int n = 0; n < 256 && read_one(h.get(), f); n++)
        relay.from_host(std::move(f), Clock::now());
      for (int n = 0; n < 256 && read_one(w.get(), f); n++)
        relay.from_wan(std::move(f), Clock::now());
      if (auto now = Clock::now(); now >= next_tick) {
        relay.tick(now);
        next_tick = now + std::chrono::milliseconds(1);
      }
    }
    relay.print();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aigw-rdma-relay: %s\n", e.what());
    return 2;
  }
}
