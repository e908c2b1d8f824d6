// aigw-bench-xdp: the XDP helpers of the forwarding benchmark
// (tests/bench/run.sh part b), in the current network namespace.
//
//   aigw-bench-xdp sink --dev IF --pin-counters PATH [--expect-dst IPV6]
//                       [--pass] [--max-seconds N]
//       attaches bench_sink (count, classify, drop; --pass: XDP_PASS, for a
//       capture on IF) and pins its counter map at PATH so that run.sh can
//       read it while traffic flows.
//   aigw-bench-xdp encap --dev IF --tx IF --src IPV6 --segs S1,S2,...
//                       [--max-seconds N]
//       attaches bench_encap, the "bare" reference H.Encaps (outer headers
//       from aigw::encode_policy(), bpf_fib_lookup, redirect), to IF; TX is
//       the egress port it may redirect to.
//   aigw-bench-xdp read PATH
//       prints "frames srv6 srv6_dst_ok ipv6_no_srh bytes" of a pinned sink
//       counter map (summed over CPUs).
//
// sink/encap print "ready" once attached and stay until SIGTERM/SIGINT or
// --max-seconds (default 600); then they detach only their own program and
// remove the pin.
#include <bpf/bpf.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "datapath/datapath.hpp"
#include "datapath/encode.hpp"

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int usage() {
  std::fprintf(stderr,
               "usage: aigw-bench-xdp sink --dev IF --pin-counters PATH [--expect-dst IPV6] [--pass]\n"
               "                           [--max-seconds N]\n"
               "       aigw-bench-xdp encap --dev IF --tx IF --src IPV6 --segs S1,S2,.. [--max-seconds N]\n"
               "       aigw-bench-xdp read PATH\n");
  return 2;
}

void wait_for_stop(int max_seconds) {
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  std::printf("ready\n");
  std::fflush(stdout);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  while (!g_stop && std::chrono::steady_clock::now() < deadline) ::poll(nullptr, 0, 100);
}

aigw::Ip6 parse6(const std::string& s) {
  auto a = aigw::Ip6::parse(s);
  if (!a) throw bench::Error("bad IPv6 address " + s);
  return *a;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  std::string dev, tx, pin, expect, src, segs;
  bool pass = false;
  int max_seconds = 600;
  std::vector<std::string> pos;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--dev") ok = val(dev);
    else if (a == "--tx") ok = val(tx);
    else if (a == "--pin-counters") ok = val(pin);
    else if (a == "--expect-dst") ok = val(expect);
    else if (a == "--src") ok = val(src);
    else if (a == "--segs") ok = val(segs);
    else if (a == "--max-seconds") {
      std::string v;
      ok = val(v);
      if (ok) max_seconds = std::atoi(v.c_str());
    } else if (a == "--pass") pass = true;
    else if (!a.empty() && a[0] != '-') pos.push_back(a);
    else ok = false;
    if (!ok) return usage();
  }
  try {
    if (cmd == "read") {
      if (pos.size() != 1) return usage();
      int fd = bpf_obj_get(pos[0].c_str());
      if (fd < 0) throw bench::Error(pos[0] + ": " + std::strerror(errno));
      bench::SinkCounters c = bench::read_sink_fd(fd);
      ::close(fd);
      std::printf("%llu %llu %llu %llu %llu\n", (unsigned long long)c.frames,
                  (unsigned long long)c.srv6, (unsigned long long)c.srv6_dst_ok,
                  (unsigned long long)c.ipv6_no_srh, (unsigned long long)c.bytes);
      return 0;
    }
    if (cmd == "sink") {
      if (dev.empty() || pin.empty()) return usage();
      bench::BenchXdp bx;
      bx.set_sink_pass(pass);
      std::array<uint8_t, 16> dst{};
      if (!expect.empty()) {
        dst = bench::ip6(expect);
        bx.set_expect_dst(&dst);
      }
      if (bpf_obj_pin(bx.sink_counters_fd(), pin.c_str()))
        throw bench::Error("pin " + pin + ": " + std::strerror(errno));
      struct Unpin {
        std::string p;
        ~Unpin() { ::unlink(p.c_str()); }
      } unpin{pin};
      bx.attach_sink(bench::ifindex_of(dev));
      wait_for_stop(max_seconds);
      bx.detach_all();
      return 0;
    }
    if (cmd == "encap") {
      if (dev.empty() || tx.empty() || src.empty() || segs.empty()) return usage();
      aigw::Policy p;
      p.name = "bench-bare";
      p.mode = aigw::EncapMode::Encap;
      p.source = parse6(src);
      std::stringstream ss(segs);
      for (std::string s; std::getline(ss, s, ',');) p.segments.push_back(parse6(s));
      aigw::DatapathSettings dps;
      aigw_policy pol = aigw::encode_policy(p, dps, 1);
      bench::BenchXdp bx;
      bx.set_encap(pol.hdr, pol.encap_len, pol.has_srh != 0);
      bx.set_redirect(bench::ifindex_of(tx));
      bx.attach(bench::ifindex_of(dev), bench::BenchProg::Encap);
      wait_for_stop(max_seconds);
      bx.detach_all();
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aigw-bench-xdp: %s\n", e.what());
    return 1;
  }
  return usage();
}
