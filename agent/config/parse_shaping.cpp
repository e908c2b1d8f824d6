// tenants[].rate, ceil, burst and schedule (features/shaping.hpp).
#include <fmt/format.h>

#include "config/parse_util.hpp"
#include "config/rate.hpp"
#include "config/schedule.hpp"

namespace aigw::parse_detail {
namespace {

constexpr size_t kMaxWindows = 32;  // per tenant

// A rate between 100 Mbit/s and 100 Gbit/s.
std::optional<uint64_t> read_tenant_rate(Sink& s, const Entry& e) {
  auto text = scalar(s, e, "a rate such as 500mbit or 2gbit");
  if (!text) return std::nullopt;
  std::string why;
  auto v = parse_rate(*text, &why);
  if (!v) {
    s.error(e.line(), e.field, why);
    return std::nullopt;
  }
  if (*v < kMinTenantRate || *v > kMaxTenantRate) {
    s.error(e.line(), e.field,
            fmt::format("{} is outside {}..{}", rate_str(*v), rate_str(kMinTenantRate),
                        rate_str(kMaxTenantRate)));
    return std::nullopt;
  }
  return v;
}

// ceil: C, not below the rate (when the rate was read).
void read_ceil(Sink& s, const Entry& e, uint64_t rate, uint64_t& out) {
  auto v = read_tenant_rate(s, e);
  if (!v) return;
  out = *v;
  if (rate && *v < rate)
    s.error(e.line(), e.field,
            fmt::format("ceil {} is below the rate {}", rate_str(*v), rate_str(rate)));
}

std::optional<uint32_t> read_time(Sink& s, const Entry& e, bool end) {
  auto text = scalar(s, e, "a time of day in UTC, HH:MM or HH:MM:SS");
  if (!text) return std::nullopt;
  auto v = parse_time_of_day(*text, end);
  if (!v)
    s.error(e.line(), e.field,
            fmt::format("'{}' is not a time of day HH:MM or HH:MM:SS (UTC, 00:00..{})", *text,
                        end ? "24:00" : "23:59:59"));
  return v;
}

std::optional<uint8_t> read_day_item(Sink& s, const Entry& e) {
  auto text = scalar(s, e, "days: mon..sun, a range (mon-fri), a list (mon,wed-fri) or daily");
  if (!text) return std::nullopt;
  auto v = parse_days(*text);
  if (!v)
    s.error(e.line(), e.field,
            fmt::format("'{}' is not a day (mon, tue, wed, thu, fri, sat, sun), a range "
                        "of them (mon-fri), a list (mon,wed-fri) or daily",
                        *text));
  return v;
}

// days: mon-fri, or a list [mon, wed-fri].
std::optional<uint8_t> read_days(Sink& s, const Entry& e) {
  if (!e.value.IsSequence()) return read_day_item(s, e);
  if (e.value.size() == 0) {
    s.error(e.line(), e.field, "no days: leave days out for every day");
    return std::nullopt;
  }
  uint8_t days = 0;
  for (size_t i = 0; i < e.value.size(); i++) {
    auto d = read_day_item(s, item(e.value[i], index(e.field, i)));
    if (!d) return std::nullopt;
    days |= *d;
  }
  return days;
}

std::optional<ShapeWindow> read_window(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "days, from, to, rate, ceil")) return std::nullopt;
  ShapeWindow w;
  w.line = line_of(n);
  MapReader m(s, n, path, {"days", "from", "to", "rate", "ceil"});
  if (auto e = m.get("days"))
    if (auto v = read_days(s, *e)) w.days = *v;
  auto from = m.require("from"), to = m.require("to");
  if (from)
    if (auto v = read_time(s, *from, false)) w.from_s = *v;
  if (to)
    if (auto v = read_time(s, *to, true)) w.to_s = *v;
  if (from && to && s.count() == before && w.from_s == w.to_s)
    s.error(to->line(), to->field,
            "the window ends when it starts (a whole day is from 00:00 to 24:00)");
  if (auto e = m.require("rate"))
    if (auto v = read_tenant_rate(s, *e)) w.rate_bps = *v;
  if (auto e = m.get("ceil")) read_ceil(s, *e, w.rate_bps, w.ceil_bps);
  if (s.count() != before) return std::nullopt;
  return w;
}

void read_schedule(Sink& s, const Entry& e, Tenant& t) {
  if (!expect_list(s, e, "time windows (days, from, to, rate, ceil)")) return;
  if (e.value.size() > kMaxWindows) {
    s.error(e.line(), e.field, fmt::format("{} windows, at most {}", e.value.size(), kMaxWindows));
    return;
  }
  for (size_t i = 0; i < e.value.size(); i++) {
    std::string path = index(e.field, i);
    auto w = read_window(s, e.value[i], path);
    if (!w) continue;
    t.schedule.push_back(*w);
    int j = overlaps_earlier(t.schedule, t.schedule.size() - 1);
    if (j >= 0)
      s.error(w->line, path,
              fmt::format("{} overlaps the window at line {} ({}): windows of a tenant must not "
                          "overlap",
                          window_str(*w), t.schedule[j].line, window_str(t.schedule[j])));
  }
}

}  // namespace

// rate: R, ceil: C (>= R), burst: bytes, schedule: windows with their own
// rate and ceil, pfc_priority: 0..7. Ceil needs a rate; burst a rate or a
// schedule; pfc_priority a rate or a schedule (a queue to watch).
void read_tenant_shape(Sink& s, const MapReader& m, Tenant& t) {
  auto rate = m.get("rate"), ceil = m.get("ceil"), burst = m.get("burst"),
       schedule = m.get("schedule");
  if (rate) {
    if (auto v = read_tenant_rate(s, *rate)) t.rate_bps = *v;
    t.lines["rate"] = rate->line();
  }
  if (ceil) {
    if (!rate) s.error(ceil->line(), ceil->field, "ceil needs a rate");
    read_ceil(s, *ceil, t.rate_bps, t.ceil_bps);
    t.lines["ceil"] = ceil->line();
  }
  if (schedule && !schedule->value.IsNull()) {
    read_schedule(s, *schedule, t);
    t.lines["schedule"] = schedule->line();
  }
  if (burst) {
    if (!rate && !schedule)
      s.error(burst->line(), burst->field, "burst needs a rate or a schedule");
    if (auto v = read_uint(s, *burst, 1600, 64u << 20)) t.burst_bytes = static_cast<uint32_t>(*v);
    t.lines["burst"] = burst->line();
  }
  if (auto p = m.get("pfc_priority")) {
    if (!rate && !schedule) s.error(p->line(), p->field, "pfc_priority needs a rate or a schedule");
    if (auto v = read_uint(s, *p, 0, 7)) t.pfc_priority = static_cast<uint8_t>(*v);
    t.lines["pfc_priority"] = p->line();
  }
}

}  // namespace aigw::parse_detail
