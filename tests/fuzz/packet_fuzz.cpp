// aigw-packet-fuzz: mutation-based fuzzing of the two XDP programs, loaded
// by the agent's Datapath with a realistic configuration
// (tests/fuzz/packet_fuzz.yaml) in a throw-away network namespace, run
// through BPF_PROG_TEST_RUN one packet at a time (repeat 1).
//
//   aigw-packet-fuzz [--seed N] [--iterations N] [--time S] [--config FILE]
//                    [--topology FILE] [--batch N] [--reports N] [--quiet]
//
// Oracle (packet_oracle.hpp): every frame the datapath sends on (XDP_TX,
// XDP_REDIRECT, XDP_PASS of a changed frame) is internally consistent; a
// valid innermost L4 checksum stays valid; and after every batch the
// counters add up: every packet counted once in rx and once as its verdict,
// drops = the sum of the drop reasons. Each finding prints the seed, the
// iteration, the mutation, input and output hex, and a shrunk input that
// still shows it; the exit code is 1 when there was any.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <net/if.h>

#include <map>
#include <memory>
#include <set>
#include <stdexcept>

#include "common/log.hpp"
#include "config/parse.hpp"
#include "datapath/datapath.hpp"
#include "netlink/links.hpp"
#include "packet_corpus.hpp"
#include "packet_mutate.hpp"
#include "packet_oracle.hpp"
#include "sandbox.hpp"

namespace aigw::fuzz {
namespace {

constexpr size_t kMaxFrame = 3000;  // under the kernel's XDP test-run limit (a page)
constexpr size_t kOutMax = 65536;

struct Args {
  RunOptions run{.seed = 1, .iterations = 100000, .seconds = 0};
  std::string config = AIGW_FUZZ_DIR "/packet_fuzz.yaml";
  std::string topology = AIGW_FUZZ_DIR "/topology.ip";
  size_t batch = 256;
  size_t reports = 3;  // full reports per defect class
  bool quiet = false;
};

const char* verdict_name(uint32_t v) {
  static const char* kNames[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"};
  return v < std::size(kNames) ? kNames[v] : "XDP_UNKNOWN";
}

struct RunResult {
  uint32_t verdict = 0;
  Bytes out;
};

// The loaded datapath and one BPF_PROG_TEST_RUN per packet.
class Harness {
 public:
  explicit Harness(const std::string& config_path) {
    auto r = load_config_file(config_path);
    if (auto* errs = std::get_if<std::vector<ConfigError>>(&r))
      throw std::runtime_error("config: " + format_errors(*errs));
    cfg_ = std::get<Config>(std::move(r));
    dp_ = std::make_unique<Datapath>(cfg_.datapath, "/sys/fs/bpf/aigwt-fuzz", &log_);
    NetlinkLinks links;
    dp_->apply(cfg_, links);
  }
  ~Harness() {
    dp_.reset();
    Datapath::unpin_all("/sys/fs/bpf/aigwt-fuzz");
  }

  // nullopt when the kernel refuses the input (errno in `err`).
  std::optional<RunResult> run(Program p, uint32_t ifindex, const Bytes& in, int& err) {
    const int fd = dp_->prog_fd(p == Program::Headend ? Prog::Headend : Prog::Endpoint);
    xdp_md ctx_in{}, ctx_out{};
    ctx_in.data_end = static_cast<uint32_t>(in.size());
    ctx_in.ingress_ifindex = ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = in.data();
    opts.data_size_in = static_cast<uint32_t>(in.size());
    opts.data_out = out_.data();
    opts.data_size_out = static_cast<uint32_t>(out_.size());
    opts.ctx_in = &ctx_in;
    opts.ctx_size_in = sizeof ctx_in;
    opts.ctx_out = &ctx_out;
    opts.ctx_size_out = sizeof ctx_out;
    opts.repeat = 1;
    if (bpf_prog_test_run_opts(fd, &opts) != 0) {
      err = errno;
      return std::nullopt;
    }
    const size_t total = std::min<size_t>(opts.data_size_out, out_.size());
    const size_t start = std::min<size_t>(ctx_out.data, total);
    return RunResult{opts.retval, Bytes(out_.begin() + static_cast<long>(start),
                                        out_.begin() + static_cast<long>(total))};
  }

  Stats stats() const { return dp_->read_stats(); }
  void flush_flows() {
    std::vector<aigw_flow_key> keys;
    for (const auto& e : dp_->read_flows()) keys.push_back(e.key);
    dp_->delete_flows(keys);
  }

 private:
  Logger log_{LogLevel::Warn};
  Config cfg_;
  std::unique_ptr<Datapath> dp_;
  Bytes out_ = Bytes(kOutMax);
};

// Totals over every slot, the drop reasons and events (for deltas).
struct Totals {
  uint64_t rx = 0, rx_bytes = 0, fwd = 0, pass = 0, drop = 0, tx = 0;
  std::vector<uint64_t> drops, events;

  static Totals of(const Stats& s) {
    Totals t;
    for (const auto& [slot, c] : s.by_slot) {
      t.rx += c.rx.packets;
      t.rx_bytes += c.rx.bytes;
      t.fwd += c.fwd.packets;
      t.pass += c.pass.packets;
      t.drop += c.drop.packets;
      t.tx += c.tx.packets;
    }
    for (const auto& d : s.drops) t.drops.push_back(d.packets);
    for (const auto& e : s.events) t.events.push_back(e.packets);
    t.drops.resize(AIGW_DROP_MAX);
    t.events.resize(AIGW_EV_MAX);
    return t;
  }
};

struct Case {
  uint64_t iteration;
  const Seed* seed;
  std::string mutation;
  Bytes in;
  RunResult res;
};

// What a batch's packets should have added to the counters.
struct Expected {
  uint64_t packets = 0, bytes = 0;
  std::map<uint32_t, uint64_t> verdicts;
};

class PacketFuzzer {
 public:
  PacketFuzzer(const Args& a) : args_(a), rng_(a.run.seed), h_(a.config), mut_(kMaxFrame) {
    corpus_ = packet_corpus();
    for (const auto& s : corpus_)
      if (!ifindex_.count(s.iface)) ifindex_[s.iface] = if_nametoindex(s.iface.c_str());
  }

  int run() {
    Budget budget(args_.run);
    uint64_t it = 0;
    check_corpus();
    while (budget.more(it)) {
      run_batch(it, std::min<uint64_t>(args_.batch, args_.run.iterations ? args_.run.iterations - it
                                                                         : args_.batch));
      if (it / 100000 != (it + args_.batch) / 100000) h_.flush_flows();
      it += args_.batch;
    }
    return summary(budget.elapsed());
  }

 private:
  // The unmutated corpus must run and pass the oracle (else the oracle or
  // the corpus is wrong, or the datapath is).
  void check_corpus() {
    for (const auto& s : corpus_) run_case(0, s, "none", s.frame);
    shrink_pending();
  }

  void run_batch(uint64_t first, uint64_t n) {
    const Totals before = Totals::of(h_.stats());
    Expected exp;
    std::vector<Case> cases;
    for (uint64_t i = 0; i < n; i++) {
      const Seed& s = corpus_[rng_.below(corpus_.size())];
      Bytes in = s.frame;
      std::string m = mut_.mutate(in, corpus_[rng_.below(corpus_.size())].frame, rng_);
      if (auto c = run_case(first + i, s, m, in)) {
        exp.packets++;
        exp.bytes += in.size();
        exp.verdicts[c->res.verdict]++;
        cases.push_back(std::move(*c));
      }
    }
    check_counters(before, Totals::of(h_.stats()), exp, first, cases);
    shrink_pending();
  }

  std::optional<Case> run_case(uint64_t it, const Seed& s, std::string m, const Bytes& in) {
    int err = 0;
    auto r = h_.run(s.prog, ifindex_[s.iface], in, err);
    inputs_++;
    if (!r) {
      refused_++;
      if (in.size() >= 14 && in.size() <= kMaxFrame)
        report({"test_run.refused", fmt::format("kernel refused: {}", std::strerror(err))},
               Case{it, &s, m, in, {}});
      return std::nullopt;
    }
    Case c{it, &s, std::move(m), in, std::move(*r)};
    seen_verdicts_[fmt::format("{} {}", s.prog == Program::Headend ? "headend" : "endpoint",
                               verdict_name(c.res.verdict))]++;
    for (auto& f : judge(c)) report(f, c);
    return c;
  }

  // The headend put outer headers on this packet: the output's outer IPv6
  // source is a policy source of packet_fuzz.yaml and the input's was not.
  static bool encapsulated(const Case& c) {
    static const Bytes kSources[] = {{0xfc, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                                     {0xfc, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}};
    auto src_is_policy = [](const Bytes& f) {
      if (f.size() < 14 + 40 || f[12] != 0x86 || f[13] != 0xdd) return false;
      for (const auto& s : kSources)
        if (std::equal(s.begin(), s.end(), f.begin() + 14 + 8)) return true;
      return false;
    };
    return c.seed->prog == Program::Headend && src_is_policy(c.res.out) && !src_is_policy(c.in);
  }

  // The output's outer IPv6 source is the input's (End/End.X forwarding,
  // not a decapsulation).
  static bool same_source(const Case& c) {
    auto v6 = [](const Bytes& f) { return f.size() >= 14 + 40 && f[12] == 0x86 && f[13] == 0xdd; };
    return v6(c.in) && v6(c.res.out) &&
           std::equal(c.in.begin() + 22, c.in.begin() + 38, c.res.out.begin() + 22);
  }

  std::vector<Finding> judge(const Case& c) {
    const uint32_t v = c.res.verdict;
    const bool changed = c.res.out != c.in;
    if (v == XDP_DROP || v == XDP_ABORTED || (v == XDP_PASS && !changed)) return {};
    if (v > XDP_REDIRECT) return {{"verdict.unknown", fmt::format("retval {}", v)}};
    const bool encap = encapsulated(c);
    OracleScope scope{.inner_too = encap,
                      .icmp_too = v == XDP_TX,
                      .srh_too = encap || (c.seed->prog == Program::Endpoint && same_source(c))};
    auto found = check_frame(c.res.out, scope);
    if (v != XDP_TX && innermost_l4_ok(c.in) == true && innermost_l4_ok(c.res.out) == false)
      found.push_back({"l4.checksum", "valid innermost L4 checksum made invalid"});
    return found;
  }

  void check_counters(const Totals& a, const Totals& b, const Expected& e, uint64_t first,
                      const std::vector<Case>& cases) {
    uint64_t reasons = 0;
    for (unsigned r = 1; r < AIGW_DROP_MAX; r++) {
      const uint64_t d = b.drops[r] - a.drops[r];
      reasons += d;
      if (d) drops_hit_[aigw_drop_reason_name(r)] += d;
    }
    for (unsigned ev = 1; ev < AIGW_EV_MAX; ev++)
      if (b.events[ev] != a.events[ev])
        events_hit_[aigw_event_name(ev)] += b.events[ev] - a.events[ev];
    auto count = [&](uint32_t v) { return e.verdicts.count(v) ? e.verdicts.at(v) : 0; };
    std::vector<std::pair<const char*, std::string>> bad;
    auto expect = [&](const char* what, uint64_t got, uint64_t want) {
      if (got != want) bad.emplace_back(what, fmt::format("{} counted, {} expected", got, want));
    };
    expect("rx", b.rx - a.rx, e.packets);
    expect("rx_bytes", b.rx_bytes - a.rx_bytes, e.bytes);
    expect("fwd", b.fwd - a.fwd, count(XDP_REDIRECT));
    expect("pass", b.pass - a.pass, count(XDP_PASS));
    expect("tx", b.tx - a.tx, count(XDP_TX));
    expect("drop", b.drop - a.drop, count(XDP_DROP) + count(XDP_ABORTED));
    expect("drop reasons", reasons, b.drop - a.drop);
    expect("drop reason none", b.drops[0] - a.drops[0], 0);
    for (const auto& [what, detail] : bad) {
      findings_[fmt::format("counters.{}", what)]++;
      fmt::print("FINDING counters.{}: seed {} iterations {}..{}: {}\n", what, args_.run.seed,
                 first, first + cases.size(), detail);
    }
    if (!bad.empty()) locate_counter_culprits(cases);
  }

  // Replays a batch one packet at a time to name the packets whose
  // counters do not add up.
  void locate_counter_culprits(const std::vector<Case>& cases) {
    size_t shown = 0;
    for (const auto& c : cases) {
      const Totals a = Totals::of(h_.stats());
      int err = 0;
      auto r = h_.run(c.seed->prog, ifindex_[c.seed->iface], c.in, err);
      const Totals b = Totals::of(h_.stats());
      if (!r) continue;
      uint64_t reasons = 0;
      for (unsigned i = 1; i < AIGW_DROP_MAX; i++) reasons += b.drops[i] - a.drops[i];
      const uint64_t verdicts =
          (b.fwd - a.fwd) + (b.pass - a.pass) + (b.drop - a.drop) + (b.tx - a.tx);
      if (b.rx - a.rx == 1 && verdicts == 1 && reasons == b.drop - a.drop) continue;
      fmt::print(
          "  packet {} ({}, {}): verdict {} rx +{} verdict counters +{} drop +{} reasons +{}\n"
          "  in:  {}\n",
          c.iteration, c.seed->name, c.mutation, verdict_name(r->verdict), b.rx - a.rx, verdicts,
          b.drop - a.drop, reasons, to_hex(c.in));
      if (++shown == 3) break;
    }
  }

  void report(const Finding& f, const Case& c) {
    const size_t n = findings_[f.check]++;
    if (args_.quiet || n >= args_.reports) return;
    fmt::print(
        "FINDING {}: {}\n  seed {} iteration {} prog {} iface {} corpus '{}' mutation {}\n"
        "  verdict {}\n  in:  {}\n  out: {}\n",
        f.check, f.detail, args_.run.seed, c.iteration,
        c.seed->prog == Program::Headend ? "headend" : "endpoint", c.seed->iface, c.seed->name,
        c.mutation, verdict_name(c.res.verdict), to_hex(c.in), to_hex(c.res.out));
    if (n == 0 && f.check.rfind("test_run", 0) != 0) to_shrink_.emplace_back(c, f.check);
    std::fflush(stdout);
  }

  void shrink_pending() {
    for (const auto& [c, check] : to_shrink_) {
      Bytes small = shrink(c, check);
      fmt::print("SHRUNK {} ({} -> {} bytes, prog {} iface {}): {}\n", check, c.in.size(),
                 small.size(), c.seed->prog == Program::Headend ? "headend" : "endpoint",
                 c.seed->iface, to_hex(small));
    }
    to_shrink_.clear();
  }

  bool still_fails(const Case& c, const Bytes& in, const std::string& check) {
    int err = 0;
    auto r = h_.run(c.seed->prog, ifindex_[c.seed->iface], in, err);
    if (!r) return false;
    Case t{c.iteration, c.seed, c.mutation, in, std::move(*r)};
    for (const auto& f : judge(t))
      if (f.check == check) return true;
    return false;
  }

  // Greedy: drop chunks from the end towards the start, keeping the
  // defect class. Runs between batches (its packets are counted too).
  Bytes shrink(const Case& c, const std::string& check) {
    Bytes cur = c.in;
    for (size_t chunk : {256, 64, 16, 4, 1}) {
      for (size_t pos = cur.size(); pos >= 14 + chunk; pos -= chunk) {
        Bytes t = cur;
        t.erase(t.begin() + static_cast<long>(pos - chunk), t.begin() + static_cast<long>(pos));
        if (still_fails(c, t, check)) cur = std::move(t);
        if (pos < 14 + 2 * chunk) break;
      }
    }
    return cur;
  }

  int summary(double secs) {
    fmt::print("packet fuzz: seed {}: {} inputs in {:.1f} s ({:.0f}/s), {} refused by the kernel\n",
               args_.run.seed, inputs_, secs, secs > 0 ? inputs_ / secs : 0.0, refused_);
    fmt::print("  verdicts:");
    for (const auto& [k, n] : seen_verdicts_) fmt::print(" [{}]={}", k, n);
    fmt::print("\n  drop reasons hit ({} of {}):", drops_hit_.size(), AIGW_DROP_MAX - 1);
    for (const auto& [k, n] : drops_hit_) fmt::print(" {}={}", k, n);
    fmt::print("\n  events hit ({} of {}):", events_hit_.size(), AIGW_EV_MAX - 1);
    for (const auto& [k, n] : events_hit_) fmt::print(" {}={}", k, n);
    fmt::print("\n  findings: {}\n", findings_.empty() ? "none" : "");
    for (const auto& [k, n] : findings_) fmt::print("    {}: {}\n", k, n);
    return findings_.empty() ? 0 : 1;
  }

  Args args_;
  Rng rng_;
  Harness h_;
  Mutator mut_;
  std::vector<Seed> corpus_;
  std::map<std::string, uint32_t> ifindex_;
  uint64_t inputs_ = 0, refused_ = 0;
  std::map<std::string, uint64_t> seen_verdicts_, drops_hit_, events_hit_, findings_;
  std::vector<std::pair<Case, std::string>> to_shrink_;
};

std::optional<Args> parse_args(int argc, char** argv) {
  Args a;
  auto rest = parse_run_options(argc, argv, a.run);
  if (!rest) return std::nullopt;
  for (size_t i = 0; i < rest->size(); i++) {
    const std::string& k = (*rest)[i];
    const bool v = i + 1 < rest->size();
    if (k == "--config" && v)
      a.config = (*rest)[++i];
    else if (k == "--topology" && v)
      a.topology = (*rest)[++i];
    else if (k == "--batch" && v)
      a.batch = std::max<size_t>(1, std::stoul((*rest)[++i]));
    else if (k == "--reports" && v)
      a.reports = std::stoul((*rest)[++i]);
    else if (k == "--quiet")
      a.quiet = true;
    else
      return std::nullopt;
  }
  return a;
}

}  // namespace
}  // namespace aigw::fuzz

int main(int argc, char** argv) {
  using namespace aigw::fuzz;
  auto args = parse_args(argc, argv);
  if (!args) {
    fmt::print(stderr,
               "usage: aigw-packet-fuzz [--seed N] [--iterations N] [--time S] [--config FILE]\n"
               "         [--topology FILE] [--batch N] [--reports N] [--quiet]\n");
    return 2;
  }
  SandboxSpec spec{args->topology,
                   {"net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.forwarding=1",
                    "net.ipv4.ip_forward=1", "net.ipv6.conf.all.accept_dad=0",
                    "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.default.accept_ra=0"}};
  return run_in_sandbox(spec, [&]() {
    try {
      PacketFuzzer f(*args);
      return f.run();
    } catch (const std::exception& e) {
      fmt::print(stderr, "aigw-packet-fuzz: {}\n", e.what());
      return 2;
    }
  });
}
