// Shared pieces of the benchmark tools (tests/bench): the bench_xdp
// skeleton (trivial baselines + sink), interface helpers, packet building.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct bench_xdp;

namespace bench {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Sink counters summed over CPUs (struct bench_sink_ctr).
struct SinkCounters {
  uint64_t frames = 0, bytes = 0, len_ok = 0, srv6 = 0, srv6_dst_ok = 0, ipv6_no_srh = 0,
           restored = 0, restore_failed = 0;
  SinkCounters operator-(const SinkCounters& o) const;
};

enum class BenchProg { Drop, Pass, Redirect, Encap, Sink, Vary };

// The loaded bench_xdp object. Attachments made through it are removed by
// the destructor.
class BenchXdp {
 public:
  BenchXdp();
  ~BenchXdp();
  BenchXdp(const BenchXdp&) = delete;
  BenchXdp& operator=(const BenchXdp&) = delete;

  int prog_fd(BenchProg p) const;
  // bench_redirect's egress (also added to its devmap).
  void set_redirect(int ifindex);
  void set_sink_pass(bool pass);
  void set_expect_len(uint32_t len);
  void set_expect_dst(const std::array<uint8_t, 16>* dst);  // nullptr = no check
  // bench_encap's outer headers (an aigw policy template) and egress port.
  void set_encap(const uint8_t* hdr, uint32_t len, bool has_srh);
  // The program bench_vary hands each frame to (a tail call).
  void set_next(int prog_fd);
  // Frame the sink writes back (empty = no restore).
  void set_restore(const std::vector<uint8_t>& frame);
  SinkCounters read_sink() const;
  int sink_counters_fd() const;

  // Native-mode attach; never replaces a program.
  void attach(int ifindex, BenchProg p);
  void attach_sink(int ifindex) { attach(ifindex, BenchProg::Sink); }
  void detach_all();

 private:
  bench_xdp* skel_ = nullptr;
  std::vector<std::pair<int, int>> attached_;  // ifindex, prog fd
};

SinkCounters read_sink_fd(int map_fd);

// Interface helpers (current network namespace).
int ifindex_of(const std::string& name);  // throws Error
std::array<uint8_t, 6> mac_of(const std::string& name);
std::array<uint8_t, 16> ip6(const std::string& s);  // throws Error
uint32_t ip4_be(const std::string& s);               // throws Error

// Frame building. Checksums are filled in (IPv4 header, UDP over IPv4 and
// IPv6).
struct Eth {
  std::array<uint8_t, 6> dst{}, src{};
};
std::vector<uint8_t> udp4_frame(const Eth& eth, const std::string& src, const std::string& dst,
                                uint8_t ttl, size_t payload);
// Bare IPv4/UDP packet (no Ethernet header).
std::vector<uint8_t> udp4_packet(const std::string& src, const std::string& dst, uint8_t ttl,
                                 size_t payload);
std::vector<uint8_t> udp6_packet(const std::string& src, const std::string& dst, uint8_t hlim,
                                 size_t payload);
// Ethernet + outer IPv6 (+ SRH when segs_in_srh is not empty; SegList[0]
// first, as on the wire) + inner packet (IPv4: next header 4, IPv6: 41).
std::vector<uint8_t> srv6_frame(const Eth& eth, const std::string& src, const std::string& dst,
                                const std::vector<std::string>& seglist, uint8_t segments_left,
                                const std::vector<uint8_t>& inner);
std::vector<uint8_t> eth_frame(const Eth& eth, uint16_t ethertype, const std::vector<uint8_t>& l3);

std::string hex(const uint8_t* p, size_t n);

// Pins the calling thread to one CPU (-1: leave as is).
void pin_cpu(int cpu);

}  // namespace bench
