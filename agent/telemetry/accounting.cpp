#include "telemetry/accounting.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace aigw::telemetry {
namespace {

constexpr int kStateVersion = 1;
constexpr const char* kStateFile = "accounting.json";

void add(aigw_ctr& a, const aigw_ctr& b) {
  a.packets += b.packets;
  a.bytes += b.bytes;
}

bool zero(const aigw_ctr& c) { return c.packets == 0 && c.bytes == 0; }

// cur - last, or cur when the counter went backwards (maps recreated).
aigw_ctr delta(const aigw_ctr& cur, const aigw_ctr* last) {
  if (!last) return cur;
  if (cur.packets < last->packets || cur.bytes < last->bytes) return cur;
  return {cur.packets - last->packets, cur.bytes - last->bytes};
}

template <class K>
std::map<K, aigw_ctr> deltas(const std::map<K, aigw_ctr>& cur, const std::map<K, aigw_ctr>& last) {
  std::map<K, aigw_ctr> out;
  for (const auto& [k, v] : cur) {
    auto it = last.find(k);
    aigw_ctr d = delta(v, it == last.end() ? nullptr : &it->second);
    if (!zero(d)) out[k] = d;
  }
  return out;
}

template <class K>
void add_all(std::map<K, aigw_ctr>& into, const std::map<K, aigw_ctr>& d) {
  for (const auto& [k, v] : d) add(into[k], v);
}

// ---- state (de)serialisation: compact arrays, integers only.
template <class K>
nlohmann::json ctr_map_json(const std::map<K, aigw_ctr>& m) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [k, v] : m) a.push_back({k, v.packets, v.bytes});
  return a;
}

template <class K>
std::map<K, aigw_ctr> ctr_map_from(const nlohmann::json& a) {
  std::map<K, aigw_ctr> m;
  for (const auto& e : a.get_ref<const nlohmann::json::array_t&>())
    m[e.at(0).get<K>()] = {e.at(1).get<uint64_t>(), e.at(2).get<uint64_t>()};
  return m;
}

nlohmann::json apn_json(const std::map<ApnKey, aigw_ctr>& m) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [k, v] : m) a.push_back({k.first, k.second, v.packets, v.bytes});
  return a;
}

std::map<ApnKey, aigw_ctr> apn_from(const nlohmann::json& a) {
  std::map<ApnKey, aigw_ctr> m;
  for (const auto& e : a.get_ref<const nlohmann::json::array_t&>())
    m[{e.at(0).get<uint8_t>(), e.at(1).get<uint64_t>()}] = {e.at(2).get<uint64_t>(),
                                                            e.at(3).get<uint64_t>()};
  return m;
}

nlohmann::json reading_json(const Reading& r) {
  return {{"usage", ctr_map_json(r.usage)},
          {"apn", apn_json(r.apn)},
          {"policies", ctr_map_json(r.policies)},
          {"interfaces", ctr_map_json(r.interfaces)}};
}

Reading reading_from(const nlohmann::json& j) {
  Reading r;
  r.usage = ctr_map_from<uint32_t>(j.at("usage"));
  r.apn = apn_from(j.at("apn"));
  r.policies = ctr_map_from<uint32_t>(j.at("policies"));
  r.interfaces = ctr_map_from<uint16_t>(j.at("interfaces"));
  return r;
}

std::optional<uint64_t> parse_u64(const std::string& s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Reading make_reading(const std::vector<aigw_ctr>& usage, const ApnUsage& apn,
                     const std::map<uint32_t, aigw_ctr>& policies, const Stats& stats) {
  Reading r;
  for (uint32_t i = 0; i < usage.size(); ++i)
    if (!zero(usage[i])) r.usage[i] = usage[i];
  for (const auto& [k, v] : apn)
    if (!zero(v)) r.apn[k] = v;
  for (const auto& [k, v] : policies)
    if (!zero(v)) r.policies[k] = v;
  for (const auto& [slot, c] : stats.by_slot)
    if (!zero(c.rx)) r.interfaces[slot] = c.rx;
  return r;
}

UsageKey usage_key(uint32_t index) {
  return {static_cast<uint8_t>(index / (AIGW_MAX_TENANTS * AIGW_MAX_CLASSES)),
          static_cast<uint16_t>(index / AIGW_MAX_CLASSES % AIGW_MAX_TENANTS),
          static_cast<uint8_t>(index % AIGW_MAX_CLASSES)};
}

// ------------------------------------------------------------------ names

std::string Names::tenant(uint16_t id) const {
  auto it = tenants.find(id);
  if (it != tenants.end()) return it->second;
  return id == AIGW_TENANT_NONE ? "unclassified" : fmt::format("tenant-{}", id);
}

std::string Names::cls(uint8_t id) const {
  auto it = classes.find(id);
  if (it != classes.end()) return it->second;
  if (const char* b = aigw_class_builtin_name(id)) return b;
  return fmt::format("class-{}", id);
}

std::optional<uint16_t> Names::tenant_id(const std::string& s) const {
  for (const auto& [id, n] : tenants)
    if (n == s) return id;
  if (auto v = parse_u64(s); v && *v < AIGW_MAX_TENANTS) return static_cast<uint16_t>(*v);
  return std::nullopt;
}

std::optional<uint8_t> Names::class_id(const std::string& s) const {
  for (const auto& [id, n] : classes)
    if (n == s) return id;
  if (auto v = parse_u64(s); v && *v < AIGW_MAX_CLASSES) return static_cast<uint8_t>(*v);
  return std::nullopt;
}

Names names_of(const Config& c) {
  Names n;
  n.tenants[AIGW_TENANT_NONE] = "unclassified";
  for (const auto& t : c.tenants) n.tenants[t.id] = t.name;
  for (unsigned i = 0; i < AIGW_CLASS_BUILTIN_MAX; ++i)
    n.classes[static_cast<uint8_t>(i)] = aigw_class_builtin_name(i);
  for (const auto& sc : c.classes) n.classes[sc.id] = sc.name;
  return n;
}

// ------------------------------------------------------------------ rates, records

RateStats rate_stats(std::vector<uint64_t> top, uint32_t samples) {
  RateStats r;
  const uint64_t n = std::max<uint64_t>(samples, top.size());
  if (n == 0 || top.empty()) return r;
  std::sort(top.begin(), top.end(), std::greater<>());
  r.peak_bps = top.front();
  const uint64_t rank = (95 * n + 99) / 100;  // ceil(0.95 n), 1-based from the lowest
  const uint64_t from_top = n - rank;         // 0-based from the highest
  // Below the values kept are the 0 b/s samples (and, after keep_top(),
  // none of the values that could be at this rank).
  r.p95_bps = from_top < top.size() ? top[from_top] : 0;
  return r;
}

size_t rate_values_needed(uint32_t period_s, uint32_t sample_interval_s) {
  // At most period/interval samples (+ slack for timer jitter) of which the
  // p95 is the (n - ceil(0.95 n) + 1)-th highest: 5% of them, +1.
  const uint64_t n = period_s / std::max<uint32_t>(1, sample_interval_s) + 10;
  return static_cast<size_t>(n / 20 + 2);
}

void keep_top(std::vector<uint64_t>& v, size_t k) {
  if (v.size() <= k) return;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k - 1), v.end(),
                   std::greater<>());
  v.resize(k);
}

std::vector<UsageRecord> period_records(const PeriodData& p, const Names& names,
                                        const std::vector<uint16_t>& configured) {
  std::map<uint16_t, UsageRecord> by_tenant;
  auto rec = [&](uint16_t t) -> UsageRecord& {
    auto [it, fresh] = by_tenant.try_emplace(t);
    if (fresh) {
      it->second.tenant_id = t;
      it->second.tenant = names.tenant(t);
      it->second.period_start = p.start;
      it->second.period_s = p.period_s;
    }
    return it->second;
  };
  for (uint16_t t : configured) rec(t);
  std::map<std::pair<uint16_t, uint8_t>, ClassUsage> classes;
  for (const auto& [idx, c] : p.usage) {
    UsageKey k = usage_key(idx);
    UsageRecord& r = rec(k.tenant);
    DirUsage& d = k.dir == AIGW_DIR_IN ? r.in : r.out;
    d.bytes += c.bytes;
    d.packets += c.packets;
    ClassUsage& cu = classes[{k.tenant, k.cls}];
    cu.id = k.cls;
    (k.dir == AIGW_DIR_IN ? cu.in_bytes : cu.out_bytes) += c.bytes;
    (k.dir == AIGW_DIR_IN ? cu.in_packets : cu.out_packets) += c.packets;
  }
  for (auto& [k, cu] : classes) {
    cu.name = names.cls(cu.id);
    rec(k.first).classes.push_back(cu);
  }
  for (const auto& [k, v] : p.rates) {
    RateStats s = rate_stats(v, p.samples);
    DirUsage& d = k.first == AIGW_DIR_IN ? rec(k.second).in : rec(k.second).out;
    d.peak_bps = s.peak_bps;
    d.p95_bps = s.p95_bps;
  }
  std::vector<UsageRecord> out;
  for (auto& [t, r] : by_tenant) out.push_back(std::move(r));
  return out;
}

nlohmann::json to_json(const PeriodData& p) {
  nlohmann::json rates = nlohmann::json::array();
  for (const auto& [k, v] : p.rates) rates.push_back({k.first, k.second, v});
  return {{"period_s", p.period_s},
          {"start", p.start},
          {"samples", p.samples},
          {"usage", ctr_map_json(p.usage)},
          {"apn", apn_json(p.apn)},
          {"policies", ctr_map_json(p.policies)},
          {"interfaces", ctr_map_json(p.interfaces)},
          {"rates", rates}};
}

PeriodData period_from_json(const nlohmann::json& j) {
  PeriodData p;
  p.period_s = j.at("period_s").get<uint32_t>();
  p.start = j.at("start").get<int64_t>();
  p.samples = j.at("samples").get<uint32_t>();
  p.usage = ctr_map_from<uint32_t>(j.at("usage"));
  p.apn = apn_from(j.at("apn"));
  p.policies = ctr_map_from<uint32_t>(j.at("policies"));
  p.interfaces = ctr_map_from<uint16_t>(j.at("interfaces"));
  for (const auto& e : j.at("rates").get_ref<const nlohmann::json::array_t&>())
    p.rates[{e.at(0).get<uint8_t>(), e.at(1).get<uint16_t>()}] =
        e.at(2).get<std::vector<uint64_t>>();
  if (p.period_s == 0) throw std::invalid_argument("period_s 0");
  return p;
}

UsageRecord usage_record_from_json(const nlohmann::json& j) {
  UsageRecord r;
  r.tenant = j.at("tenant").get<std::string>();
  r.tenant_id = j.at("tenant_id").get<uint16_t>();
  r.period_start = j.at("start_unix").get<int64_t>();
  r.period_s = j.at("period_s").get<uint32_t>();
  auto dir = [](const nlohmann::json& d, DirUsage& u) {
    u.bytes = d.at("bytes").get<uint64_t>();
    u.packets = d.at("packets").get<uint64_t>();
    u.peak_bps = d.at("peak_bps").get<uint64_t>();
    u.p95_bps = d.at("p95_bps").get<uint64_t>();
  };
  dir(j.at("out"), r.out);
  dir(j.at("in"), r.in);
  for (const auto& c : j.at("classes")) {
    ClassUsage cu;
    cu.name = c.at("class").get<std::string>();
    cu.id = c.at("class_id").get<uint8_t>();
    cu.out_bytes = c.at("out").at("bytes").get<uint64_t>();
    cu.out_packets = c.at("out").at("packets").get<uint64_t>();
    cu.in_bytes = c.at("in").at("bytes").get<uint64_t>();
    cu.in_packets = c.at("in").at("packets").get<uint64_t>();
    r.classes.push_back(std::move(cu));
  }
  return r;
}

// ------------------------------------------------------------------ Accounting

Accounting::Accounting(const AccountingSettings& settings, const Logger* log, std::string owner)
    : s_(settings), log_(log), owner_(std::move(owner)) {
  // Temp files of an agent killed in the middle of a write (issue 8 K3).
  for (const std::string& dir : {s_.state_dir, s_.usage_dir}) {
    if (dir.empty()) continue;
    if (size_t n = remove_stale_temp_files(dir); n && log_)
      log_->info("accounting: removed {} temp files an earlier agent left in {}", n, dir);
  }
  expire_usage();
  if (s_.state_dir.empty()) return;
  const std::string path = state_path();
  std::ifstream f(path);
  if (!f) return;  // first start
  try {
    std::stringstream ss;
    ss << f.rdbuf();
    auto j = nlohmann::json::parse(ss.str());
    if (auto o = j.value("owner", std::string()); o != owner_) {
      if (log_)
        log_->warn(
            "accounting: {} belongs to another agent ({}), not loaded; give each agent "
            "its own accounting.state_dir",
            path, o);
      return;
    }
    load_state_json(j);
    if (log_)
      log_->info("accounting: state loaded from {} ({} periods in progress, {} batches pending)",
                 path, current_.size(), pending_.size());
  } catch (const std::exception& e) {
    // load_state_json changes nothing unless all of it parsed.
    std::error_code ec;
    std::filesystem::rename(path, path + ".bad", ec);
    if (log_)
      log_->error("accounting: cannot use {} ({}); kept as {}.bad, counting starts afresh", path,
                  e.what(), path);
  }
}

std::string Accounting::state_path() const {
  return (std::filesystem::path(s_.state_dir) / kStateFile).string();
}

void Accounting::configure(const AccountingSettings& settings) {
  std::set<uint32_t> keep(settings.periods_s.begin(), settings.periods_s.end());
  for (auto it = current_.begin(); it != current_.end();) {
    if (keep.count(it->first)) {
      ++it;
      continue;
    }
    if (log_)
      log_->warn("accounting: period {} no longer configured: its partial data is dropped",
                 period_name(it->first));
    completed_.erase(it->first);
    it = current_.erase(it);
  }
  s_ = settings;
}

void Accounting::set_names(Names names) { names_ = std::move(names); }

std::vector<uint16_t> Accounting::configured_tenants() const {
  std::vector<uint16_t> v;
  for (const auto& [id, n] : names_.tenants)
    if (id != AIGW_TENANT_NONE) v.push_back(id);
  return v;
}

const PeriodData* Accounting::current(uint32_t period_s) const {
  auto it = current_.find(period_s);
  return it == current_.end() ? nullptr : &it->second;
}

const PeriodData* Accounting::last_completed(uint32_t period_s) const {
  auto it = completed_.find(period_s);
  return it == completed_.end() ? nullptr : &it->second;
}

void Accounting::close_ended(int64_t now_s) {
  for (auto it = current_.begin(); it != current_.end();) {
    const PeriodData& p = it->second;
    if (now_s < p.start + static_cast<int64_t>(p.period_s)) {
      ++it;
      continue;
    }
    auto recs = period_records(p, names_, configured_tenants());
    if (!recs.empty()) pending_.push_back(std::move(recs));
    completed_[it->first] = std::move(it->second);
    it = current_.erase(it);
  }
}

void Accounting::sample(const Reading& r, std::chrono::system_clock::time_point now) {
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const int64_t now_s = now_ms >= 0 ? now_ms / 1000 : (now_ms - 999) / 1000;
  close_ended(now_s);
  for (uint32_t len : s_.periods_s) {
    if (len == 0 || current_.count(len)) continue;
    PeriodData p;
    p.period_s = len;
    p.start = now_s - ((now_s % len) + len) % len;
    // A wall clock stepped back (NTP at boot) must not reopen a period that
    // is already closed: its record file would be replaced. The new period
    // starts where the last completed one ended.
    if (auto c = completed_.find(len); c != completed_.end() && p.start < c->second.start + len)
      p.start = c->second.start + len;
    current_[len] = std::move(p);
  }
  if (have_last_) {
    auto du = deltas(r.usage, last_.usage);
    auto da = deltas(r.apn, last_.apn);
    auto dp = deltas(r.policies, last_.policies);
    auto di = deltas(r.interfaces, last_.interfaces);
    // Rate over the time the delta covers (the wall clock, so that it also
    // spans a restart); a clock step back falls back to the nominal interval.
    double secs = static_cast<double>(now_ms - last_ms_) / 1000.0;
    if (secs <= 0) secs = std::max<uint32_t>(1, s_.sample_interval_s);
    std::map<std::pair<uint8_t, uint16_t>, uint64_t> tenant_bytes;
    for (const auto& [idx, c] : du) {
      UsageKey k = usage_key(idx);
      tenant_bytes[{k.dir, k.tenant}] += c.bytes;
    }
    for (auto& [len, p] : current_) {
      add_all(p.usage, du);
      add_all(p.apn, da);
      add_all(p.policies, dp);
      add_all(p.interfaces, di);
      ++p.samples;
      const size_t keep = rate_values_needed(p.period_s, s_.sample_interval_s);
      for (const auto& [k, b] : tenant_bytes) {
        if (!b) continue;
        auto& v = p.rates[k];
        v.push_back(static_cast<uint64_t>(static_cast<double>(b) * 8.0 / secs + 0.5));
        if (v.size() >= 2 * keep) keep_top(v, keep);  // amortised: trim in batches
      }
    }
  }
  last_ = r;
  have_last_ = true;
  last_ms_ = now_ms;
  save();
  write_pending();
}

void Accounting::write_pending() {
  if (pending_.empty()) return;
  if (s_.usage_dir.empty()) {
    pending_.clear();  // records are off: nothing to keep them for
    save();
    return;
  }
  size_t written = 0;
  for (const auto& batch : pending_) {
    try {
      write_usage_batch(s_.usage_dir, s_.usage_format, batch);
      ++written;
    } catch (const std::exception& e) {
      if (log_)
        log_->error(
            "accounting: usage records of {} {} not written (kept, retried at the next "
            "sample): {}",
            period_name(batch.front().period_s), rfc3339(batch.front().period_start), e.what());
      break;  // keep the order of batches
    }
  }
  if (written == 0) return;
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(written));
  save();
  expire_usage();
}

void Accounting::expire_usage() {
  size_t n = remove_expired_usage(s_.usage_dir, s_.retention_s,
                                  std::filesystem::file_time_type::clock::now());
  if (n && log_)
    log_->info("accounting: removed {} usage files older than accounting.retention ({}s) from {}",
               n, s_.retention_s, s_.usage_dir);
}

nlohmann::json Accounting::state_json() const {
  nlohmann::json cur = nlohmann::json::array(), done = nlohmann::json::array(),
                 pend = nlohmann::json::array();
  for (const auto& [len, p] : current_) cur.push_back(to_json(p));
  for (const auto& [len, p] : completed_) done.push_back(to_json(p));
  for (const auto& batch : pending_) {
    nlohmann::json b = nlohmann::json::array();
    for (const auto& r : batch) {
      nlohmann::json j = to_json(r);
      j["start_unix"] = r.period_start;
      b.push_back(std::move(j));
    }
    pend.push_back(std::move(b));
  }
  nlohmann::json j = {{"version", kStateVersion},
                      {"owner", owner_},
                      {"current", cur},
                      {"completed", done},
                      {"pending", pend}};
  if (have_last_) {
    j["last"] = reading_json(last_);
    j["last_ms"] = last_ms_;
  }
  return j;
}

void Accounting::load_state_json(const nlohmann::json& j) {
  if (j.at("version").get<int>() != kStateVersion)
    throw std::invalid_argument(
        fmt::format("state version {} (expected {})", j.at("version").dump(), kStateVersion));
  std::map<uint32_t, PeriodData> cur, done;
  std::vector<std::vector<UsageRecord>> pend;
  for (const auto& p : j.at("current")) {
    PeriodData d = period_from_json(p);
    cur[d.period_s] = std::move(d);
  }
  for (const auto& p : j.at("completed")) {
    PeriodData d = period_from_json(p);
    done[d.period_s] = std::move(d);
  }
  for (const auto& b : j.at("pending")) {
    std::vector<UsageRecord> batch;
    for (const auto& r : b) batch.push_back(usage_record_from_json(r));
    if (!batch.empty()) pend.push_back(std::move(batch));
  }
  Reading last;
  int64_t last_ms = 0;
  bool have = j.contains("last");
  if (have) {
    last = reading_from(j.at("last"));
    last_ms = j.at("last_ms").get<int64_t>();
  }
  // Only now that everything parsed: all or nothing.
  std::set<uint32_t> keep(s_.periods_s.begin(), s_.periods_s.end());
  std::erase_if(cur, [&](const auto& e) { return !keep.count(e.first); });
  current_ = std::move(cur);
  completed_ = std::move(done);
  pending_ = std::move(pend);
  last_ = std::move(last);
  last_ms_ = last_ms;
  have_last_ = have;
}

bool Accounting::save() {
  if (s_.state_dir.empty()) return true;
  try {
    write_file_atomic(state_path(), state_json().dump() + "\n");
    if (save_failed_ && log_) log_->info("accounting: state persisted again to {}", state_path());
    save_failed_ = false;
    return true;
  } catch (const std::exception& e) {
    // Once per failure episode, not every sample.
    if (!save_failed_ && log_) log_->error("accounting: cannot persist state: {}", e.what());
    save_failed_ = true;
    return false;
  }
}

}  // namespace aigw::telemetry
