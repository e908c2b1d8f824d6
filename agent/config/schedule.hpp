// Shaping schedules (tenants[].schedule): windows of the week, in UTC, in
// which a tenant has other rates. A window is the days it starts on and a
// time of day from..to; a window whose end is not after its start ends on
// the next day ("22:00".."06:00").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/model.hpp"

namespace aigw {

inline constexpr uint32_t kDaySeconds = 86'400;
inline constexpr uint32_t kWeekSeconds = 7 * kDaySeconds;
inline constexpr uint8_t kEveryDay = 0x7f;

// Seconds since the Monday 00:00 UTC before `t`.
uint32_t week_second(std::chrono::system_clock::time_point t);
// The index of the window in force at week second `ws`, or -1.
int active_window(const std::vector<ShapeWindow>& windows, uint32_t ws);
// The spans [begin, end) of the week the window covers (what runs past
// Sunday 24:00 continues on Monday 00:00).
std::vector<std::pair<uint32_t, uint32_t>> week_spans(const ShapeWindow& w);
// The index of an earlier window sharing a second with window i, or -1.
int overlaps_earlier(const std::vector<ShapeWindow>& windows, size_t i);

// "HH:MM" or "HH:MM:SS", 00:00..23:59:59; "24:00" too when `end`.
std::optional<uint32_t> parse_time_of_day(std::string_view t, bool end);
std::string time_of_day_str(uint32_t seconds);
// "mon".."sun", a range "mon-fri" (or "sat-mon", through Sunday), "daily";
// parse_days also takes a list of them, "mon,wed-fri".
std::optional<uint8_t> parse_day_range(std::string_view t);
std::optional<uint8_t> parse_days(std::string_view t);
std::string days_str(uint8_t days);            // "daily", "mon-fri", "mon,wed,sat-sun"
std::string window_str(const ShapeWindow& w);  // "mon-fri 08:00-18:00"

}  // namespace aigw
