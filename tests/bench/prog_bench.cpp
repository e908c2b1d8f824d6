// aigw-bench-prog: per-packet cost of each datapath path, against a trivial
// XDP program with the same final verdict, measured in the same run.
//
//   aigw-bench-prog --config tests/bench/prog_bench.yaml --pin /sys/fs/bpf/X
//                   [--repeat 1000000] [--runs 5] [--batch 64] [--cpu N]
//                   [--only name,name] [--tsv FILE] [--verbose] [--no-restore]
//                   [--hh WINDOW_MS]   (the elephant sketch on, as aigwd runs it)
//                   [--new-flows]      (a new flow every frame: bench_vary in front
//                                       of the program under test; IPv4 UDP rows only)
//                   [--hh-ab]          (with --hh: the baseline is the same aigw
//                                       program with the sketch off, runs
//                                       alternating; the table adds the median of
//                                       the paired differences: what the sketch adds)
//
// Run it as root inside the namespace tests/bench/run.sh builds (customer
// veth bc0/bc0p, WAN veth bw0/bw0p, routes and permanent neighbours so that
// bpf_fib_lookup succeeds, forwarding on). It never attaches an aigw program
// to an interface: the datapath (aigw::Datapath, maps pinned under --pin,
// programmed from the YAML file by apply()) is driven with
// BPF_PROG_TEST_RUN.
//
// For each path (fixture):
//   1. one ordinary test run (repeat 1, output returned): verdict, output
//      length, key output bytes (outer destination, Segments Left, next-hop
//      MAC...) and the datapath's own counters must show the path the row is
//      named after;
//   2. --runs times, alternating: the aigw program, then the baseline, each
//      BPF_F_TEST_XDP_LIVE_FRAMES with --repeat frames (frames really go
//      out: XDP_PASS into the stack of the ingress veth, XDP_REDIRECT out of
//      the egress veth to bench_sink on its peer). After every live run the
//      counters are checked again (every frame counted in the expected
//      counter, no drop, no event; every redirected frame arrived at the
//      sink with the expected length), else the row is marked FAILED.
//   ns/packet = the kernel's own timing of the run (opts.duration), median.
//
// Baselines (bench_xdp.bpf.c), same frame and ingress as the aigw run:
//   pass rows     -> trivial XDP_PASS (the kernel's handling of the frame,
//                    a blackhole route here, is in both figures)
//   forward rows  -> trivial bpf_redirect_map() to the same egress port
//                    (DEVMAP_HASH like aigw_tx), frame unchanged
//   plus the harness floor: trivial XDP_DROP.
// The sink on the egress peer writes the original frame back into the page
// (live frames recycle pages without re-copying the frame: see
// bench_xdp.bpf.c); it does so in the baseline runs too. --no-restore turns
// that off, to show the effect: the rows whose program rewrites its input
// then fail their counter checks.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "bench_common.hpp"
#include "common/log.hpp"
#include "config/parse.hpp"
#include "datapath/datapath.hpp"
#include "datapath/elephant_maps.hpp"
#include "datapath/encode.hpp"
#include "netlink/links.hpp"
#include "telemetry/elephants.hpp"

namespace {

using bench::Error;
using Bytes = std::vector<uint8_t>;

struct Options {
  std::string config, pin, tsv, only;
  uint32_t repeat = 1000000;
  int runs = 5;
  uint32_t batch = 64;
  int cpu = -1;
  bool verbose = false;
  bool no_restore = false;  // demonstrate why the sink restores frames
  bool cls = false;         // (c) classification / flow counting variants instead of the paths
  uint32_t seed = 1;        // rule generator seed for --cls
  uint32_t hh_window_ms = 0;  // --hh: the elephant sketch counts (as aigwd sets it), 0 = off
  bool new_flows = false;     // --new-flows: bench_vary changes the ports of every frame
  bool hh_ab = false;         // --hh-ab: baseline = aigw with the sketch off
  std::string cust = "bc0", cust_peer = "bc0p", wan = "bw0", wan_peer = "bw0p";
};

// Counters of aigw_if_stats that must count every frame of a row.
enum Ctr { RX, ENCAP, DECAP, FWD, PASS };

struct Fixture {
  std::string name;  // short id (--only, TSV)
  std::string path;  // table label
  aigw::Prog prog = aigw::Prog::Headend;
  int ingress = 0;
  std::string ingress_key;  // interface name for the counter slot
  Bytes in;
  uint32_t verdict = XDP_PASS;
  size_t out_len = 0;
  int egress = 0;  // forward rows: the port the frame must leave by
  std::vector<std::pair<size_t, Bytes>> expect_bytes;  // checks on the single run's output
  std::vector<Ctr> ctrs;
  std::optional<std::array<uint8_t, 16>> sink_dst;  // outer destination seen at the sink
  bool reference = false;  // measured program is bench_encap, not the datapath
};

const char* verdict_name(uint32_t v) {
  switch (v) {
    case XDP_ABORTED: return "ABORTED";
    case XDP_DROP: return "DROP";
    case XDP_PASS: return "PASS";
    case XDP_TX: return "TX";
    case XDP_REDIRECT: return "REDIRECT";
  }
  return "?";
}

uint64_t ctr_of(const aigw::Counters& c, Ctr k) {
  switch (k) {
    case RX: return c.rx.packets;
    case ENCAP: return c.encap.packets;
    case DECAP: return c.decap.packets;
    case FWD: return c.fwd.packets;
    case PASS: return c.pass.packets;
  }
  return 0;
}
const char* ctr_name(Ctr k) {
  static const char* n[] = {"rx", "encap", "decap", "fwd", "pass"};
  return n[k];
}

struct Snapshot {
  aigw::Counters slot;
  uint64_t drops = 0, events = 0;
  uint64_t slot_drop = 0, slot_tx = 0;
};

class Bench {
 public:
  Bench(const Options& o, const aigw::Config& cfg, aigw::Datapath& dp, bench::BenchXdp& bx)
      : o_(o), cfg_(cfg), dp_(dp), bx_(bx) {}

  std::vector<Fixture> fixtures();
  Snapshot snap(const Fixture& f) const;
  // Counter check of n frames of f between a and b; "" when as expected.
  std::string check_ctrs(const Fixture& f, const Snapshot& a, const Snapshot& b, uint64_t n) const;
  std::string verify_single(const Fixture& f, int fd);
  int measured_fd(const Fixture& f) const {
    if (f.reference) return bx_.prog_fd(bench::BenchProg::Encap);
    if (!o_.new_flows) return dp_.prog_fd(f.prog);
    bx_.set_next(dp_.prog_fd(f.prog));
    return bx_.prog_fd(bench::BenchProg::Vary);
  }
  std::string verify_baseline_single(const Fixture& f, int fd, uint32_t want);
  // One live run; returns ns/packet, sets err on a failed check.
  double live(const Fixture& f, int fd, bool is_aigw, std::string& err);
  double live_drop(const Fixture& f, std::string& err);

 private:
  const aigw::Policy& policy(const std::string& name) const;
  const aigw::Sid& sid(aigw::Behavior b) const;
  void prepare_sink(const Fixture& f, bool is_aigw);
  std::optional<bench::SinkCounters> wait_sink(const bench::SinkCounters& before, uint64_t n) const;

  const Options& o_;
  const aigw::Config& cfg_;
  aigw::Datapath& dp_;
  bench::BenchXdp& bx_;
};

const aigw::Policy& Bench::policy(const std::string& name) const {
  for (const auto& p : cfg_.policies)
    if (p.name == name) return p;
  throw Error("config has no policy named " + name);
}

const aigw::Sid& Bench::sid(aigw::Behavior b) const {
  for (const auto& s : cfg_.sids)
    if (s.behavior == b && s.sid.v6 && s.sid.len == 128) return s;
  throw Error(std::string("config has no /128 SID with behavior ") + aigw::to_string(b));
}

// Address of a host prefix as text ("198.51.100.1", "fc00:a::e").
std::string prefix_addr(const aigw::Prefix& p) { return aigw::ip_str(p.addr()); }

Bytes b6(const std::array<uint8_t, 16>& a) { return Bytes(a.begin(), a.end()); }
Bytes b6(const std::string& s) { return b6(bench::ip6(s)); }
Bytes bmac(const std::array<uint8_t, 6>& m) { return Bytes(m.begin(), m.end()); }

std::vector<Fixture> Bench::fixtures() {
  const int cust = bench::ifindex_of(o_.cust), wan = bench::ifindex_of(o_.wan);
  const auto cust_mac = bench::mac_of(o_.cust), wan_mac = bench::mac_of(o_.wan);
  const auto cust_peer_mac = bench::mac_of(o_.cust_peer), wan_peer_mac = bench::mac_of(o_.wan_peer);
  const bench::Eth to_cust{cust_mac, cust_peer_mac}, to_wan{wan_mac, wan_peer_mac};
  constexpr size_t kPayload = 18;  // IPv4/UDP frame of 60 bytes (64 on a wire)
  std::vector<Fixture> v;

  // The fixtures' destinations: the policies' first prefix of the family
  // (its first address: the YAML uses host prefixes).
  auto ipv4_of = [](const aigw::Policy& p) -> std::string {
    for (const auto& pf : p.prefixes)
      if (!pf.v6) return prefix_addr(pf);
    throw Error("policy " + p.name + " has no IPv4 prefix");
  };
  auto ipv6_of = [](const aigw::Policy& p) -> std::string {
    for (const auto& pf : p.prefixes)
      if (pf.v6) return prefix_addr(pf);
    throw Error("policy " + p.name + " has no IPv6 prefix");
  };

  // Headend: no policy -> the kernel (blackhole route in the bench namespace).
  {
    Fixture f;
    f.name = "he_pass";
    f.path = "headend: no policy -> kernel";
    f.prog = aigw::Prog::Headend;
    f.ingress = cust;
    f.ingress_key = o_.cust;
    f.in = bench::udp4_frame(to_cust, "192.0.2.2", "203.0.113.9", 64, kPayload);
    f.verdict = XDP_PASS;
    f.out_len = f.in.size();
    f.expect_bytes = {{0, f.in}};
    f.ctrs = {RX, PASS};
    v.push_back(f);
  }
  // Headend: H.Encaps / H.Encaps.Red.
  struct EncapCase {
    const char* name;
    const char* label;
    const char* policy;
    bool v6;
  };
  for (const EncapCase& c : {EncapCase{"he_encap4_1", "headend: H.Encaps IPv4, 1 SID", "v4-1sid", false},
                             EncapCase{"he_encap4_2", "headend: H.Encaps IPv4, 2 SIDs", "v4-2sid", false},
                             EncapCase{"he_mp4_2", "headend: 2 paths x 2 SIDs, IPv4", "v4-mp2", false},
                             EncapCase{"he_encap4_3", "headend: H.Encaps IPv4, 3 SIDs", "v4-3sid", false},
                             EncapCase{"he_encap4_8", "headend: H.Encaps IPv4, 8 SIDs", "v4-8sid", false},
                             EncapCase{"he_red6_2", "headend: H.Encaps.Red IPv6, 2 SIDs", "v6-red-2sid", true}}) {
    const aigw::Policy& p = policy(c.policy);
    const bool red = p.mode == aigw::EncapMode::EncapRed;
    const size_t n = p.segments.size(), listed = red ? n - 1 : n;
    const size_t encap = 40 + (listed ? 8 + 16 * listed : 0);
    Fixture f;
    f.name = c.name;
    f.path = c.label;
    f.prog = aigw::Prog::Headend;
    f.ingress = cust;
    f.ingress_key = o_.cust;
    // TTL 255: recycled live-frame pages keep the decremented TTL until the
    // sink writes the frame back; 255 leaves room either way.
    f.in = c.v6 ? bench::eth_frame(to_cust, 0x86DD,
                                   bench::udp6_packet("2001:db8:1::2", ipv6_of(p), 255, kPayload))
                : bench::udp4_frame(to_cust, "192.0.2.2", ipv4_of(p), 255, kPayload);
    f.verdict = XDP_REDIRECT;
    f.out_len = f.in.size() + encap;
    f.egress = wan;
    auto first = p.segments[0].b;
    f.expect_bytes = {{0, bmac(wan_peer_mac)},                  // FIB next hop
                      {12, {0x86, 0xdd}},
                      {14 + 6, {static_cast<uint8_t>(listed ? 43 : (c.v6 ? 41 : 4))}},
                      {14 + 8, b6(p.source.b)},
                      {14 + 24, b6(first)}};
    if (listed) f.expect_bytes.push_back({14 + 40 + 3, {static_cast<uint8_t>(n - 1)}});
    // inner TTL / hop limit decremented once
    f.expect_bytes.push_back({14 + encap + (c.v6 ? 7 : 8), {254}});
    f.ctrs = {RX, ENCAP, FWD};
    f.sink_dst = first;
    v.push_back(f);
  }

  // Reference: the bare encapsulation of bench_xdp.bpf.c (no policy lookup,
  // counters, TTL/MSS/MTU handling) on the 1-SID frame: what aigw's headend
  // adds on top of "copy a template, FIB, redirect".
  {
    const aigw::Policy& p = policy("v4-1sid");
    aigw_policy pol = aigw::encode_policy(p, cfg_.datapath, 1);
    bx_.set_encap(pol.hdr, pol.encap_len, pol.has_srh != 0);
    Fixture f = v[1];  // he_encap4_1's frame and expectations
    f.name = "ref_bare_encap";
    f.path = "reference: bare encap 1 SID (no aigw)";
    f.reference = true;
    f.expect_bytes.pop_back();  // the bare program leaves the inner TTL alone
    f.ctrs = {};
    v.push_back(f);
  }

  // Endpoint fixtures: what a remote headend sends.
  const std::string remote = "fc00:c::1";
  const Bytes inner4 = bench::udp4_packet("198.51.100.77", "192.0.2.10", 64, kPayload);
  {
    const aigw::Sid& s = sid(aigw::Behavior::End);
    const std::string me = prefix_addr(s.sid), next = "fc00:b::1";
    Fixture f;
    f.name = "ep_end";
    f.path = "endpoint: End (SL 1 -> 0)";
    f.prog = aigw::Prog::Endpoint;
    f.ingress = wan;
    f.ingress_key = o_.wan;
    f.in = bench::srv6_frame(to_wan, remote, me, {next, me}, 1,
                             bench::udp4_packet("192.0.2.2", "198.51.100.1", 64, kPayload));
    f.verdict = XDP_REDIRECT;
    f.out_len = f.in.size();
    f.egress = wan;
    f.expect_bytes = {{0, bmac(wan_peer_mac)}, {14 + 7, {63}}, {14 + 24, b6(next)}, {14 + 40 + 3, {0}}};
    f.ctrs = {RX, FWD};
    f.sink_dst = bench::ip6(next);
    v.push_back(f);
  }
  struct DecapCase {
    const char* name;
    const char* label;
    aigw::Behavior beh;
    bool v6;
    const char* inner_dst;  // where the decapsulated packet goes
  };
  for (const DecapCase& c :
       {DecapCase{"ep_dt4", "endpoint: End.DT4", aigw::Behavior::EndDT4, false, "192.0.2.10"},
        DecapCase{"ep_dt6", "endpoint: End.DT6", aigw::Behavior::EndDT6, true, "2001:db8:1::10"},
        DecapCase{"ep_dx6", "endpoint: End.DX6", aigw::Behavior::EndDX6, true, "2001:db8:9::1"}}) {
    const aigw::Sid& s = sid(c.beh);
    const std::string me = prefix_addr(s.sid);
    const Bytes inner =
        c.v6 ? bench::udp6_packet("2001:db8:2::2", c.inner_dst, 64, kPayload) : inner4;
    Fixture f;
    f.name = c.name;
    f.path = c.label;
    f.prog = aigw::Prog::Endpoint;
    f.ingress = wan;
    f.ingress_key = o_.wan;
    f.in = bench::srv6_frame(to_wan, remote, me, {me, "fc00:c::e"}, 0, inner);
    f.verdict = XDP_REDIRECT;
    f.out_len = 14 + inner.size();
    f.egress = cust;
    // One router hop: the inner TTL / hop limit 64 leaves as 63.
    Bytes head(inner.begin(), inner.begin() + (c.v6 ? 7 : 8));
    head.push_back(63);
    f.expect_bytes = {{0, bmac(cust_peer_mac)},
                      {12, c.v6 ? Bytes{0x86, 0xdd} : Bytes{0x08, 0x00}},
                      {14, head},
                      c.v6 ? std::pair<size_t, Bytes>{14 + 24, b6(c.inner_dst)}
                           : std::pair<size_t, Bytes>{14 + 16, Bytes(inner.begin() + 16, inner.begin() + 20)}};
    f.ctrs = {RX, DECAP, FWD};
    v.push_back(f);
  }
  {
    Fixture f;
    f.name = "ep_unknown";
    f.path = "endpoint: unknown SID -> kernel";
    f.prog = aigw::Prog::Endpoint;
    f.ingress = wan;
    f.ingress_key = o_.wan;
    f.in = bench::srv6_frame(to_wan, remote, "2001:db8:ff::1", {"2001:db8:ff::1", "fc00:c::e"}, 0,
                             inner4);
    f.verdict = XDP_PASS;
    f.out_len = f.in.size();
    f.expect_bytes = {{0, f.in}};
    f.ctrs = {RX, PASS};
    v.push_back(f);
  }
  return v;
}

Snapshot Bench::snap(const Fixture& f) const {
  aigw::Stats st = dp_.read_stats();
  Snapshot s;
  auto slot = dp_.slot_of(f.ingress_key);
  if (!slot) throw Error("no counter slot for " + f.ingress_key);
  if (auto it = st.by_slot.find(*slot); it != st.by_slot.end()) s.slot = it->second;
  for (const auto& d : st.drops) s.drops += d.packets;
  // --new-flows fills aigw_flows on purpose: packets past it are counted
  // under flow_table_full (and still forwarded).
  for (size_t i = 0; i < st.events.size(); ++i)
    if (!(o_.new_flows && i == AIGW_EV_FLOW_TABLE_FULL)) s.events += st.events[i].packets;
  return s;
}

std::string Bench::check_ctrs(const Fixture& f, const Snapshot& a, const Snapshot& b,
                              uint64_t n) const {
  std::string err;
  for (Ctr k : f.ctrs) {
    uint64_t d = ctr_of(b.slot, k) - ctr_of(a.slot, k);
    if (d != n) err += fmt::format(" {}={} (want {})", ctr_name(k), d, n);
  }
  // The verdict counters not expected must not move.
  for (Ctr k : {FWD, PASS}) {
    if (std::find(f.ctrs.begin(), f.ctrs.end(), k) != f.ctrs.end()) continue;
    uint64_t d = ctr_of(b.slot, k) - ctr_of(a.slot, k);
    if (d) err += fmt::format(" {}={} (want 0)", ctr_name(k), d);
  }
  if (uint64_t d = b.slot.drop.packets - a.slot.drop.packets) err += fmt::format(" drop={}", d);
  if (uint64_t d = b.slot.tx.packets - a.slot.tx.packets) err += fmt::format(" tx={}", d);
  if (uint64_t d = b.drops - a.drops) err += fmt::format(" drop_reasons={}", d);
  if (uint64_t d = b.events - a.events) err += fmt::format(" events={}", d);
  return err.empty() ? "" : "counters:" + err;
}

std::string Bench::verify_single(const Fixture& f, int fd) {
  Bytes in = f.in, out(4096, 0);
  xdp_md ctx_in{}, ctx_out{};
  ctx_in.data_end = static_cast<uint32_t>(in.size());
  ctx_in.ingress_ifindex = static_cast<uint32_t>(f.ingress);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = in.data();
  opts.data_size_in = static_cast<uint32_t>(in.size());
  opts.data_out = out.data();
  opts.data_size_out = static_cast<uint32_t>(out.size());
  opts.ctx_in = &ctx_in;
  opts.ctx_size_in = sizeof(ctx_in);
  opts.ctx_out = &ctx_out;
  opts.ctx_size_out = sizeof(ctx_out);
  opts.repeat = 1;
  Snapshot a = snap(f);
  if (bpf_prog_test_run_opts(fd, &opts)) return std::string("test run: ") + std::strerror(errno);
  Snapshot b = snap(f);
  size_t total = std::min<size_t>(opts.data_size_out, out.size());
  size_t start = std::min<size_t>(ctx_out.data, total);
  const uint8_t* o = out.data() + start;
  size_t olen = total - start;
  std::string err;
  if (opts.retval != f.verdict)
    err += fmt::format(" verdict {} (want {})", verdict_name(opts.retval), verdict_name(f.verdict));
  if (olen != f.out_len) err += fmt::format(" out length {} (want {})", olen, f.out_len);
  for (const auto& [off, want] : f.expect_bytes) {
    if (off + want.size() > olen || std::memcmp(o + off, want.data(), want.size()) != 0)
      err += fmt::format(" bytes@{}: {} (want {})", off,
                         off < olen ? bench::hex(o + off, std::min(want.size(), olen - off)) : "-",
                         bench::hex(want.data(), want.size()));
  }
  if (!f.reference)
    if (auto c = check_ctrs(f, a, b, 1); !c.empty()) err += " " + c;
  if (!err.empty() && o_.verbose)
    fmt::print(stderr, "  {} output: {}\n", f.name, bench::hex(o, olen));
  return err;
}

std::string Bench::verify_baseline_single(const Fixture& f, int fd, uint32_t want) {
  Bytes in = f.in;
  xdp_md ctx_in{};
  ctx_in.data_end = static_cast<uint32_t>(in.size());
  ctx_in.ingress_ifindex = static_cast<uint32_t>(f.ingress);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = in.data();
  opts.data_size_in = static_cast<uint32_t>(in.size());
  opts.ctx_in = &ctx_in;
  opts.ctx_size_in = sizeof(ctx_in);
  opts.repeat = 1;
  if (bpf_prog_test_run_opts(fd, &opts)) return std::string("test run: ") + std::strerror(errno);
  if (opts.retval != want)
    return fmt::format("baseline verdict {} (want {})", verdict_name(opts.retval), verdict_name(want));
  return "";
}

void Bench::prepare_sink(const Fixture& f, bool is_aigw) {
  if (f.verdict == XDP_REDIRECT) {
    bx_.set_restore(o_.no_restore ? Bytes{} : f.in);
    bx_.set_expect_len(static_cast<uint32_t>(is_aigw ? f.out_len : f.in.size()));
    bx_.set_redirect(f.egress);
  } else {
    bx_.set_restore({});
    bx_.set_expect_len(0);
  }
  bx_.set_expect_dst(is_aigw && f.sink_dst ? &*f.sink_dst : nullptr);
}

// Frames redirected at the end of a run may still be in the egress veth's
// ring: wait (bounded) until the sink has seen n more.
std::optional<bench::SinkCounters> Bench::wait_sink(const bench::SinkCounters& before,
                                                    uint64_t n) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  bench::SinkCounters d;
  do {
    d = bx_.read_sink() - before;
    if (d.len_ok >= n) return d;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (std::chrono::steady_clock::now() < deadline);
  return d;
}

double Bench::live(const Fixture& f, int fd, bool is_aigw, std::string& err) {
  prepare_sink(f, is_aigw);
  Bytes in = f.in;
  xdp_md ctx_in{};
  ctx_in.data_end = static_cast<uint32_t>(in.size());
  ctx_in.ingress_ifindex = static_cast<uint32_t>(f.ingress);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = in.data();
  opts.data_size_in = static_cast<uint32_t>(in.size());
  opts.ctx_in = &ctx_in;
  opts.ctx_size_in = sizeof(ctx_in);
  opts.repeat = o_.repeat;
  opts.batch_size = o_.batch;
  opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
  bench::SinkCounters s0 = bx_.read_sink();
  const bool counted = is_aigw && !f.reference;
  Snapshot a;
  if (counted) a = snap(f);
  if (bpf_prog_test_run_opts(fd, &opts)) {
    err = std::string("live test run: ") + std::strerror(errno);
    return 0;
  }
  double ns = opts.duration;
  if (counted) {
    Snapshot b = snap(f);
    if (auto c = check_ctrs(f, a, b, o_.repeat); !c.empty()) err += c;
  }
  if (f.verdict == XDP_REDIRECT) {
    auto d = wait_sink(s0, o_.repeat);
    // Stray frames the namespace's kernel sends meanwhile (MLD...) count in
    // frames but not in len_ok.
    if (d->len_ok != o_.repeat || (!o_.no_restore && d->restored != o_.repeat) || d->restore_failed)
      err += fmt::format(" sink: frames={} expected length={} restored={} restore_failed={} (want {})",
                         d->frames, d->len_ok, d->restored, d->restore_failed, o_.repeat);
    if (is_aigw && f.sink_dst && d->srv6_dst_ok != o_.repeat)
      err += fmt::format(" sink: srv6 with expected destination={} (want {})", d->srv6_dst_ok,
                         o_.repeat);
  }
  return ns;
}

double Bench::live_drop(const Fixture& f, std::string& err) {
  Bytes in = f.in;
  xdp_md ctx_in{};
  ctx_in.data_end = static_cast<uint32_t>(in.size());
  ctx_in.ingress_ifindex = static_cast<uint32_t>(f.ingress);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = in.data();
  opts.data_size_in = static_cast<uint32_t>(in.size());
  opts.ctx_in = &ctx_in;
  opts.ctx_size_in = sizeof(ctx_in);
  opts.repeat = o_.repeat;
  opts.batch_size = o_.batch;
  opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
  if (bpf_prog_test_run_opts(bx_.prog_fd(bench::BenchProg::Drop), &opts)) {
    err = std::string("live test run: ") + std::strerror(errno);
    return 0;
  }
  return opts.duration;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ---------------------------------------------------------------- (c) --cls
// Classification and flow-counting variants of the he_encap4_1 path, each
// programmed into the same loaded datapath by apply() and measured in turn,
// rounds alternating the order. The frame (UDP 192.0.2.2:9 -> 198.51.100.1:9)
// matches only the LAST rule of every rule set (lowest precedence), so a
// first-match scan would be at its worst.
// Median of a[i] - b[i] (runs i taken back to back: slow drifts cancel).
double paired_delta(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d;
  for (size_t i = 0; i < std::min(a.size(), b.size()); i++) d.push_back(a[i] - b[i]);
  return median(d);
}

struct ClsVariant {
  std::string label;
  uint32_t rules = 0;
  bool flows = false;
  bool adversarial = false;  // every bitmap word holds candidates of two fields that never meet
};

aigw::Prefix pfx(const std::string& s) {
  auto r = aigw::Prefix::parse(s);
  if (auto* e = std::get_if<std::string>(&r)) throw Error("prefix " + s + ": " + *e);
  return std::get<aigw::Prefix>(r);
}

aigw::Config cls_variant_config(const aigw::Config& base, const ClsVariant& v, uint32_t seed) {
  aigw::Config c = base;
  c.flows.enabled = v.flows;
  c.tenants.clear();
  for (uint16_t t = 1; t <= 8; t++) c.tenants.push_back({fmt::format("t{}", t), t, 0, {}});
  c.classification.rules.clear();
  uint64_t x = 0x9e3779b97f4a7c15ULL ^ seed;  // splitmix64: reproducible across compilers
  auto rnd = [&x](uint32_t n) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<uint32_t>((z ^ (z >> 31)) % n);
  };
  static const char* classes[] = {"training", "inference", "data-ingest", "model-distribution",
                                  "storage"};
  for (uint32_t i = 0; i + 1 < v.rules; i++) {
    aigw::ClassRule r;
    r.name = fmt::format("r{}", i);
    r.priority = 100 + rnd(50);
    const bool v6 = rnd(4) == 0;
    if (v.adversarial) {
      // Even rules: the frame's source but a port range that misses it; odd
      // rules: the frame's port but a source that misses it.
      r.protocol = 17;
      if (i % 2 == 0) {
        r.src = {pfx("192.0.2.0/24")};
        uint16_t lo = static_cast<uint16_t>(1000 + rnd(30000));
        r.dport = aigw::PortRange{lo, static_cast<uint16_t>(lo + rnd(1000))};
      } else {
        r.src = {pfx(fmt::format("10.{}.{}.0/24", rnd(256), rnd(256)))};
        r.dport = aigw::PortRange{static_cast<uint16_t>(rnd(9)), static_cast<uint16_t>(9 + rnd(100))};
      }
    } else {
      const uint8_t len = static_cast<uint8_t>(16 + rnd(13));
      if (v6) {
        auto a = aigw::Ip6::parse(fmt::format("fc00:{:x}:{:x}::", 0x1000 + rnd(0x1000), rnd(0x10000)));
        r.src = {aigw::Prefix::masked(*a, static_cast<uint8_t>(32 + len))};
      } else {
        auto a = aigw::Ip4::parse(fmt::format("10.{}.{}.{}", rnd(256), rnd(256), rnd(256)));
        r.src = {aigw::Prefix::masked(*a, len)};
      }
      if (rnd(2)) {
        auto a = aigw::Ip4::parse(fmt::format("203.0.113.{}", rnd(256)));
        if (!v6) r.dst = {aigw::Prefix::masked(*a, static_cast<uint8_t>(24 + rnd(9)))};
      }
      r.protocol = rnd(2) ? 6 : 17;
      if (rnd(2)) {
        uint16_t lo = static_cast<uint16_t>(1024 + rnd(60000));
        r.dport = aigw::PortRange{lo, static_cast<uint16_t>(lo + rnd(200))};
      }
      if (rnd(4) == 0) r.dscp = static_cast<uint8_t>(rnd(64));
    }
    r.tenant = fmt::format("t{}", 1 + rnd(8));
    r.service_class = classes[rnd(5)];
    c.classification.rules.push_back(std::move(r));
  }
  if (v.rules) {
    aigw::ClassRule last;
    last.name = "bench-match";
    last.priority = 1000;  // after every other rule
    last.src = {pfx("192.0.2.0/24")};
    last.dst = {pfx("198.51.100.1/32")};
    last.protocol = 17;
    last.tenant = "t1";
    last.service_class = "training";
    c.classification.rules.push_back(std::move(last));
  }
  return c;
}

// Each configuration of cfgs applied to the loaded datapath in turn and
// f measured under it (live frames, verified first), runs rounds with the
// order reversed every other round; with base_fd >= 0 the trivial program
// of the same verdict is measured in each round too.
struct VariantRuns {
  std::vector<std::vector<double>> ns;
  std::vector<double> apply_ms;
  std::vector<std::string> err;
  std::vector<double> base_ns;
};

VariantRuns run_variants(Bench& b, aigw::Datapath& dp, aigw::NetlinkLinks& links, const Fixture& f,
                         const std::vector<aigw::Config>& cfgs, int runs, int base_fd) {
  const size_t n = cfgs.size();
  VariantRuns v{std::vector<std::vector<double>>(n),
                std::vector<double>(n, 0),
                std::vector<std::string>(n),
                {}};
  for (int r = 0; r < runs; r++) {
    if (base_fd >= 0) {
      std::string e;
      double x = b.live(f, base_fd, false, e);
      if (!e.empty()) throw Error("trivial program: " + e);
      v.base_ns.push_back(x);
    }
    for (size_t k = 0; k < n; k++) {
      size_t i = r % 2 ? n - 1 - k : k;
      if (!v.err[i].empty()) continue;
      auto t0 = std::chrono::steady_clock::now();
      try {
        dp.apply(cfgs[i], links);
      } catch (const std::exception& e) {
        v.err[i] = std::string("apply: ") + e.what();
        continue;
      }
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      v.apply_ms[i] = std::max(v.apply_ms[i], ms);
      std::string e = b.verify_single(f, b.measured_fd(f));
      if (e.empty()) {
        double x = b.live(f, b.measured_fd(f), true, e);
        if (e.empty()) v.ns[i].push_back(x);
      }
      if (!e.empty()) v.err[i] = e;
    }
  }
  return v;
}

// (c) on the End.DT6 path: what the inner packet's flow counting and
// classification add to the decapsulation, against the trivial redirect of
// the same rounds (issue 9's 2.2x target). Rows are appended to tsv (ratio
// column: to the first variant). The configuration in force at the start
// is applied again at the end. Returns false when a variant failed.
bool endpoint_variants(Bench& b, aigw::Datapath& dp, bench::BenchXdp& bx, aigw::NetlinkLinks& links,
                       const Fixture& f, const aigw::Config& cfg, const Options& o) {
  const std::vector<ClsVariant> vars = {
      {"End.DT6: no rules, flows off", 0, false, false},
      {"End.DT6: flow counting (the default)", 0, true, false},
      {"End.DT6: 1,000 rules + flow counting", 1000, true, false},
  };
  std::vector<aigw::Config> cfgs;
  for (const auto& v : vars) cfgs.push_back(cls_variant_config(cfg, v, o.seed));
  bx.set_redirect(f.egress);
  VariantRuns vr =
      run_variants(b, dp, links, f, cfgs, o.runs, bx.prog_fd(bench::BenchProg::Redirect));
  dp.apply(cfg, links);
  const double base = median(vr.base_ns), first = median(vr.ns[0]);
  fmt::print(
      "\n(c) flow counting and classification on the ep_dt6 path (End.DT6, IPv6 inside): "
      "ratios to the trivial redirect ({:.0f} ns) and to flows off, same rounds\n",
      base);
  fmt::print("{:<44} {:>8} {:>5} {:>10} {:>8}\n", "variant", "ns", "+-%", "x redirect", "x first");
  std::FILE* tsv = o.tsv.empty() ? nullptr : std::fopen(o.tsv.c_str(), "a");
  bool ok = true;
  for (size_t i = 0; i < vars.size(); i++) {
    if (!vr.err[i].empty()) {
      fmt::print("{:<44} FAILED: {}\n", vars[i].label, vr.err[i]);
      if (tsv) std::fprintf(tsv, "%s\t\t\t\tFAILED\n", vars[i].label.c_str());
      ok = false;
      continue;
    }
    double a = median(vr.ns[i]);
    auto [mn, mx] = std::minmax_element(vr.ns[i].begin(), vr.ns[i].end());
    double spread = a > 0 ? 100.0 * (*mx - *mn) / 2 / a : 0;
    fmt::print("{:<44} {:>8.0f} {:>5.1f} {:>10.2f} {:>8.2f}\n", vars[i].label, a, spread,
               base > 0 ? a / base : 0, first > 0 ? a / first : 0);
    if (tsv)
      std::fprintf(tsv, "%s\t%.0f\t%.2f\t%.0f\tok\n", vars[i].label.c_str(), a,
                   first > 0 ? a / first : 0, vr.apply_ms[i]);
  }
  if (tsv) std::fclose(tsv);
  return ok;
}

int usage() {
  std::fprintf(stderr,
               "usage: aigw-bench-prog --config FILE --pin DIR [--repeat N] [--runs K]\n"
               "       [--batch B] [--cpu C] [--only a,b] [--tsv FILE] [--verbose] [--no-restore]\n"
               "       [--hh WINDOW_MS [--hh-ab]] [--new-flows]\n"
               "       [--cust IF --cust-peer IF --wan IF --wan-peer IF] [--cls [--seed N]]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw Error("missing value after " + a);
      return argv[++i];
    };
    try {
      if (a == "--config") o.config = next();
      else if (a == "--pin") o.pin = next();
      else if (a == "--repeat") o.repeat = static_cast<uint32_t>(std::stoul(next()));
      else if (a == "--runs") o.runs = std::stoi(next());
      else if (a == "--batch") o.batch = static_cast<uint32_t>(std::stoul(next()));
      else if (a == "--cpu") o.cpu = std::stoi(next());
      else if (a == "--only") o.only = next();
      else if (a == "--tsv") o.tsv = next();
      else if (a == "--cust") o.cust = next();
      else if (a == "--cust-peer") o.cust_peer = next();
      else if (a == "--wan") o.wan = next();
      else if (a == "--wan-peer") o.wan_peer = next();
      else if (a == "--verbose" || a == "-v") o.verbose = true;
      else if (a == "--no-restore") o.no_restore = true;
      else if (a == "--cls") o.cls = true;
      else if (a == "--seed") o.seed = static_cast<uint32_t>(std::stoul(next()));
      else if (a == "--hh") o.hh_window_ms = static_cast<uint32_t>(std::stoul(next()));
      else if (a == "--new-flows") o.new_flows = true;
      else if (a == "--hh-ab")
        o.hh_ab = true;
      else return usage();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "aigw-bench-prog: %s\n", e.what());
      return usage();
    }
  }
  if (o.config.empty() || o.pin.empty() || o.runs < 1 || o.repeat < 1) return usage();
  if (o.hh_ab && (!o.hh_window_ms || o.cls)) return usage();
  std::set<std::string> only;
  {
    std::stringstream ss(o.only);
    for (std::string t; std::getline(ss, t, ',');)
      if (!t.empty()) only.insert(t);
  }

  aigw::Config cfg;
  {
    aigw::ParseResult r = aigw::load_config_file(o.config);
    if (auto* errs = std::get_if<std::vector<aigw::ConfigError>>(&r)) {
      std::fprintf(stderr, "%s\n", aigw::format_errors(*errs).c_str());
      return 1;
    }
    cfg = std::get<aigw::Config>(std::move(r));
  }

  int rc = 0;
  aigw::Logger log(aigw::LogLevel::Warn);
  try {
    bench::pin_cpu(o.cpu);
    std::unique_ptr<aigw::Datapath> dp;
    std::function<void(bool)> set_hh;  // the sketch on or off
    try {
      dp = std::make_unique<aigw::Datapath>(cfg.datapath, o.pin, &log);
      aigw::NetlinkLinks links;
      dp->apply(cfg, links);
      // The elephant sketch as aigwd runs it (its module, not apply, sets
      // it): names at 1 MB a window, so a hot flow is named once.
      set_hh = [&dp, &o](bool on) {
        auto mult = on ? aigw::telemetry::hh_mult(std::chrono::milliseconds(o.hh_window_ms)) : 0;
        aigw::dp::ElephantMaps(dp->loader()).set_cfg(mult, 0, 1u << 20);
      };
      if (o.hh_window_ms) set_hh(true);
    } catch (...) {
      dp.reset();
      aigw::Datapath::unpin_all(o.pin);
      throw;
    }
    struct Unpin {
      std::unique_ptr<aigw::Datapath>& dp;
      std::string pin;
      ~Unpin() {
        dp.reset();
        aigw::Datapath::unpin_all(pin);
      }
    } unpin{dp, o.pin};

    bench::BenchXdp bx;
    bx.attach_sink(bench::ifindex_of(o.cust_peer));
    bx.attach_sink(bench::ifindex_of(o.wan_peer));

    Bench b(o, cfg, *dp, bx);
    std::vector<Fixture> fx = b.fixtures();
    if (!only.empty())
      fx.erase(std::remove_if(fx.begin(), fx.end(), [&](const Fixture& f) { return !only.count(f.name); }),
               fx.end());

    if (o.cls)
      fx.erase(std::remove_if(
                   fx.begin(), fx.end(),
                   [](const Fixture& f) { return f.name != "he_encap4_1" && f.name != "ep_dt6"; }),
               fx.end());
    fmt::print("aigw-bench-prog: {} live frames per run (batch {}), {} runs per program, median; "
               "CPU {}\n", o.repeat, o.batch, o.runs, o.cpu < 0 ? std::string("any") : std::to_string(o.cpu));
    // 1. Every fixture takes its path (ordinary single run, counters).
    std::map<std::string, std::string> failed;
    for (const auto& f : fx) {
      if (f.verdict == XDP_REDIRECT) bx.set_redirect(f.egress);  // bench_tx: the egress port
      std::string e = b.verify_single(f, b.measured_fd(f));
      int bfd = bx.prog_fd(f.verdict == XDP_REDIRECT ? bench::BenchProg::Redirect : bench::BenchProg::Pass);
      if (e.empty()) e = b.verify_baseline_single(f, bfd, f.verdict);
      fmt::print("verify {:<15} {:<38} {:<8} {:>3} -> {:>3} bytes  {}\n", f.name, f.path,
                 verdict_name(f.verdict), f.in.size(), f.out_len, e.empty() ? "ok" : "FAILED:" + e);
      if (!e.empty()) failed[f.name] = e;
    }
    std::fflush(stdout);


    if (o.cls) {
      auto he = std::find_if(fx.begin(), fx.end(),
                             [](const Fixture& x) { return x.name == "he_encap4_1"; });
      if (he == fx.end() || failed.count("he_encap4_1"))
        throw Error("--cls: the he_encap4_1 path does not verify (see above)");
      const Fixture& f = *he;
      std::vector<ClsVariant> vars = {
          {"spine path: no rules, flows off", 0, false, false},
          {"flow counting only (no rules)", 0, true, false},
          {"classification, 10 rules", 10, false, false},
          {"classification, 1,000 rules", 1000, false, false},
          {"classification, 10,000 rules", 10000, false, false},
          {"classification, 10,000 rules adversarial", 10000, false, true},
          {"10 rules + flow counting", 10, true, false},
          {"1,000 rules + flow counting", 1000, true, false},
          {"10,000 rules + flow counting", 10000, true, false},
      };
      std::vector<aigw::Config> cfgs;
      for (const auto& v : vars) cfgs.push_back(cls_variant_config(cfg, v, o.seed));
      aigw::NetlinkLinks links;
      VariantRuns vr = run_variants(b, *dp, links, f, cfgs, o.runs, -1);
      auto& [ns, apply_ms, err, base_ns] = vr;
      // The decision the datapath took for the frame, from the flow entry.
      fmt::print("\n(c) classification and flow counting on the he_encap4_1 path "
                 "(H.Encaps IPv4, 1 SID), ratio to the spine path in the same run\n");
      fmt::print("{:<44} {:>8} {:>5} {:>7} {:>10}\n", "variant", "ns", "+-%", "ratio", "apply ms");
      std::FILE* tsv = o.tsv.empty() ? nullptr : std::fopen(o.tsv.c_str(), "w");
      if (tsv) std::fprintf(tsv, "variant\tns\tratio\tapply_ms\tstatus\n");
      double spine = median(ns[0]);
      for (size_t i = 0; i < vars.size(); i++) {
        if (!err[i].empty()) {
          fmt::print("{:<44} FAILED: {}\n", vars[i].label, err[i]);
          if (tsv) std::fprintf(tsv, "%s\t\t\t\tFAILED\n", vars[i].label.c_str());
          rc = 1;
          continue;
        }
        double a = median(ns[i]);
        auto [mn, mx] = std::minmax_element(ns[i].begin(), ns[i].end());
        double spread = a > 0 ? 100.0 * (*mx - *mn) / 2 / a : 0;
        fmt::print("{:<44} {:>8.0f} {:>5.1f} {:>7.2f} {:>10.0f}\n", vars[i].label, a, spread,
                   spine > 0 ? a / spine : 0, apply_ms[i]);
        if (tsv)
          std::fprintf(tsv, "%s\t%.0f\t%.2f\t%.0f\tok\n", vars[i].label.c_str(), a,
                       spine > 0 ? a / spine : 0, apply_ms[i]);
      }
      if (tsv) std::fclose(tsv);
      // With an even number of runs the last round ran backwards: put the
      // last variant in force again, run the frame once, and its flow entry
      // must name the last rule.
      bool seen = false;
      dp->apply(cfgs.back(), links);
      if (std::string e = b.verify_single(f, b.measured_fd(f)); !e.empty())
        fmt::print("last variant: {}\n", e);
      for (const auto& fe : dp->read_flows())
        if (fe.flow.rule_id == vars.back().rules - 1 && fe.flow.tenant == 1) seen = true;
      fmt::print("flow entry of the bench frame names rule bench-match, tenant t1: {}\n",
                 seen ? "yes" : "NO");
      if (!seen) rc = 1;
      if (auto ep = std::find_if(fx.begin(), fx.end(),
                                 [](const Fixture& x) { return x.name == "ep_dt6"; });
          ep != fx.end() && !failed.count("ep_dt6") &&
          !endpoint_variants(b, *dp, bx, links, *ep, cfg, o))
        rc = 1;
      return rc;
    }

    // 2. Harness floor: trivial XDP_DROP.
    std::vector<double> floor_ns;
    if (!fx.empty()) {
      for (int r = 0; r < o.runs; r++) {
        std::string e;
        double ns = b.live_drop(fx.front(), e);
        if (!e.empty()) throw Error("trivial drop: " + e);
        floor_ns.push_back(ns);
      }
    }

    // 3. Live runs, aigw and baseline alternating (order flipped every run).
    struct Row {
      const Fixture* f;
      std::vector<double> aigw, base;
      std::string err;
    };
    std::vector<Row> rows;
    for (const auto& f : fx) {
      Row row{&f, {}, {}, failed.count(f.name) ? failed[f.name] : ""};
      if (row.err.empty()) {
        int bfd = bx.prog_fd(f.verdict == XDP_REDIRECT ? bench::BenchProg::Redirect : bench::BenchProg::Pass);
        for (int r = 0; r < o.runs && row.err.empty(); r++) {
          for (int k = 0; k < 2; k++) {
            bool is_aigw = (k == 0) == (r % 2 == 0);
            std::string e;
            if (o.hh_ab) set_hh(is_aigw);
            double ns = o.hh_ab ? b.live(f, b.measured_fd(f), true, e)
                                : b.live(f, is_aigw ? b.measured_fd(f) : bfd, is_aigw, e);
            if (!e.empty()) {
              row.err = fmt::format("{} live run {}: {}", is_aigw ? "aigw" : "baseline", r + 1, e);
              break;
            }
            (is_aigw ? row.aigw : row.base).push_back(ns);
          }
        }
        if (o.verbose) {
          std::string s;
          for (double x : row.aigw) s += fmt::format(" {:.0f}", x);
          s += " |";
          for (double x : row.base) s += fmt::format(" {:.0f}", x);
          fmt::print(stderr, "  {} samples (aigw | baseline):{}\n", f.name, s);
        }
      }
      rows.push_back(std::move(row));
    }

    // 4. Table.
    double floor = median(floor_ns);
    fmt::print("\n{:<38} {:<8} {:>9}  {:>8} {:>5}  {:<16} {:>8}  {:>6}  {:>8}\n", "path", "verdict",
               "bytes", "aigw ns", "+-%", "baseline", "base ns", "ratio", "aigw-base");
    std::FILE* tsv = o.tsv.empty() ? nullptr : std::fopen(o.tsv.c_str(), "w");
    if (tsv)
      std::fprintf(tsv, "name\tpath\tverdict\tin\tout\taigw_ns\tbase_ns\tratio\tdelta_ns\tstatus\n");
    for (const auto& r : rows) {
      const Fixture& f = *r.f;
      const char* bname = o.hh_ab                     ? "sketch off"
                          : f.verdict == XDP_REDIRECT ? "trivial redirect"
                                                      : "trivial XDP_PASS";
      std::string bytes = fmt::format("{}>{}", f.in.size(), f.out_len);
      if (!r.err.empty()) {
        fmt::print("{:<38} {:<8} {:>9}  FAILED: {}\n", f.path, verdict_name(f.verdict), bytes, r.err);
        if (tsv)
          std::fprintf(tsv, "%s\t%s\t%s\t%zu\t%zu\t\t\t\t\tFAILED\n", f.name.c_str(), f.path.c_str(),
                       verdict_name(f.verdict), f.in.size(), f.out_len);
        rc = 1;
        continue;
      }
      double a = median(r.aigw), base = median(r.base);
      auto [mn, mx] = std::minmax_element(r.aigw.begin(), r.aigw.end());
      double spread = a > 0 ? 100.0 * (*mx - *mn) / 2 / a : 0;
      fmt::print("{:<38} {:<8} {:>9}  {:>8.0f} {:>5.1f}  {:<16} {:>8.0f}  {:>6.2f}  {:>+8.0f}\n", f.path,
                 verdict_name(f.verdict), bytes, a, spread, bname, base, base > 0 ? a / base : 0, a - base);
      if (tsv)
        std::fprintf(tsv, "%s\t%s\t%s\t%zu\t%zu\t%.0f\t%.0f\t%.2f\t%.0f\tok\n", f.name.c_str(),
                     f.path.c_str(), verdict_name(f.verdict), f.in.size(), f.out_len, a, base,
                     base > 0 ? a / base : 0, a - base);
    }
    if (o.hh_ab)
      for (const auto& r : rows)
        if (r.err.empty())
          fmt::print("{:<38} sketch on - off, median of {} run pairs: {:+.1f} ns\n", r.f->path,
                     r.aigw.size(), paired_delta(r.aigw, r.base));
    fmt::print("{:<38} {:<8} {:>9}  {:>8.0f}\n", "harness floor: trivial XDP_DROP", "DROP",
               fmt::format("{}", fx.empty() ? 0 : fx.front().in.size()), floor);
    if (tsv) {
      std::fprintf(tsv, "floor_drop\ttrivial XDP_DROP\tDROP\t\t\t%.0f\t\t\t\tok\n", floor);
      std::fclose(tsv);
    }
    fmt::print("(+-%: half the min..max range of the aigw samples, in % of the median; "
               "ns/packet from the kernel's timing of each run)\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aigw-bench-prog: %s\n", e.what());
    return 1;
  }
  return rc;
}
