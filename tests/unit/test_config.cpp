// Configuration parsing, validation, serialization and diff (agent/config/).
#include <aigw/abi.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/diff.hpp"
#include "config/parse.hpp"
#include "config/serialize.hpp"

using namespace aigw;

namespace {

const std::string kData = AIGW_TEST_DATA;
std::string data(const std::string& f) { return kData + "/" + f; }

Config expect_ok(const ParseResult& r) {
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&r)) {
    FAIL("unexpected errors:\n" << format_errors(*errs));
  }
  return std::get<Config>(r);
}

std::vector<ConfigError> expect_errors(const ParseResult& r) {
  if (std::holds_alternative<Config>(r)) FAIL("parsed without errors");
  return std::get<std::vector<ConfigError>>(r);
}

Config parse_ok(const std::string& yaml) { return expect_ok(parse_config(yaml, "t.yaml")); }

std::vector<ConfigError> parse_bad(const std::string& yaml) {
  return expect_errors(parse_config(yaml, "t.yaml"));
}

Prefix pfx(const char* s) { return std::get<Prefix>(Prefix::parse(s)); }
Ip6 ip6(const char* s) { return *Ip6::parse(s); }

Policy make_policy(const std::string& name, const char* prefix, const char* seg = "fc00:b::1") {
  Policy p;
  p.name = name;
  p.prefixes = {pfx(prefix)};
  p.source = ip6("fc00:a::1");
  p.segments = {ip6(seg)};
  return p;
}

Sid make_sid(const char* prefix, Behavior b) {
  Sid s;
  s.sid = pfx(prefix);
  s.behavior = b;
  return s;
}

Interface make_iface(const std::string& name, IfRole role, std::optional<uint16_t> vlan = {}) {
  Interface i;
  i.name = name;
  i.role = role;
  i.vlan = vlan;
  return i;
}

}  // namespace

// ------------------------------------------------------------ good files

TEST_CASE("the shipped example parses", "[config]") {
  std::string path = kData + "/../../../deploy/examples/aigw.yaml";
  Config c = expect_ok(load_config_file(path));

  CHECK(c.agent.socket == "/run/aigw/aigw.sock");
  CHECK(c.agent.socket_mode == 0600);
  CHECK(c.agent.pin_path == "/sys/fs/bpf/aigw");
  CHECK(c.agent.log_level == "info");
  CHECK(c.agent.metrics_listen == "127.0.0.1:9469");
  CHECK(c.datapath.xdp_mode == XdpMode::Native);
  CHECK(c.datapath.hop_limit == 64);
  CHECK(c.datapath.tcp_mss_clamp == kMssAuto);
  CHECK(c.datapath.map_sizes == MapSizes{1024, 16384, 16384, 1024});

  REQUIRE(c.interfaces.size() == 2);
  CHECK(c.interfaces[0].name == "eth1");
  CHECK(c.interfaces[0].role == IfRole::Customer);
  CHECK(c.interfaces[0].line == 23);
  CHECK(c.interfaces[1].name == "eth0");
  CHECK(c.interfaces[1].role == IfRole::Wan);
  CHECK(c.interfaces[1].line == 26);

  REQUIRE(c.policies.size() == 1);
  const Policy& p = c.policies[0];
  CHECK(p.name == "to-site-b");
  CHECK(p.line == 30);
  CHECK(p.vrf == 0);
  REQUIRE(p.prefixes.size() == 2);
  CHECK(p.prefixes[0].str() == "198.51.100.0/24");
  CHECK(p.prefixes[1].str() == "2001:db8:2::/64");
  CHECK(p.mode == EncapMode::Encap);
  CHECK(p.source.str() == "fc00:a::1");
  REQUIRE(p.segments.size() == 2);
  CHECK(p.segments[0].str() == "fc00:c::e");
  CHECK(p.segments[1].str() == "fc00:b::d46");
  CHECK(p.hop_limit == std::optional<uint8_t>(64));
  CHECK_FALSE(p.tcp_mss);

  REQUIRE(c.sids.size() == 3);
  CHECK(c.sids[0].sid.str() == "fc00:a::d46/128");
  CHECK(c.sids[0].behavior == Behavior::EndDT46);
  CHECK(c.sids[0].table == std::optional<uint32_t>(254));
  CHECK(c.sids[0].line == 49);
  CHECK(c.sids[1].behavior == Behavior::End);
  CHECK_FALSE(c.sids[1].table);
  CHECK(c.sids[2].behavior == Behavior::EndDX6);
  REQUIRE(c.sids[2].nexthop);
  CHECK(ip_str(*c.sids[2].nexthop) == "2001:db8:1::10");
  CHECK(c.sids[2].interface == std::optional<std::string>("eth1"));
}

TEST_CASE("a file using every key parses to the expected model", "[config]") {
  Config c = expect_ok(load_config_file(data("good_full.yaml")));
  CHECK(c.agent.socket == "/run/aigw-test/aigw.sock");
  CHECK(c.agent.socket_mode == 0660);
  CHECK(c.agent.pin_path == "/sys/fs/bpf/aigw-test");
  CHECK(c.agent.log_level == "debug");
  CHECK(c.agent.metrics_listen == "[::1]:9470");
  CHECK(c.datapath.xdp_mode == XdpMode::Generic);
  CHECK(c.datapath.hop_limit == 32);
  CHECK(c.datapath.tcp_mss_clamp == 1400);
  CHECK(c.datapath.map_sizes == MapSizes{16, 64, 32, 8});

  REQUIRE(c.interfaces.size() == 3);
  CHECK(c.interfaces[0].vrf == 7);
  CHECK_FALSE(c.interfaces[0].mss_clamp);
  CHECK_FALSE(c.interfaces[0].vlan);
  CHECK(c.interfaces[1].vlan == std::optional<uint16_t>(100));
  CHECK(c.interfaces[1].vrf == 8);
  CHECK(c.interfaces[1].mss_clamp);
  CHECK(c.interfaces[2].xdp_mode == std::optional<XdpMode>(XdpMode::Generic));
  CHECK(interface_key(c.interfaces[1]) == "eth1 vlan 100");

  REQUIRE(c.policies.size() == 4);
  CHECK(c.policies[0].mode == EncapMode::EncapRed);
  CHECK(c.policies[0].prefixes.size() == 3);
  CHECK(c.policies[0].prefixes[2].str() == "0.0.0.0/0");
  CHECK(c.policies[0].hop_limit == std::optional<uint8_t>(10));
  CHECK(c.policies[0].tcp_mss == std::optional<uint16_t>(kMssOff));
  CHECK(c.policies[1].tcp_mss == std::optional<uint16_t>(kMssAuto));
  CHECK(c.policies[1].mode == EncapMode::Encap);
  CHECK_FALSE(c.policies[1].hop_limit);
  CHECK(c.policies[2].name == "null");
  CHECK(c.policies[2].tcp_mss == std::optional<uint16_t>(536));
  CHECK(c.policies[2].paths.empty());  // the single-list form
  REQUIRE(c.policies[3].paths.size() == 3);
  CHECK(c.policies[3].paths[0].weight == 3);
  CHECK(c.policies[3].paths[1].weight == 1);  // the default
  CHECK(c.policies[3].paths[1].segments.size() == 2);
  CHECK(c.policies[3].paths[2].weight == 1000);
  CHECK(c.policies[3].segments == c.policies[3].paths[0].segments);
  // Per-field lines are recorded for error messages.
  CHECK(c.policies[0].lines.at("prefixes[1]") == 35);
  CHECK(c.policies[0].lines.at("segments[1]") == 40);

  REQUIRE(c.sids.size() == 6);
  CHECK(c.sids[1].sid.str() == "fc00:a:1::/48");
  CHECK(c.sids[1].table == std::optional<uint32_t>(100));
  CHECK(c.sids[4].behavior == Behavior::EndDX4);
  CHECK(ip_str(*c.sids[4].nexthop) == "192.0.2.10");
  CHECK_FALSE(c.sids[4].interface);
  CHECK(c.sids[5].behavior == Behavior::EndX);
  CHECK(c.sids[5].interface == std::optional<std::string>("eth0"));
}

TEST_CASE("empty sections and {} mean defaults", "[config]") {
  for (const char* f : {"good_empty.yaml", "good_sections_empty.yaml"}) {
    INFO(f);
    Config c = expect_ok(load_config_file(data(f)));
    CHECK(c == Config{});
  }
}

// ------------------------------------------------------------ bad files

TEST_CASE("each bad file gives exactly the expected error", "[config]") {
  struct Case {
    const char* file;
    int line;
    const char* field;
    const char* message;  // substring
  };
  const std::vector<Case> cases = {
      {"bad_syntax.yaml", 7, "", "YAML syntax error: end of sequence flow not found"},
      {"bad_unknown_key.yaml", 6, "policies[0].hop_limt",
       "unknown key (did you mean 'hop_limit'?)"},
      {"bad_unknown_top.yaml", 2, "polices", "unknown key (did you mean 'policies'?)"},
      {"bad_missing_source.yaml", 6, "policies[1].source", "required key missing"},
      {"bad_hop_limit.yaml", 6, "policies[0].hop_limit", "expected an integer 1..255, got 'abc'"},
      {"bad_hop_limit_zero.yaml", 2, "datapath.hop_limit", "expected an integer 1..255, got '0'"},
      {"bad_hop_limit_octal.yaml", 2, "datapath.hop_limit", "got '064'"},
      {"bad_empty_value.yaml", 2, "datapath.hop_limit",
       "expected an integer 1..255, got an empty value"},
      {"bad_prefix_host_bits.yaml", 5, "policies[0].prefixes[1]",
       "bad prefix '198.51.100.1/24': host bits set (did you mean 198.51.100.0/24?)"},
      {"bad_prefix_len.yaml", 3, "policies[0].prefixes[0]",
       "bad prefix '198.51.100.0/33': prefix length 33 out of range 0..32"},
      {"bad_dup_prefix.yaml", 16, "policies[2].prefixes[1]",
       "198.51.100.0/24 in VRF 3 is already steered by policy 'a' (policies[0], line 4)"},
      {"bad_dup_prefix_same_policy.yaml", 5, "policies[0].prefixes[1]",
       "2001:db8::/32 is listed twice in this policy (first at prefixes[0])"},
      {"bad_dup_policy_name.yaml", 6, "policies[1].name",
       "duplicate policy name 'a' (first at policies[0], line 2)"},
      {"bad_source_multicast.yaml", 4, "policies[0].source",
       "multicast address 'ff02::1' cannot be a source address"},
      {"bad_source_unspecified.yaml", 4, "policies[0].source", "unspecified address '::'"},
      {"bad_segments_too_many.yaml", 5, "policies[0].segments",
       "17 segments, at most 10 are supported"},
      {"bad_segments_empty.yaml", 5, "policies[0].segments", "at least one segment is required"},
      {"bad_segment_v4.yaml", 7, "policies[0].segments[1]",
       "expected an IPv6 address, got IPv4 address '192.0.2.1'"},
      {"bad_tcp_mss.yaml", 6, "policies[0].tcp_mss",
       "expected auto, off or an integer 536..65534, got '500'"},
      {"bad_mode.yaml", 4, "policies[0].mode", "expected encap or encap.red, got 'encap-red'"},
      {"bad_behavior.yaml", 3, "sids[0].behavior",
       "expected one of End, End.X, End.DX4, End.DX6, End.DT4, End.DT6, End.DT46, got "
       "'end.dt46' (names are case-sensitive)"},
      {"bad_endx_no_iface.yaml", 5, "sids[0].interface", "required for End.X"},
      {"bad_endx_no_nexthop.yaml", 5, "sids[0].nexthop", "required for End.X (an IPv6 address)"},
      {"bad_dx4_v6_nexthop.yaml", 4, "sids[0].nexthop",
       "End.DX4 needs an IPv4 next hop, got IPv6 address '2001:db8::1'"},
      {"bad_dx6_v4_nexthop.yaml", 4, "sids[0].nexthop",
       "End.DX6 needs an IPv6 next hop, got IPv4 address '192.0.2.1'"},
      {"bad_end_nexthop.yaml", 4, "sids[0].nexthop", "not valid for End"},
      {"bad_dt_interface.yaml", 7, "sids[0].interface", "not valid for End.DT4"},
      {"bad_table_not_dt.yaml", 5, "sids[0].table", "not valid for End.DX6"},
      {"bad_table_zero.yaml", 4, "sids[0].table", "expected an integer 1..4294967295, got '0'"},
      {"bad_sid_iface_unknown.yaml", 8, "sids[0].interface",
       "interface 'eth9' is not in interfaces[]"},
      {"bad_dup_sid.yaml", 4, "sids[1].sid",
       "duplicate SID fc00:a::e/128 (first at sids[0], line 2)"},
      {"bad_sid_v4.yaml", 2, "sids[0].sid",
       "expected an IPv6 prefix, got IPv4 prefix '192.0.2.0/24'"},
      {"bad_sid_no_len.yaml", 2, "sids[0].sid",
       "missing prefix length (write fc00:a::e/128 for a single address)"},
      {"bad_dup_interface.yaml", 6, "interfaces[2].name",
       "duplicate interface entry 'eth1' (first at interfaces[0], line 2)"},
      {"bad_dup_vlan.yaml", 10, "interfaces[2].vlan",
       "duplicate interface entry 'eth1 vlan 10' (first at interfaces[1], line 4)"},
      {"bad_role.yaml", 3, "interfaces[0].role", "expected customer or wan, got 'lan'"},
      {"bad_missing_role.yaml", 2, "interfaces[0].role", "required key missing"},
      {"bad_role_mix.yaml", 5, "interfaces[1].role",
       "eth1 is already a wan port (interfaces[0], line 2)"},
      {"bad_xdp_mode_mix.yaml", 9, "interfaces[1].xdp_mode",
       "eth1 is already attached in native mode (interfaces[0], line 4)"},
      {"bad_vlan_wan.yaml", 4, "interfaces[0].vlan", "only valid for role customer"},
      {"bad_vlan_range.yaml", 4, "interfaces[0].vlan", "expected an integer 1..4094, got '4095'"},
      {"bad_ifname.yaml", 2, "interfaces[0].name",
       "expected an interface name (1..15 characters, no '/', ':' or whitespace), got "
       "'averyveryverylongname'"},
      {"bad_mss_clamp_bool.yaml", 4, "interfaces[0].mss_clamp",
       "expected true or false, got 'yes'"},
      {"bad_map_sizes.yaml", 4, "datapath.map_sizes.sids", "expected an integer 1..65536, got '0'"},
      {"bad_policy_capacity.yaml", 9, "policies[1]",
       "the policies' paths need 2 or more slots, more than datapath.map_sizes.policies = 2 "
       "holds (at most 1: slot 0 is reserved; a policy takes a slot per path)"},
      {"bad_prefix_capacity.yaml", 9, "policies[0].prefixes[2]",
       "more than 1 IPv4 prefixes: datapath.map_sizes.prefixes4 = 1"},
      {"bad_sid_capacity.yaml", 7, "sids", "2 SIDs do not fit datapath.map_sizes.sids = 1"},
      {"bad_paths_both.yaml", 6, "policies[0].paths",
       "give either segments (one path) or paths (several), not both"},
      {"bad_paths_weight_zero.yaml", 7, "policies[0].paths[0].weight",
       "expected an integer 1..1000, got '0'"},
      {"bad_paths_dup.yaml", 8, "policies[0].paths[1]",
       "the same segment list as policies[0].paths[0]"},
      {"bad_paths_too_many.yaml", 5, "policies[0].paths", "9 paths, at most 8 are supported"},
      {"bad_paths_empty.yaml", 5, "policies[0].paths", "at least one path is required"},
      {"bad_paths_capacity.yaml", 9, "policies[1]",
       "the policies' paths need 4 or more slots, more than datapath.map_sizes.policies = 4"},
      {"bad_socket_mode.yaml", 2, "agent.socket_mode", "got '0x1ff'"},
      {"bad_socket_relative.yaml", 2, "agent.socket", "expected an absolute path, got 'aigw.sock'"},
      {"bad_log_level.yaml", 2, "agent.log_level",
       "expected one of debug, info, warn, error, got 'verbose'"},
      {"bad_metrics_listen.yaml", 2, "agent.metrics_listen",
       "expected IPV4:PORT, [IPV6]:PORT or off, got 'localhost:9469': 'localhost' is not an IPv4 "
       "address (no host names)"},
      {"bad_dup_key.yaml", 6, "policies[0].name", "duplicate key (first at line 2)"},
      {"bad_empty.yaml", 1, "", "empty configuration"},
      {"bad_not_map.yaml", 1, "",
       "expected a mapping (agent, datapath, interfaces, policies, sids)"},
      {"bad_interfaces_not_list.yaml", 1, "interfaces",
       "expected a list of interfaces, got 'eth0'"},
      {"bad_two_docs.yaml", 2, "", "more than one YAML document"},
      // yaml-cpp's LoadAll never returned on this (found by the config
      // fuzzer): endless empty documents, each allocating a node.
      {"bad_endless_docs.yaml", 1, "", "more than one YAML document"},
  };
  for (const auto& c : cases) {
    std::string path = data(c.file);
    auto errs = expect_errors(load_config_file(path));
    INFO(format_errors(errs));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].file == path);
    CHECK(errs[0].line == c.line);
    CHECK(errs[0].field == c.field);
    CHECK_THAT(errs[0].message, Catch::Contains(c.message));
  }
}

TEST_CASE("all errors of a file are collected, in line order", "[config]") {
  std::string path = data("bad_multi.yaml");
  auto errs = expect_errors(load_config_file(path));
  INFO(format_errors(errs));
  struct Want {
    int line;
    const char* field;
    const char* message;
  };
  const std::vector<Want> want = {
      {2, "agent.log_level", "got 'loud'"},
      {4, "datapath.hop_limit", "expected an integer 1..255, got '300'"},
      {8, "interfaces[1].name", "duplicate interface entry 'eth1'"},
      {12, "policies[0].prefixes[0]", "host bits set"},
      {14, "policies[0].segments[1]", "multicast address 'ff02::2' cannot be a segment"},
      {15, "policies[1].source", "required key missing"},
      {18, "policies[1].colour", "unknown key"},
      {24, "sids[0].nexthop", "required for End.DX4 (an IPv4 address)"},
      {28, "sids[1].interface", "not valid for End.DT4"},
  };
  REQUIRE(errs.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("error " << i);
    CHECK(errs[i].line == want[i].line);
    CHECK(errs[i].field == want[i].field);
    CHECK_THAT(errs[i].message, Catch::Contains(want[i].message));
  }
  // The full text form.
  CHECK(errs[1].str() == path + ":4: datapath.hop_limit: expected an integer 1..255, got '300'");
}

TEST_CASE("objects with errors cause no follow-up errors; paths keep list positions", "[config]") {
  auto errs = parse_bad(
      "interfaces: [{name: eth1, role: lan}]\n"
      "sids: [{sid: 'fc00::1/128', behavior: End.DX6, nexthop: 'fc00::2', interface: eth1}]\n");
  INFO(format_errors(errs));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].field == "interfaces[0].role");

  errs = parse_bad(
      "policies:\n"
      "  - {name: a, prefixes: [10.0.0.0/8], source: 'fc00::1', segments: ['ff02::1']}\n"
      "  - {name: b, prefixes: [10.0.0.0/8], source: 'fc00::1', segments: ['fc00::2']}\n"
      "  - {name: b, prefixes: [11.0.0.0/8], source: 'fc00::1', segments: ['fc00::2']}\n");
  INFO(format_errors(errs));
  REQUIRE(errs.size() == 2);
  CHECK(errs[0].str() ==
        "t.yaml:2: policies[0].segments[0]: multicast address 'ff02::1' cannot be a segment");
  CHECK(errs[1].str() ==
        "t.yaml:4: policies[2].name: duplicate policy name 'b' (first at policies[1], line 3)");
}

TEST_CASE("error text form", "[config]") {
  ConfigError e{"/etc/aigw/aigw.yaml", 12, "policies[2].segments[1]", "bad"};
  CHECK(e.str() == "/etc/aigw/aigw.yaml:12: policies[2].segments[1]: bad");
  ConfigError s{"a.yaml", 3, "", "YAML syntax error: x"};
  CHECK(s.str() == "a.yaml:3: YAML syntax error: x");
  CHECK(format_errors({e, s}) == e.str() + "\n" + s.str());
}

TEST_CASE("a missing file is one error with line 0", "[config]") {
  auto errs = expect_errors(load_config_file(data("does-not-exist.yaml")));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].line == 0);
  CHECK(errs[0].file == data("does-not-exist.yaml"));
  CHECK_THAT(errs[0].message, Catch::Contains("No such file or directory"));

  auto dir = expect_errors(load_config_file(kData));
  REQUIRE(dir.size() == 1);
  CHECK(dir[0].line == 0);
  CHECK(dir[0].message == "is a directory");
}

TEST_CASE("scalar typing is strict", "[config]") {
  // Quoted or plain, a scalar is read by its text: "64" is a fine integer,
  // off/on are not booleans for tcp_mss, unquoted 0600 is a mode.
  Config c = parse_ok(
      "agent: {socket_mode: 0640}\n"
      "datapath: {hop_limit: \"64\", tcp_mss_clamp: off}\n");
  CHECK(c.agent.socket_mode == 0640);
  CHECK(c.datapath.hop_limit == 64);
  CHECK(c.datapath.tcp_mss_clamp == kMssOff);

  struct Case {
    const char* yaml;
    const char* field;
    const char* message;
  };
  for (auto [yaml, field, message] : std::initializer_list<Case>{
           {"datapath: {hop_limit: -1}", "datapath.hop_limit", "got '-1'"},
           {"datapath: {hop_limit: +1}", "datapath.hop_limit", "got '+1'"},
           {"datapath: {hop_limit: 0x40}", "datapath.hop_limit", "got '0x40'"},
           {"datapath: {hop_limit: 1.5}", "datapath.hop_limit", "got '1.5'"},
           {"datapath: {hop_limit: [1]}", "datapath.hop_limit", "got a list"},
           {"datapath: {hop_limit: {a: 1}}", "datapath.hop_limit", "got a mapping"},
           {"datapath: {hop_limit: 99999999999999999999999}", "datapath.hop_limit",
            "got '99999999999999999999999'"},
           {"datapath: {tcp_mss_clamp: 65535}", "datapath.tcp_mss_clamp", "got '65535'"},
           {"datapath: {tcp_mss_clamp: Auto}", "datapath.tcp_mss_clamp", "got 'Auto'"},
           {"datapath: {xdp_mode: skb}", "datapath.xdp_mode", "expected native or generic"},
           {"datapath: {map_sizes: {policies: 1}}", "datapath.map_sizes.policies",
            "expected an integer 2..65536, got '1'"},
           {"datapath: {map_sizes: {prefixes6: 1048577}}", "datapath.map_sizes.prefixes6",
            "expected an integer 1..1048576"},
           {"datapath: {map_sizes: {rules: 1}}", "datapath.map_sizes.rules", "unknown key"},
           // Keys that would make an empty or broken field name are quoted.
           {"{\"\": 255.255.255.255}", "\"\"", "unknown key"},
           {"datapath: {\"a\\tb\": 1}", "datapath.\"a\\x09b\"", "unknown key"},
           {"datapath: {map_sizes: 5}", "datapath.map_sizes", "expected a mapping, got '5'"},
           {"agent: {socket_mode: \"1777\"}", "agent.socket_mode", "got '1777'"},
           {"agent: {socket_mode: \"06000\"}", "agent.socket_mode", "got '06000'"},
           {"agent: {socket_mode: \"0680\"}", "agent.socket_mode", "got '0680'"},
           {"agent: {pin_path: \"\"}", "agent.pin_path", "expected an absolute path, got ''"},
           {"agent: [1]", "agent", "expected a mapping, got a list"},
           {"interfaces: [{name: eth1, role: customer, vrf: 4294967296}]", "interfaces[0].vrf",
            "expected an integer 0..4294967295, got '4294967296'"},
           {"interfaces: [{name: 'a b', role: customer}]", "interfaces[0].name", "got 'a b'"},
           {"interfaces: [{name: 'eth0:1', role: customer}]", "interfaces[0].name", "got 'eth0:1'"},
           {"interfaces: [{name: '..', role: customer}]", "interfaces[0].name", "got '..'"},
           {"interfaces: [eth0]", "interfaces[0]",
            "expected a mapping (name, role, ...), got 'eth0'"},
           {"interfaces: [{name: eth0, role: wan, vrf: 3}]", "interfaces[0].vrf",
            "only valid for role customer"},
           {"policies: [{name: 'a b', prefixes: [10.0.0.0/8], source: 'fc00::1', segments: "
            "['fc00::2']}]",
            "policies[0].name", "expected a name of 1..63 letters, digits, '.', '_' or '-'"},
           {"policies: [{name: p, prefixes: 10.0.0.0/8, source: 'fc00::1', segments: "
            "['fc00::2']}]",
            "policies[0].prefixes", "expected a list of IPv4/IPv6 prefixes, got '10.0.0.0/8'"},
           {"policies: [{name: p, prefixes: [], source: 'fc00::1', segments: ['fc00::2']}]",
            "policies[0].prefixes", "at least one prefix is required"},
           {"policies: [{name: p, prefixes: [10.0.0.0/8], source: 192.0.2.1, segments: "
            "['fc00::2']}]",
            "policies[0].source", "expected an IPv6 address, got IPv4 address '192.0.2.1'"},
           {"policies: [{name: p, prefixes: [10.0.0.0/8], source: 'fc00::1', segments: "
            "['::']}]",
            "policies[0].segments[0]", "the unspecified address '::' cannot be a segment"},
           {"policies: [{name: p, prefixes: [10.0.0.0/8], source: 'fc00::1', segments: "
            "['fc00::2'], hop_limit: 256}]",
            "policies[0].hop_limit", "expected an integer 1..255, got '256'"},
           {"sids: [{sid: '::/0', behavior: End}]", "sids[0].sid", "prefix length must be 1..128"},
           {"sids: [{sid: 'fc00::/0', behavior: End}]", "sids[0].sid",
            "host bits set (did you mean ::/0?)"},
           {"sids: [{sid: 'fc00::1/64', behavior: End}]", "sids[0].sid",
            "host bits set (did you mean fc00::/64?)"},
           {"sids: [{sid: 'fc00::1/128', behavior: End.DX4, nexthop: 0.0.0.0}]", "sids[0].nexthop",
            "expected a unicast next hop, got '0.0.0.0'"},
           {"sids: [{sid: 'fc00::1/128', behavior: End.DX6, nexthop: 'ff02::1'}]",
            "sids[0].nexthop", "expected a unicast next hop, got 'ff02::1'"},
           {"sids: [{sid: 'fc00::1/128', behavior: End.DX6, nexthop: 'router'}]", "sids[0].nexthop",
            "expected an IP address, got 'router'"},
           {"sids: [{sid: 'fc00::1/128'}]", "sids[0].behavior", "required key missing"},
           {"{? [a, b] : 1}", "<key>", "expected a key name, got a list"},
       }) {
    INFO(yaml);
    auto errs = parse_bad(yaml);
    INFO(format_errors(errs));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].line == 1);
    CHECK(errs[0].field == field);
    CHECK_THAT(errs[0].message, Catch::Contains(message));
  }
}

TEST_CASE("agent.metrics_listen: IP literal and port, or off", "[config]") {
  CHECK(Config{}.agent.metrics_listen == "127.0.0.1:9469");
  struct Good {
    const char* yaml;
    const char* want;
  };
  for (auto [yaml, want] : std::initializer_list<Good>{
           {"127.0.0.1:9469", "127.0.0.1:9469"},
           {"0.0.0.0:1", "0.0.0.0:1"},
           {"192.0.2.1:65535", "192.0.2.1:65535"},
           {"'[::1]:9469'", "[::1]:9469"},
           {"'[2001:db8::1]:9100'", "[2001:db8::1]:9100"},
           {"'[::]:9469'", "[::]:9469"},
           {"off", ""},
           {"\"off\"", ""},
           {"\"\"", ""},
       }) {
    INFO(yaml);
    CHECK(parse_ok(fmt::format("agent: {{metrics_listen: {}}}", yaml)).agent.metrics_listen ==
          want);
  }

  struct Bad {
    const char* yaml;
    const char* message;
  };
  for (auto [yaml, message] : std::initializer_list<Bad>{
           {"127.0.0.1", "got '127.0.0.1': missing ':PORT'"},
           {"'127.0.0.1:'", "port '' is not 1..65535"},
           {"127.0.0.1:0", "port '0' is not 1..65535"},
           {"127.0.0.1:65536", "port '65536' is not 1..65535"},
           {"127.0.0.1:09469", "port '09469' is not 1..65535"},
           {"127.0.0.1:http", "port 'http' is not 1..65535"},
           {"':9469'", "missing host (127.0.0.1 for this machine only)"},
           {"'::1:9469'", "write an IPv6 address in brackets: [::1]:9469"},
           {"'2001:db8::1:9469'", "write an IPv6 address in brackets: [2001:db8::1]:9469"},
           {"'[::1]9469'", "missing ':PORT' after ']'"},
           {"'[::1]'", "missing ':PORT' after ']'"},
           {"'[::1:9469'", "missing ']' after the IPv6 address"},
           {"'[192.0.2.1]:80'", "'192.0.2.1' is not an IPv6 address"},
           {"'[fe80::1%eth0]:80'", "'fe80::1%eth0' is not an IPv6 address"},
           {"'[ff02::1]:80'", "a multicast address cannot be listened on"},
           {"224.0.0.1:80", "a multicast or broadcast address cannot be listened on"},
           {"255.255.255.255:80", "a multicast or broadcast address cannot be listened on"},
           {"'127.0.0.1:9469 '", "port '9469 ' is not 1..65535"},
           {"Off", "got 'Off': missing ':PORT'"},
           {"'1.2.3:80'", "'1.2.3' is not an IPv4 address"},
           {"9469", "missing ':PORT'"},
           {"[a, b]", "expected IPV4:PORT, [IPV6]:PORT or off, got a list"},
           {"", "expected IPV4:PORT, [IPV6]:PORT or off, got an empty value"},
       }) {
    INFO(yaml);
    auto errs = parse_bad(fmt::format("agent: {{metrics_listen: {}}}", yaml));
    INFO(format_errors(errs));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].line == 1);
    CHECK(errs[0].field == "agent.metrics_listen");
    CHECK_THAT(errs[0].message, Catch::Contains(message));
  }
}

TEST_CASE("DX4/DX6 interface is optional, DT* table defaults to 254", "[config]") {
  Config c = parse_ok(
      "sids:\n"
      "  - {sid: 'fc00::4/128', behavior: End.DX4, nexthop: 192.0.2.1}\n"
      "  - {sid: 'fc00::6/128', behavior: End.DT6}\n"
      "  - {sid: 'fc00::7/128', behavior: End.DT4, table: 4294967295}\n");
  REQUIRE(c.sids.size() == 3);
  CHECK_FALSE(c.sids[0].interface);
  CHECK_FALSE(c.sids[0].table);
  CHECK(c.sids[1].table == std::optional<uint32_t>(kDefaultTable));
  CHECK(c.sids[2].table == std::optional<uint32_t>(4294967295u));
}

TEST_CASE("limits are inclusive", "[config]") {
  std::string segs;
  for (int i = 1; i <= 10; ++i) segs += fmt::format("{}'fc00::{:x}'", i > 1 ? ", " : "", i);
  Config c = parse_ok(
      "datapath: {map_sizes: {policies: 2, prefixes4: 1, prefixes6: 1, sids: 1}}\n"
      "policies:\n"
      "  - {name: p, prefixes: [10.0.0.0/8, '2001:db8::/32'], source: 'fc00::1', hop_limit: 255,"
      " tcp_mss: 65534, segments: [" +
      segs +
      "]}\n"
      "sids: [{sid: 'fc00::1/128', behavior: End}]\n");
  REQUIRE(c.policies.size() == 1);
  CHECK(c.policies[0].segments.size() == 10);
  CHECK(c.policies[0].hop_limit == std::optional<uint8_t>(255));
  CHECK(c.policies[0].tcp_mss == std::optional<uint16_t>(65534));
}

TEST_CASE("same prefix in another VRF and same name on other VLANs are fine", "[config]") {
  Config c = parse_ok(
      "interfaces:\n"
      "  - {name: eth1, role: customer}\n"
      "  - {name: eth1, role: customer, vlan: 10, vrf: 1}\n"
      "  - {name: eth1, role: customer, vlan: 11, vrf: 2}\n"
      "policies:\n"
      "  - {name: a, vrf: 1, prefixes: [10.0.0.0/8], source: 'fc00::1', segments: ['fc00::2']}\n"
      "  - {name: b, vrf: 2, prefixes: [10.0.0.0/8], source: 'fc00::1', segments: ['fc00::2']}\n"
      "  - {name: c, vrf: 1, prefixes: [10.0.0.0/9], source: 'fc00::1', segments: ['fc00::2']}\n");
  CHECK(c.interfaces.size() == 3);
  CHECK(c.policies.size() == 3);
}

TEST_CASE("validate() checks a Config built at runtime", "[config]") {
  Config c;
  c.interfaces = {make_iface("eth0", IfRole::Wan)};
  c.policies = {make_policy("a", "10.0.0.0/8"), make_policy("b", "10.0.0.0/8")};
  c.sids = {make_sid("fc00::1/128", Behavior::EndDX6)};
  c.sids[0].nexthop = IpAddr{ip6("fc00::99")};
  c.sids[0].interface = "eth5";
  auto errs = validate(c, "<aigwctl>");
  INFO(format_errors(errs));
  REQUIRE(errs.size() == 2);
  CHECK(errs[0].str() ==
        "<aigwctl>:0: policies[1].prefixes[0]: 10.0.0.0/8 in VRF 0 is already steered by policy "
        "'a' (policies[0])");
  CHECK(errs[1].str() == "<aigwctl>:0: sids[0].interface: interface 'eth5' is not in interfaces[]");

  c.policies.pop_back();
  c.sids[0].interface = "eth0";
  CHECK(validate(c, "<aigwctl>").empty());

  c.datapath.map_sizes.policies = 2;
  c.policies.push_back(make_policy("b", "11.0.0.0/8"));
  errs = validate(c, "x");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].field == "policies[1]");

  // A slot per path: one policy of two paths does not fit one usable slot.
  c.policies.pop_back();
  c.policies[0].paths = {{c.policies[0].segments, 1}, {{ip6("fc00::77")}, 2}};
  errs = validate(c, "x");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].field == "policies[0]");
  c.datapath.map_sizes.policies = 3;
  CHECK(validate(c, "x").empty());

  Config many;
  for (int i = 0; i < AIGW_MAX_IFACES; ++i) {
    many.interfaces.push_back(make_iface("eth1", IfRole::Customer, static_cast<uint16_t>(i + 1)));
  }
  errs = validate(many, "x");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].field == "interfaces");
  CHECK_THAT(errs[0].message, Catch::Contains("256 interface entries, at most 255"));
}

// ------------------------------------------------------------ single objects

TEST_CASE("parse_policy and parse_sid work on their own", "[config]") {
  auto r = parse_policy(YAML::Load("{name: p, prefixes: [10.0.0.0/8], source: 'fc00::1', "
                                   "segments: ['fc00::2'], tcp_mss: 1300}"),
                        "<aigwctl>");
  REQUIRE(std::holds_alternative<Policy>(r));
  CHECK(std::get<Policy>(r).tcp_mss == std::optional<uint16_t>(1300));

  auto bad = parse_policy(YAML::Load("{name: p, prefixes: [10.0.0.1/8]}"), "<aigwctl>");
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(bad));
  auto errs = std::get<std::vector<ConfigError>>(bad);
  INFO(format_errors(errs));
  REQUIRE(errs.size() == 3);
  CHECK(errs[0].field == "policy.prefixes[0]");
  CHECK(errs[1].field == "policy.source");
  CHECK(errs[2].field == "policy.segments");

  auto s = parse_sid(YAML::Load("{sid: 'fc00::d6/128', behavior: End.DT6}"), "<aigwctl>");
  REQUIRE(std::holds_alternative<Sid>(s));
  CHECK(std::get<Sid>(s).table == std::optional<uint32_t>(254));

  auto i =
      parse_interface(YAML::Load("{name: eth3, role: customer, vlan: 7}"), "<aigwctl>", "iface");
  REQUIRE(std::holds_alternative<Interface>(i));
  CHECK(std::get<Interface>(i).vlan == std::optional<uint16_t>(7));
  auto ibad = parse_interface(YAML::Load("{name: eth3}"), "<aigwctl>", "iface");
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(ibad));
  CHECK(std::get<std::vector<ConfigError>>(ibad)[0].field == "iface.role");
}

// ------------------------------------------------------------ serialization

TEST_CASE("to_yaml round-trips", "[config]") {
  for (const char* f : {"good_full.yaml", "good_empty.yaml"}) {
    INFO(f);
    Config c = expect_ok(load_config_file(data(f)));
    std::string y = to_yaml(c);
    INFO(y);
    Config back = expect_ok(parse_config(y, "roundtrip.yaml"));
    CHECK(back == c);
    CHECK(back.agent == c.agent);
    CHECK(back.datapath == c.datapath);
    CHECK(back.interfaces == c.interfaces);
    CHECK(back.policies == c.policies);
    CHECK(back.sids == c.sids);
    CHECK(to_yaml(back) == y);
  }
  Config ex = expect_ok(load_config_file(kData + "/../../../deploy/examples/aigw.yaml"));
  CHECK(expect_ok(parse_config(to_yaml(ex), "x")) == ex);
}

TEST_CASE("to_yaml of a runtime-built config round-trips", "[config]") {
  Config c;
  c.agent.socket_mode = 0640;
  c.datapath.hop_limit = 1;
  c.datapath.tcp_mss_clamp = kMssOff;
  c.interfaces = {make_iface("eth1", IfRole::Customer, 4094), make_iface("eth0", IfRole::Wan)};
  c.interfaces[0].xdp_mode = XdpMode::Native;
  c.policies = {make_policy("true", "0.0.0.0/0"), make_policy("123", "::/0")};
  c.policies[0].hop_limit = 255;
  c.policies[0].tcp_mss = kMssAuto;
  c.policies[1].mode = EncapMode::EncapRed;
  c.sids = {make_sid("fc00:a::/32", Behavior::EndDT46), make_sid("fc00::1/128", Behavior::EndX)};
  c.sids[0].table = 7;
  c.sids[1].nexthop = IpAddr{ip6("fe80::1")};
  c.sids[1].interface = "eth0";
  std::string y = to_yaml(c);
  INFO(y);
  CHECK_THAT(y, Catch::Contains("socket_mode: \"0640\""));
  CHECK_THAT(y, Catch::Contains("tcp_mss_clamp: off"));
  CHECK_THAT(y, Catch::Contains("metrics_listen: \"127.0.0.1:9469\""));
  CHECK(expect_ok(parse_config(y, "x")) == c);

  // Disabled is written "off"; an IPv6 listener is quoted (a plain [ starts a list).
  for (const char* listen : {"", "[::1]:9469"}) {
    INFO(listen);
    c.agent.metrics_listen = listen;
    y = to_yaml(c);
    INFO(y);
    CHECK_THAT(y, Catch::Contains(fmt::format("metrics_listen: \"{}\"", *listen ? listen : "off")));
    CHECK(expect_ok(parse_config(y, "x")) == c);
    CHECK(to_json(c)["agent"]["metrics_listen"] == (*listen ? listen : "off"));
  }
}

TEST_CASE("to_json uses the YAML key names", "[config]") {
  Config c = expect_ok(load_config_file(data("good_full.yaml")));
  nlohmann::json j = to_json(c);
  CHECK(j["agent"]["socket_mode"] == "0660");
  CHECK(j["agent"]["log_level"] == "debug");
  CHECK(j["agent"]["metrics_listen"] == "[::1]:9470");
  CHECK(j["datapath"]["tcp_mss_clamp"] == 1400);
  CHECK(j["datapath"]["hop_limit"] == 32);
  CHECK(j["datapath"]["map_sizes"]["prefixes6"] == 32);
  CHECK(j["interfaces"][1]["vlan"] == 100);
  CHECK_FALSE(j["interfaces"][0].contains("vlan"));
  const auto& p = j["policies"][0];
  CHECK(p["name"] == "to-site-b");
  CHECK(p["mode"] == "encap.red");
  CHECK(p["prefixes"] == nlohmann::json({"198.51.100.0/24", "2001:db8:2::/64", "0.0.0.0/0"}));
  CHECK(p["segments"] == nlohmann::json({"fc00:c::e", "fc00:b::d46"}));
  CHECK(p["hop_limit"] == 10);
  CHECK(p["tcp_mss"] == "off");
  CHECK_FALSE(j["policies"][1].contains("hop_limit"));
  CHECK(j["sids"][0] ==
        nlohmann::json({{"sid", "fc00:a::d46/128"}, {"behavior", "End.DT46"}, {"table", 254}}));
  CHECK(j["sids"][3]["nexthop"] == "2001:db8:1::10");
  CHECK(j["sids"][3]["interface"] == "eth1");

  // The whole document goes back through the YAML parser unchanged.
  std::string text = j.dump();
  CHECK(expect_ok(parse_config(text, "json")) == c);
}

TEST_CASE("from_json feeds aigwctl requests to parse_policy/parse_sid", "[config]") {
  Config c = expect_ok(load_config_file(data("good_full.yaml")));
  for (const Policy& p : c.policies) {
    auto r = parse_policy(from_json(to_json(p)), "<aigwctl>");
    REQUIRE(std::holds_alternative<Policy>(r));
    CHECK(std::get<Policy>(r) == p);
    CHECK(std::get<Policy>(r).line == 0);
  }
  for (const Sid& s : c.sids) {
    auto r = parse_sid(from_json(to_json(s)), "<aigwctl>");
    REQUIRE(std::holds_alternative<Sid>(r));
    CHECK(std::get<Sid>(r) == s);
  }
  for (const Interface& i : c.interfaces) {
    auto r = parse_interface(from_json(to_json(i)), "<aigwctl>");
    REQUIRE(std::holds_alternative<Interface>(r));
    CHECK(std::get<Interface>(r) == i);
  }

  nlohmann::json req = {{"name", "p"},         {"prefixes", {"10.0.0.0/8"}},
                        {"source", "fc00::1"}, {"segments", {"fc00::2"}},
                        {"hop_limit", 1.5},    {"vrf", nullptr},
                        {"mode", true}};
  auto r = parse_policy(from_json(req), "<aigwctl>");
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(r));
  auto errs = std::get<std::vector<ConfigError>>(r);
  INFO(format_errors(errs));
  REQUIRE(errs.size() == 3);
  // In the order the fields are read (all on line 0: no order by line).
  CHECK(errs[0].str() ==
        "<aigwctl>:0: policy.vrf: expected an integer 0..4294967295, got an empty value");
  CHECK(errs[1].str() == "<aigwctl>:0: policy.mode: expected encap or encap.red, got 'true'");
  CHECK(errs[2].str() == "<aigwctl>:0: policy.hop_limit: expected an integer 1..255, got '1.5'");
}

// ------------------------------------------------------------ diff

TEST_CASE("diff of identical configs is empty", "[config][diff]") {
  Config c = expect_ok(load_config_file(data("good_full.yaml")));
  Config d = c;
  d.policies[0].line = 99;  // source positions do not matter
  ConfigDiff df = diff(c, d);
  CHECK(df.empty());
  CHECK_FALSE(df.restart_needed);
  CHECK(df.summary() == "no changes");
}

TEST_CASE("diff finds added, removed and changed objects", "[config][diff]") {
  Config a = expect_ok(load_config_file(data("good_full.yaml")));
  Config b = a;
  b.policies.erase(b.policies.begin() + 1);                        // remove to-site-c
  b.policies[0].segments.push_back(ip6("fc00:d::1"));              // change to-site-b
  b.policies.push_back(make_policy("to-site-d", "192.0.2.0/24"));  // add
  b.sids[2].behavior = Behavior::EndDT6;                           // change fc00:a::e/128
  b.sids[2].table = 254;
  b.sids.pop_back();                                                  // remove fc00:a::c0/128
  b.interfaces[1].vrf = 9;                                            // change eth1 vlan 100
  b.interfaces.push_back(make_iface("eth1", IfRole::Customer, 200));  // add

  ConfigDiff d = diff(a, b);
  CHECK_FALSE(d.empty());
  CHECK(d.added_policies == std::vector<std::string>{"to-site-d"});
  CHECK(d.removed_policies == std::vector<std::string>{"to-site-c"});
  CHECK(d.changed_policies == std::vector<std::string>{"to-site-b"});
  CHECK(d.added_sids.empty());
  CHECK(d.removed_sids == std::vector<std::string>{"fc00:a::c0/128"});
  CHECK(d.changed_sids == std::vector<std::string>{"fc00:a::e/128"});
  CHECK(d.added_interfaces == std::vector<std::string>{"eth1 vlan 200"});
  CHECK(d.removed_interfaces.empty());
  CHECK(d.changed_interfaces == std::vector<std::string>{"eth1 vlan 100"});
  CHECK(d.changed_settings.empty());
  CHECK_FALSE(d.restart_needed);
  CHECK(d.summary() ==
        "interfaces added [eth1 vlan 200] changed [eth1 vlan 100]; "
        "policies added [to-site-d] removed [to-site-c] changed [to-site-b]; "
        "sids removed [fc00:a::c0/128] changed [fc00:a::e/128]");

  // And back.
  ConfigDiff r = diff(b, a);
  CHECK(r.added_policies == std::vector<std::string>{"to-site-c"});
  CHECK(r.removed_policies == std::vector<std::string>{"to-site-d"});
  CHECK(r.added_sids == std::vector<std::string>{"fc00:a::c0/128"});
  CHECK(r.removed_interfaces == std::vector<std::string>{"eth1 vlan 200"});
}

TEST_CASE("diff: renaming is remove + add; vlan is part of the key", "[config][diff]") {
  Config a;
  a.interfaces = {make_iface("eth1", IfRole::Customer)};
  a.policies = {make_policy("old", "10.0.0.0/8")};
  Config b = a;
  b.policies[0].name = "new";
  b.interfaces[0].vlan = 5;
  ConfigDiff d = diff(a, b);
  CHECK(d.added_policies == std::vector<std::string>{"new"});
  CHECK(d.removed_policies == std::vector<std::string>{"old"});
  CHECK(d.changed_policies.empty());
  CHECK(d.added_interfaces == std::vector<std::string>{"eth1 vlan 5"});
  CHECK(d.removed_interfaces == std::vector<std::string>{"eth1"});
}

TEST_CASE("diff: inherited datapath defaults change the objects using them", "[config][diff]") {
  Config a;
  a.interfaces = {make_iface("eth1", IfRole::Customer), make_iface("eth0", IfRole::Wan)};
  a.interfaces[1].xdp_mode = XdpMode::Native;
  a.policies = {make_policy("inherits", "10.0.0.0/8"), make_policy("own", "11.0.0.0/8")};
  a.policies[1].hop_limit = 64;
  a.policies[1].tcp_mss = 1400;

  Config b = a;
  b.datapath.hop_limit = 10;
  ConfigDiff d = diff(a, b);
  CHECK(d.changed_settings == std::vector<std::string>{"datapath.hop_limit"});
  CHECK(d.changed_policies == std::vector<std::string>{"inherits"});
  CHECK(d.changed_interfaces.empty());
  CHECK_FALSE(d.restart_needed);

  b = a;
  b.datapath.tcp_mss_clamp = kMssOff;
  CHECK(diff(a, b).changed_policies == std::vector<std::string>{"inherits"});

  b = a;
  b.datapath.xdp_mode = XdpMode::Generic;
  d = diff(a, b);
  CHECK(d.changed_interfaces == std::vector<std::string>{"eth1"});
  CHECK(d.changed_policies.empty());
  CHECK(d.summary() == "settings changed [datapath.xdp_mode]; interfaces changed [eth1]");
}

TEST_CASE("diff: agent.* and map_sizes need a restart, log_level does not", "[config][diff]") {
  Config a;
  Config b = a;
  b.agent.log_level = "debug";
  ConfigDiff d = diff(a, b);
  CHECK_FALSE(d.restart_needed);
  CHECK(d.changed_settings == std::vector<std::string>{"agent.log_level"});

  b.datapath.map_sizes.sids = 2048;
  b.agent.socket = "/run/other.sock";
  d = diff(a, b);
  CHECK(d.restart_needed);
  CHECK(d.changed_settings ==
        std::vector<std::string>{"agent.socket", "agent.log_level", "datapath.map_sizes.sids"});
  CHECK(d.restart_reason == "restart needed: agent.socket, datapath.map_sizes.sids changed");
  CHECK(d.summary() ==
        "settings changed [agent.socket, agent.log_level, datapath.map_sizes.sids]; " +
            d.restart_reason);

  b = a;
  b.datapath.hop_limit = 1;
  CHECK_FALSE(diff(a, b).restart_needed);

  for (const char* listen : {"", "127.0.0.1:9470"}) {
    b = a;
    b.agent.metrics_listen = listen;
    d = diff(a, b);
    CHECK(d.restart_needed);
    CHECK(d.restart_reason == "restart needed: agent.metrics_listen changed");
  }
}

TEST_CASE("an interface without a name is a file:line error, never an exception", "[config]") {
  // Issue 8 F1: this aborted aigwd --check with YAML::InvalidNode.
  std::vector<ConfigError> errs;
  REQUIRE_NOTHROW(errs = parse_bad("interfaces: [{role: customer}]\n"));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].str() == "t.yaml:1: interfaces[0].name: required key missing");
  REQUIRE_NOTHROW(errs =
                      parse_bad("interfaces:\n  - role: customer\n  - name: 7\n    role: wan\n"));
  CHECK(errs.size() >= 1);
  CHECK(errs[0].str() == "t.yaml:2: interfaces[0].name: required key missing");
}

TEST_CASE("addresses are checked for their role (issue 8 F2)", "[config]") {
  const std::string pol =
      "policies:\n  - name: p\n    prefixes: [198.51.100.0/24]\n    source: SRC\n"
      "    segments: [SEG]\n";
  auto policy_error = [&](const std::string& src, const std::string& seg) {
    std::string y = pol;
    y.replace(y.find("SRC"), 3, src);
    y.replace(y.find("SEG"), 3, seg);
    auto errs = parse_bad(y);
    REQUIRE(errs.size() == 1);
    return errs[0].str();
  };
  CHECK(policy_error("::1", "fc00:b::1") ==
        "t.yaml:4: policies[0].source: loopback address '::1' cannot be a source address (not "
        "routable)");
  CHECK(policy_error("fc00:a::1", "fe80::1") ==
        "t.yaml:5: policies[0].segments[0]: link-local address 'fe80::1' cannot be a segment (not "
        "routable)");
  CHECK(policy_error("fc00:a::1", "::ffff:10.0.0.1") ==
        "t.yaml:5: policies[0].segments[0]: IPv4-mapped address '::ffff:10.0.0.1' cannot be a "
        "segment (not routable)");

  auto sid_error = [&](const std::string& sid, const std::string& more = "") {
    auto errs = parse_bad("sids:\n  - sid: " + sid + "\n    behavior: End" + more + "\n");
    REQUIRE(errs.size() >= 1);
    return errs[0].str();
  };
  CHECK(sid_error("ff02::1/128") ==
        "t.yaml:2: sids[0].sid: 'ff02::1/128' is multicast address "
        "space, not a SID");
  CHECK(sid_error("::1/128").find("is reserved (::/8") != std::string::npos);
  CHECK(sid_error("fe80::/10") ==
        "t.yaml:2: sids[0].sid: 'fe80::/10' is link-local address "
        "space, not a SID");
  CHECK(sid_error("::/1").find("is reserved (::/8") != std::string::npos);
  CHECK(sid_error("2000::/3") ==
        "t.yaml:2: sids[0].sid: a SID block shorter than /16 "
        "('2000::/3') would capture other traffic");
  auto dx4 =
      parse_bad("sids:\n  - sid: fc00:a::d4/128\n    behavior: End.DX4\n    nexthop: 127.0.0.1\n");
  REQUIRE(dx4.size() == 1);
  CHECK(dx4[0].str() ==
        "t.yaml:4: sids[0].nexthop: loopback address '127.0.0.1' cannot be a next hop");
  auto dx6 = parse_bad("sids:\n  - sid: fc00:a::d6/128\n    behavior: End.DX6\n    nexthop: ::1\n");
  REQUIRE(dx6.size() == 1);
  CHECK(dx6[0].str() == "t.yaml:4: sids[0].nexthop: loopback address '::1' cannot be a next hop");
  // An End.X adjacency over a link-local next hop stays valid.
  parse_ok(
      "interfaces: [{name: wan0, role: wan}]\nsids:\n  - sid: fc00:a::e1/128\n"
      "    behavior: End.X\n    nexthop: fe80::1\n    interface: wan0\n");

  auto c1 = parse_bad("ipfix: {collectors: [\"0.0.0.0:4739\"]}\n");
  REQUIRE(c1.size() == 1);
  CHECK(c1[0].str() ==
        "t.yaml:1: ipfix.collectors[0]: the unspecified address in '0.0.0.0:4739' "
        "cannot be a collector");
  CHECK(parse_bad("ipfix: {collectors: [\"[::]:4739\"]}\n").size() == 1);
  parse_ok("ipfix: {collectors: [\"127.0.0.1:4739\"]}\n");

  auto opt = [&](const char* t) {
    auto errs = parse_bad(std::string("apn: {option_type: ") + t + "}\n");
    REQUIRE(errs.size() == 1);
    return errs[0].str();
  };
  CHECK(opt("0xff") ==
        "t.yaml:1: apn.option_type: option type 0xff: action bits 11 make nodes "
        "that do not know APN drop the packet (use a type 0x02..0x3f)");
  CHECK(opt("0xc2").find("action bits 11") != std::string::npos);  // Jumbo Payload's type
  CHECK(opt("0x05") ==
        "t.yaml:1: apn.option_type: option type 0x05: that is the Router Alert "
        "option");
  CHECK(parse_ok("apn: {option_type: 0x13}\n").apn.option_type == 0x13);
}
