// aigw-delay-line: the WAN impairment stage's fixed delay (this kernel has
// no netem): relays every frame between two interfaces of the current
// network namespace, each direction delayed by --delay-us, in order, as a
// two-port bridge would. Run it in a namespace of its own whose two
// interfaces have no addresses, so the kernel forwards nothing itself.
//
//   aigw-delay-line --a DEV --b DEV --delay-us N [--queue 100000] [--seconds S]
//
// Frames beyond --queue per direction are dropped and counted. On SIGTERM,
// SIGINT or after --seconds, prints
//   {"a_to_b":N,"b_to_a":N,"dropped":N} and exits 0.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/fd.hpp"

namespace {

using Clock = std::chrono::steady_clock;
volatile std::sig_atomic_t g_stop = 0;  // set by the signal handler only

[[noreturn]] void fail(const std::string& s) { throw std::runtime_error(s); }

aigw::Fd open_port(const std::string& dev) {
  int ifindex = static_cast<int>(if_nametoindex(dev.c_str()));
  if (!ifindex) fail("no interface " + dev);
  aigw::Fd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL)));
  if (fd.get() < 0) fail(fmt::format("socket: {}", strerror(errno)));
  int one = 1, buf = 16 << 20;
  // not our own transmissions back
  if (setsockopt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)))
    fail(fmt::format("PACKET_IGNORE_OUTGOING: {}", strerror(errno)));
  // past net.core.rmem_max (root): the line must not be the loss
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  if (setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  sockaddr_ll sa{};
  sa.sll_family = AF_PACKET;
  sa.sll_protocol = htons(ETH_P_ALL);
  sa.sll_ifindex = ifindex;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)))
    fail(fmt::format("bind {}: {}", dev, strerror(errno)));
  return fd;
}

struct Direction {
  int in, out;
  std::deque<std::pair<Clock::time_point, std::vector<uint8_t>>> q;
  uint64_t relayed = 0, dropped = 0;

  void read(Clock::duration delay, size_t max) {
    uint8_t buf[65536];
    for (;;) {
      ssize_t n = recv(in, buf, sizeof(buf), 0);
      if (n <= 0) return;
      if (q.size() >= max) {
        dropped++;
        continue;
      }
      q.emplace_back(Clock::now() + delay, std::vector<uint8_t>(buf, buf + n));
    }
  }

  void write(Clock::time_point now) {
    while (!q.empty() && q.front().first <= now) {
      auto& f = q.front().second;
      if (send(out, f.data(), f.size(), 0) < 0 && (errno == EAGAIN || errno == ENOBUFS)) return;
      relayed++;
      q.pop_front();
    }
  }

  // Until the next frame is due (at most 100 ms).
  Clock::duration wait(Clock::time_point now) const {
    if (q.empty()) return std::chrono::milliseconds(100);
    return std::max(q.front().first - now, Clock::duration::zero());
  }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string a, b;
    long delay_us = -1, seconds = 0;
    size_t max = 100000;
    for (int i = 1; i + 1 < argc; i += 2) {
      std::string k = argv[i], v = argv[i + 1];
      if (k == "--a")
        a = v;
      else if (k == "--b")
        b = v;
      else if (k == "--delay-us")
        delay_us = std::stol(v);
      else if (k == "--queue")
        max = std::stoul(v);
      else if (k == "--seconds")
        seconds = std::stol(v);
      else
        fail("unknown option " + k);
    }
    if (a.empty() || b.empty() || delay_us < 0) fail("usage: --a DEV --b DEV --delay-us N");
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    std::signal(SIGINT, [](int) { g_stop = 1; });
    aigw::Fd fa = open_port(a), fb = open_port(b);
    Direction ab{fa.get(), fb.get(), {}}, ba{fb.get(), fa.get(), {}};
    auto delay = std::chrono::microseconds(delay_us);
    auto end = Clock::now() + std::chrono::seconds(seconds ? seconds : 86400);
    std::printf("{\"ready\":true}\n");
    std::fflush(stdout);
    while (!g_stop && Clock::now() < end) {
      auto now = Clock::now();
      pollfd p[2] = {{fa.get(), POLLIN, 0}, {fb.get(), POLLIN, 0}};
      // ppoll: a timeout in ns (poll's ms would make the delay coarse)
      auto w =
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::min(ab.wait(now), ba.wait(now)))
              .count();
      timespec ts{static_cast<time_t>(w / 1'000'000'000), static_cast<long>(w % 1'000'000'000)};
      ppoll(p, 2, &ts, nullptr);
      ab.read(delay, max);
      ba.read(delay, max);
      now = Clock::now();
      ab.write(now);
      ba.write(now);
    }
    std::printf("{\"a_to_b\":%llu,\"b_to_a\":%llu,\"dropped\":%llu}\n",
                static_cast<unsigned long long>(ab.relayed),
                static_cast<unsigned long long>(ba.relayed),
                static_cast<unsigned long long>(ab.dropped + ba.dropped));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aigw-delay-line: %s\n", e.what());
    return 2;
  }
}
