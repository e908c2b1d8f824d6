// aigw-proto-fuzz: mutation-based fuzzing of the control protocol, in
// process: request lines through parse_request(), and the requests it
// accepts through the real command handlers of the policy and SID modules
// (features/objects.cpp: policy.show/add/del, sid.show/add/del) on a host
// without a datapath (the commands that need one, and the other modules'
// commands, need the BPF maps and are left to the e2e tests).
//
//   aigw-proto-fuzz [--seed N] [--iterations N] [--time S] [--limit S]
//                   [--crash-file PATH] [--reports N] [--config FILE]
//
// Oracle: parse_request throws ProtocolError only; a handler answers or
// throws ControlError only (anything else is what the server turns into an
// "internal error"); to_line() of every answer and error never throws;
// nothing dies or hangs (--limit seconds per input, default 5).
#include <fmt/format.h>

#include <map>

#include "config/parse.hpp"
#include "control/protocol.hpp"
#include "core/commands.hpp"
#include "features/args.hpp"
#include "features/host.hpp"
#include "features/objects.hpp"
#include "fuzz_util.hpp"
#include "watchdog.hpp"

namespace aigw::fuzz {
namespace {

// A command that needs the BPF maps was reached: not a finding.
struct NoDatapath : std::exception {
  const char* what() const noexcept override { return "no datapath in the fuzzer"; }
};

class NoLinks : public LinkResolver {
 public:
  std::optional<LinkInfo> resolve(const std::string&) const override { return std::nullopt; }
};

// The daemon's commit without the apply: validate, then keep.
class FakeHost : public features::Host {
 public:
  explicit FakeHost(Config c) : initial_(c), running_(std::move(c)) {}
  const Config& running() const override { return running_; }
  Datapath& datapath() const override { throw NoDatapath(); }
  const LinkResolver& links() const override { return links_; }
  const Logger& log() const override { return log_; }
  void commit(Config next, const std::string& what) override {
    auto errs = validate(next, what);
    if (!errs.empty()) throw ControlError(features::join_errors(errs));
    running_ = std::move(next);
  }
  void reset() { running_ = initial_; }

 private:
  Config initial_, running_;
  NoLinks links_;
  Logger log_{LogLevel::Error};
};

const std::vector<std::string> kSeeds = {
    R"({"cmd":"status"})",
    R"({"cmd":"policy.show","args":{"name":"e1"}})",
    R"({"cmd":"policy.add","args":{"policy":{"name":"fz","prefixes":["198.51.100.0/25","2001:db8:9::/48"],"segments":["fc00:b::1","fc00:c::2"],"source":"fc00:a::1","mode":"encap.red","vrf":3,"hop_limit":9,"tcp_mss":"auto"}}})",
    R"({"cmd":"policy.add","args":{"policy":{"name":"fz2","prefixes":["203.0.113.0/24"],"segments":["fc00:b::1"],"source":"fc00:a::1","tcp_mss":1300}}})",
    R"({"cmd":"policy.del","args":{"name":"e1"}})",
    R"({"cmd":"sid.show"})",
    R"({"cmd":"sid.add","args":{"sid":{"sid":"fc00:a::99/128","behavior":"End.DT46","table":100}}})",
    R"({"cmd":"sid.add","args":{"sid":{"sid":"fc00:a::98/128","behavior":"End.X","nexthop":"fc00:13::2","interface":"wan1"}}})",
    R"({"cmd":"sid.add","args":{"sid":{"sid":"fc00:a::97/128","behavior":"End.DX4","nexthop":"192.0.2.4","interface":"cust0"}}})",
    R"({"cmd":"sid.del","args":{"sid":"fc00:a::e"}})",
    R"({"cmd":"sid.del","args":{"sid":"fc00:a::e/128"}})",
    R"({"cmd":"flow.top","args":{"n":5,"by":"rate"}})",
    R"({"cmd":"usage.show","args":{"tenant":"acme","period":60}})",
};

nlohmann::json hostile_json(Rng& rng) {
  switch (rng.below(14)) {
    case 0:
      return nullptr;
    case 1:
      return rng.one_in(2);
    case 2:
      return -static_cast<int64_t>(rng.below(1ull << 62)) - 1;
    case 3:
      return rng.next();
    case 4:
      return 1e308 * (rng.one_in(2) ? 10 : -10);  // inf
    case 5:
      return 0.5;
    case 6:
      return std::string(rng.one_in(2) ? 70000 : 300, 'a');
    case 7:
      return std::string("ctl\x01\x1b\x7f\0x", 8);
    case 8:
      return "\xff\xc3\x28";
    case 9:
      return nlohmann::json::array({1, "x", nullptr});
    case 10:
      return nlohmann::json::object({{"policy", nlohmann::json::object()}});
    case 11: {
      nlohmann::json j = 1;
      for (size_t i = 0, n = 1 + rng.below(20); i < n; i++) j = nlohmann::json::array({j});
      return j;
    }
    case 12:
      return rng.pick(std::vector<std::string>{"", "fc00::/129", "::", "End", "End.DT46", "e1",
                                               "1.2.3.4/33", "fe80::1", "-1", "0x10", "encap.red"});
    default:
      return "fc00:a::" + std::to_string(rng.below(0x10000));
  }
}

void all_values(nlohmann::json& j, std::vector<nlohmann::json*>& out, int depth) {
  out.push_back(&j);
  if (depth > 24 || !j.is_structured()) return;
  for (auto& v : j) all_values(v, out, depth + 1);
}

std::string mutate_line(std::string line, Rng& rng, std::string& what) {
  // (Long lines are the deep/long mutations' results: the JSON-aware
  // mutation would recurse through them in the fuzzer itself.)
  if (line.size() < 4096 && rng.one_in(2)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) {
      std::vector<nlohmann::json*> vals;
      all_values(j, vals, 0);
      nlohmann::json& v = *vals[rng.below(vals.size())];
      if (v.is_object() && !v.empty() && rng.one_in(3)) {
        auto it = v.begin();
        std::advance(it, static_cast<long>(rng.below(v.size())));
        v.erase(it.key());
        what = "delete-key";
      } else if (v.is_object() && rng.one_in(2)) {
        v[rng.pick(std::vector<std::string>{"cmd", "args", "name", "sid", "policy", "segments",
                                            "prefixes", "behavior", "table", "x"})] =
            hostile_json(rng);
        what = "set-key";
      } else {
        v = hostile_json(rng);
        what = "value";
      }
      return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  switch (rng.below(6)) {
    case 0: {  // a key given twice
      const size_t c = line.find("\":");
      const size_t q = c == std::string::npos ? c : line.rfind('"', c - 1);
      if (q == std::string::npos) return line;
      const size_t end = line.find_first_of(",}", c);
      if (end == std::string::npos) return line;
      what = "duplicate-key";
      return line.substr(0, end) + "," + line.substr(q, end - q) + line.substr(end);
    }
    case 1:
      what = "truncate";
      return line.substr(0, rng.below(line.size() + 1));
    case 2:
      what = "bitflip";
      if (!line.empty()) line[rng.below(line.size())] ^= static_cast<char>(1u << rng.below(8));
      return line;
    case 3: {
      what = "deep";
      const size_t n = rng.pick(std::vector<size_t>{15, 16, 17, 100, 100000});
      return R"({"cmd":"policy.add","args":{"policy":)" + std::string(n, '[') +
             std::string(n, ']') + "}}";
    }
    case 4:
      what = "long";
      return R"({"cmd":")" + std::string(kMaxLineBytes + rng.below(16), 'a') + "\"}";
    default:
      what = "byte";
      if (!line.empty()) line[rng.below(line.size())] = static_cast<char>(rng.next());
      return line;
  }
}

struct Fuzz {
  FakeHost host;
  core::CommandTable table;
  std::map<std::string, uint64_t> outcomes, findings;
  size_t reports = 3;
  uint64_t seed = 0;

  void finding(const std::string& check, const std::string& detail, uint64_t it,
               const std::string& line) {
    if (findings[check]++ >= reports) return;
    fmt::print("FINDING {}: {}\n  seed {} iteration {}\n  line: {}\n", check, detail, seed, it,
               line.size() > 2000 ? line.substr(0, 2000) + "..." : line);
  }

  void one(const std::string& line, uint64_t it) {
    Request req;
    try {
      req = parse_request(line);
    } catch (const ProtocolError& e) {
      outcomes["protocol error"]++;
      (void)to_line(make_error(e.what()));
      return;
    } catch (const std::exception& e) {
      return finding("parse_request.threw", e.what(), it, line);
    }
    const auto* entry = table.find(req.cmd);
    if (!entry) {
      outcomes["unknown or unserved command"]++;
      return;
    }
    try {
      (void)to_line(make_ok(entry->handler(req.args)));
      outcomes["ok " + req.cmd]++;
    } catch (const ControlError& e) {
      outcomes["refused " + req.cmd]++;
      (void)to_line(make_error(e.what()));
    } catch (const NoDatapath&) {
      outcomes["needs datapath"]++;
    } catch (const std::exception& e) {
      finding("handler.threw", fmt::format("{}: {}", req.cmd, e.what()), it, line);
    }
  }
};

Config load_running(const std::string& path) {
  auto r = load_config_file(path);
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&r))
    throw std::runtime_error(format_errors(*errs));
  return std::get<Config>(std::move(r));
}

int run(int argc, char** argv) {
  RunOptions opt{.seed = 1, .iterations = 20000, .seconds = 0};
  auto rest = parse_run_options(argc, argv, opt);
  if (!rest) return 2;
  double limit = 5;
  std::string crash_file = "/tmp/aigw-proto-fuzz-crash.txt";
  std::string config = AIGW_FUZZ_DIR "/packet_fuzz.yaml";
  size_t reports = 3;
  for (size_t i = 0; i < rest->size(); i++) {
    const auto& a = (*rest)[i];
    const bool v = i + 1 < rest->size();
    if (a == "--limit" && v)
      limit = std::stod((*rest)[++i]);
    else if (a == "--crash-file" && v)
      crash_file = (*rest)[++i];
    else if (a == "--reports" && v)
      reports = std::stoul((*rest)[++i]);
    else if (a == "--config" && v)
      config = (*rest)[++i];
    else
      return 2;
  }
  Fuzz f{FakeHost(load_running(config)), {}, {}, {}, reports, opt.seed};
  features::PoliciesModule policies(f.host);
  features::SidsModule sids(f.host);
  policies.register_commands(f.table);
  sids.register_commands(f.table);
  Watchdog dog(crash_file, limit);
  Rng rng(opt.seed);
  Budget budget(opt);
  uint64_t it = 0;
  for (; budget.more(it); it++) {
    if (it % 1000 == 0) f.host.reset();
    std::string what;
    std::string line = rng.pick(kSeeds);
    for (size_t k = 0, n = it < kSeeds.size() ? 0 : 1 + rng.below(3); k < n; k++)
      line = mutate_line(line, rng, what);
    const std::string label = fmt::format("seed {} iteration {}", opt.seed, it);
    dog.start(line, label.c_str());
    f.one(line, it);
    dog.done();
  }
  const double secs = budget.elapsed();
  fmt::print("protocol fuzz: seed {}: {} requests in {:.1f} s ({:.0f}/s)\n  outcomes:", opt.seed,
             it, secs, secs > 0 ? it / secs : 0.0);
  for (const auto& [k, n] : f.outcomes) fmt::print(" [{}]={}", k, n);
  fmt::print("\n  findings: {}\n", f.findings.empty() ? "none" : "");
  for (const auto& [k, n] : f.findings) fmt::print("    {}: {}\n", k, n);
  return f.findings.empty() ? 0 : 1;
}

}  // namespace
}  // namespace aigw::fuzz

int main(int argc, char** argv) {
  try {
    return aigw::fuzz::run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "aigw-proto-fuzz: {}\n", e.what());
    return 2;
  }
}
