// aigwctl argument handling, request building, rendering and exit codes,
// driven through run_cli() with a fake transport (no daemon).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "control/cli.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"

using nlohmann::json;
using namespace aigw;

namespace {

struct Call {
  std::string socket, cmd;
  json args;
};

class FakeTransport : public CliTransport {
 public:
  enum class Mode { Ok, Refuse, Unreachable, Garbage };
  Mode mode = Mode::Ok;
  json data = nullptr;
  std::map<std::string, json> by_cmd;  // answers of some commands (else data)
  std::string error = "no policy named x";
  std::vector<Call> calls;

  json call(const std::string& socket, const std::string& cmd, const json& args) override {
    calls.push_back({socket, cmd, args});
    switch (mode) {
      case Mode::Ok:
        return make_ok(by_cmd.count(cmd) ? by_cmd.at(cmd) : data);
      case Mode::Refuse:
        return make_error(error);
      case Mode::Unreachable:
        throw UnreachableError("Connection refused");
      case Mode::Garbage:
        return json{{"hello", "world"}};
    }
    return nullptr;
  }
};

struct Result {
  int code;
  std::string out, err;
};

Result run(std::vector<std::string> args, FakeTransport& t) {
  std::ostringstream out, err;
  int code = run_cli(args, out, err, t);
  return {code, out.str(), err.str()};
}

Result run(std::vector<std::string> args) {
  FakeTransport t;
  return run(std::move(args), t);
}

// Runs `args`, expects exactly one request and returns it.
Call request_of(std::vector<std::string> args) {
  FakeTransport t;
  auto r = run(args, t);
  INFO(r.err);
  REQUIRE(r.code == kExitOk);
  REQUIRE(t.calls.size() == 1);
  return t.calls[0];
}

void expect_usage_error(std::vector<std::string> args, const std::string& needle) {
  FakeTransport t;
  auto r = run(args, t);
  INFO("args: " << json(args).dump() << "\nerr: " << r.err);
  CHECK(r.code == kExitUsage);
  CHECK(t.calls.empty());
  CHECK(r.out.empty());
  CHECK(r.err.find(needle) != std::string::npos);
}

// A temporary file removed at scope exit.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& content) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aigwctl-test-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    REQUIRE(fd >= 0);
    ::close(fd);
    path = tmpl;
    std::ofstream(path) << content;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("cli: simple commands build the right requests", "[cli]") {
  struct Case {
    std::vector<std::string> args;
    const char* cmd;
    json args_json;
  };
  std::vector<Case> cases = {
      {{"status"}, "status", json::object()},
      {{"interface", "show"}, "interface.show", json::object()},
      {{"interface"}, "interface.show", json::object()},  // default verb
      {{"i", "sh"}, "interface.show", json::object()},    // abbreviations
      {{"link", "list"}, "interface.show", json::object()},
      {{"policy", "show"}, "policy.show", json::object()},
      {{"pol"}, "policy.show", json::object()},
      {{"policy", "show", "to-dc1"}, "policy.show", {{"name", "to-dc1"}}},
      {{"policy", "del", "to-dc1"}, "policy.del", {{"name", "to-dc1"}}},
      {{"policy", "delete", "to-dc1"}, "policy.del", {{"name", "to-dc1"}}},
      {{"policy", "d", "show"}, "policy.del", {{"name", "show"}}},  // a name like a verb
      {{"policy", "del", "--", "-odd"}, "policy.del", {{"name", "-odd"}}},
      {{"sid", "show"}, "sid.show", json::object()},
      {{"sid", "del", "fc00:a::e"}, "sid.del", {{"sid", "fc00:a::e/128"}}},
      {{"sid", "del", "fc00:a:1::/48"}, "sid.del", {{"sid", "fc00:a:1::/48"}}},
      {{"stats", "show"}, "stats.show", json::object()},
      {{"stats", "show", "-s"}, "stats.show", json::object()},
      {{"stats"}, "stats.show", json::object()},
      {{"stats", "-s"}, "stats.show", json::object()},
      {{"statistics", "-j", "ls", "--all"}, "stats.show", json::object()},
      {{"config", "show"}, "config.show", json::object()},
      {{"config", "reload"}, "config.reload", json::object()},
      {{"conf", "rel"}, "config.reload", json::object()},
  };
  for (const auto& c : cases) {
    INFO(json(c.args).dump());
    auto call = request_of(c.args);
    CHECK(call.cmd == c.cmd);
    CHECK(call.args == c.args_json);
    CHECK(call.socket == kDefaultSocketPath);
  }
}

TEST_CASE("cli: global options anywhere", "[cli]") {
  FakeTransport t;
  t.data = json::array();
  CHECK(run({"-S", "/tmp/x.sock", "policy", "show"}, t).code == 0);
  CHECK(run({"policy", "--socket", "/tmp/y.sock", "show"}, t).code == 0);
  CHECK(run({"policy", "show", "--socket=/tmp/z.sock", "-j"}, t).code == 0);
  REQUIRE(t.calls.size() == 3);
  CHECK(t.calls[0].socket == "/tmp/x.sock");
  CHECK(t.calls[1].socket == "/tmp/y.sock");
  CHECK(t.calls[2].socket == "/tmp/z.sock");
  auto r = run({"policy", "show", "-j"}, t);
  CHECK(r.out == "[]\n");
}

TEST_CASE("cli: policy add builds a YAML-shaped policy", "[cli]") {
  SECTION("every keyword") {
    auto call = request_of({"policy", "add", "to-dc1", "prefix", "10.1.0.0/16", "prefix",
                            "2001:db8:a::/48,192.0.2.0/24", "segs", "fc00:1::1,fc00:2::100", "src",
                            "2001:db8::1", "mode", "encap.red", "vrf", "7", "hop-limit", "32",
                            "tcp-mss", "1400"});
    CHECK(call.cmd == "policy.add");
    json want = {{"policy",
                  {{"name", "to-dc1"},
                   {"prefixes", {"10.1.0.0/16", "2001:db8:a::/48", "192.0.2.0/24"}},
                   {"segments", {"fc00:1::1", "fc00:2::100"}},
                   {"source", "2001:db8::1"},
                   {"mode", "encap.red"},
                   {"vrf", 7},
                   {"hop_limit", 32},
                   {"tcp_mss", 1400}}}};
    CHECK(call.args == want);
  }
  SECTION("minimal: defaults are left to the agent") {
    auto call = request_of(
        {"policy", "add", "p", "segs", "fc00::1", "src", "fc00::2", "prefix", "0.0.0.0/0"});
    json want = {{"policy",
                  {{"name", "p"},
                   {"prefixes", {"0.0.0.0/0"}},
                   {"segments", {"fc00::1"}},
                   {"source", "fc00::2"}}}};
    CHECK(call.args == want);
  }
  SECTION("several paths, each with its weight") {
    auto call = request_of({"policy", "add", "p", "prefix", "10.0.0.0/8", "path", "fc00::1",
                            "weight", "3", "path", "fc00::5,fc00::6", "src", "fc00::2"});
    json want = {
        {"policy",
         {{"name", "p"},
          {"prefixes", {"10.0.0.0/8"}},
          {"paths",
           {{{"segments", {"fc00::1"}}, {"weight", 3}}, {{"segments", {"fc00::5", "fc00::6"}}}}},
          {"source", "fc00::2"}}}};
    CHECK(call.args == want);
  }
  SECTION("tcp-mss auto/off are strings; names may look like objects") {
    auto call = request_of({"pol", "a", "status", "prefix", "10.0.0.0/8", "segs", "fc00::1", "src",
                            "fc00::2", "tcp-mss", "off"});
    CHECK(call.args["policy"]["name"] == "status");
    CHECK(call.args["policy"]["tcp_mss"] == "off");
    call = request_of({"policy", "add", "p", "prefix", "10.0.0.0/8", "segs", "fc00::1", "src",
                       "fc00::2", "tcp-mss", "auto", "-j"});
    CHECK(call.args["policy"]["tcp_mss"] == "auto");
  }
}

TEST_CASE("cli: bad or missing arguments are usage errors", "[cli]") {
  const std::vector<std::string> ok = {"policy", "add",     "p",   "prefix", "10.0.0.0/8",
                                       "segs",   "fc00::1", "src", "fc00::2"};
  auto with = [&](std::vector<std::string> extra) {
    auto v = ok;
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  expect_usage_error({"policy", "add"}, "missing policy NAME");
  expect_usage_error({"policy", "add", "p", "segs", "fc00::1", "src", "fc00::2"},
                     "missing 'prefix PFX'");
  expect_usage_error({"policy", "add", "p", "prefix", "10.0.0.0/8", "src", "fc00::2"},
                     "missing 'segs");
  expect_usage_error({"policy", "add", "p", "prefix", "10.0.0.0/8", "segs", "fc00::1"},
                     "missing 'src ADDR'");
  expect_usage_error(
      {"policy", "add", "p", "prefix", "10.0.0.1/8", "segs", "fc00::1", "src", "fc00::2"},
      "host bits");
  expect_usage_error(
      {"policy", "add", "p", "prefix", "10.0.0.0", "segs", "fc00::1", "src", "fc00::2"},
      "bad prefix '10.0.0.0'");
  expect_usage_error(
      {"policy", "add", "p", "prefix", "10.0.0.0/8", "segs", "10.0.0.1", "src", "fc00::2"},
      "bad segment '10.0.0.1'");
  expect_usage_error(
      {"policy", "add", "p", "prefix", "10.0.0.0/8", "segs", "fc00::1,,fc00::2", "src", "fc00::2"},
      "bad segment ''");
  expect_usage_error(
      {"policy", "add", "p", "prefix", "10.0.0.0/8", "segs", "fc00::1", "src", "nope"},
      "bad src 'nope'");
  expect_usage_error(with({"hop-limit", "0"}), "bad hop-limit '0'");
  expect_usage_error(with({"hop-limit", "256"}), "bad hop-limit '256'");
  expect_usage_error(with({"hop-limit", "12x"}), "bad hop-limit");
  expect_usage_error(with({"vrf", "-1"}), "bad vrf '-1'");
  expect_usage_error(with({"vrf", "4294967296"}), "bad vrf");
  expect_usage_error(with({"tcp-mss", "100"}), "bad tcp-mss '100'");
  expect_usage_error(with({"mode", "decap"}), "bad mode 'decap'");
  expect_usage_error(with({"colour", "blue"}), "unknown argument 'colour'");
  expect_usage_error(with({"path", "fc00::9"}), "either 'segs' (one path) or 'path'");
  expect_usage_error(with({"weight", "2"}), "'weight N' follows the 'path");
  const std::vector<std::string> two = {"policy", "add",     "p",    "prefix",  "10.0.0.0/8",
                                        "src",    "fc00::2", "path", "fc00::1", "weight"};
  auto w = two;
  w.push_back("0");
  expect_usage_error(w, "bad weight '0'");
  w.back() = "1001";
  expect_usage_error(w, "bad weight '1001'");
  w.back() = "2";
  w.insert(w.end(), {"weight", "3"});
  expect_usage_error(w, "one 'weight' per path");
  w = {"policy", "add", "p", "prefix", "10.0.0.0/8", "src", "fc00::2"};
  for (int i = 1; i <= 9; ++i) w.insert(w.end(), {"path", "fc00::" + std::to_string(i)});
  expect_usage_error(w, "too many paths (at most 8)");
  expect_usage_error(with({"vrf"}), "'vrf' needs a value");
  expect_usage_error(with({"src", "fc00::3"}), "'src' given more than once");
  std::vector<std::string> many = ok;
  many[6] =
      "fc00::1,fc00::2,fc00::3,fc00::4,fc00::5,fc00::6,fc00::7,fc00::8,fc00::9,"
      "fc00::a,fc00::b,fc00::c,fc00::d,fc00::e,fc00::f,fc00::10,fc00::11";
  expect_usage_error(many, "too many segments");

  expect_usage_error({"policy", "del"}, "missing policy NAME");
  expect_usage_error({"policy", "del", "a", "b"}, "unexpected argument 'b'");
  expect_usage_error({"policy", "show", "a", "b"}, "unexpected argument 'b'");
  expect_usage_error({"status", "now"}, "unexpected argument 'now'");
  expect_usage_error({"interface", "show", "eth0"}, "unexpected argument 'eth0'");
  expect_usage_error({"sid", "add"}, "missing SID");
  expect_usage_error({"sid", "add", "fc00::1"}, "missing 'behavior B'");
  expect_usage_error({"sid", "add", "fc00::1", "behavior", "End.Z"}, "bad behavior 'End.Z'");
  expect_usage_error({"sid", "add", "10.0.0.1", "behavior", "End"}, "not IPv6");
  expect_usage_error({"sid", "add", "fc00::1", "behavior", "End.DT4", "table", "x"},
                     "bad table 'x'");
  expect_usage_error({"sid", "add", "fc00::1", "behavior", "End.X", "nh", "zz"}, "bad nh 'zz'");
  expect_usage_error({"sid", "add", "fc00::1", "behavior", "End.X", "dev", "a/b"}, "bad dev");
  expect_usage_error({"sid", "del"}, "missing SID");
  expect_usage_error({"sid", "del", "fc00::1/129"}, "bad SID");

  // Objects, verbs, options.
  expect_usage_error({}, "missing object");
  expect_usage_error({"-j"}, "missing object");
  expect_usage_error({"bogus"}, "unknown object 'bogus'");
  expect_usage_error({"st"}, "ambiguous object 'st'");
  expect_usage_error({"policy", "frob"}, "unknown command 'frob'");
  expect_usage_error({"--frob", "status"}, "--frob");
  expect_usage_error({"interface", "show", "-s"}, "-s");
  expect_usage_error({"-S"}, "missing object");
  expect_usage_error({"status", "-S"}, "socket");
}

TEST_CASE("cli: config without a verb shows the config", "[cli]") {
  FakeTransport t;
  t.data = {{"yaml", "agent: {}\n"}, {"config", json::object()}};
  auto r = run({"config"}, t);
  CHECK(r.code == 0);
  REQUIRE(t.calls.size() == 1);
  CHECK(t.calls[0].cmd == "config.show");
}

TEST_CASE("cli: sid add", "[cli]") {
  auto call =
      request_of({"sid", "add", "fc00:a::c0", "behavior", "end.x", "nh", "fe80::1", "dev", "eth0"});
  CHECK(call.cmd == "sid.add");
  CHECK(call.args == json{{"sid",
                           {{"sid", "fc00:a::c0/128"},
                            {"behavior", "End.X"},
                            {"nexthop", "fe80::1"},
                            {"interface", "eth0"}}}});
  call = request_of({"sid", "add", "fc00:a:1::/48", "behavior", "End.DT4", "table", "100"});
  CHECK(call.args ==
        json{{"sid", {{"sid", "fc00:a:1::/48"}, {"behavior", "End.DT4"}, {"table", 100}}}});
  call = request_of({"sid", "add", "fc00:a::44", "behavior", "End.DX4", "nh", "192.0.2.10"});
  CHECK(call.args["sid"]["nexthop"] == "192.0.2.10");
}

TEST_CASE("cli: exit codes for refusals and unreachable agents", "[cli]") {
  FakeTransport t;
  t.mode = FakeTransport::Mode::Refuse;
  t.error = "policy p exists (delete it first)";
  auto r =
      run({"policy", "add", "p", "prefix", "10.0.0.0/8", "segs", "fc00::1", "src", "fc00::2"}, t);
  CHECK(r.code == kExitRefused);
  CHECK(r.err == "aigwctl: agent refused: policy p exists (delete it first)\n");
  CHECK(r.out.empty());

  t.mode = FakeTransport::Mode::Unreachable;
  r = run({"-S", "/nonexistent/aigw.sock", "status"}, t);
  CHECK(r.code == kExitUnreachable);
  CHECK(r.err == "aigwctl: cannot reach aigwd at /nonexistent/aigw.sock: Connection refused\n");

  t.mode = FakeTransport::Mode::Garbage;
  r = run({"status"}, t);
  CHECK(r.code == kExitUnreachable);
  CHECK(r.err.find("bad response") != std::string::npos);
}

TEST_CASE("cli: the real transport reports a missing socket as unreachable", "[cli]") {
  SocketTransport t(std::chrono::milliseconds(500));
  std::ostringstream out, err;
  auto path = (std::filesystem::temp_directory_path() / "aigw-no-such-dir" / "x.sock").string();
  int code = run_cli({"-S", path, "status"}, out, err, t);
  CHECK(code == kExitUnreachable);
  CHECK(err.str().find("cannot reach aigwd at " + path + ": No such file or directory") !=
        std::string::npos);
}

TEST_CASE("cli: --help at every level exits 0", "[cli]") {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  std::vector<Case> cases = {
      {{"--help"}, "OBJECT"},
      {{"-h"}, "policy"},
      {{"policy", "--help"}, "Usage: aigwctl policy"},
      {{"policy", "add", "--help"}, "segs SID[,SID...]"},
      {{"pol", "a", "-h"}, "hop-limit"},
      {{"sid", "add", "--help"}, "behavior B"},
      {{"stats", "show", "--help"}, "--all"},
      {{"config", "check", "--help"}, "FILE"},
      {{"status", "--help"}, "Usage: aigwctl status"},
      {{"interface", "--help"}, "show"},
  };
  for (const auto& c : cases) {
    FakeTransport t;
    auto r = run(c.args, t);
    INFO(json(c.args).dump() << "\n" << r.out << r.err);
    CHECK(r.code == 0);
    CHECK(t.calls.empty());
    CHECK(r.out.find(c.needle) != std::string::npos);
  }
  auto r = run({"--version"});
  CHECK(r.code == 0);
  CHECK(r.out.find("aigwctl ") == 0);
}

TEST_CASE("cli: status rendering", "[cli]") {
  FakeTransport t;
  t.data = {
      {"version", "0.1.0"},
      {"uptime_s", 93784},
      {"config_file", "/etc/aigw/aigw.yaml"},
      {"pin_path", "/sys/fs/bpf/aigw"},
      {"socket", "/run/aigw/aigw.sock"},
      {"interfaces", 3},
      {"policies", 2},
      {"sids", 4},
      {"last_reload", {{"time", "2024-05-01T10:00:00Z"}, {"ok", true}, {"message", "no change"}}}};
  auto r = run({"status"}, t);
  CHECK(r.code == 0);
  CHECK(r.out ==
        "aigwd 0.1.0, up 1d 2h 3m 4s\n"
        "config file  /etc/aigw/aigw.yaml\n"
        "socket       /run/aigw/aigw.sock\n"
        "pin path     /sys/fs/bpf/aigw\n"
        "interfaces   3\n"
        "policies     2\n"
        "sids         4\n"
        "last reload  2024-05-01T10:00:00Z ok: no change\n");
  r = run({"-j", "status"}, t);
  CHECK(json::parse(r.out) == t.data);
  // Missing fields do not break the rendering.
  t.data = json::object();
  r = run({"status"}, t);
  CHECK(r.code == 0);
  CHECK(r.out.find("aigwd -, up 0s") == 0);
}

TEST_CASE("cli: interface, policy and sid rendering", "[cli]") {
  FakeTransport t;
  t.data = json::array({{{"name", "eth1"},
                         {"ifindex", 4},
                         {"role", "customer"},
                         {"vrf", 7},
                         {"vlan", 100},
                         {"xdp_mode", "native"},
                         {"attached", true},
                         {"mtu", 1500},
                         {"slot", 1}},
                        {{"name", "eth0"},
                         {"ifindex", 12},
                         {"role", "wan"},
                         {"vrf", 0},
                         {"xdp_mode", "generic"},
                         {"attached", false},
                         {"mtu", 9000},
                         {"slot", 2}}});
  auto r = run({"interface", "show"}, t);
  CHECK(r.out ==
        "NAME  IFINDEX  ROLE      VRF  VLAN  XDP      ATTACHED   MTU  SLOT\n"
        "eth1        4  customer    7   100  native   yes       1500     1\n"
        "eth0       12  wan         0     -  generic  no        9000     2\n");

  t.data = json::array({{{"name", "to-b"},
                         {"vrf", 7},
                         {"prefixes", {"198.51.100.0/24", "2001:db8:2::/64"}},
                         {"mode", "encap.red"},
                         {"source", "fc00:a::1"},
                         {"segments", {"fc00:c::e", "fc00:b::d46"}},
                         {"hop_limit", 10},
                         {"tcp_mss", "off"},
                         {"slot", 1}},
                        {{"name", "c"},
                         {"prefixes", {"203.0.113.0/25"}},
                         {"source", "fc00:a::1"},
                         {"segments", {"fc00:c::d4"}}}});
  r = run({"policy", "show"}, t);
  CHECK(r.out ==
        "policy to-b (slot 1)\n"
        "    vrf 7  mode encap.red  src fc00:a::1  hop-limit 10  tcp-mss off\n"
        "    prefixes  198.51.100.0/24 2001:db8:2::/64\n"
        "    segments  fc00:c::e -> fc00:b::d46\n"
        "\n"
        "policy c\n"
        "    src fc00:a::1\n"
        "    prefixes  203.0.113.0/25\n"
        "    segments  fc00:c::d4\n");
  r = run({"policy", "show", "-j"}, t);
  CHECK(json::parse(r.out) == t.data);

  // A multipath policy: a line per path, with its weight and counters.
  t.data = json::array({{{"name", "mp"},
                         {"vrf", 0},
                         {"prefixes", {"203.0.113.0/24"}},
                         {"mode", "encap"},
                         {"source", "fc00:a::1"},
                         {"paths",
                          {{{"segments", {"fc00:c::1"}},
                            {"weight", 3},
                            {"slot", 4},
                            {"packets", 30},
                            {"bytes", 3000}},
                           {{"segments", {"fc00:d::1", "fc00:d::2"}},
                            {"weight", 1},
                            {"slot", 7},
                            {"packets", 10},
                            {"bytes", 1000}}}},
                         {"slot", 4},
                         {"packets", 40},
                         {"bytes", 4000}}});
  r = run({"policy", "show"}, t);
  CHECK(r.out ==
        "policy mp (slot 4)\n"
        "    vrf 0  mode encap  src fc00:a::1  packets 40  bytes 4000\n"
        "    prefixes  203.0.113.0/24\n"
        "    path 0    weight 3  packets 30  bytes 3000  fc00:c::1\n"
        "    path 1    weight 1  packets 10  bytes 1000  fc00:d::1 -> fc00:d::2\n");
  // -s: each path's load, capacity and elephants (from flow.elephants)
  t.by_cmd[cmd::kFlowElephants] = {
      {"elephants", json::array()},
      {"paths",
       {{{"policy", "mp"}, {"path", 0}, {"weight", 3}, {"load_bps", 2.5e7}, {"elephants", 2}},
        {{"policy", "mp"},
         {"path", 1},
         {"weight", 1},
         {"load_bps", 1e6},
         {"capacity_bps", 1e7},
         {"elephants", 0}},
        {{"policy", "other"}, {"path", 0}, {"load_bps", 5.0}, {"elephants", 0}}}}};
  auto before = t.calls.size();
  r = run({"policy", "show", "-s"}, t);
  CHECK(t.calls.size() == before + 2);
  CHECK(t.calls.back().cmd == cmd::kFlowElephants);
  CHECK(r.out ==
        "policy mp (slot 4)\n"
        "    vrf 0  mode encap  src fc00:a::1  packets 40  bytes 4000\n"
        "    prefixes  203.0.113.0/24\n"
        "    path 0    weight 3  packets 30  bytes 3000  fc00:c::1\n"
        "              load 25.00Mbit  capacity -  elephants 2  mice weight 3\n"
        "    path 1    weight 1  packets 10  bytes 1000  fc00:d::1 -> fc00:d::2\n"
        "              load 1.00Mbit  capacity 10.00Mbit  elephants 0  mice weight 1\n");
  r = run({"policy", "show", "-s", "-j"}, t);
  auto j = json::parse(r.out);
  CHECK(j[0]["paths"][1]["capacity_bps"] == 1e7);
  CHECK(j[0]["paths"][0]["load_bps"] == 2.5e7);
  CHECK_FALSE(j[0]["paths"][0].contains("capacity_bps"));
  t.by_cmd.clear();

  t.data = json::array({{{"sid", "fc00:a::d46/128"}, {"behavior", "End.DT46"}, {"table", 254}},
                        {{"sid", "fc00:a::c0/128"},
                         {"behavior", "End.X"},
                         {"nexthop", "fe80::1"},
                         {"interface", "eth0"}}});
  r = run({"sid", "show"}, t);
  CHECK(r.out ==
        "SID              BEHAVIOR  TABLE  NEXTHOP  DEV\n"
        "fc00:a::d46/128  End.DT46    254  -        -\n"
        "fc00:a::c0/128   End.X         -  fe80::1  eth0\n");

  // Empty lists print nothing.
  t.data = json::array();
  CHECK(run({"sid", "show"}, t).out.empty());
  CHECK(run({"policy", "show"}, t).out.empty());
  CHECK(run({"interface", "show"}, t).out.empty());
}

TEST_CASE("cli: stats rendering", "[cli]") {
  auto ctr = [](uint64_t p, uint64_t b) { return json{{"packets", p}, {"bytes", b}}; };
  FakeTransport t;
  json drops = json::array(), events = json::array();
  drops.push_back({{"reason", "trunc_eth"}, {"packets", 0}, {"bytes", 0}});
  drops.push_back({{"reason", "mtu_exceeded"}, {"packets", 3}, {"bytes", 4500}});
  events.push_back({{"event", "mss_clamped"}, {"packets", 0}, {"bytes", 0}});
  t.data = {{"interfaces", json::array({{{"name", "eth1"},
                                         {"slot", 1},
                                         {"rx", ctr(120, 9600)},
                                         {"encap", ctr(118, 14000)},
                                         {"decap", ctr(0, 0)},
                                         {"fwd", ctr(118, 14000)},
                                         {"pass", ctr(2, 120)},
                                         {"drop", ctr(0, 0)},
                                         {"tx", ctr(0, 0)}}})},
            {"ports", json::array({{{"name", "eth1"},
                                    {"ifindex", 3},
                                    {"xmit_no_xdp", 0},
                                    {"xmit_down", 0},
                                    {"xmit_failed", 0}},
                                   {{"name", "eth2"},
                                    {"ifindex", 4},
                                    {"xmit_no_xdp", 7},
                                    {"xmit_down", 0},
                                    {"xmit_failed", 1}}})},
            {"drops", drops},
            {"events", events}};
  auto r = run({"stats", "show"}, t);
  CHECK(r.code == 0);
  CHECK(r.out ==
        "INTERFACE  SLOT             RX  ENCAP  DECAP    FWD  PASS  DROP  TX\n"
        "eth1          1  packets   120    118      0    118     2     0   0\n"
        "                 bytes    9600  14000      0  14000   120     0   0\n"
        "\n"
        "PORT  XMIT_NO_XDP  XMIT_DOWN  XMIT_FAILED\n"
        "eth2            7          0            1\n"
        "\n"
        "DROP REASON   PACKETS  BYTES\n"
        "mtu_exceeded        3   4500\n"
        "\n"
        "events: none\n");

  r = run({"stats", "show", "-s"}, t);
  CHECK(r.code == 0);
  // Every reason and event by name, zeros included, also those the agent
  // did not list.
  for (const char* name : {"trunc_eth", "mtu_exceeded", "frag_no_df", "srh_bad_len"})
    CHECK(r.out.find(name) != std::string::npos);
  for (const char* name : {"mss_clamped", "icmp_ttl_sent", "sl_zero_to_kernel"})
    CHECK(r.out.find(name) != std::string::npos);
  CHECK(r.out.find("none\n") == std::string::npos);
  CHECK(r.out.find("eth1            0          0            0\n") != std::string::npos);
  CHECK(run({"stats", "-s"}, t).out == r.out);

  r = run({"-j", "stats", "show"}, t);
  CHECK(json::parse(r.out) == t.data);

  t.data = {{"interfaces", json::array()}, {"drops", json::array()}, {"events", json::array()}};
  r = run({"stats"}, t);
  CHECK(r.out == "interfaces: none\n\ndrops: none\n\nevents: none\n");
  t.data["ports"] = json::array();
  r = run({"stats"}, t);
  CHECK(r.out == "interfaces: none\n\ntransmit drops: none\n\ndrops: none\n\nevents: none\n");
}

TEST_CASE("cli: config show, reload, add/del output", "[cli]") {
  FakeTransport t;
  t.data = {{"yaml", "agent:\n  log_level: info"},
            {"config", {{"agent", {{"log_level", "info"}}}}}};
  auto r = run({"config", "show"}, t);
  CHECK(r.out == "agent:\n  log_level: info\n");
  r = run({"config", "show", "-j"}, t);
  CHECK(json::parse(r.out) == t.data["config"]);

  t.data = {{"summary", "policies: +1 -0 ~0"}};
  r = run({"config", "reload"}, t);
  CHECK(r.code == 0);
  CHECK(r.out == "policies: +1 -0 ~0\n");

  t.data = nullptr;
  r = run({"policy", "del", "p"}, t);
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  r = run({"-j", "policy", "del", "p"}, t);
  CHECK(r.out.empty());
}

TEST_CASE("cli: config check runs locally", "[cli]") {
  FakeTransport t;
  t.mode = FakeTransport::Mode::Unreachable;  // must not be used
  TempFile good(
      "interfaces:\n"
      "  - name: eth1\n"
      "    role: customer\n"
      "policies:\n"
      "  - name: p\n"
      "    prefixes: [10.0.0.0/8]\n"
      "    source: fc00:a::1\n"
      "    segments: [fc00:b::1]\n");
  auto r = run({"config", "check", good.path.string()}, t);
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out == good.path.string() + ": OK\n");

  TempFile bad(
      "policies:\n"
      "  - name: p\n"
      "    prefixes: [10.0.0.1/8]\n"
      "    source: fc00:a::1\n"
      "    segments: [fc00:b::1]\n"
      "    colour: blue\n");
  r = run({"config", "check", bad.path.string()}, t);
  CHECK(r.code == kExitRefused);
  CHECK(r.out.empty());
  CHECK(r.err.find(bad.path.string() + ":3: ") != std::string::npos);
  CHECK(r.err.find("host bits") != std::string::npos);
  CHECK(r.err.find(bad.path.string() + ":6: ") != std::string::npos);

  r = run({"-j", "config", "check", bad.path.string()}, t);
  CHECK(r.code == kExitRefused);
  auto j = json::parse(r.out);
  CHECK(j["ok"] == false);
  CHECK(j["errors"].size() >= 2);
  CHECK(j["errors"][0]["line"] == 3);

  r = run({"config", "check", "/nonexistent/aigw.yaml"}, t);
  CHECK(r.code == kExitRefused);
  CHECK(r.err.find("/nonexistent/aigw.yaml") != std::string::npos);

  expect_usage_error({"config", "check"}, "missing FILE");
  expect_usage_error({"config", "check", "a", "b"}, "unexpected argument 'b'");
  CHECK(t.calls.empty());
}

TEST_CASE("cli: rdma show rendering", "[cli]") {
  FakeTransport t;
  json stream = {{"src", "2001:db8:1::10"}, {"dst", "2001:db8:2::10"}, {"qp", 0x32}};
  json rx = stream, tx = stream;
  rx.update({{"expected_psn", 100},
             {"held", 3},
             {"max_depth", 881},
             {"holes", 5},
             {"nacks", 6},
             {"given_up", 0},
             {"delivered", 90},
             {"fill_ms", 13.675912}});
  tx.update({{"cached_packets", 4},
             {"cached_bytes", 4352},
             {"cached_peak_bytes", 1114112},
             {"resent", 7},
             {"tail_probes", 0},
             {"misses", 0},
             {"evicted", 0},
             {"ack_ms", nullptr}});
  t.data = {{"running", true},   {"queues", 1},
            {"ports", {"wan0"}}, {"counters", json::object()},
            {"receiving", {rx}}, {"sending", {tx}}};
  auto r = run({"rdma", "show"}, t);
  CHECK(r.code == 0);
  for (const char* s : {"MAX-HELD", "FILL-MS", "PEAK-BYTES", "881", "1114112", "13.7"})
    CHECK(r.out.find(s) != std::string::npos);
  CHECK(r.out.find("13.67") == std::string::npos);  // times to a tenth
  // no ack time measured yet: "-" in the ACK-MS column, the row's last
  auto row = r.out.substr(r.out.find("1114112"));
  CHECK(row.substr(0, row.find('\n')).back() == '-');
}
