// aigwctl flow (top, show), usage show, tenant show, class show: the
// accounting views.
#include <fmt/format.h>

#include <algorithm>
#include <ostream>

#include "common/net.hpp"
#include "common/period.hpp"
#include "control/cli_internal.hpp"

namespace aigw::cli {

namespace {

uint8_t parse_proto(const std::string& v) {
  if (v == "tcp") return 6;
  if (v == "udp") return 17;
  if (v == "icmp") return 1;
  if (v == "icmpv6" || v == "ipv6-icmp") return 58;
  if (v == "sctp") return 132;
  return static_cast<uint8_t>(parse_uint(v, "proto", 0, 255));
}

double real(const json& v) { return v.is_number() ? v.get<double>() : 0.0; }

}  // namespace

std::string rate_text(double bps) {
  static constexpr const char* units[] = {"bit", "Kbit", "Mbit", "Gbit", "Tbit"};
  int u = 0;
  while (bps >= 1000.0 && u < 4) {
    bps /= 1000.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}{}", bps, units[u]) : fmt::format("{:.2f}{}", bps, units[u]);
}

json build_flow_top(const std::vector<std::string>& words) {
  auto w = split_equals(words);
  json a = json::object();
  Keywords k(w, 0);
  while (!k.done()) {
    const std::string raw = k.keyword();
    const std::string kw = accounting_keyword(raw);
    if (kw == "n" || kw == "count" || kw == "limit") {
      k.once("n");
      a["n"] = parse_uint(k.value(raw), "-n", 0, 1000000);
    } else if (kw == "by" || kw == "sort") {
      k.once("by");
      const std::string& v = k.value(raw);
      if (v != "bytes" && v != "packets" && v != "rate")
        throw UsageError(fmt::format("bad --by '{}' (expected bytes, packets or rate)", v));
      a["by"] = v;
    } else {
      throw UsageError(fmt::format("unknown argument '{}'", raw));
    }
  }
  return a;
}

json build_flow_show(const std::vector<std::string>& words) {
  auto w = split_equals(words);
  json a = json::object();
  Keywords k(w, 0);
  while (!k.done()) {
    const std::string raw = k.keyword();
    const std::string kw = accounting_keyword(raw);
    if (kw == "tenant" || kw == "class") {
      k.once(kw);
      const std::string& v = k.value(raw);
      if (v.empty()) throw UsageError(fmt::format("empty {}", kw));
      a[kw] = v;
    } else if (kw == "app-group" || kw == "app_group" || kw == "appgroup") {
      k.once("app-group");
      a["app_group"] = parse_uint(k.value(raw), "app-group", 0, UINT64_MAX);
    } else if (kw == "src" || kw == "dst") {
      k.once(kw);
      std::string v = k.value(raw);
      if (v.find('/') == std::string::npos) {
        auto ip = parse_ip(v);
        if (!ip) throw UsageError(fmt::format("bad {} '{}': not an address or prefix", kw, v));
        v += is_v6(*ip) ? "/128" : "/32";
      }
      check_prefix(v, kw);
      a[kw] = v;
    } else if (kw == "proto" || kw == "protocol") {
      k.once("proto");
      a["proto"] = parse_proto(k.value(raw));
    } else if (kw == "port") {
      k.once("port");
      a["port"] = parse_uint(k.value(raw), "port", 0, 65535);
    } else if (kw == "dir" || kw == "direction") {
      k.once("dir");
      const std::string& v = k.value(raw);
      if (v != "in" && v != "out")
        throw UsageError(fmt::format("bad dir '{}' (expected in or out)", v));
      a["dir"] = v;
    } else {
      throw UsageError(fmt::format("unknown argument '{}'", raw));
    }
  }
  return a;
}

json build_usage_show(const std::vector<std::string>& words) {
  auto w = split_equals(words);
  json a = json::object();
  Keywords k(w, 0);
  while (!k.done()) {
    const std::string raw = k.keyword();
    const std::string kw = accounting_keyword(raw);
    if (kw == "tenant") {
      k.once("tenant");
      const std::string& v = k.value(raw);
      if (v.empty()) throw UsageError("empty tenant");
      a["tenant"] = v;
    } else if (kw == "period") {
      k.once("period");
      const std::string& v = k.value(raw);
      auto p = parse_period(v);
      if (!p) throw UsageError(fmt::format("bad period '{}' (e.g. 10s, 1m, 1h)", v));
      a["period"] = *p;
    } else {
      throw UsageError(fmt::format("unknown argument '{}'", raw));
    }
  }
  return a;
}

void render_flows(const json& d, std::ostream& out) {
  out << fmt::format(
      "flows: {} active (table {}){}\n", number(field(d, "active")), number(field(d, "capacity")),
      field(d, "enabled").is_boolean() && !field(d, "enabled").get<bool>() ? ", tracking off" : "");
  const json& fl = field(d, "flows");
  if (!fl.is_array() || fl.empty()) return;
  Table t({"DIR", "PROTO", "SRC", "SPORT", "DST", "DPORT", "TENANT", "CLASS", "PACKETS", "BYTES",
           "RATE", "POLICY"},
          {false, true, false, true, false, true, false, false, true, true, true, false});
  for (const auto& f : fl) {
    // POLICY: the policy that encapsulated it, "/path" for a multipath policy.
    std::string pol = field(f, "policy").is_string() ? text(field(f, "policy")) : "-";
    if (!field(f, "path").is_null()) pol += "/" + text(field(f, "path"));
    t.add({text(field(f, "dir")), text(field(f, "proto")), text(field(f, "src")),
           text(field(f, "sport")), text(field(f, "dst")), text(field(f, "dport")),
           text(field(f, "tenant")), text(field(f, "class")), text(field(f, "packets")),
           text(field(f, "bytes")), rate_text(real(field(f, "bps"))), pol});
  }
  t.print(out);
}

// FLOW as the datapath keys it; PATH where its last packets went, PLACED the
// path the agent pinned it to (it moves there at its next idle gap).
void render_elephants(const json& d, std::ostream& out) {
  const json& el = field(d, "elephants");
  bool on = !field(d, "enabled").is_boolean() || field(d, "enabled").get<bool>();
  std::string shares;
  if (field(d, "enter_pct").is_number())
    shares = fmt::format(" (policies with capacities: {}% / {}% of it)",
                         field(d, "enter_pct").get<double>(), field(d, "leave_pct").get<double>());
  out << fmt::format(
      "elephants: {} (detection {}; window {} ms, enter {} Mbit/s, leave {} Mbit/s{}; "
      "{} pinned)\n",
      el.is_array() ? el.size() : 0, on ? "on" : "off", number(field(d, "window_ms")),
      number(field(d, "enter_mbps")), number(field(d, "leave_mbps")), shares,
      number(field(d, "pins")));
  if (!el.is_array() || el.empty()) return;
  Table t({"DIR", "PROTO", "SRC", "SPORT", "DST", "DPORT", "QP", "RATE", "PEAK", "PATH", "PLACED",
           "MOVES", "SINCE"},
          {false, true, false, true, false, true, true, true, true, false, false, true, true});
  for (const auto& f : el) {
    bool placed = field(f, "placed").is_string();
    t.add({text(field(f, "dir")), text(field(f, "proto")), text(field(f, "src")),
           text(field(f, "sport")), text(field(f, "dst")), text(field(f, "dport")),
           field(f, "dqp").is_null() ? "-" : text(field(f, "dqp")),
           rate_text(real(field(f, "bps"))), rate_text(real(field(f, "peak_bps"))),
           text(field(f, "path")), placed ? text(field(f, "placed")) : "-",
           placed ? text(field(f, "moves")) : "-",
           fmt::format("{:.1f}s", real(field(f, "since_s")))});
  }
  t.print(out);
}

void render_usage(const json& d, std::ostream& out) {
  const json& periods = field(d, "periods");
  if (!periods.is_array()) return;
  bool first = true;
  for (const auto& p : periods) {
    for (const char* which : {"current", "last"}) {
      const json& pd = field(p, which);
      if (!first) out << '\n';
      first = false;
      if (!pd.is_object()) {
        out << fmt::format("period {} {}: none yet\n", text(field(p, "period")), which);
        continue;
      }
      out << fmt::format("period {} {}: {} .. {} ({} samples)\n", text(field(p, "period")), which,
                         text(field(pd, "start")), text(field(pd, "end")),
                         number(field(pd, "samples")));
      Table t({"TENANT", "CLASS", "DIR", "BYTES", "PACKETS", "PEAK", "P95"},
              {false, false, false, true, true, true, true});
      for (const auto& r : field(pd, "tenants")) {
        for (const char* dir : {"out", "in"}) {
          const json& x = field(r, dir);
          t.add({text(field(r, "tenant")), "*", dir, text(field(x, "bytes")),
                 text(field(x, "packets")), rate_text(real(field(x, "peak_bps"))),
                 rate_text(real(field(x, "p95_bps")))});
        }
        for (const auto& c : field(r, "classes"))
          for (const char* dir : {"out", "in"}) {
            const json& x = field(c, dir);
            if (number(field(x, "packets")) == 0 && number(field(x, "bytes")) == 0) continue;
            t.add({"", text(field(c, "class")), dir, text(field(x, "bytes")),
                   text(field(x, "packets")), "", ""});
          }
      }
      if (t.empty())
        out << "  no tenants\n";
      else
        t.print(out);
      // The other aggregates of the period, one line each.
      auto line = [&](const char* title, const char* key, auto label) {
        const json& list = field(pd, key);
        if (!list.is_array() || list.empty()) return;
        std::vector<std::string> items;
        for (const auto& e : list) items.push_back(label(e));
        out << fmt::format("{}: {}\n", title, fmt::join(items, ", "));
      };
      line("app-groups", "app_groups", [](const json& e) {
        return fmt::format("{} {} {}B/{}p", text(field(e, "app_group")), text(field(e, "dir")),
                           number(field(e, "bytes")), number(field(e, "packets")));
      });
      line("policies", "policies", [](const json& e) {
        return fmt::format("{} {}B/{}p", text(field(e, "name")), number(field(e, "bytes")),
                           number(field(e, "packets")));
      });
      line("interfaces rx", "interfaces", [](const json& e) {
        return fmt::format("{} {}B/{}p", text(field(e, "name")),
                           number(field(field(e, "rx"), "bytes")),
                           number(field(field(e, "rx"), "packets")));
      });
    }
  }
}

namespace {

// A tenant's queues summed over the WAN ports: rate, ceil, waiting, dropped.
std::vector<std::string> queue_cells(const json& e) {
  if (!e.contains("queues")) return {"-", "-", "-", "-"};
  uint64_t bytes = 0, drops = 0;
  for (const auto& q : field(e, "queues")) {
    bytes += q.value("backlog_bytes", uint64_t{0});
    drops += q.value("drops", uint64_t{0});
  }
  return {text(field(e, "rate")), text(field(e, "ceil")), std::to_string(bytes),
          std::to_string(drops)};
}

// The schedule window in force ("-" outside them; "held": by `tenant set`).
std::string window_cell(const json& e) {
  if (!e.contains("window")) return "-";
  return text(field(e, "window")) + (e.value("held", false) ? " (held)" : "");
}

}  // namespace

void render_totals(const json& d, std::ostream& out, bool classes) {
  if (!d.is_array() || d.empty()) return;
  bool queues = std::any_of(d.begin(), d.end(), [](const json& e) { return e.contains("queues"); });
  std::vector<std::string> head = {"NAME", "ID"};
  if (classes) head.push_back("BUILTIN");
  for (const char* h : {"OUT_PACKETS", "OUT_BYTES", "IN_PACKETS", "IN_BYTES"}) head.push_back(h);
  bool windows =
      std::any_of(d.begin(), d.end(), [](const json& e) { return e.contains("schedule"); });
  if (queues || windows)
    for (const char* h : {"RATE", "CEIL", "QUEUED_BYTES", "QUEUE_DROPS"}) head.push_back(h);
  std::vector<bool> right = {false, true};
  if (classes) right.push_back(false);
  right.insert(right.end(), queues || windows ? 8 : 4, true);
  bool pauses = std::any_of(d.begin(), d.end(),
                            [](const json& e) { return e.value("pauses", uint64_t{0}) > 0; });
  if (pauses) {
    head.push_back("PAUSED");
    right.push_back(false);
  }
  bool asking = std::any_of(
      d.begin(), d.end(), [](const json& e) { return e.value("pause_episodes", uint64_t{0}) > 0; });
  bool pfc = std::any_of(d.begin(), d.end(), [](const json& e) { return e.contains("pfc_on"); });
  for (auto [on, h] : {std::pair{asking, "PAUSING"}, std::pair{pfc, "PFC"}})
    if (on) {
      head.push_back(h);
      right.push_back(false);
    }
  if (windows) {
    head.push_back("WINDOW");
    right.push_back(false);
  }
  Table t(head, right);
  for (const auto& e : d) {
    std::vector<std::string> row = {text(field(e, "name")), text(field(e, "id"))};
    if (classes) row.push_back(text(field(e, "builtin")));
    row.push_back(text(field(field(e, "out"), "packets")));
    row.push_back(text(field(field(e, "out"), "bytes")));
    row.push_back(text(field(field(e, "in"), "packets")));
    row.push_back(text(field(field(e, "in"), "bytes")));
    if (queues || windows)
      for (auto& c : queue_cells(e)) row.push_back(std::move(c));
    if (pauses)
      row.push_back(fmt::format("{} ({})", e.value("paused", false) ? "yes" : "no",
                                e.value("pauses", uint64_t{0})));
    if (asking)
      row.push_back(fmt::format("{} ({})", e.value("pausing", false) ? "yes" : "no",
                                e.value("pause_episodes", uint64_t{0})));
    if (pfc)
      row.push_back(!e.contains("pfc_on")
                        ? "-"
                        : fmt::format("p{} {} ({})", text(field(e, "pfc_priority")),
                                      e.value("pfc_on", false) ? "on" : "off",
                                      e.value("pfc_episodes", uint64_t{0})));
    if (windows) row.push_back(window_cell(e));
    t.add(std::move(row));
  }
  t.print(out);
}

json build_tenant_set(const std::vector<std::string>& w) {
  if (w.empty()) throw UsageError("missing tenant NAME");
  json a = {{"name", w[0]}};
  Keywords k(w, 1);
  while (!k.done()) {
    const std::string kw = k.keyword();
    if (kw == "rate" || kw == "ceil") {
      k.once(kw);
      a[kw] = k.value(kw);
    } else if (kw == "burst") {
      k.once(kw);
      a["burst"] = parse_uint(k.value(kw), "burst", 1600, 64u << 20);
    } else {
      throw UsageError(fmt::format("unknown argument '{}'", kw));
    }
  }
  if (a.size() == 1) throw UsageError("give rate R|off, ceil C or burst BYTES");
  return a;
}

void merge_tenant_queues(json& tenants, const json& queues) {
  if (!tenants.is_array() || !queues.is_array()) return;
  for (auto& t : tenants)
    for (const auto& q : queues)
      if (field(q, "id") == field(t, "id"))
        for (const char* k : {"rate",
                              "ceil",
                              "rate_bps",
                              "ceil_bps",
                              "burst",
                              "queues",
                              "ecn_mark_bytes",
                              "ecn_marking",
                              "ecn_episodes",
                              "deepest_bytes",
                              "schedule",
                              "window",
                              "held",
                              "paused",
                              "pauses",
                              "xoff_bytes",
                              "xon_bytes",
                              "buffer_bytes",
                              "pausing",
                              "pause_episodes",
                              "rx_backlog_bytes",
                              "rx_deepest_bytes",
                              "pfc_priority",
                              "pfc_xoff_bytes",
                              "pfc_xon_bytes",
                              "pfc_on",
                              "pfc_episodes"})
          if (q.contains(k)) t[k] = q[k];
}

void add_accounting_commands(CommandTree& t) {
  CLI::App* flow = t.object("flow");
  t.verb(flow, "top", "the largest flows", "[OPTIONS] [-n N] [--by bytes|packets|rate]",
         "Arguments:\n"
         "  -n N                       how many flows (default 20, 0 = all)\n"
         "  --by bytes|packets|rate    order (default bytes; rate = over the last second)\n"
         "Example:\n"
         "  aigwctl flow top -n 10 --by rate");
  t.verb(flow, "show", "tracked flows, filtered",
         "[OPTIONS] [tenant T] [class C] [app-group G] [src PREFIX] [dst PREFIX]\n"
         "           [proto P] [port N] [dir in|out]",
         "Arguments (all given must match; src/dst as the packet carries them):\n"
         "  tenant T       tenant name or id\n"
         "  class C        service class name or id\n"
         "  app-group G    APN application group (leading apn.app_group_bits of the APN ID)\n"
         "  src PREFIX     source address or prefix\n"
         "  dst PREFIX     destination address or prefix\n"
         "  proto P        tcp, udp, icmp, icmpv6, sctp or a number\n"
         "  port N         source or destination port\n"
         "  dir in|out     out = customer -> WAN, in = WAN -> customer\n"
         "Example:\n"
         "  aigwctl flow show tenant acme proto udp dir out");
  t.verb(flow, "elephants", "confirmed elephant flows: rate, path, placement", "[OPTIONS]",
         "Columns: RATE over the last detection window, PEAK since confirmed, PATH\n"
         "where its last packets went (policy/path), PLACED the path the agent pinned\n"
         "it to (it moves there at its next idle gap), MOVES, SINCE confirmed.\n"
         "Example:\n"
         "  aigwctl -j flow elephants");
  CLI::App* usage = t.object("usage");
  t.verb(usage, "show", "per-tenant usage: period in progress and last completed",
         "[OPTIONS] [--tenant T] [--period 1m|1h|...]",
         "Arguments:\n"
         "  --tenant T     one tenant (name or id)\n"
         "  --period P     one configured period (10s, 1m, 1h...)\n"
         "Bytes are L3 bytes of the customer packets; out = customer -> WAN. PEAK and P95\n"
         "are bit rates over the period's samples (P95: nearest rank).");
  CLI::App* tenant = t.object("tenant");
  t.verb(tenant, "show", "tenants, ids, totals since the maps were created; rates and queues",
         "[OPTIONS]",
         "A shaped tenant (tenants[].rate) also shows its RATE and CEIL and, summed over\n"
         "its queues (WAN ports, and customer ports for decapsulated traffic), the bytes\n"
         "waiting and the packets dropped.\n"
         "PAUSED: held now by a peer gateway's pause (yes/no) and (times held), once\n"
         "a tenant has been paused. PAUSING: this gateway asks its peers to hold the\n"
         "tenant now (its customer queue is past XOFF) and (times asked). PFC: the\n"
         "tenant's 802.1p priority, whether its hosts are paused now, (times paused).\n"
         "A tenant with a schedule shows the WINDOW in force (UTC); \"(held)\": rates\n"
         "set by `tenant set` during that window, kept until it ends.");
  t.verb(tenant, "set", "change a tenant's rate at runtime (as a reload would)",
         "[OPTIONS] NAME [rate R|off] [ceil C] [burst BYTES]",
         "Arguments:\n"
         "  rate R       guaranteed rate, 100mbit..100gbit (tc units: kbit, mbit, gbit);\n"
         "               off: the tenant's queue goes, its traffic takes the fast path\n"
         "  ceil C       the most it may borrow up to (>= rate; default: the rate)\n"
         "  burst BYTES  sent at line speed at once (default: from the rate)\n"
         "The change is not written to the configuration file. Inside one of the\n"
         "tenant's schedule windows it holds until that window ends.\n"
         "Example:\n"
         "  aigwctl tenant set ai rate 2gbit ceil 5gbit");
  CLI::App* cls = t.object("class");
  t.verb(cls, "show", "service classes, ids and totals since the maps were created", "[OPTIONS]");
}

}  // namespace aigw::cli
