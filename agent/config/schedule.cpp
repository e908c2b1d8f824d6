#include "config/schedule.hpp"

#include <fmt/format.h>

#include <array>

namespace aigw {
namespace {

constexpr std::array<std::string_view, 7> kDays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

std::optional<unsigned> day_index(std::string_view t) {
  for (unsigned i = 0; i < kDays.size(); i++)
    if (kDays[i] == t) return i;
  return std::nullopt;
}

// Exactly two decimal digits.
std::optional<uint32_t> two_digits(std::string_view t) {
  if (t.size() != 2 || t[0] < '0' || t[0] > '9' || t[1] < '0' || t[1] > '9') return std::nullopt;
  return static_cast<uint32_t>((t[0] - '0') * 10 + (t[1] - '0'));
}

uint32_t span_length(const ShapeWindow& w) {
  return w.to_s > w.from_s ? w.to_s - w.from_s : kDaySeconds - w.from_s + w.to_s;
}

}  // namespace

uint32_t week_second(std::chrono::system_clock::time_point t) {
  auto s = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  // 1970-01-01 was a Thursday: Monday 00:00 was 3 days before the epoch.
  int64_t since_monday = s + 3 * int64_t{kDaySeconds};
  int64_t w = since_monday % kWeekSeconds;
  return static_cast<uint32_t>(w < 0 ? w + kWeekSeconds : w);
}

std::vector<std::pair<uint32_t, uint32_t>> week_spans(const ShapeWindow& w) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (uint32_t d = 0; d < 7; d++) {
    if (!(w.days & (1u << d))) continue;
    uint32_t b = d * kDaySeconds + w.from_s, e = b + span_length(w);
    if (e <= kWeekSeconds) {
      out.emplace_back(b, e);
    } else {
      out.emplace_back(b, kWeekSeconds);
      out.emplace_back(0, e - kWeekSeconds);
    }
  }
  return out;
}

int active_window(const std::vector<ShapeWindow>& windows, uint32_t ws) {
  for (size_t i = 0; i < windows.size(); i++)
    for (const auto& [b, e] : week_spans(windows[i]))
      if (b <= ws && ws < e) return static_cast<int>(i);
  return -1;
}

int overlaps_earlier(const std::vector<ShapeWindow>& windows, size_t i) {
  auto mine = week_spans(windows.at(i));
  for (size_t j = 0; j < i; j++)
    for (const auto& [b2, e2] : week_spans(windows[j]))
      for (const auto& [b1, e1] : mine)
        if (b1 < e2 && b2 < e1) return static_cast<int>(j);
  return -1;
}

std::optional<uint32_t> parse_time_of_day(std::string_view t, bool end) {
  if (t.size() != 5 && t.size() != 8) return std::nullopt;
  if (t[2] != ':' || (t.size() == 8 && t[5] != ':')) return std::nullopt;
  auto h = two_digits(t.substr(0, 2)), m = two_digits(t.substr(3, 2));
  auto s = t.size() == 8 ? two_digits(t.substr(6, 2)) : std::optional<uint32_t>(0);
  if (!h || !m || !s || *m > 59 || *s > 59) return std::nullopt;
  uint32_t v = *h * 3600 + *m * 60 + *s;
  if (v < kDaySeconds || (end && v == kDaySeconds)) return v;
  return std::nullopt;
}

std::string time_of_day_str(uint32_t seconds) {
  uint32_t h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
  return s ? fmt::format("{:02}:{:02}:{:02}", h, m, s) : fmt::format("{:02}:{:02}", h, m);
}

std::optional<uint8_t> parse_days(std::string_view t) {
  if (auto comma = t.find(','); comma != std::string_view::npos) {
    auto a = parse_days(t.substr(0, comma)), b = parse_days(t.substr(comma + 1));
    if (!a || !b) return std::nullopt;
    return static_cast<uint8_t>(*a | *b);
  }
  return parse_day_range(t);
}

std::optional<uint8_t> parse_day_range(std::string_view t) {
  if (t == "daily") return kEveryDay;
  auto dash = t.find('-');
  auto first = day_index(t.substr(0, dash));
  if (!first) return std::nullopt;
  if (dash == std::string_view::npos) return static_cast<uint8_t>(1u << *first);
  auto last = day_index(t.substr(dash + 1));
  if (!last || *last == *first) return std::nullopt;
  uint8_t out = 0;
  for (unsigned d = *first;; d = (d + 1) % 7) {
    out |= static_cast<uint8_t>(1u << d);
    if (d == *last) break;
  }
  return out;
}

// Runs of consecutive days as ranges ("mon-fri"), single days by name.
std::string days_str(uint8_t days) {
  if ((days & kEveryDay) == kEveryDay) return "daily";
  std::string out;
  for (unsigned d = 0; d < 7; d++) {
    if (!(days & (1u << d))) continue;
    unsigned e = d;
    while (e + 1 < 7 && (days & (1u << (e + 1)))) e++;
    if (!out.empty()) out += ',';
    out += e == d ? std::string(kDays[d]) : fmt::format("{}-{}", kDays[d], kDays[e]);
    d = e;
  }
  return out;
}

std::string window_str(const ShapeWindow& w) {
  return fmt::format("{} {}-{}", days_str(w.days), time_of_day_str(w.from_s),
                     time_of_day_str(w.to_s));
}

}  // namespace aigw
