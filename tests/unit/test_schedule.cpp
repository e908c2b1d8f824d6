// Shaping schedules (config/schedule.hpp, tenants[].schedule): the week's
// clock, windows in force across midnight and the week's end, overlaps,
// file:line errors and the round trip.
#include <catch2/catch.hpp>

#include "config/parse.hpp"
#include "config/schedule.hpp"
#include "config/serialize.hpp"

using namespace aigw;

namespace {

ParseResult parse(const std::string& y) { return parse_config(y, "t.yaml"); }

// A tenant with the given schedule items (YAML flow maps, one per line).
std::string tenant_with(const std::vector<std::string>& windows) {
  std::string y = "tenants:\n  - name: ai\n    id: 3\n    rate: 1gbit\n    schedule:\n";
  for (const auto& w : windows) y += "      - " + w + "\n";
  return y;
}

std::vector<ConfigError> errors_of(const std::string& y) {
  auto r = parse(y);
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(r));
  return std::get<std::vector<ConfigError>>(r);
}

uint32_t at(unsigned day, unsigned h, unsigned m) { return day * kDaySeconds + h * 3600 + m * 60; }

ShapeWindow window(uint8_t days, uint32_t from, uint32_t to) {
  ShapeWindow w;
  w.days = days;
  w.from_s = from;
  w.to_s = to;
  w.rate_bps = 1'000'000'000;
  return w;
}

}  // namespace

TEST_CASE("Schedule: the week's second from the wall clock (UTC)", "[config][schedule]") {
  using namespace std::chrono;
  // 2026-12-07 was a Monday; 1970-01-01 a Thursday.
  CHECK(week_second(system_clock::time_point{}) == 3 * kDaySeconds);
  auto monday = sys_days{year{2026} / December / 7};
  CHECK(week_second(monday) == 0);
  CHECK(week_second(monday + hours{8} + minutes{30} + seconds{5}) == 8 * 3600 + 30 * 60 + 5);
  CHECK(week_second(monday - seconds{1}) == kWeekSeconds - 1);  // Sunday 23:59:59
  CHECK(week_second(sys_days{year{2026} / December / 5} + hours{12}) == at(5, 12, 0));  // Saturday
}

TEST_CASE("Schedule: days, times and their text", "[config][schedule]") {
  CHECK(parse_days("mon") == 0x01);
  CHECK(parse_days("mon-fri") == 0x1f);
  CHECK(parse_days("sat-mon") == 0x61);  // through Sunday
  CHECK(parse_days("mon,wed-fri") == 0x1d);
  CHECK(parse_days("daily") == kEveryDay);
  CHECK_FALSE(parse_days("Mon"));
  CHECK_FALSE(parse_days("mon-mon"));
  CHECK_FALSE(parse_days("mon,"));
  CHECK_FALSE(parse_days("monday"));
  CHECK(days_str(0x1f) == "mon-fri");
  CHECK(days_str(0x65) == "mon,wed,sat-sun");
  CHECK(days_str(kEveryDay) == "daily");
  for (uint8_t d : {uint8_t{0x01}, uint8_t{0x1f}, uint8_t{0x65}, uint8_t{0x2a}, kEveryDay})
    CHECK(parse_days(days_str(d)) == d);

  CHECK(parse_time_of_day("08:00", false) == 8 * 3600u);
  CHECK(parse_time_of_day("23:59:59", false) == kDaySeconds - 1);
  CHECK(parse_time_of_day("24:00", true) == kDaySeconds);
  CHECK_FALSE(parse_time_of_day("24:00", false));
  CHECK_FALSE(parse_time_of_day("24:00:01", true));
  CHECK_FALSE(parse_time_of_day("8:00", false));
  CHECK_FALSE(parse_time_of_day("08:60", false));
  CHECK_FALSE(parse_time_of_day("08:00:60", false));
  CHECK_FALSE(parse_time_of_day("08h00", false));
  CHECK(time_of_day_str(8 * 3600) == "08:00");
  CHECK(time_of_day_str(8 * 3600 + 5) == "08:00:05");
  CHECK(window_str(window(0x1f, 8 * 3600, 18 * 3600)) == "mon-fri 08:00-18:00");
}

TEST_CASE("Schedule: the window in force, across midnight and the week's end",
          "[config][schedule]") {
  std::vector<ShapeWindow> ws = {window(0x1f, 8 * 3600, 18 * 3600),   // mon-fri day
                                 window(0x40, 22 * 3600, 6 * 3600)};  // sun night
  CHECK(active_window(ws, at(0, 7, 59)) == -1);
  CHECK(active_window(ws, at(0, 8, 0)) == 0);
  CHECK(active_window(ws, at(4, 17, 59)) == 0);
  CHECK(active_window(ws, at(4, 18, 0)) == -1);  // the end is not in it
  CHECK(active_window(ws, at(5, 12, 0)) == -1);  // Saturday
  CHECK(active_window(ws, at(6, 21, 59)) == -1);
  CHECK(active_window(ws, at(6, 22, 0)) == 1);
  CHECK(active_window(ws, at(0, 0, 0)) == 1);  // past Sunday 24:00: Monday morning
  CHECK(active_window(ws, at(0, 5, 59)) == 1);
  CHECK(active_window(ws, at(0, 6, 0)) == -1);
  CHECK(active_window({window(kEveryDay, 0, kDaySeconds)}, at(3, 13, 0)) == 0);  // all day

  CHECK(overlaps_earlier(ws, 1) == -1);
  ws.push_back(window(0x01, 5 * 3600, 7 * 3600));  // Monday 05:00: Sunday night's window
  CHECK(overlaps_earlier(ws, 2) == 1);
  ws.back() = window(0x01, 6 * 3600, 8 * 3600);  // touching both: no overlap
  CHECK(overlaps_earlier(ws, 2) == -1);
}

TEST_CASE("Schedule: parsed, round trip, equality", "[config][schedule]") {
  auto r =
      parse(tenant_with({"{days: mon-fri, from: \"08:00\", to: \"18:00\", rate: 5gbit, "
                         "ceil: 10gbit}",
                         "{days: [sat, sun], from: \"22:00\", to: \"06:00:30\", rate: 2gbit}",
                         "{from: \"18:00\", to: \"20:00\", rate: 200mbit}"}));
  REQUIRE(std::holds_alternative<Config>(r));
  const Tenant& t = std::get<Config>(r).tenants.at(0);
  REQUIRE(t.schedule.size() == 3);
  CHECK(t.schedule[0].days == 0x1f);
  CHECK(t.schedule[0].rate_bps == 5'000'000'000u);
  CHECK(t.schedule[0].ceil_bps == 10'000'000'000u);
  CHECK(t.schedule[1].days == 0x60);
  CHECK(t.schedule[1].to_s == 6 * 3600 + 30u);
  CHECK(t.schedule[2].days == kEveryDay);
  CHECK(t.schedule[2].line == 8);
  auto again = parse_config(to_yaml(std::get<Config>(r)), "round.yaml");
  REQUIRE(std::holds_alternative<Config>(again));
  CHECK(std::get<Config>(again).tenants == std::get<Config>(r).tenants);

  // Unshaped outside its windows: a schedule without a base rate.
  auto bare = parse(
      "tenants:\n  - name: night\n    id: 4\n    burst: 65536\n    schedule:\n"
      "      - {from: \"00:00\", to: \"06:00\", rate: 20gbit}\n");
  REQUIRE(std::holds_alternative<Config>(bare));
  CHECK(std::get<Config>(bare).tenants[0].rate_bps == 0);
}

TEST_CASE("Schedule: bad windows are refused with file:line and the field", "[config][schedule]") {
  auto one = [](const std::vector<std::string>& windows) {
    auto errs = errors_of(tenant_with(windows));
    REQUIRE(errs.size() == 1);
    return errs[0];
  };
  auto e = one({"{days: mon-fri, from: \"08:00\", to: \"18:00\", rate: 5gbit}",
                "{days: fri, from: \"17:00\", to: \"19:00\", rate: 2gbit}"});
  CHECK(e.line == 7);
  CHECK(e.field == "tenants[0].schedule[1]");
  CHECK(e.message.find("overlaps the window at line 6 (mon-fri 08:00-18:00)") != std::string::npos);
  e = one({"{from: \"08:00\", to: \"08:00\", rate: 5gbit}"});
  CHECK(e.field == "tenants[0].schedule[0].to");
  CHECK(e.message.find("ends when it starts") != std::string::npos);
  e = one({"{from: \"8:00\", to: \"18:00\", rate: 5gbit}"});
  CHECK(e.field == "tenants[0].schedule[0].from");
  CHECK(e.message.find("HH:MM") != std::string::npos);
  e = one({"{from: \"08:00\", to: \"25:00\", rate: 5gbit}"});
  CHECK(e.field == "tenants[0].schedule[0].to");
  e = one({"{days: weekdays, from: \"08:00\", to: \"18:00\", rate: 5gbit}"});
  CHECK(e.field == "tenants[0].schedule[0].days");
  CHECK(e.message.find("'weekdays' is not a day") != std::string::npos);
  e = one({"{days: [mon, funday], from: \"08:00\", to: \"18:00\", rate: 5gbit}"});
  CHECK(e.field == "tenants[0].schedule[0].days[1]");
  e = one({"{from: \"08:00\", to: \"18:00\"}"});
  CHECK((e.field + e.message).find("rate") != std::string::npos);
  e = one({"{from: \"08:00\", to: \"18:00\", rate: 50mbit}"});
  CHECK(e.field == "tenants[0].schedule[0].rate");
  CHECK(e.message.find("outside 100mbit..100gbit") != std::string::npos);
  e = one({"{from: \"08:00\", to: \"18:00\", rate: 5gbit, ceil: 1gbit}"});
  CHECK(e.field == "tenants[0].schedule[0].ceil");
  e = one({"{from: \"08:00\", to: \"18:00\", rate: 5gbit, every: hour}"});
  CHECK(e.field.find("every") != std::string::npos);
  e = one({"{days: sun, from: \"23:00\", to: \"02:00\", rate: 5gbit}",
           "{days: mon, from: \"01:00\", to: \"03:00\", rate: 5gbit}"});
  CHECK(e.message.find("overlaps") != std::string::npos);  // across the week's end

  std::vector<std::string> many(33, "{from: \"00:00\", to: \"00:01\", rate: 1gbit}");
  e = one(many);
  CHECK(e.message.find("at most 32") != std::string::npos);
}
