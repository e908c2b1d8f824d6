// Accounting without BPF: counter readings are injected, periods, deltas,
// p95 and the restart / reload / write-failure safety of usage records are
// checked on the files actually written.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "telemetry/accounting.hpp"
#include "telemetry/usage.hpp"

using namespace aigw;
using namespace aigw::telemetry;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct TmpDir {
  fs::path p;
  TmpDir() {
    char tmpl[] = "/tmp/aigw-acct-XXXXXX";
    p = mkdtemp(tmpl);
  }
  ~TmpDir() {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
};

std::chrono::system_clock::time_point at(double unix_s) {
  return std::chrono::system_clock::time_point(
      std::chrono::milliseconds(static_cast<int64_t>(unix_s * 1000)));
}

AccountingSettings settings(const TmpDir& d, std::vector<uint32_t> periods = {10}) {
  AccountingSettings s;
  s.periods_s = std::move(periods);
  s.sample_interval_s = 1;
  s.usage_dir = (d.p / "usage").string();
  s.state_dir = (d.p / "state").string();
  return s;
}

// Cumulative counters of (dir, tenant, cls).
struct Counts {
  std::map<uint32_t, aigw_ctr> m;
  void add(uint8_t dir, uint16_t tenant, uint8_t cls, uint64_t packets, uint64_t bytes) {
    auto& c = m[AIGW_USAGE_INDEX(dir, tenant, cls)];
    c.packets += packets;
    c.bytes += bytes;
  }
  Reading reading() const {
    Reading r;
    r.usage = m;
    return r;
  }
};

std::vector<json> read_jsonl(const fs::path& p) {
  std::ifstream f(p);
  REQUIRE(f);
  std::vector<json> out;
  std::string line;
  while (std::getline(f, line)) out.push_back(json::parse(line));
  return out;
}

std::vector<fs::path> files(const fs::path& dir) {
  std::vector<fs::path> v;
  if (!fs::exists(dir)) return v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

// Sum of out bytes/packets of tenant `id` over every record file in dir.
std::pair<uint64_t, uint64_t> billed_out(const fs::path& dir, uint16_t id) {
  uint64_t b = 0, p = 0;
  for (const auto& f : files(dir))
    for (const auto& r : read_jsonl(f))
      if (r["tenant_id"] == id) {
        b += r["out"]["bytes"].get<uint64_t>();
        p += r["out"]["packets"].get<uint64_t>();
      }
  return {b, p};
}

Names test_names() {
  Config c;
  for (auto [name, id] : {std::pair{"acme", 7}, std::pair{"globex", 9}}) {
    Tenant t;
    t.name = name;
    t.id = static_cast<uint16_t>(id);
    c.tenants.push_back(t);
  }
  ServiceClass bulk;
  bulk.name = "bulk";
  bulk.id = 6;
  c.classes.push_back(bulk);
  return names_of(c);
}

}  // namespace

TEST_CASE("usage index decodes", "[accounting]") {
  for (uint8_t dir : {0, 1})
    for (uint16_t t : {0, 1, 7, 1023})
      for (uint8_t c : {0, 5, 15}) {
        UsageKey k = usage_key(AIGW_USAGE_INDEX(dir, t, c));
        CHECK(k.dir == dir);
        CHECK(k.tenant == t);
        CHECK(k.cls == c);
      }
}

TEST_CASE("p95 is nearest-rank over all samples of the period", "[accounting]") {
  std::vector<uint64_t> v;
  for (uint64_t i = 1; i <= 20; ++i) v.push_back(i * 100);
  auto s = rate_stats(v, 20);  // rank ceil(19) = 19th
  CHECK(s.peak_bps == 2000);
  CHECK(s.p95_bps == 1900);
  // 60 samples, 3 with traffic: rank 57 is among the 57 zero samples.
  s = rate_stats({500, 900, 100}, 60);
  CHECK(s.peak_bps == 900);
  CHECK(s.p95_bps == 0);
  // 4 with traffic: ranks 57..60 are 10, 20, 30, 40.
  s = rate_stats({40, 10, 30, 20}, 60);
  CHECK(s.p95_bps == 10);
  CHECK(rate_stats({7}, 1).p95_bps == 7);
  CHECK(rate_stats({}, 0).p95_bps == 0);
  // 21 samples: rank ceil(19.95) = 20th.
  v.push_back(2100);
  CHECK(rate_stats(v, 21).p95_bps == 2000);
}

TEST_CASE("period names parse and print", "[accounting]") {
  CHECK(period_name(60) == "1m");
  CHECK(period_name(3600) == "1h");
  CHECK(period_name(10) == "10s");
  CHECK(period_name(90) == "90s");
  CHECK(parse_period("1m") == 60u);
  CHECK(parse_period("1h") == 3600u);
  CHECK(parse_period("10s") == 10u);
  CHECK(parse_period("45") == 45u);
  CHECK_FALSE(parse_period("0s"));
  CHECK_FALSE(parse_period("m"));
  CHECK_FALSE(parse_period("-1m"));
  CHECK_FALSE(parse_period("1x"));
  CHECK(rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(usage_file_name(60, 1795523640, UsageFormat::JsonLines) ==
        "usage-1m-20261124T123400Z.jsonl");
}

TEST_CASE("deltas accumulate into wall-clock aligned periods and records are written",
          "[accounting]") {
  TmpDir d;
  Accounting a(settings(d), nullptr);
  a.set_names(test_names());
  Counts c;
  c.add(AIGW_DIR_OUT, 7, 1, 1000, 1'000'000);  // before the baseline: not billed
  a.sample(c.reading(), at(1003.2));
  REQUIRE(a.current(10));
  CHECK(a.current(10)->start == 1000);
  CHECK(a.current(10)->usage.empty());
  c.add(AIGW_DIR_OUT, 7, 1, 10, 1000);
  c.add(AIGW_DIR_IN, 7, 6, 5, 500);
  a.sample(c.reading(), at(1004.2));
  c.add(AIGW_DIR_OUT, 7, 1, 10, 3000);
  c.add(AIGW_DIR_OUT, 0, 0, 1, 60);
  a.sample(c.reading(), at(1005.2));
  CHECK(files(d.p / "usage").empty());
  c.add(AIGW_DIR_OUT, 7, 1, 1, 100);  // read after the boundary: next period
  a.sample(c.reading(), at(1010.1));
  CHECK(a.current(10)->start == 1010);
  REQUIRE(a.last_completed(10));
  auto fl = files(d.p / "usage");
  REQUIRE(fl.size() == 1);
  CHECK(fl[0].filename() == "usage-10s-19700101T001640Z.jsonl");
  auto recs = read_jsonl(fl[0]);
  // unclassified (traffic), acme (traffic), globex (configured, zero)
  REQUIRE(recs.size() == 3);
  CHECK(recs[0]["tenant"] == "unclassified");
  CHECK(recs[0]["out"]["bytes"] == 60);
  const json& acme = recs[1];
  CHECK(acme["tenant"] == "acme");
  CHECK(acme["tenant_id"] == 7);
  CHECK(acme["period_start"] == "1970-01-01T00:16:40Z");
  CHECK(acme["period_end"] == "1970-01-01T00:16:50Z");
  CHECK(acme["period_s"] == 10);
  CHECK(acme["out"]["bytes"] == 4000);
  CHECK(acme["out"]["packets"] == 20);
  CHECK(acme["in"]["bytes"] == 500);
  CHECK(acme["in"]["packets"] == 5);
  // two samples with traffic: 8000 b/s and 24000 b/s; the other sample 0.
  CHECK(acme["out"]["peak_bps"] == 24000);
  CHECK(acme["out"]["p95_bps"] == 24000);
  REQUIRE(acme["classes"].size() == 2);
  CHECK(acme["classes"][0]["class"] == "training");
  CHECK(acme["classes"][0]["out"]["bytes"] == 4000);
  CHECK(acme["classes"][1]["class"] == "bulk");
  CHECK(acme["classes"][1]["in"]["packets"] == 5);
  CHECK(recs[2]["tenant"] == "globex");
  CHECK(recs[2]["out"]["bytes"] == 0);
  CHECK(recs[2]["classes"].empty());
}

TEST_CASE("a restart counts downtime traffic once, in the period in progress", "[accounting]") {
  TmpDir d;
  Counts c;
  {
    Accounting a(settings(d), nullptr);
    a.sample(c.reading(), at(2000.5));
    c.add(AIGW_DIR_OUT, 7, 1, 10, 1000);
    a.sample(c.reading(), at(2001.5));
  }                                   // stopped: state persisted by the last sample
  c.add(AIGW_DIR_OUT, 7, 1, 5, 500);  // while down
  {
    Accounting b(settings(d), nullptr);
    REQUIRE(b.current(10));
    CHECK(b.current(10)->usage.at(AIGW_USAGE_INDEX(AIGW_DIR_OUT, 7, 1)).bytes == 1000);
    b.sample(c.reading(), at(2004.5));
    CHECK(b.current(10)->usage.at(AIGW_USAGE_INDEX(AIGW_DIR_OUT, 7, 1)).bytes == 1500);
    // the rate of the restart sample spans the downtime: 500 B over 3 s
    auto rates = b.current(10)->rates.at({AIGW_DIR_OUT, 7});
    CHECK(rates.back() == 1333);
    c.add(AIGW_DIR_OUT, 7, 1, 1, 100);
    b.sample(c.reading(), at(2010.5));
  }
  CHECK(billed_out(d.p / "usage", 7) == std::pair<uint64_t, uint64_t>{1500, 15});
  // A restart that loads the same state again and reads the same counters
  // adds nothing (no double counting).
  {
    Accounting e(settings(d), nullptr);
    e.sample(c.reading(), at(2011.5));
    CHECK(e.current(10)->usage.at(AIGW_USAGE_INDEX(AIGW_DIR_OUT, 7, 1)).bytes == 100);
  }
}

TEST_CASE("recreated maps: a counter below the last read is the delta", "[accounting]") {
  TmpDir d;
  Accounting a(settings(d), nullptr);
  Counts c;
  c.add(AIGW_DIR_OUT, 7, 1, 100, 10000);
  a.sample(c.reading(), at(3000.5));
  Counts fresh;
  fresh.add(AIGW_DIR_OUT, 7, 1, 3, 300);
  a.sample(fresh.reading(), at(3001.5));
  CHECK(a.current(10)->usage.at(AIGW_USAGE_INDEX(AIGW_DIR_OUT, 7, 1)).bytes == 300);
  fresh.add(AIGW_DIR_OUT, 7, 1, 1, 100);
  a.sample(fresh.reading(), at(3002.5));
  CHECK(a.current(10)->usage.at(AIGW_USAGE_INDEX(AIGW_DIR_OUT, 7, 1)).bytes == 400);
}

TEST_CASE("a boundary missed while down closes the period with what it had", "[accounting]") {
  TmpDir d;
  Counts c;
  {
    Accounting a(settings(d), nullptr);
    a.sample(c.reading(), at(4000.5));
    c.add(AIGW_DIR_OUT, 7, 1, 10, 1000);
    a.sample(c.reading(), at(4001.5));
  }
  c.add(AIGW_DIR_OUT, 7, 1, 3, 300);
  Accounting b(settings(d), nullptr);
  b.sample(c.reading(), at(4025.5));  // periods 4000 and 4010 ended while down
  auto fl = files(d.p / "usage");
  REQUIRE(fl.size() == 1);
  CHECK(fl[0].filename() == "usage-10s-19700101T010640Z.jsonl");
  CHECK(read_jsonl(fl[0])[0]["out"]["bytes"] == 1000);
  CHECK(b.current(10)->start == 4020);
  CHECK(b.current(10)->usage.at(AIGW_USAGE_INDEX(AIGW_DIR_OUT, 7, 1)).bytes == 300);
}

TEST_CASE("a failed record write keeps the batch, also across a restart", "[accounting]") {
  TmpDir d;
  auto s = settings(d);
  s.usage_dir = (d.p / "blocked" / "usage").string();
  { std::ofstream(d.p / "blocked") << "a file where a directory should be\n"; }
  Counts c;
  {
    Accounting a(s, nullptr);
    a.sample(c.reading(), at(5000.5));
    c.add(AIGW_DIR_OUT, 7, 1, 2, 200);
    a.sample(c.reading(), at(5001.5));
    a.sample(c.reading(), at(5010.5));  // closes 5000: the write fails
    CHECK(a.pending_batches() == 1);
    a.sample(c.reading(), at(5011.5));  // fails again, still kept
    CHECK(a.pending_batches() == 1);
  }
  fs::remove(d.p / "blocked");
  Accounting b(s, nullptr);
  CHECK(b.pending_batches() == 1);
  b.sample(c.reading(), at(5012.5));
  CHECK(b.pending_batches() == 0);
  CHECK(billed_out(d.p / "blocked" / "usage", 7) == std::pair<uint64_t, uint64_t>{200, 2});
}

TEST_CASE("rewriting a batch is idempotent (crash between write and state)", "[accounting]") {
  TmpDir d;
  UsageRecord r;
  r.tenant = "acme";
  r.tenant_id = 7;
  r.period_start = 6000;
  r.period_s = 60;
  r.out.bytes = 42;
  auto p1 = write_usage_batch(d.p.string(), UsageFormat::JsonLines, {r});
  auto p2 = write_usage_batch(d.p.string(), UsageFormat::JsonLines, {r});
  CHECK(p1 == p2);
  CHECK(files(d.p).size() == 1);  // no temp file left
  CHECK(read_jsonl(p1).size() == 1);
}

TEST_CASE("a corrupt state file is set aside, counting restarts from a baseline", "[accounting]") {
  TmpDir d;
  fs::create_directories(d.p / "state");
  { std::ofstream(d.p / "state" / "accounting.json") << "{\"version\":1,\"current\":[{\"x\""; }
  Accounting a(settings(d), nullptr);
  CHECK(fs::exists(d.p / "state" / "accounting.json.bad"));
  Counts c;
  c.add(AIGW_DIR_OUT, 7, 1, 9, 900);
  a.sample(c.reading(), at(7000.5));
  CHECK(a.current(10)->usage.empty());  // baseline
  CHECK(fs::exists(d.p / "state" / "accounting.json"));
}

TEST_CASE("state round-trips through JSON", "[accounting]") {
  TmpDir d;
  Accounting a(settings(d, {10, 60}), nullptr);
  Counts c;
  a.sample(c.reading(), at(8000.5));
  c.add(AIGW_DIR_IN, 3, 2, 4, 400);
  Reading r = c.reading();
  r.apn[{AIGW_DIR_OUT, 0xa}] = {1, 2};
  r.policies[5] = {3, 4};
  r.interfaces[1] = {5, 6};
  a.sample(r, at(8001.5));
  Accounting b(settings(d, {10, 60}), nullptr);
  CHECK(b.state_json() == a.state_json());
  // a reload that drops the 60 s period drops its partial data only
  b.configure(settings(d, {10}));
  CHECK(b.current(60) == nullptr);
  CHECK(b.current(10) != nullptr);
}

TEST_CASE("CSV records", "[accounting]") {
  TmpDir d;
  auto s = settings(d);
  s.usage_format = UsageFormat::Csv;
  Accounting a(s, nullptr);
  a.set_names(test_names());
  Counts c;
  a.sample(c.reading(), at(9000.5));
  c.add(AIGW_DIR_OUT, 7, 1, 2, 200);
  a.sample(c.reading(), at(9001.5));
  a.sample(c.reading(), at(9010.5));
  auto fl = files(d.p / "usage");
  REQUIRE(fl.size() == 1);
  CHECK(fl[0].extension() == ".csv");
  std::ifstream f(fl[0]);
  std::string head, acme, globex;
  std::getline(f, head);
  std::getline(f, acme);
  std::getline(f, globex);
  CHECK(head == csv_header());
  CHECK(acme ==
        "acme,7,1970-01-01T02:30:00Z,1970-01-01T02:30:10Z,10,200,2,1600,1600,0,0,0,0,"
        "training:200:2:0:0");
  CHECK(globex.starts_with("globex,9,"));
}

TEST_CASE("the state of another agent (other pin path) is not loaded", "[accounting]") {
  TmpDir d;
  Counts c;
  c.add(AIGW_DIR_OUT, 7, 1, 10, 1000);
  {
    Accounting a(settings(d), nullptr, "/sys/fs/bpf/gwa");
    a.sample(c.reading(), at(10000.5));
  }
  c.add(AIGW_DIR_OUT, 7, 1, 1, 100);
  Accounting b(settings(d), nullptr, "/sys/fs/bpf/gwb");
  CHECK(b.current(10) == nullptr);
  b.sample(c.reading(), at(10001.5));
  CHECK(b.current(10)->usage.empty());  // a baseline of its own, not gwa's last read
  Accounting a2(settings(d), nullptr, "/sys/fs/bpf/gwb");
  CHECK(a2.current(10) != nullptr);
}

TEST_CASE("p95 from the kept highest rates equals p95 over every sample", "[accounting]") {
  // An hour of 1 s samples, some with no traffic; brute force: sort all
  // samples (zeros included) and take the ceil(0.95 n)-th.
  uint64_t x = 12345;
  auto rnd = [&] { return x = x * 6364136223846793005ull + 1442695040888963407ull; };
  for (uint32_t n : {1u, 7u, 20u, 59u, 60u, 61u, 600u, 3600u}) {
    std::vector<uint64_t> all, kept;
    const size_t keep = rate_values_needed(n, 1);
    for (uint32_t i = 0; i < n; ++i) {
      uint64_t v = rnd() % 4 == 0 ? 0 : (rnd() >> 40);
      all.push_back(v);
      if (v) {
        kept.push_back(v);
        if (kept.size() >= 2 * keep) keep_top(kept, keep);
      }
    }
    std::sort(all.begin(), all.end());
    uint64_t want = all[(95 * n + 99) / 100 - 1];
    INFO("n = " << n << ", kept " << kept.size());
    CHECK(kept.size() < 2 * keep);
    CHECK(rate_stats(kept, n).p95_bps == want);
    CHECK(rate_stats(kept, n).peak_bps == all.back());
  }
}

TEST_CASE("a wall clock stepped back never reopens a closed period", "[accounting]") {
  TmpDir d;
  Accounting a(settings(d), nullptr);
  a.set_names(test_names());
  Counts c;
  a.sample(c.reading(), at(1003.0));
  c.add(AIGW_DIR_OUT, 7, 1, 10, 1000);
  a.sample(c.reading(), at(1004.0));
  a.sample(c.reading(), at(1011.0));  // closes [1000, 1010): one batch file
  REQUIRE(files(d.p / "usage").size() == 1);
  c.add(AIGW_DIR_OUT, 7, 1, 5, 500);
  a.sample(c.reading(), at(1005.0));  // clock stepped back by 6 s
  REQUIRE(a.current(10));
  CHECK(a.current(10)->start >= 1010);
  a.sample(c.reading(), at(1021.0));
  // Two batches, nothing replaced: 1,000 + 500 bytes billed in all.
  CHECK(files(d.p / "usage").size() == 2);
  CHECK(billed_out(d.p / "usage", 7) == std::pair<uint64_t, uint64_t>{1500, 15});
}
