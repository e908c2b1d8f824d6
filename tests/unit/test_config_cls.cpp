// Configuration of issue 3 (agent/config/): apn, tenants, classes,
// classification, interfaces[].apn_trust, flows, accounting, ipfix and the
// new datapath.map_sizes: what is accepted, what is refused (with line and
// field), YAML/JSON output and round trips, diff.
#include <aigw/abi.h>
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/diff.hpp"
#include "config/parse.hpp"
#include "config/serialize.hpp"

using namespace aigw;

namespace {

Config parse_ok(const std::string& yaml) {
  auto r = parse_config(yaml, "t.yaml");
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&r)) {
    FAIL("unexpected errors:\n" << format_errors(*errs));
  }
  return std::get<Config>(r);
}

std::vector<ConfigError> parse_bad(const std::string& yaml) {
  auto r = parse_config(yaml, "t.yaml");
  if (std::holds_alternative<Config>(r)) FAIL("parsed without errors:\n" << yaml);
  return std::get<std::vector<ConfigError>>(r);
}

// Line 1..5 of every document below.
const char* kHead = R"(interfaces:
  - {name: eth1, role: customer}
  - {name: eth1, role: customer, vlan: 10, vrf: 3}
  - {name: eth2, role: wan}
policies: [{name: p1, prefixes: [203.0.113.0/24], source: "fc00:a::1", segments: ["fc00:b::1"]}]
)";

const char* kFull = R"(interfaces:
  - {name: eth1, role: customer, apn_trust: trust}
  - {name: eth1, role: customer, vlan: 10, apn_trust: strip}
  - {name: eth2, role: wan}
policies: [{name: p1, prefixes: [203.0.113.0/24], source: "fc00:a::1", segments: ["fc00:b::1"]}]
datapath:
  map_sizes: {flows: 1000, class_prefixes: 64, class_port_bitmaps: 128, apn_groups: 10}
apn: {option_type: 0x03, header: destination, id_bits: 128, app_group_bits: 48, user_group_bits: 64}
tenants:
  - {name: acme, id: 7}
  - {name: globex, id: 1023}
classes:
  - {name: gold, id: 6}
  - {name: bulk, id: 15}
classification:
  default: {tenant: acme, class: gold, apn: "0x00000001"}
  rules:
    - name: train
      priority: 10
      match:
        interface: eth1 vlan 10
        src: [192.0.2.0/24, "2001:db8::/32"]
        dst: 198.51.100.0/24
        protocol: tcp
        sport: "1024-65535"
        dport: 443
        dscp: 10
        apn: {value: "0x1:0x2", mask: "0xffffffffffffffffffffffff00000000"}
      set: {tenant: globex, class: training, dscp: 46, policy: p1, apn: "5:6"}
    - name: other
      match: {protocol: 47}
    - name: nothing
flows: {enabled: false, idle_timeout: 30s, active_timeout: 2m}
accounting:
  periods: [1m, 1h, 86400]
  sample_interval: 5s
  usage_dir: off
  usage_format: csv
  state_dir: /tmp/aigw-state
  retention: 7d
ipfix:
  collectors: ["192.0.2.1:4739", "[2001:db8::1]:4739"]
  observation_domain: 42
  template_refresh: 10m
  enterprise: 99
)";

void check_error(const std::string& yaml, int line, const std::string& field,
                 const std::string& msg) {
  auto errs = parse_bad(yaml);
  INFO(format_errors(errs));
  bool found = false;
  for (const auto& e : errs)
    if (e.line == line && e.field == field && e.message.find(msg) != std::string::npos)
      found = true;
  CHECK(found);
}

}  // namespace

TEST_CASE("config: defaults of the issue 3 sections", "[config][cls]") {
  Config c = parse_ok(kHead);
  CHECK(c.apn == ApnSettings{});
  CHECK(c.apn.option_type == 0x13);
  CHECK(c.apn.id_bits == 64);
  CHECK(c.tenants.empty());
  CHECK(c.classification.rules.empty());
  CHECK(c.classification.default_class == "best-effort");
  CHECK_FALSE(c.classification.default_tenant);
  CHECK(c.flows == FlowSettings{});
  CHECK(c.accounting == AccountingSettings{});
  CHECK(c.ipfix.collectors.empty());
  CHECK(c.interfaces[0].apn == ApnTrust::Rewrite);
  CHECK(c.datapath.map_sizes.flows == AIGW_DEFAULT_FLOWS);
}

TEST_CASE("config: every issue 3 key parsed", "[config][cls]") {
  Config c = parse_ok(kFull);
  CHECK(c.interfaces[0].apn == ApnTrust::Trust);
  CHECK(c.interfaces[1].apn == ApnTrust::Strip);
  CHECK(c.datapath.map_sizes.flows == 1000);
  CHECK(c.datapath.map_sizes.class_prefixes == 64);
  CHECK(c.datapath.map_sizes.class_port_bitmaps == 128);
  CHECK(c.datapath.map_sizes.apn_groups == 10);
  CHECK(c.apn.option_type == 3);
  CHECK(c.apn.header == ApnHeader::DestOpts);
  CHECK(c.apn.id_bits == 128);
  CHECK(c.apn.app_group_bits == 48);
  CHECK(c.apn.user_group_bits == 64);
  REQUIRE(c.tenants.size() == 2);
  CHECK(c.tenants[1].id == 1023);
  CHECK(c.tenants[1].line == 11);
  REQUIRE(c.classes.size() == 2);
  CHECK(c.classes[1].id == 15);
  const auto& cl = c.classification;
  CHECK(cl.default_tenant == std::optional<std::string>("acme"));
  CHECK(cl.default_class == "gold");
  REQUIRE(cl.default_apn);
  CHECK(cl.default_apn->len == 4);
  CHECK(cl.default_apn->b[3] == 1);
  REQUIRE(cl.rules.size() == 3);
  const ClassRule& r = cl.rules[0];
  CHECK(r.name == "train");
  CHECK(r.line == 18);
  CHECK(r.priority == 10);
  CHECK(r.interface == std::optional<std::string>("eth1 vlan 10"));
  REQUIRE(r.src.size() == 2);
  CHECK(r.src[1].str() == "2001:db8::/32");
  REQUIRE(r.dst.size() == 1);
  CHECK(r.protocol == std::optional<uint8_t>(6));
  CHECK(r.sport == std::optional<PortRange>(PortRange{1024, 65535}));
  CHECK(r.dport == std::optional<PortRange>(PortRange{443, 443}));
  CHECK(r.dscp == std::optional<uint8_t>(10));
  REQUIRE(r.apn);
  // 128-bit template: APP 1 in the leading 48 bits, USER 2 in the next 64.
  CHECK(r.apn->value.len == 16);
  CHECK(apn_id_str(r.apn->value) == "0x00000000000100000000000000020000");
  CHECK(apn_id_str(r.apn->mask) == "0xffffffffffffffffffffffff00000000");
  CHECK(r.tenant == std::optional<std::string>("globex"));
  CHECK(r.service_class == std::optional<std::string>("training"));
  CHECK(r.set_dscp == std::optional<uint8_t>(46));
  CHECK(r.policy == std::optional<std::string>("p1"));
  REQUIRE(r.set_apn);
  CHECK(apn_id_str(*r.set_apn) == "0x00000000000500000000000000060000");
  CHECK(cl.rules[1].priority == 100);
  CHECK(cl.rules[1].protocol == std::optional<uint8_t>(47));
  CHECK_FALSE(c.flows.enabled);
  CHECK(c.flows.idle_timeout_s == 30);
  CHECK(c.flows.active_timeout_s == 120);
  CHECK(c.accounting.periods_s == std::vector<uint32_t>{60, 3600, 86400});
  CHECK(c.accounting.sample_interval_s == 5);
  CHECK(c.accounting.usage_dir.empty());
  CHECK(c.accounting.usage_format == UsageFormat::Csv);
  CHECK(c.accounting.state_dir == "/tmp/aigw-state");
  CHECK(c.accounting.retention_s == 7 * 86400);
  CHECK(c.ipfix.collectors.size() == 2);
  CHECK(c.ipfix.observation_domain == 42);
  CHECK(c.ipfix.template_refresh_s == 600);
  CHECK(c.ipfix.enterprise == 99);
}

TEST_CASE("config: APN IDs", "[config][cls]") {
  ApnSettings a;  // 64 bits: 32 + 32
  auto ok = [&](const char* t) {
    auto r = parse_apn_id(t, a);
    if (auto* m = std::get_if<std::string>(&r)) FAIL(t << ": " << *m);
    return apn_id_str(std::get<ApnId>(r));
  };
  auto bad = [&](const char* t) {
    auto r = parse_apn_id(t, a);
    REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
  };
  CHECK(ok("0x0000000a00000001") == "0x0000000a00000001");
  CHECK(ok("0xDEADBEEF") == "0xdeadbeef");
  CHECK(ok("10:1") == "0x0000000a00000001");
  CHECK(ok("0xffffffff:0xffffffff") == "0xffffffffffffffff");
  CHECK_THAT(bad("0x123"), Catch::Contains("3 hex digits"));
  CHECK_THAT(bad("0x0000000g"), Catch::Contains("hex"));
  CHECK_THAT(bad("4294967296:0"), Catch::Contains("app_group_bits = 32"));
  CHECK_THAT(bad("1:4294967296"), Catch::Contains("user_group_bits = 32"));
  CHECK_THAT(bad("12"), Catch::Contains("APP:USER"));
  CHECK_THAT(bad("a:b"), Catch::Contains("decimal or 0x"));
  a.id_bits = 32;
  a.app_group_bits = 12;
  a.user_group_bits = 20;
  CHECK(ok("1:1") == "0x00100001");
  CHECK(ok("0xfff:0xfffff") == "0xffffffff");
}

TEST_CASE("config: issue 3 errors carry line and field", "[config][cls]") {
  std::string h = kHead;  // lines 1-5
  check_error(h + "apn: {id_bits: 48}\n", 6, "apn.id_bits", "32, 64, 128");
  check_error(h + "apn: {app_group_bits: 40, user_group_bits: 40}\n", 6, "apn.user_group_bits",
              "exceed id_bits = 64");
  check_error(h + "apn: {option_type: 1}\n", 6, "apn.option_type", "2..255");
  check_error(h + "apn: {header: hbh}\n", 6, "apn.header", "hop-by-hop or destination");
  check_error(h + "tenants:\n  - {name: a, id: 1}\n  - {name: b, id: 1}\n", 8, "tenants[1].id",
              "tenant id 1 already used by 'a'");
  check_error(h + "tenants:\n  - {name: a, id: 1}\n  - {name: a, id: 2}\n", 8, "tenants[1].name",
              "duplicate tenant name 'a'");
  check_error(h + "tenants:\n  - {name: unclassified, id: 1}\n", 7, "tenants[0].name", "reserved");
  check_error(h + "tenants:\n  - {name: a, id: 1024}\n", 7, "tenants[0].id", "1..1023");
  check_error(h + "tenants:\n  - {name: a, id: 0}\n", 7, "tenants[0].id", "1..1023");
  check_error(h + "classes:\n  - {name: training, id: 6}\n", 7, "classes[0].name", "built-in");
  check_error(h + "classes:\n  - {name: x, id: 5}\n", 7, "classes[0].id", "6..15");
  check_error(h + "classes:\n  - {name: x, id: 6}\n  - {name: y, id: 6}\n", 8, "classes[1].id",
              "class id 6 already used");
  check_error(h + "interfaces2: 1\n", 6, "interfaces2", "unknown key");
  check_error(h + "flows: {idle_timeout: 10x}\n", 6, "flows.idle_timeout", "duration");
  check_error(h + "flows: {active_timeout: 0}\n", 6, "flows.active_timeout", "duration 1s");
  check_error(h + "accounting: {periods: [1m, 60s]}\n", 6, "accounting.periods[1]", "listed twice");
  check_error(h + "accounting: {periods: [1m], sample_interval: 7s}\n", 6,
              "accounting.sample_interval", "does not divide");
  check_error(h + "accounting: {usage_format: xml}\n", 6, "accounting.usage_format",
              "jsonl or csv");
  check_error(h + "accounting: {state_dir: relative}\n", 6, "accounting.state_dir",
              "absolute path");
  check_error(h + "accounting: {periods: [1h, 1d], retention: 24h}\n", 6, "accounting.retention",
              "not longer than the longest period (86400s)");
  check_error(h + "accounting: {retention: 30m}\n", 6, "accounting.retention", "duration 3600s");
  check_error(h + "ipfix: {collectors: [\"192.0.2.1\"]}\n", 6, "ipfix.collectors[0]", "PORT");
  check_error(h + "ipfix: {enterprise: 0}\n", 6, "ipfix.enterprise", "1..");
  check_error(h + "datapath: {map_sizes: {class_prefixes: 1}}\n", 6,
              "datapath.map_sizes.class_prefixes", "2..1048576");

  // apn_trust on a WAN port.
  check_error(std::string("interfaces:\n  - {name: eth2, role: wan, apn_trust: trust}\n"), 2,
              "interfaces[0].apn_trust", "only valid for role customer");

  std::string cls = h + "tenants: [{name: acme, id: 7}]\nclassification:\n  rules:\n";
  // Line 9 is the first rule.
  check_error(cls + "    - {name: a, match: {interface: eth9}}\n", 9,
              "classification.rules[0].match.interface", "not in interfaces[]");
  check_error(cls + "    - {name: a, match: {interface: eth2}}\n", 9,
              "classification.rules[0].match.interface", "wan port");
  check_error(cls + "    - {name: a, match: {interface: eth1 vlan 11}}\n", 9,
              "classification.rules[0].match.interface", "not in interfaces[]");
  check_error(cls + "    - {name: a, set: {policy: nope}}\n", 9,
              "classification.rules[0].set.policy", "not in policies[]");
  check_error(cls + "    - {name: a, match: {interface: eth1 vlan 10}, set: {policy: p1}}\n", 9,
              "classification.rules[0].set.policy", "VRF 0, interface 'eth1 vlan 10' in VRF 3");
  // No match.interface: the rule matches every customer port, eth1 vlan 10 is in VRF 3.
  check_error(cls + "    - {name: a, set: {policy: p1}}\n", 9,
              "classification.rules[0].set.policy",
              "policy 'p1' is in VRF 0 but the rule matches interface 'eth1 vlan 10' in VRF 3");
  check_error(cls + "    - {name: a, set: {tenant: nope}}\n", 9,
              "classification.rules[0].set.tenant", "unknown tenant");
  check_error(cls + "    - {name: a, set: {class: nope}}\n", 9, "classification.rules[0].set.class",
              "unknown class");
  check_error(cls + "    - {name: a}\n    - {name: a}\n", 10, "classification.rules[1].name",
              "duplicate rule name 'a'");
  check_error(cls + "    - name: a\n      match:\n        src: 192.0.2.1/24\n", 11,
              "classification.rules[0].match.src", "did you mean 192.0.2.0/24");
  check_error(cls + "    - name: a\n      match:\n        dst: [192.0.2.0/24, bad]\n", 11,
              "classification.rules[0].match.dst[1]", "bad prefix");
  check_error(cls +
                  "    - name: a\n      match:\n        src: 192.0.2.0/24\n        dst: "
                  "\"2001:db8::/32\"\n",
              12, "classification.rules[0].match.dst", "no address family in common");
  check_error(cls + "    - name: a\n      match:\n        protocol: icmp\n        dport: 80\n", 12,
              "classification.rules[0].match.dport", "tcp, udp or sctp");
  check_error(cls + "    - name: a\n      match:\n        sport: \"90-80\"\n", 11,
              "classification.rules[0].match.sport", "90 > 80");
  check_error(cls + "    - name: a\n      match:\n        dport: 65536\n", 11,
              "classification.rules[0].match.dport", "0..65535");
  check_error(cls + "    - name: a\n      match:\n        protocol: gre\n", 11,
              "classification.rules[0].match.protocol", "tcp");
  check_error(cls + "    - name: a\n      match:\n        dscp: 64\n", 11,
              "classification.rules[0].match.dscp", "0..63");
  check_error(cls +
                  "    - name: a\n      match:\n        apn: {value: \"0x00000001\", mask: "
                  "\"0x0000000000000001\"}\n",
              11, "classification.rules[0].match.apn.mask", "mask is 64 bits, value is 32");
  check_error(cls + "    - name: a\n      match:\n        apn: {mask: \"0x00000001\"}\n", 11,
              "classification.rules[0].match.apn.value", "required key missing");
  check_error(cls + "    - name: a\n      set:\n        apn: \"1:2:3\"\n", 11,
              "classification.rules[0].set.apn", "bad APN ID");
  check_error(cls + "    - name: a\n      match:\n        colour: red\n", 11,
              "classification.rules[0].match.colour", "unknown key");
  check_error(cls + "    - name: a\n      priority: -1\n", 10, "classification.rules[0].priority",
              "integer");
  check_error(h + "classification:\n  default: {tenant: nope}\n", 7,
              "classification.default.tenant", "unknown tenant");
  check_error(h + "classification:\n  default: {class: nope}\n", 7, "classification.default.class",
              "unknown class");

  // Nine distinct APN masks: the rule that brings the ninth is named.
  std::string masks = cls;
  for (int i = 0; i < 9; i++)
    masks += fmt::format(
        "    - {{name: m{}, match: {{apn: {{value: \"0x00000000\", mask: "
        "\"0x{:08x}\"}}}}}}\n",
        i, 0x80000000u >> i);
  check_error(masks, 17, "classification.rules[8].match.apn",
              "rule 'm8' brings the number of distinct APN masks over 8");
}

TEST_CASE("config: too many classification rules", "[config][cls]") {
  std::string y = std::string(kHead) + "classification:\n  rules:\n";
  for (int i = 0; i <= AIGW_CLS_MAX_RULES; i++) y += fmt::format("    - {{name: r{}}}\n", i);
  check_error(y, 8 + AIGW_CLS_MAX_RULES, "classification.rules[16384]",
              "rule 'r16384' is rule 16385: at most 16384");
}

TEST_CASE("config: issue 3 round trips (YAML, JSON) and diff", "[config][cls]") {
  Config c = parse_ok(kFull);
  std::string y = to_yaml(c);
  INFO(y);
  Config back = parse_ok(y);
  CHECK(back == c);
  CHECK(to_yaml(back) == y);

  auto j = to_json(c);
  CHECK(j["apn"]["option_type"] == "0x03");
  CHECK(j["interfaces"][0]["apn_trust"] == "trust");
  CHECK(j["classification"]["rules"][0]["match"]["sport"] == "1024-65535");
  CHECK(j["classification"]["rules"][0]["match"]["dport"] == "443");
  CHECK(j["classification"]["rules"][0]["set"]["apn"] == "0x00000000000500000000000000060000");
  CHECK(j["classification"]["rules"][1]["match"]["protocol"] == "47");
  CHECK(j["flows"]["active_timeout"] == "2m");
  CHECK(j["accounting"]["usage_dir"] == "off");
  CHECK(j["accounting"]["periods"][2] == "24h");
  // JSON -> YAML nodes -> the same rule.
  auto node = from_json(j);
  YAML::Emitter e;
  e << node;
  CHECK(parse_ok(e.c_str()) == c);

  // Diff.
  Config d = c;
  d.classification.rules[1].priority = 5;
  d.tenants[0].id = 8;
  d.flows.idle_timeout_s = 31;
  d.interfaces[0].apn = ApnTrust::Rewrite;
  d.datapath.map_sizes.flows = 2000;
  auto df = diff(c, d);
  CHECK(df.changed_interfaces == std::vector<std::string>{"eth1"});
  auto has = [&](const char* s) {
    return std::find(df.changed_settings.begin(), df.changed_settings.end(), s) !=
           df.changed_settings.end();
  };
  CHECK(has("classification"));
  CHECK(has("tenants"));
  CHECK(has("flows.idle_timeout"));
  CHECK(has("datapath.map_sizes.flows"));
  CHECK(df.restart_needed);
  CHECK_THAT(df.restart_reason, Catch::Contains("datapath.map_sizes.flows"));
  CHECK_FALSE(has("classes"));
  d.datapath.map_sizes.flows = 1000;
  CHECK_FALSE(diff(c, d).restart_needed);
  CHECK(diff(c, c).empty());
}
