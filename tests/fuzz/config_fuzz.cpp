// aigw-config-fuzz: mutation-based fuzzing of the configuration parser, in
// process, through parse_config() (what `aigwd --check` and every reload
// run on a file's text).
//
//   aigw-config-fuzz [--seed N] [--iterations N] [--time S] [--limit S]
//                    [--crash-file PATH] [--reports N] SEED.yaml|DIR...
//
// Oracle: parse_config returns a Config or errors, never throws or dies;
// every error names the file, a line inside it (1-based; 0 only for a YAML
// error without a position) and a field (structural errors of the whole
// document excepted); one input takes less than --limit seconds (default 5);
// an accepted Config serialises (to_yaml) to a file that parses again to
// the same serialisation.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/parse.hpp"
#include "config/serialize.hpp"
#include "config_mutate.hpp"
#include "watchdog.hpp"

namespace aigw::fuzz {
namespace {

constexpr const char* kFile = "fuzz.yaml";

// Errors that concern the document as a whole have no field.
bool structural(const std::string& msg) {
  for (const char* p : {"YAML syntax error", "YAML error", "empty configuration",
                        "more than one YAML document", "expected a mapping"})
    if (msg.rfind(p, 0) == 0) return true;
  return false;
}

struct Findings {
  std::map<std::string, uint64_t> count;
  size_t reports = 3;
  uint64_t seed = 0;

  void add(const std::string& check, const std::string& detail, uint64_t it,
           const std::string& what, const std::string& input) {
    if (count[check]++ >= reports) return;
    const std::string shown = input.size() > 2000 ? input.substr(0, 2000) + "..." : input;
    fmt::print("FINDING {}: {}\n  seed {} iteration {} mutation {}\n  input ({} bytes, hex): {}\n",
               check, detail, seed, it, what, input.size(),
               to_hex({reinterpret_cast<const uint8_t*>(shown.data()), shown.size()}));
  }
};

size_t line_count(const std::string& t) {
  return static_cast<size_t>(std::count(t.begin(), t.end(), '\n')) + 1;
}

void check_errors(const std::vector<ConfigError>& errs, const std::string& text, uint64_t it,
                  const std::string& what, Findings& f) {
  if (errs.empty()) f.add("errors.empty", "no Config and no error", it, what, text);
  for (const auto& e : errs) {
    if (e.file != kFile) f.add("error.file", e.str(), it, what, text);
    if (e.line < 0 || static_cast<size_t>(e.line) > line_count(text) ||
        (e.line == 0 && e.message.rfind("YAML error", 0) != 0))
      f.add("error.line", e.str(), it, what, text);
    if (e.field.empty() && !structural(e.message))
      f.add(e.message.rfind("malformed:", 0) == 0 ? "error.no_field.malformed" : "error.no_field",
            e.str(), it, what, text);
  }
}

void check_roundtrip(const Config& c, const std::string& text, uint64_t it, const std::string& what,
                     Findings& f) {
  const std::string y1 = to_yaml(c);
  auto again = parse_config(y1, kFile);
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&again)) {
    f.add("roundtrip.refused", format_errors(*errs, "; ") + "\n  serialised:\n" + y1, it, what,
          text);
    return;
  }
  if (to_yaml(std::get<Config>(again)) != y1)
    f.add("roundtrip.changed", "to_yaml(parse(to_yaml(c))) != to_yaml(c)", it, what, text);
}

// One input through the parser and the oracle.
void judge(const std::string& text, uint64_t it, const std::string& what, Findings& f,
           std::map<std::string, uint64_t>& outcomes) {
  try {
    auto r = parse_config(text, kFile);
    if (auto* c = std::get_if<Config>(&r)) {
      outcomes["accepted"]++;
      check_roundtrip(*c, text, it, what, f);
    } else {
      const auto& errs = std::get<std::vector<ConfigError>>(r);
      outcomes[errs.empty()                 ? "refused"
               : errs.front().field.empty() ? "refused (document)"
                                            : "refused (field)"]++;
      check_errors(errs, text, it, what, f);
    }
  } catch (const std::exception& e) {
    f.add("threw", fmt::format("parse_config threw {}", e.what()), it, what, text);
  } catch (...) {
    f.add("threw", "parse_config threw a non-std exception", it, what, text);
  }
}

std::vector<std::string> load_seeds(const std::vector<std::string>& paths) {
  std::vector<std::string> seeds;
  auto add = [&](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    if (in) seeds.push_back(ss.str());
  };
  for (const auto& p : paths) {
    if (!std::filesystem::is_directory(p)) {
      add(p);
      continue;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(p))
      if (e.path().extension() == ".yaml") files.push_back(e.path());
    std::sort(files.begin(), files.end());  // one order for one seed
    for (const auto& f : files) add(f);
  }
  return seeds;
}

int run(int argc, char** argv) {
  RunOptions opt{.seed = 1, .iterations = 20000, .seconds = 0};
  auto rest = parse_run_options(argc, argv, opt);
  if (!rest) return 2;
  double limit = 5;
  std::string crash_file = "/tmp/aigw-config-fuzz-crash.yaml";
  Findings f;
  f.seed = opt.seed;
  std::vector<std::string> paths;
  for (size_t i = 0; i < rest->size(); i++) {
    const auto& a = (*rest)[i];
    if (a == "--limit" && i + 1 < rest->size())
      limit = std::stod((*rest)[++i]);
    else if (a == "--crash-file" && i + 1 < rest->size())
      crash_file = (*rest)[++i];
    else if (a == "--reports" && i + 1 < rest->size())
      f.reports = std::stoul((*rest)[++i]);
    else if (a.rfind("--", 0) == 0)
      return 2;
    else
      paths.push_back(a);
  }
  const auto seeds = load_seeds(paths);
  if (seeds.empty()) {
    fmt::print(stderr,
               "usage: aigw-config-fuzz [--seed N] [--iterations N] [--time S] "
               "[--limit S] [--crash-file PATH] [--reports N] SEED.yaml|DIR...\n");
    return 2;
  }
  Watchdog dog(crash_file, limit);
  Rng rng(opt.seed);
  Budget budget(opt);
  std::map<std::string, uint64_t> outcomes;
  double slowest = 0;
  std::string slowest_what;
  uint64_t it = 0;
  for (; budget.more(it); it++) {
    std::string what;
    const std::string text =
        it < seeds.size() ? seeds[it] : mutate_yaml(rng.pick(seeds), rng, what);
    const std::string label = fmt::format("seed {} iteration {}", opt.seed, it);
    dog.start(text, label.c_str());
    const double t0 = budget.elapsed();
    judge(text, it, what.empty() ? "none" : what, f, outcomes);
    if (budget.elapsed() - t0 > slowest) {
      slowest = budget.elapsed() - t0;
      slowest_what = fmt::format("iteration {}, {}, {} bytes", it, what, text.size());
    }
    dog.done();
  }
  const double secs = budget.elapsed();
  fmt::print(
      "config fuzz: seed {}: {} inputs from {} seed files in {:.1f} s ({:.0f}/s), "
      "slowest input {:.3f} s ({})\n  outcomes:",
      opt.seed, it, seeds.size(), secs, secs > 0 ? it / secs : 0.0, slowest, slowest_what);
  for (const auto& [k, n] : outcomes) fmt::print(" [{}]={}", k, n);
  fmt::print("\n  findings: {}\n", f.count.empty() ? "none" : "");
  for (const auto& [k, n] : f.count) fmt::print("    {}: {}\n", k, n);
  return f.count.empty() ? 0 : 1;
}

}  // namespace
}  // namespace aigw::fuzz

int main(int argc, char** argv) { return aigw::fuzz::run(argc, argv); }
