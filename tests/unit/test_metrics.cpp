// Prometheus export (agent/telemetry/): the exposition text of a made-up
// snapshot, checked line by line and by promtool, and the HTTP listener on
// 127.0.0.1 (a free port).
#include <aigw/abi.h>
#include <arpa/inet.h>
#include <civetweb.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <prometheus/check_names.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "telemetry/metrics.hpp"

using namespace aigw;
using namespace aigw::telemetry;

namespace {

aigw_ctr ctr(uint64_t packets, uint64_t bytes) { return {packets, bytes}; }

// eth1 (slot 1), eth1 vlan 100 (slot 2), eth0 (slot 3, no counters read),
// eth2 (no slot).
Snapshot sample() {
  Snapshot s;
  s.config.interfaces = {{"eth1", std::nullopt, 1, 11},
                         {"eth1", 100, 2, 11},
                         {"eth0", std::nullopt, 3, 10},
                         {"eth2", std::nullopt, std::nullopt, 0}};
  s.config.policies = 3;
  s.config.sids = 2;
  s.config.reload_ok = false;
  s.config.reload_time =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000250));
  Counters a;
  a.rx = ctr(100, 150000);
  a.encap = ctr(90, 140000);
  a.fwd = ctr(90, 140000);
  a.pass = ctr(7, 700);
  a.drop = ctr(2, 120);
  a.tx = ctr(1, 90);
  Counters b;
  b.rx = ctr(5, 500);
  b.pass = ctr(5, 500);
  s.stats.by_slot = {{1, a}, {2, b}};
  s.stats.drops.assign(AIGW_DROP_MAX, aigw_ctr{});
  s.stats.drops[AIGW_DROP_MTU_EXCEEDED] = ctr(2, 120);
  s.stats.events.assign(AIGW_EV_MAX, aigw_ctr{});
  s.stats.events[AIGW_EV_MSS_CLAMPED] = ctr(4, 240);
  s.stats.xmit[11] = aigw_xmit_drops{6, 1, 2, 0};
  // Accounting: tenants acme (1) and beta (2), built-in classes plus "bulk"
  // (6); traffic of acme/training out and in, of beta/bulk out, unclassified
  // best-effort out, and of tenant 7 (no longer configured) in.
  AccountingFacts& acct = s.accounting;
  acct.tenants = {{0, "unclassified"}, {1, "acme"}, {2, "beta"}};
  for (unsigned c = 0; c < AIGW_CLASS_BUILTIN_MAX; ++c)
    acct.classes[c] = aigw_class_builtin_name(c);
  acct.classes[6] = "bulk";
  acct.usage.assign(AIGW_USAGE_ENTRIES, aigw_ctr{});
  acct.usage[AIGW_USAGE_INDEX(AIGW_DIR_OUT, 1, AIGW_CLASS_TRAINING)] = ctr(10, 15000);
  acct.usage[AIGW_USAGE_INDEX(AIGW_DIR_OUT, 1, AIGW_CLASS_STORAGE)] = ctr(1, 100);
  acct.usage[AIGW_USAGE_INDEX(AIGW_DIR_IN, 1, AIGW_CLASS_TRAINING)] = ctr(20, 30000);
  acct.usage[AIGW_USAGE_INDEX(AIGW_DIR_OUT, 2, 6)] = ctr(3, 4500);
  acct.usage[AIGW_USAGE_INDEX(AIGW_DIR_OUT, 0, 0)] = ctr(4, 400);
  acct.usage[AIGW_USAGE_INDEX(AIGW_DIR_IN, 7, 9)] = ctr(5, 500);
  acct.policies = {{1, "to-b"}, {2, "backup"}, {6, "spread"}, {7, "spread"}};
  acct.paths = {{6, 0}, {7, 1}};  // "spread" has two paths
  acct.policy_stats = {{1, ctr(11, 15100)}, {5, ctr(9, 9)}, {6, ctr(2, 200)}, {7, ctr(3, 300)}};
  acct.flows_active = 12;
  acct.flows_capacity = 65536;
  return s;
}

std::string exposition(const Snapshot& s, uint64_t errors = 0) {
  auto f = exporter_families("1.2.3", errors);
  auto g = snapshot_families(s);
  f.insert(f.end(), g.begin(), g.end());
  return to_text(f);
}

// A sample line "name{a="x",b="y"} value" split up.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

std::vector<Sample> samples(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    auto brace = line.find('{'), space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    s.value = line.substr(space + 1);
    s.name = line.substr(0, std::min(brace, space));
    if (brace != std::string::npos) {
      std::string body = line.substr(brace + 1, line.rfind('}') - brace - 1);
      size_t pos = 0;
      while (pos < body.size()) {
        auto eq = body.find("=\"", pos);
        auto end = body.find('"', eq + 2);
        REQUIRE(eq != std::string::npos);
        REQUIRE(end != std::string::npos);
        s.labels[body.substr(pos, eq - pos)] = body.substr(eq + 2, end - eq - 2);
        pos = end + 2;  // past `",`
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string label(const Sample& s, const std::string& key) {
  auto it = s.labels.find(key);
  return it == s.labels.end() ? "" : it->second;
}

// The value of the one sample with this name and exactly these labels.
std::string value(const std::vector<Sample>& all, const std::string& name,
                  const std::map<std::string, std::string>& labels = {}) {
  std::vector<std::string> found;
  for (const auto& s : all)
    if (s.name == name && s.labels == labels) found.push_back(s.value);
  INFO(name);
  REQUIRE(found.size() == 1);
  return found[0];
}

std::string help_type(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind("# HELP " + name + " ", 0) == 0 || line.rfind("# TYPE " + name + " ", 0) == 0)
      out += line + "\n";
  return out;
}

// Runs `promtool check metrics` on `text`; returns its exit code and output.
std::pair<int, std::string> promtool_check(const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("aigw-metrics-{}", ::getpid());
  std::filesystem::create_directories(dir);
  auto in = dir / "metrics.prom", out = dir / "promtool.out";
  std::ofstream(in) << text;
  std::string cmd =
      fmt::format("promtool check metrics < '{}' > '{}' 2>&1", in.string(), out.string());
  int rc = std::system(cmd.c_str());
  std::ifstream o(out);
  std::string output((std::istreambuf_iterator<char>(o)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, output};
}

bool have_promtool() { return std::system("command -v promtool > /dev/null 2>&1") == 0; }

// GET path from 127.0.0.1:port; returns the body (HTTP/1.0: the server closes).
std::string http_get(int port, const std::string& path = "/metrics") {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.get() >= 0);
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  std::string req = fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  REQUIRE(::send(fd.get(), req.data(), req.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(req.size()));
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0;) resp.append(buf, n);
  auto hdr_end = resp.find("\r\n\r\n");
  REQUIRE(hdr_end != std::string::npos);
  INFO(resp.substr(0, hdr_end));
  REQUIRE(resp.rfind("HTTP/1.1 200", 0) == 0);
  return resp.substr(hdr_end + 4);
}

const char* const kIfCounters[] = {"rx", "encap", "decap", "fwd", "pass", "drop", "tx"};

}  // namespace

TEST_CASE("exposition text has the expected names, labels and values", "[metrics]") {
  const std::string text = exposition(sample(), 2);
  INFO(text);
  const auto all = samples(text);

  CHECK(value(all, "aigw_build_info", {{"version", "1.2.3"}}) == "1");
  CHECK(value(all, "aigw_scrape_errors_total") == "2");
  CHECK(value(all, "aigw_interfaces") == "4");
  CHECK(value(all, "aigw_policies") == "3");
  CHECK(value(all, "aigw_sids") == "2");
  CHECK(value(all, "aigw_config_reload_success") == "0");
  CHECK(std::stod(value(all, "aigw_config_reload_timestamp_seconds")) == Approx(1700000000.25));

  const std::map<std::string, std::string> eth1{{"interface", "eth1"}};
  const std::map<std::string, std::string> vlan{{"interface", "eth1"}, {"vlan", "100"}};
  CHECK(value(all, "aigw_interface_rx_packets_total", eth1) == "100");
  CHECK(value(all, "aigw_interface_rx_bytes_total", eth1) == "150000");
  CHECK(value(all, "aigw_interface_encap_packets_total", eth1) == "90");
  CHECK(value(all, "aigw_interface_decap_packets_total", eth1) == "0");
  CHECK(value(all, "aigw_interface_fwd_bytes_total", eth1) == "140000");
  CHECK(value(all, "aigw_interface_pass_packets_total", eth1) == "7");
  CHECK(value(all, "aigw_interface_drop_packets_total", eth1) == "2");
  CHECK(value(all, "aigw_interface_tx_bytes_total", eth1) == "90");
  CHECK(value(all, "aigw_interface_rx_packets_total", vlan) == "5");
  CHECK(value(all, "aigw_interface_pass_bytes_total", vlan) == "500");

  // Every counter family is there, for exactly the interfaces with counters.
  for (const char* c : kIfCounters)
    for (const char* unit : {"packets", "bytes"}) {
      std::string name = fmt::format("aigw_interface_{}_{}_total", c, unit);
      INFO(name);
      const std::string ht = help_type(text, name);
      CHECK_THAT(ht, Catch::StartsWith("# HELP " + name + " "));
      CHECK_THAT(ht, Catch::EndsWith("# TYPE " + name + " counter\n"));
      std::set<std::string> ifs;
      for (const auto& s : all)
        if (s.name == name) ifs.insert(label(s, "interface") + label(s, "vlan"));
      CHECK(ifs == std::set<std::string>{"eth1", "eth1100"});
    }

  // Every named drop reason and event, zeros included; "none" is not one.
  for (unsigned r = 1; r < AIGW_DROP_MAX; ++r) {
    const bool mtu = r == AIGW_DROP_MTU_EXCEEDED;
    CHECK(value(all, "aigw_drops_total", {{"reason", aigw_drop_reason_name(r)}}) ==
          (mtu ? "2" : "0"));
    CHECK(value(all, "aigw_drop_bytes_total", {{"reason", aigw_drop_reason_name(r)}}) ==
          (mtu ? "120" : "0"));
  }
  for (unsigned e = 1; e < AIGW_EV_MAX; ++e)
    CHECK(value(all, "aigw_events_total", {{"event", aigw_event_name(e)}}) ==
          (e == AIGW_EV_MSS_CLAMPED ? "4" : "0"));
  for (const auto& s : all) {
    CHECK(label(s, "reason") != "none");
    CHECK(label(s, "event") != "none");
  }

  CHECK(help_type(text, "aigw_drops_total").find("# TYPE aigw_drops_total counter") !=
        std::string::npos);

  // Transmit drops: one series per kernel port and reason (eth1's VLAN entry
  // shares its port's; eth2 was not found: none), zeros included.
  using L = std::map<std::string, std::string>;
  CHECK(value(all, "aigw_port_xmit_drops_total", L{{"interface", "eth1"}, {"reason", "no_xdp"}}) ==
        "6");
  CHECK(value(all, "aigw_port_xmit_drops_total", L{{"interface", "eth1"}, {"reason", "down"}}) ==
        "1");
  CHECK(value(all, "aigw_port_xmit_drops_total", L{{"interface", "eth1"}, {"reason", "failed"}}) ==
        "2");
  CHECK(value(all, "aigw_port_xmit_drops_total", L{{"interface", "eth0"}, {"reason", "no_xdp"}}) ==
        "0");
  size_t n = 0;
  for (const auto& x : all) n += x.name == "aigw_port_xmit_drops_total";
  CHECK(n == 6);
  CHECK(help_type(text, "aigw_policies").find("# TYPE aigw_policies gauge") != std::string::npos);
}

TEST_CASE("naming rules: one prefix, _total on counters only, bounded labels", "[metrics]") {
  const std::string text = exposition(sample());
  const std::set<std::string> allowed_labels{"interface", "vlan",  "reason",    "event",  "version",
                                             "tenant",    "class", "direction", "policy", "path"};
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream l(line.substr(7));
    std::string name, type;
    l >> name >> type;
    types[name] = type;
  }
  REQUIRE(types.size() == 2 + 5 + 14 + 4 + 12);
  for (const auto& [name, type] : types) {
    INFO(name << " " << type);
    CHECK(prometheus::CheckMetricName(name));
    CHECK(name.rfind("aigw_", 0) == 0);
    const bool total = name.size() > 6 && name.substr(name.size() - 6) == "_total";
    CHECK(total == (type == "counter"));
    CHECK((type == "counter" || type == "gauge"));
  }
  for (const auto& s : samples(text)) {
    INFO(s.name);
    CHECK(types.count(s.name) == 1);
    for (const auto& [k, v] : s.labels) {
      CHECK(allowed_labels.count(k) == 1);
      CHECK(prometheus::CheckLabelName(k));
    }
  }
}

TEST_CASE("an empty datapath still gives every drop reason and event", "[metrics]") {
  Snapshot s;  // no interfaces, counters never read
  const auto all = samples(exposition(s));
  CHECK(value(all, "aigw_interfaces") == "0");
  CHECK(value(all, "aigw_config_reload_success") == "1");
  CHECK(value(all, "aigw_drops_total", {{"reason", "trunc_eth"}}) == "0");
  CHECK(value(all, "aigw_events_total", {{"event", "sl_zero_to_kernel"}}) == "0");
  // The last rows appended (issue 8): the reason and the event by name.
  CHECK(value(all, "aigw_drops_total", {{"reason", "bad_ipv4_csum"}}) == "0");
  CHECK(value(all, "aigw_events_total", {{"event", "port_not_wan"}}) == "0");
  CHECK(value(all, "aigw_events_total", {{"event", "vlan_unknown"}}) == "0");
  for (const auto& x : all) CHECK(x.name.rfind("aigw_interface_", 0) != 0);
}

TEST_CASE("accounting: tenants, classes, policies and flows", "[metrics][accounting]") {
  const std::string text = exposition(sample());
  INFO(text);
  const auto all = samples(text);
  using L = std::map<std::string, std::string>;
  // Per tenant, summed over classes; configured tenants in both directions,
  // zeros included.
  CHECK(value(all, "aigw_tenant_bytes_total", L{{"tenant", "acme"}, {"direction", "out"}}) ==
        "15100");
  CHECK(value(all, "aigw_tenant_packets_total", L{{"tenant", "acme"}, {"direction", "out"}}) ==
        "11");
  CHECK(value(all, "aigw_tenant_bytes_total", L{{"tenant", "acme"}, {"direction", "in"}}) ==
        "30000");
  CHECK(value(all, "aigw_tenant_bytes_total", L{{"tenant", "beta"}, {"direction", "in"}}) == "0");
  CHECK(value(all, "aigw_tenant_bytes_total",
              L{{"tenant", "unclassified"}, {"direction", "out"}}) == "400");
  CHECK(value(all, "aigw_tenant_bytes_total", L{{"tenant", "tenant-7"}, {"direction", "in"}}) ==
        "500");
  size_t tenant_series = 0;
  for (const auto& x : all) tenant_series += x.name == "aigw_tenant_bytes_total";
  CHECK(tenant_series == 3 * 2 + 1);  // configured x 2 directions + tenant-7 in
  // Per class, summed over tenants.
  CHECK(value(all, "aigw_class_bytes_total", L{{"class", "training"}, {"direction", "out"}}) ==
        "15000");
  CHECK(value(all, "aigw_class_packets_total", L{{"class", "training"}, {"direction", "in"}}) ==
        "20");
  CHECK(value(all, "aigw_class_bytes_total", L{{"class", "bulk"}, {"direction", "out"}}) == "4500");
  CHECK(value(all, "aigw_class_bytes_total", L{{"class", "inference"}, {"direction", "out"}}) ==
        "0");
  CHECK(value(all, "aigw_class_bytes_total", L{{"class", "class-9"}, {"direction", "in"}}) ==
        "500");
  // Tenant x class: only what carried traffic.
  CHECK(value(all, "aigw_tenant_class_bytes_total",
              L{{"tenant", "acme"}, {"class", "storage"}, {"direction", "out"}}) == "100");
  CHECK(value(all, "aigw_tenant_class_packets_total",
              L{{"tenant", "beta"}, {"class", "bulk"}, {"direction", "out"}}) == "3");
  size_t combos = 0;
  for (const auto& x : all) combos += x.name == "aigw_tenant_class_bytes_total";
  CHECK(combos == 6);
  // Policies: configured ones, by name; a free slot's counters are not shown.
  CHECK(value(all, "aigw_policy_bytes_total", L{{"policy", "to-b"}}) == "15100");
  CHECK(value(all, "aigw_policy_packets_total", L{{"policy", "backup"}}) == "0");
  size_t policies = 0;
  for (const auto& x : all) policies += x.name == "aigw_policy_packets_total";
  CHECK(policies == 3);
  // A multipath policy: its paths summed, and each path on its own.
  CHECK(value(all, "aigw_policy_bytes_total", L{{"policy", "spread"}}) == "500");
  CHECK(value(all, "aigw_policy_packets_total", L{{"policy", "spread"}}) == "5");
  CHECK(value(all, "aigw_policy_path_bytes_total", L{{"policy", "spread"}, {"path", "1"}}) ==
        "300");
  CHECK(value(all, "aigw_policy_path_packets_total", L{{"policy", "spread"}, {"path", "0"}}) ==
        "2");
  size_t paths = 0;
  for (const auto& x : all) paths += x.name == "aigw_policy_path_packets_total";
  CHECK(paths == 2);  // single-path policies have no path series
  CHECK(value(all, "aigw_flows_active") == "12");
  CHECK(value(all, "aigw_flows_capacity") == "65536");
  CHECK(help_type(text, "aigw_flows_active").find("gauge") != std::string::npos);
  // New events come through the event family by name.
  CHECK(value(all, "aigw_events_total", L{{"event", "flow_table_full"}}) == "0");
  CHECK(value(all, "aigw_events_total", L{{"event", "apn_imposed"}}) == "0");
  // IPFIX counters only when export is on.
  for (const auto& x : all) CHECK(x.name.rfind("aigw_ipfix_", 0) != 0);
  Snapshot on = sample();
  on.accounting.ipfix = AccountingFacts::Ipfix{120, 9, 1};
  const auto with = samples(exposition(on));
  CHECK(value(with, "aigw_ipfix_records_total") == "120");
  CHECK(value(with, "aigw_ipfix_messages_total") == "9");
  CHECK(value(with, "aigw_ipfix_send_errors_total") == "1");
}

TEST_CASE("accounting: a removed tenant's id never takes a configured name",
          "[metrics][accounting]") {
  Snapshot s;
  s.accounting.tenants = {{1, "tenant-3"}};  // a tenant named like a made-up label
  s.accounting.usage.assign(AIGW_USAGE_ENTRIES, aigw_ctr{});
  s.accounting.usage[AIGW_USAGE_INDEX(AIGW_DIR_OUT, 3, 0)] = ctr(1, 60);
  s.accounting.usage[AIGW_USAGE_INDEX(AIGW_DIR_OUT, 1, 0)] = ctr(2, 120);
  const auto all = samples(exposition(s));
  using L = std::map<std::string, std::string>;
  CHECK(value(all, "aigw_tenant_bytes_total", L{{"tenant", "tenant-3"}, {"direction", "out"}}) ==
        "120");
  CHECK(value(all, "aigw_tenant_bytes_total", L{{"tenant", "tenant-3_"}, {"direction", "out"}}) ==
        "60");
  // A short usage array (accounting off / unreadable) is zeros, not a crash.
  Snapshot shortened = s;
  shortened.accounting.usage.resize(5);
  CHECK(value(samples(exposition(shortened)), "aigw_tenant_bytes_total",
              L{{"tenant", "tenant-3"}, {"direction", "out"}}) == "0");
}

TEST_CASE("promtool check metrics accepts the exposition text", "[metrics][promtool]") {
  if (!have_promtool()) {
    WARN("promtool not installed (Debian package prometheus): check skipped");
    return;
  }
  Snapshot with_ipfix = sample();
  with_ipfix.accounting.ipfix = AccountingFacts::Ipfix{1, 1, 0};
  for (const Snapshot& s : {sample(), Snapshot{}, with_ipfix}) {
    auto [rc, out] = promtool_check(exposition(s, 1));
    INFO(out);
    CHECK(rc == 0);
    CHECK(out.empty());  // no lint findings either
  }
}

TEST_CASE("the listener serves fresh samples on every scrape", "[metrics][http]") {
  std::atomic<uint64_t> calls{0};
  std::atomic<bool> fail{false};
  MetricsServer server("127.0.0.1:0", "9.9.9", [&] {
    if (fail) throw std::runtime_error("map read failed");
    Snapshot s = sample();
    s.stats.by_slot[1].rx.packets = 1000 + calls++;
    return s;
  });
  REQUIRE(server.port() > 0);
  CHECK(server.url() == fmt::format("http://127.0.0.1:{}/metrics", server.port()));

  const std::map<std::string, std::string> eth1{{"interface", "eth1"}};
  auto first = samples(http_get(server.port()));
  auto second = samples(http_get(server.port()));
  CHECK(value(first, "aigw_interface_rx_packets_total", eth1) == "1000");
  CHECK(value(second, "aigw_interface_rx_packets_total", eth1) == "1001");
  CHECK(value(second, "aigw_build_info", {{"version", "9.9.9"}}) == "1");
  CHECK(calls == 2);  // read at scrape time only: nothing polls in between

  // A failing source costs that scrape its datapath samples, not the listener.
  fail = true;
  std::string body = http_get(server.port());
  auto broken = samples(body);
  CHECK(value(broken, "aigw_scrape_errors_total") == "1");
  CHECK(value(broken, "aigw_build_info", {{"version", "9.9.9"}}) == "1");
  CHECK(body.find("aigw_drops_total") == std::string::npos);
  fail = false;
  CHECK(value(samples(http_get(server.port())), "aigw_scrape_errors_total") == "1");
  if (have_promtool()) {
    auto [rc, out] = promtool_check(http_get(server.port()));
    INFO(out);
    CHECK(rc == 0);
  }
}

TEST_CASE("a listener that cannot listen says where", "[metrics][http]") {
  MetricsServer first("127.0.0.1:0", "1", [] { return Snapshot{}; });
  const std::string taken = fmt::format("127.0.0.1:{}", first.port());
  try {
    MetricsServer second(taken, "1", [] { return Snapshot{}; });
    FAIL("a second listener on " << taken << " started");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) ==
          "agent.metrics_listen " + taken + ": cannot serve metrics: Address already in use");
  }
  // Documentation address (RFC 5737): not local, cannot be bound.
  CHECK_THROWS_WITH(MetricsServer("192.0.2.1:9469", "1", [] { return Snapshot{}; }),
                    "agent.metrics_listen 192.0.2.1:9469: cannot serve metrics: Cannot assign "
                    "requested address");
}

TEST_CASE("the listener takes an IPv6 address in brackets, or says why not", "[metrics][http]") {
  Fd probe(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  if (probe.get() < 0 || ::bind(probe.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    WARN("no IPv6 loopback here: check skipped");
    return;
  }
  if (mg_check_feature(8) == 0) {  // civetweb without USE_IPV6 (Debian 12's)
    CHECK_THROWS_WITH(MetricsServer("[::1]:0", "1", [] { return Snapshot{}; }),
                      Catch::StartsWith("agent.metrics_listen [::1]:0: the HTTP library aigwd "
                                        "uses (civetweb) was built without IPv6"));
    return;
  }
  MetricsServer server("[::1]:0", "1", [] { return Snapshot{}; });
  CHECK(server.port() > 0);
  CHECK(server.url() == fmt::format("http://[::1]:{}/metrics", server.port()));
}
