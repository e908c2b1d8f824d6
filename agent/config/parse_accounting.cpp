// Sections flows, elephants, accounting and ipfix.
#include <fmt/format.h>

#include "config/parse_util.hpp"

namespace aigw::parse_detail {

void parse_flows(Sink& s, const Entry& e, FlowSettings& f) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field, {"enabled", "idle_timeout", "active_timeout"});
  if (auto g = m.get("enabled")) {
    if (auto v = read_bool(s, *g)) f.enabled = *v;
  }
  if (auto g = m.get("idle_timeout")) {
    if (auto v = read_duration(s, *g, 1, 86400)) f.idle_timeout_s = *v;
  }
  if (auto g = m.get("active_timeout")) {
    if (auto v = read_duration(s, *g, 1, 86400)) f.active_timeout_s = *v;
  }
}

namespace {

std::string pct_text(uint32_t x100) {
  return x100 % 100 ? fmt::format("{}.{:02}", x100 / 100, x100 % 100) : std::to_string(x100 / 100);
}

// enter_pct / leave_pct: shares of a policy's capacity.
void parse_elephant_shares(Sink& s, const Entry& e, MapReader& m, ElephantSettings& x) {
  auto enter = m.get("enter_pct");
  auto leave = m.get("leave_pct");
  if (enter)
    if (auto v = read_percent(s, *enter)) x.enter_pct_x100 = *v;
  if (leave)
    if (auto v = read_percent(s, *leave)) x.leave_pct_x100 = *v;
  if (leave && !enter) {
    s.error(leave->line(), join(e.field, "leave_pct"), "needs enter_pct");
    return;
  }
  if (x.enter_pct_x100 && !leave) x.leave_pct_x100 = std::max<uint32_t>(1, x.enter_pct_x100 / 2);
  if (x.leave_pct_x100 > x.enter_pct_x100)
    s.error(leave ? leave->line() : e.line(), join(e.field, "leave_pct"),
            fmt::format("{} is above enter_pct ({}): a flow must leave below where it enters",
                        pct_text(x.leave_pct_x100), pct_text(x.enter_pct_x100)));
}

}  // namespace

void parse_elephants(Sink& s, const Entry& e, ElephantSettings& x) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field,
              {"enabled", "window_ms", "enter_mbps", "leave_mbps", "enter_pct", "leave_pct",
               "hold_ms", "place", "adapt_weights", "flowlet_gap_us"});
  auto num = [&](const char* key, uint64_t lo, uint64_t hi, auto& out) -> std::optional<Entry> {
    auto g = m.get(key);
    if (!g) return std::nullopt;
    if (auto v = read_uint(s, *g, lo, hi)) out = static_cast<std::decay_t<decltype(out)>>(*v);
    return g;
  };
  if (auto g = m.get("enabled")) {
    if (auto v = read_bool(s, *g)) x.enabled = *v;
  }
  if (auto g = m.get("place")) {
    if (auto v = read_bool(s, *g)) x.place = *v;
  }
  if (auto g = m.get("adapt_weights")) {
    if (auto v = read_bool(s, *g)) x.adapt_weights = *v;
  }
  num("window_ms", 10, 1000, x.window_ms);
  num("enter_mbps", 1, kMaxCapacityMbps, x.enter_mbps);
  auto leave = num("leave_mbps", 1, kMaxCapacityMbps, x.leave_mbps);
  num("hold_ms", 10, 3600000, x.hold_ms);
  num("flowlet_gap_us", 1, 1000000, x.flowlet_gap_us);
  if (x.leave_mbps > x.enter_mbps)
    s.error(leave ? leave->line() : e.line(), join(e.field, "leave_mbps"),
            fmt::format("{} is above enter_mbps ({}): a flow must leave below where it enters",
                        x.leave_mbps, x.enter_mbps));
  parse_elephant_shares(s, e, m, x);
}

// "", "off" -> "" (off), or an absolute path.
std::optional<std::string> read_dir_or_off(Sink& s, const Entry& e) {
  if (e.value.IsScalar() && (e.value.Scalar().empty() || e.value.Scalar() == "off"))
    return std::string();
  return read_abs_path(s, e, 4095);
}

void parse_accounting(Sink& s, const Entry& e, AccountingSettings& a) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(
      s, e.value, e.field,
      {"periods", "sample_interval", "usage_dir", "usage_format", "state_dir", "retention"});
  auto periods = m.get("periods");
  if (periods && expect_list(s, *periods, "durations")) {
    a.periods_s.clear();
    if (periods->value.size() == 0)
      s.error(periods->line(), periods->field, "at least one period is required");
    for (size_t k = 0; k < periods->value.size(); ++k) {
      Entry pe = item(periods->value[k], index(periods->field, k));
      auto v = read_duration(s, pe, 1, 31 * 86400);
      if (!v) continue;
      if (std::find(a.periods_s.begin(), a.periods_s.end(), *v) != a.periods_s.end())
        s.error(pe.line(), pe.field, fmt::format("period of {}s listed twice", *v));
      a.periods_s.push_back(*v);
    }
  }
  if (auto g = m.get("sample_interval")) {
    if (auto v = read_duration(s, *g, 1, 3600)) {
      a.sample_interval_s = *v;
      for (uint32_t p : a.periods_s)
        if (p % *v != 0) {
          s.error(g->line(), g->field, fmt::format("{}s does not divide the period of {}s", *v, p));
          break;
        }
    }
  }
  if (auto g = m.get("usage_dir")) {
    if (auto v = read_dir_or_off(s, *g)) a.usage_dir = *v;
  }
  if (auto g = m.get("usage_format")) {
    auto from = [](std::string_view t) -> std::optional<UsageFormat> {
      if (t == "jsonl") return UsageFormat::JsonLines;
      if (t == "csv") return UsageFormat::Csv;
      return std::nullopt;
    };
    if (auto v = read_enum<UsageFormat>(s, *g, +from, {"jsonl", "csv"})) a.usage_format = *v;
  }
  if (auto g = m.get("state_dir")) {
    if (auto v = read_dir_or_off(s, *g)) a.state_dir = *v;
  }
  // How long usage files are kept ("off" or 0: forever). Longer than the
  // longest period, or a period's file could go before it is read.
  if (auto g = m.get("retention")) {
    if (g->value.IsScalar() && (g->value.Scalar() == "off" || g->value.Scalar() == "0")) {
      a.retention_s = 0;
    } else if (auto v = read_duration(s, *g, 3600, 3650u * 86400)) {
      a.retention_s = *v;
      uint32_t longest = *std::max_element(a.periods_s.begin(), a.periods_s.end());
      if (*v <= longest)
        s.error(g->line(), g->field,
                fmt::format("{}s is not longer than the longest period ({}s)", *v, longest));
    }
  }
}

// "ADDR:PORT" or "[V6]:PORT" with a port, no "off".
std::optional<std::string> read_collector(Sink& s, const Entry& e) {
  if (e.value.IsScalar() && (e.value.Scalar().empty() || e.value.Scalar() == "off")) {
    s.error(e.line(), e.field, "expected IPV4:PORT or [IPV6]:PORT, got 'off'");
    return std::nullopt;
  }
  auto v = read_listen(s, e);
  if (v && v->empty()) return std::nullopt;
  if (v) {  // a collector is somewhere to send to: not "any address"
    std::string host = v->substr(0, v->rfind(':'));
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    auto a = parse_ip(host);
    bool unspecified = a && (is_v6(*a) ? std::get<Ip6>(*a).is_zero() : std::get<Ip4>(*a).is_zero());
    if (unspecified) {
      s.error(e.line(), e.field,
              fmt::format("the unspecified address in '{}' cannot be a collector", *v));
      return std::nullopt;
    }
  }
  return v;
}

void parse_ipfix(Sink& s, const Entry& e, IpfixSettings& x) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field,
              {"collectors", "observation_domain", "template_refresh", "enterprise"});
  if (auto g = m.get("collectors"); g && !g->value.IsNull() && expect_list(s, *g, "collectors")) {
    for (size_t k = 0; k < g->value.size(); ++k) {
      Entry ce = item(g->value[k], index(g->field, k));
      if (auto v = read_collector(s, ce)) {
        if (std::find(x.collectors.begin(), x.collectors.end(), *v) != x.collectors.end())
          s.error(ce.line(), ce.field, fmt::format("collector {} listed twice", *v));
        x.collectors.push_back(*v);
      }
    }
  }
  if (auto g = m.get("observation_domain")) {
    if (auto v = read_uint(s, *g, 0, kU32Max)) x.observation_domain = static_cast<uint32_t>(*v);
  }
  if (auto g = m.get("template_refresh")) {
    if (auto v = read_duration(s, *g, 1, 86400)) x.template_refresh_s = *v;
  }
  if (auto g = m.get("enterprise")) {
    if (auto v = read_uint(s, *g, 1, kU32Max)) x.enterprise = static_cast<uint32_t>(*v);
  }
}
}  // namespace aigw::parse_detail
