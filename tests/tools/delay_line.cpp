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
#include <fmt/format.h>
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
#include "packet_port.hpp"

namespace {

using Clock = std::chrono::steady_clock;
volatile std::sig_atomic_t g_stop = 0;  // set by the signal handler only

[[noreturn]] void fail(const std::string& s) { throw std::runtime_error(s); }

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
    aigw::Fd fa = aigw::tools::open_packet_port(a), fb = aigw::tools::open_packet_port(b);
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
