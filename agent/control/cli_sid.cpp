// aigwctl sid: show, add, del. Behaviour names, the attributes each takes
// and the help's argument lines come from the behaviour table
// (config/behaviors.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ostream>
#include <variant>

#include "common/net.hpp"
#include "config/behaviors.hpp"
#include "control/cli_internal.hpp"

namespace aigw::cli {

namespace {

std::string canonical_behavior(const std::string& text) {
  if (const BehaviorDesc* d = find_behavior_nocase(text)) return std::string(d->name);
  throw UsageError(
      fmt::format("bad behavior '{}' (one of {})", text, fmt::join(behavior_names(), ", ")));
}

// Behaviour names for the help, variants of one family folded: End.DT4,
// End.DT6, End.DT46 -> "End.DT*"; End.X, End.DX6 -> "End.X / End.DX6".
std::string name_groups(const std::vector<std::string_view>& names) {
  auto stem = [](std::string_view n) {
    auto end = n.find_last_not_of("0123456789");
    return n.substr(0, end == std::string_view::npos ? 0 : end + 1);
  };
  std::vector<std::string> out;
  for (std::size_t i = 0; i < names.size();) {
    std::size_t j = i + 1;
    std::string_view st = stem(names[i]);
    if (st != names[i])
      while (j < names.size() && stem(names[j]) == st && stem(names[j]) != names[j]) ++j;
    out.push_back(j - i > 1 ? fmt::format("{}*", st) : std::string(names[i]));
    i = j;
  }
  return fmt::format("{}", fmt::join(out, " / "));
}

// "GROUP: what; GROUP: what" for the non-empty groups.
std::string help_parts(
    const std::vector<std::pair<std::vector<std::string_view>, std::string>>& p) {
  std::vector<std::string> parts;
  for (const auto& [names, what] : p)
    if (!names.empty()) parts.push_back(fmt::format("{}: {}", name_groups(names), what));
  return fmt::format("{}", fmt::join(parts, "; "));
}

// The argument lines of `sid add --help`, from the behaviour table.
std::string sid_add_footer() {
  std::vector<std::pair<std::vector<std::string_view>, std::string>> dev;
  for (const auto& d : behaviors())
    if (d.needs(kSidAttrInterface)) dev.push_back({{d.name}, std::string(d.interface_use)});
  std::vector<std::string_view> dev_opt;
  for (const auto& d : behaviors())
    if (d.takes(kSidAttrInterface) && !d.needs(kSidAttrInterface)) dev_opt.push_back(d.name);
  dev.push_back({dev_opt, "optional"});
  auto line = [](std::string_view arg, const std::string& text) {
    return fmt::format("  {:<14}{}\n", arg, text);
  };
  return "Arguments:\n" + line("SID", "IPv6 address (= /128) or locator+function prefix") +
         line("behavior B", fmt::format("{}", fmt::join(behavior_names(), ", "))) +
         line("table N", help_parts({{behaviors_taking(kSidAttrTable),
                                      fmt::format("routing table for the lookup (default {})",
                                                  kDefaultTable)}})) +
         line("nh ADDR", help_parts({{behaviors_taking(kSidAttrNexthop6), "IPv6 next hop"},
                                     {behaviors_taking(kSidAttrNexthop4), "IPv4 next hop"}})) +
         line("dev IFNAME", help_parts(dev)) +
         "Example:\n"
         "  aigwctl sid add fc00:1::100 behavior End.DT4 table 100";
}

}  // namespace

std::string sid_arg(const std::string& text) {
  auto slash = text.find('/');
  if (auto a = parse_ip(text.substr(0, slash)); a && !is_v6(*a))
    throw UsageError(fmt::format("bad SID '{}': not IPv6", text));
  std::string s = slash == std::string::npos ? text + "/128" : text;
  auto r = Prefix::parse(s);
  if (auto* e = std::get_if<std::string>(&r))
    throw UsageError(fmt::format("bad SID '{}': {}", text, *e));
  if (!std::get<Prefix>(r).v6) throw UsageError(fmt::format("bad SID '{}': not IPv6", text));
  return s;
}

json build_sid(const std::vector<std::string>& w) {
  if (w.empty()) throw UsageError("missing SID");
  json s = {{"sid", sid_arg(w[0])}};
  Keywords k(w, 1);
  while (!k.done()) {
    const std::string kw = k.keyword();
    if (kw == "behavior" || kw == "behaviour" || kw == "action") {
      k.once("behavior");
      s["behavior"] = canonical_behavior(k.value(kw));
    } else if (kw == "table" || kw == "vrftable") {
      k.once("table");
      s["table"] = parse_uint(k.value(kw), "table", 0, UINT32_MAX);
    } else if (kw == "nh" || kw == "nexthop" || kw == "via" || kw == "nh4" || kw == "nh6") {
      k.once("nh");
      const std::string& v = k.value(kw);
      if (!parse_ip(v)) throw UsageError(fmt::format("bad nh '{}': not an IP address", v));
      s["nexthop"] = v;
    } else if (kw == "dev" || kw == "oif" || kw == "interface") {
      k.once("dev");
      const std::string& v = k.value(kw);
      if (v.empty() || v.size() > 15 || v == "." || v == ".." ||
          v.find_first_of("/ \t\n:") != std::string::npos)
        throw UsageError(fmt::format("bad dev '{}': not an interface name", v));
      s["interface"] = v;
    } else {
      throw UsageError(fmt::format("unknown argument '{}'", kw));
    }
  }
  if (!s.contains("behavior")) throw UsageError("missing 'behavior B'");
  return s;
}

void render_sids(const json& d, std::ostream& out) {
  if (!d.is_array() || d.empty()) return;
  Table t({"SID", "BEHAVIOR", "TABLE", "NEXTHOP", "DEV"}, {false, false, true, false, false});
  for (const auto& s : d)
    t.add({text(field(s, "sid")), text(field(s, "behavior")), text(field(s, "table")),
           text(field(s, "nexthop")), text(field(s, "interface"))});
  t.print(out);
}

void add_sid_commands(CommandTree& t) {
  CLI::App* sid = t.object("sid");
  t.verb(sid, "show", "list local SIDs", "[OPTIONS]");
  t.verb(sid, "add", "add a local SID", "[OPTIONS] SID behavior B [table N] [nh ADDR] [dev IFNAME]",
         sid_add_footer());
  t.verb(sid, "del", "delete a local SID", "[OPTIONS] SID");
}

}  // namespace aigw::cli
