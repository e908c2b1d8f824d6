// aigw-bench-ops: the cost of one operation of the datapath's per-packet
// work (a map lookup of each kind the endpoint does, the clock helpers,
// bpf_fib_lookup, bpf_redirect_map), in ns, on this machine.
//
//   aigw-bench-ops --port IFNAME --fib-dst IPV6 [--repeat 200000] [--runs 5]
//                  [--cpu N]
//
// Each program of op_cost.bpf.c repeats its operation 16 times on a key that
// hits; BPF_PROG_TEST_RUN (no live frames: the programs drop) times --repeat
// runs; ns/op = (program - op_base) / 16, median of --runs, program and
// base measured alternately. The maps are filled the way a deployment fills
// the datapath's: SIDs (/128 and /64 locators) in the LPM trie, a thousand
// flows in the next-hop caches. Then the endpoint's own steps through its
// helpers (ep_cost.bpf.c: next-hop cache hit, interface and SID memos, rx
// counter) on the datapath's maps. Last, the heavy-hitter sketch
// (hh_cost.bpf.c): aigw_hh_add for a hot flow and for a new flow every call.
// Run it as root in a namespace where IFNAME
// has a route and a resolved neighbour for --fib-dst (tests/bench/run.sh
// does); it attaches nothing.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "aigw/abi.h"
#include "bench_abi.h"
#include "bench_common.hpp"
#include "datapath/loader.hpp"
#include "ep_cost.skel.h"
#include "hh_cost.skel.h"
#include "op_cost.skel.h"

namespace {

constexpr int kOps = 16;  // OPS in op_cost.bpf.c
constexpr int kFlows = 1000;
constexpr int kLocators = 16;

struct Options {
  std::string port, fib_dst;
  uint32_t repeat = 200000;
  int runs = 5;
  int cpu = -1;
};

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

void check(int rc, const std::string& what) {
  if (rc) fail(fmt::format("{}: {}", what, std::strerror(rc < 0 ? -rc : errno)));
}

struct Skel {
  op_cost* s = nullptr;
  ~Skel() { op_cost__destroy(s); }
};

struct HhSkel {
  hh_cost* s = nullptr;
  ~HhSkel() { hh_cost__destroy(s); }
};

struct EpSkel {
  ep_cost* s = nullptr;
  ~EpSkel() { ep_cost__destroy(s); }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// One timed run of prog: the kernel's average ns per run.
double timed(int fd, uint32_t repeat) {
  uint8_t frame[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
              .repeat = static_cast<int>(repeat));
  check(bpf_prog_test_run_opts(fd, &o), "BPF_PROG_TEST_RUN");
  if (o.retval != XDP_DROP) fail(fmt::format("verdict {} (a lookup missed)", o.retval));
  return o.duration;
}

// The SID table: /128 SIDs and /64 locators, the first SID = cfg.sid.
void fill_sids(const op_cost& s) {
  int fd = bpf_map__fd(s.maps.op_lpm);
  for (int i = 0; i < kLocators; i++) {
    aigw_sid_key k{};
    aigw_sid_entry v{};
    std::memcpy(k.addr, s.bss->op_cfg.sid, sizeof(k.addr));
    k.addr[15] = static_cast<uint8_t>(s.bss->op_cfg.sid[15] + i);
    k.prefixlen = 128;
    check(bpf_map_update_elem(fd, &k, &v, BPF_ANY), "op_lpm /128");
    k.addr[7] = static_cast<uint8_t>(i + 1);
    k.prefixlen = 64;
    check(bpf_map_update_elem(fd, &k, &v, BPF_ANY), "op_lpm /64");
  }
}

// The next-hop caches: kFlows flows, the first one the programs' key.
void fill_flows(const op_cost& s, int ncpu) {
  std::vector<aigw_nh_cache> v(ncpu);
  for (int fd : {bpf_map__fd(s.maps.op_lru), bpf_map__fd(s.maps.op_pcpu_hash)}) {
    for (int i = 0; i < kFlows; i++) {
      aigw_ep_nh_key k{};
      std::memcpy(k.dst, s.bss->op_cfg.sid, sizeof(k.dst));
      k.family = AF_INET6;
      k.src[14] = static_cast<uint8_t>(i >> 8);
      k.src[15] = static_cast<uint8_t>(i);
      check(bpf_map_update_elem(fd, &k, v.data(), BPF_ANY), "next-hop cache");
    }
  }
}

void fill(op_cost& s) {
  uint32_t zero = 0, slot = 1;
  int ncpu = libbpf_num_possible_cpus();
  aigw_globals g{};
  std::vector<aigw_if_stats> st(ncpu);
  check(bpf_map_update_elem(bpf_map__fd(s.maps.op_arr), &zero, &g, BPF_ANY), "op_arr");
  check(bpf_map_update_elem(bpf_map__fd(s.maps.op_pcpu_arr), &slot, st.data(), BPF_ANY),
        "op_pcpu_arr");
  aigw_iface_key ik{};
  ik.ifindex = s.bss->op_cfg.ifindex;
  aigw_iface_cfg ic{};
  check(bpf_map_update_elem(bpf_map__fd(s.maps.op_hash8_map), &ik, &ic, BPF_ANY), "op_hash8_map");
  uint32_t port = s.bss->op_cfg.ifindex;
  check(bpf_map_update_elem(bpf_map__fd(s.maps.op_tx), &port, &port, BPF_ANY), "op_tx");
  fill_sids(s);
  fill_flows(s, ncpu);
}

struct Row {
  const char* label;
  bpf_program* prog;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) fail(a + " needs a value");
      return argv[++i];
    };
    if (a == "--port") o.port = val();
    else if (a == "--fib-dst") o.fib_dst = val();
    else if (a == "--repeat") o.repeat = std::stoul(val());
    else if (a == "--runs") o.runs = std::stoi(val());
    else if (a == "--cpu") o.cpu = std::stoi(val());
    else fail("unknown argument " + a);
  }
  if (o.port.empty() || o.fib_dst.empty()) fail("--port and --fib-dst are required");
  return o;
}

// (program - base) / kOps, median of o.runs, program and base alternately.
void print_row(const Row& r, int base, const Options& o) {
  std::vector<double> per_op;
  for (int i = 0; i < o.runs; i++) {
    double b = timed(base, o.repeat);
    double x = timed(bpf_program__fd(r.prog), o.repeat);
    per_op.push_back((x - b) / kOps);
  }
  auto [mn, mx] = std::minmax_element(per_op.begin(), per_op.end());
  fmt::print("{:<46} {:>8.1f} {:>8.1f}\n", r.label, median(per_op), (*mx - *mn) / 2);
}

// The heavy-hitter sketch (hh_cost.bpf.c): the datapath's maps, unpinned,
// 40 ms windows and the key threshold of a 50 Mbit/s leave threshold.
void run_hh(const Options& o) {
  HhSkel k;
  k.s = hh_cost__open();
  if (!k.s) fail("hh_cost: open failed");
  bpf_map* m;
  bpf_object__for_each_map(m, k.s->obj) check(bpf_map__set_pin_path(m, nullptr), "unpin");
  k.s->bss->hh_bench_cfg.mult = (uint64_t{1} << 42) / 40'000'000;
  k.s->bss->hh_bench_cfg.key_bytes = 50'000'000 / 8 / 25;
  check(hh_cost__load(k.s), "hh_cost: load");
  int base = bpf_program__fd(k.s->progs.hh_base);
  print_row({"heavy-hitter sketch, a hot flow", k.s->progs.hh_hot}, base, o);
  print_row({"heavy-hitter sketch, a new flow every packet", k.s->progs.hh_new}, base, o);
}

// The endpoint's steps (ep_cost.bpf.c) on the datapath's maps, unpinned:
// the port (a WAN port, untagged), the SID (exact /128), the globals with a
// 1 s next-hop cache, as aigwd writes them.
void fill_ep(ep_cost& s) {
  uint32_t zero = 0;
  aigw_globals g{};
  g.nh_cache_ms = 1000;
  g.gen = 1;
  check(bpf_map_update_elem(bpf_map__fd(s.maps.aigw_globals), &zero, &g, BPF_ANY), "globals");
  aigw_iface_key ik{};
  ik.ifindex = s.bss->ep_cfg.ifindex;
  aigw_iface_cfg ic{};
  ic.slot = 1;
  ic.role = AIGW_ROLE_WAN;
  check(bpf_map_update_elem(bpf_map__fd(s.maps.aigw_ifaces), &ik, &ic, BPF_ANY), "ifaces");
  aigw_sid_entry e{};
  e.behavior = AIGW_BEH_END;
  check(bpf_map_update_elem(bpf_map__fd(s.maps.aigw_sid_exact), s.bss->ep_cfg.sid, &e, BPF_ANY),
        "sid_exact");
}

void run_ep(const Options& o, const bench_op_cfg& cfg) {
  EpSkel k;
  std::string kconfig = aigw::fallback_kconfig();
  LIBBPF_OPTS(bpf_object_open_opts, oo, .kconfig = kconfig.empty() ? nullptr : kconfig.c_str());
  k.s = ep_cost__open_opts(&oo);
  if (!k.s) fail("ep_cost: open failed");
  bpf_map* m;
  bpf_object__for_each_map(m, k.s->obj) check(bpf_map__set_pin_path(m, nullptr), "unpin");
  k.s->bss->ep_cfg = cfg;
  check(ep_cost__load(k.s), "ep_cost: load");
  fill_ep(*k.s);
  auto& p = k.s->progs;
  int empty = bpf_program__fd(p.ep_empty);
  print_row({"endpoint: next-hop cache hit (aigw_fib_cached)", p.ep_nh_hit},
            bpf_program__fd(p.ep_base), o);
  print_row({"endpoint: interface memo hit (aigw_iface_get)", p.ep_if_memo}, empty, o);
  print_row({"endpoint: SID memo hit (aigw_sid_get)", p.ep_sid_memo}, empty, o);
  print_row({"endpoint: rx counter (aigw_stats_rx)", p.ep_stats_rx}, empty, o);
  if (k.s->bss->ep_misses) fail(fmt::format("ep_cost: {} steps missed", k.s->bss->ep_misses));
}

void run(const Options& o) {
  bench::pin_cpu(o.cpu);
  Skel k;
  k.s = op_cost__open();
  if (!k.s) fail("op_cost: open failed");
  auto& cfg = k.s->bss->op_cfg;
  cfg.ifindex = if_nametoindex(o.port.c_str());
  if (!cfg.ifindex) fail("no interface " + o.port);
  if (inet_pton(AF_INET6, o.fib_dst.c_str(), cfg.fib_dst) != 1) fail("bad --fib-dst " + o.fib_dst);
  inet_pton(AF_INET6, "fc00:b::1", cfg.sid);
  check(op_cost__load(k.s), "op_cost: load");
  fill(*k.s);

  auto& p = k.s->progs;
  std::vector<Row> rows = {
      {"ARRAY lookup (aigw_globals)", p.op_array},
      {"PERCPU_ARRAY lookup (aigw_if_stats)", p.op_pcpu_array},
      {"HASH 8-byte key (aigw_ifaces)", p.op_hash8},
      {"LPM_TRIE /128 key, 32 prefixes (aigw_sids)", p.op_lpm128},
      {"LRU_PERCPU_HASH 48-byte key (old aigw_ep_nh)", p.op_lru48},
      {"PERCPU_HASH 48-byte key (no LRU)", p.op_pcpu_hash48},
      {"bpf_ktime_get_ns()", p.op_ktime},
      {"bpf_ktime_get_coarse_ns()", p.op_ktime_coarse},
      {"bpf_jiffies64()", p.op_jiffies},
      {"bpf_xdp_adjust_head() -8 and +8", p.op_adjust_head},
      {"bpf_fib_lookup() IPv6, main table", p.op_fib6},
      {"bpf_redirect_map() DEVMAP_HASH (aigw_tx)", p.op_redirect},
  };
  int base = bpf_program__fd(p.op_base);
  fmt::print("aigw-bench-ops: {} runs x {} repeats, {} ops per program, median; CPU {}\n", o.runs,
             o.repeat, kOps, o.cpu < 0 ? std::string("any") : std::to_string(o.cpu));
  fmt::print("{:<46} {:>8} {:>8}\n", "operation", "ns/op", "+-ns");
  for (const auto& r : rows) print_row(r, base, o);
  run_ep(o, cfg);
  run_hh(o);
  std::vector<double> floor;
  for (int i = 0; i < o.runs; i++) floor.push_back(timed(base, o.repeat));
  fmt::print("{:<46} {:>8.1f}   (per run, not per op)\n", "op_base: a program that drops", median(floor));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    run(parse(argc, argv));
  } catch (const std::exception& e) {
    fmt::print(stderr, "aigw-bench-ops: {}\n", e.what());
    return 1;
  }
  return 0;
}
