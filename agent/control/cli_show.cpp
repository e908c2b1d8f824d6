// aigwctl: text output (tables, JSON) and the renderings of status,
// interfaces and stats.
#include <aigw/abi.h>
#include <fmt/format.h>

#include <algorithm>
#include <ostream>
#include <set>

#include "control/cli_internal.hpp"

namespace aigw::cli {

const json& field(const json& obj, const char* key) {
  static const json null_value;
  if (!obj.is_object()) return null_value;
  auto it = obj.find(key);
  return it == obj.end() ? null_value : *it;
}

// Display text of any JSON value ("-" for none).
std::string text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const auto& e : v) parts.push_back(text(e));
    return fmt::format("{}", fmt::join(parts, ","));
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

uint64_t number(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    auto i = v.get<int64_t>();
    return i < 0 ? 0 : static_cast<uint64_t>(i);
  }
  if (v.is_number_float()) return static_cast<uint64_t>(std::max(0.0, v.get<double>()));
  return 0;
}

Table::Table(std::vector<std::string> headers, std::vector<bool> right)
    : headers_(std::move(headers)), right_(std::move(right)) {
  right_.resize(headers_.size(), false);
}

void Table::add(std::vector<std::string> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out, bool header) const {
  std::vector<std::size_t> width(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) {
    width[c] = headers_[c].size();
    for (const auto& r : rows_) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (std::size_t c = 0; c < r.size(); ++c) {
      if (c) s += "  ";
      std::size_t pad = width[c] - r[c].size();
      if (right_[c]) s.append(pad, ' ');
      s += r[c];
      if (!right_[c] && c + 1 < r.size()) s.append(pad, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  if (header) line(headers_);
  for (const auto& r : rows_) line(r);
}

void print_json(const json& j, std::ostream& out) {
  out << j.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

namespace {

std::string uptime_text(uint64_t s) {
  uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  if (d) return fmt::format("{}d {}h {}m {}s", d, h, m, sec);
  if (h) return fmt::format("{}h {}m {}s", h, m, sec);
  if (m) return fmt::format("{}m {}s", m, sec);
  return fmt::format("{}s", sec);
}

struct NamedCounter {
  std::string name;
  uint64_t packets = 0, bytes = 0;
};

// Named counters from the agent; with `all`, names the agent did not list
// are added as zeros (from this build's ABI) and zeros are kept.
std::vector<NamedCounter> named_counters(const json& list, const char* key, bool all,
                                         const char* (*name_of)(unsigned), unsigned max) {
  std::vector<NamedCounter> v;
  std::set<std::string> seen;
  if (list.is_array())
    for (const auto& e : list) {
      NamedCounter c{text(field(e, key)), number(field(e, "packets")), number(field(e, "bytes"))};
      seen.insert(c.name);
      v.push_back(std::move(c));
    }
  if (all)
    for (unsigned i = 1; i < max; ++i)
      if (!seen.count(name_of(i))) v.push_back({name_of(i), 0, 0});
  if (!all) std::erase_if(v, [](const NamedCounter& c) { return c.packets == 0 && c.bytes == 0; });
  return v;
}

const char* drop_name(unsigned r) { return aigw_drop_reason_name(r); }
const char* event_name(unsigned e) { return aigw_event_name(e); }

}  // namespace

void render_status(const json& d, std::ostream& out) {
  out << fmt::format("aigwd {}, up {}\n", text(field(d, "version")),
                     uptime_text(number(field(d, "uptime_s"))));
  Table t({"", ""});
  auto row = [&](const char* k, const json& v) { t.add({k, text(v)}); };
  row("config file", field(d, "config_file"));
  row("socket", field(d, "socket"));
  row("pin path", field(d, "pin_path"));
  row("interfaces", field(d, "interfaces"));
  row("policies", field(d, "policies"));
  row("sids", field(d, "sids"));
  const json& lr = field(d, "last_reload");
  if (lr.is_object()) {
    std::string s = text(field(lr, "time"));
    const json& ok = field(lr, "ok");
    if (ok.is_boolean()) s += ok.get<bool>() ? " ok" : " FAILED";
    const json& msg = field(lr, "message");
    if (msg.is_string() && !msg.get<std::string>().empty()) s += ": " + msg.get<std::string>();
    t.add({"last reload", s});
  }
  t.print(out, false);
}

void render_interfaces(const json& d, std::ostream& out) {
  if (!d.is_array() || d.empty()) return;
  Table t({"NAME", "IFINDEX", "ROLE", "VRF", "VLAN", "XDP", "ATTACHED", "MTU", "SLOT"},
          {false, true, false, true, true, false, false, true, true});
  for (const auto& i : d)
    t.add({text(field(i, "name")), text(field(i, "ifindex")), text(field(i, "role")),
           text(field(i, "vrf")), text(field(i, "vlan")), text(field(i, "xdp_mode")),
           text(field(i, "attached")), text(field(i, "mtu")), text(field(i, "slot"))});
  t.print(out);
}

// Frames redirected into each port that the kernel did not send (counted as
// fwd where they came in). Ports without any are hidden unless `all`; an
// agent that sends no "ports" gets no section.
void render_xmit_drops(const json& ports, bool all, std::ostream& out) {
  static constexpr const char* kReasons[] = {"xmit_no_xdp", "xmit_down", "xmit_failed"};
  if (!ports.is_array()) return;
  Table t({"PORT", "XMIT_NO_XDP", "XMIT_DOWN", "XMIT_FAILED"}, {false, true, true, true});
  bool any = false;
  for (const auto& p : ports) {
    std::vector<std::string> row = {text(field(p, "name"))};
    uint64_t sum = 0;
    for (const char* r : kReasons) {
      sum += number(field(p, r));
      row.push_back(std::to_string(number(field(p, r))));
    }
    if (!sum && !all) continue;
    any = true;
    t.add(std::move(row));
  }
  out << '\n';
  if (any)
    t.print(out);
  else
    out << "transmit drops: none\n";
}

void render_stats(const json& d, bool all, std::ostream& out) {
  static constexpr const char* kCounters[] = {"rx", "encap", "decap", "fwd", "pass", "drop", "tx"};
  const json& ifs = field(d, "interfaces");
  if (ifs.is_array() && !ifs.empty()) {
    std::vector<std::string> head = {"INTERFACE", "SLOT", ""};
    std::vector<bool> right = {false, true, false};
    for (const char* c : kCounters) {
      std::string h = c;
      for (auto& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      head.push_back(h);
      right.push_back(true);
    }
    Table t(head, right);
    for (const auto& i : ifs) {
      std::vector<std::string> pk = {text(field(i, "name")), text(field(i, "slot")), "packets"};
      std::vector<std::string> by = {"", "", "bytes"};
      for (const char* c : kCounters) {
        pk.push_back(std::to_string(number(field(field(i, c), "packets"))));
        by.push_back(std::to_string(number(field(field(i, c), "bytes"))));
      }
      t.add(std::move(pk));
      t.add(std::move(by));
    }
    t.print(out);
  } else {
    out << "interfaces: none\n";
  }

  auto section = [&](const std::vector<NamedCounter>& v, const char* title, const char* none) {
    out << '\n';
    if (v.empty()) {
      out << none << '\n';
      return;
    }
    Table t({title, "PACKETS", "BYTES"}, {false, true, true});
    for (const auto& c : v) t.add({c.name, std::to_string(c.packets), std::to_string(c.bytes)});
    t.print(out);
  };
  render_xmit_drops(field(d, "ports"), all, out);
  section(named_counters(field(d, "drops"), "reason", all, drop_name, AIGW_DROP_MAX), "DROP REASON",
          "drops: none");
  section(named_counters(field(d, "events"), "event", all, event_name, AIGW_EV_MAX), "EVENT",
          "events: none");
}

}  // namespace aigw::cli
