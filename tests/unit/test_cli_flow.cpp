// aigwctl flow / usage / tenant / class: argument handling, requests,
// rendering and exit codes, through run_cli() with a fake transport.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "control/cli.hpp"
#include "control/cli_internal.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"

using nlohmann::json;
using namespace aigw;

namespace {

struct Call {
  std::string cmd;
  json args;
};

class Fake : public CliTransport {
 public:
  json data = nullptr;
  bool refuse = false, unreachable = false;
  std::vector<Call> calls;
  json call(const std::string&, const std::string& cmd, const json& args) override {
    calls.push_back({cmd, args});
    if (unreachable) throw UnreachableError("Connection refused");
    return refuse ? make_error("no tenant nobody") : make_ok(data);
  }
};

struct Result {
  int code;
  std::string out, err;
  std::vector<Call> calls;
};

Result run(std::vector<std::string> args, json data = nullptr) {
  Fake t;
  t.data = std::move(data);
  std::ostringstream out, err;
  int code = run_cli(args, out, err, t);
  return {code, out.str(), err.str(), t.calls};
}

Call request(std::vector<std::string> args) {
  auto r = run(std::move(args));
  INFO(r.err);
  REQUIRE(r.code == kExitOk);
  REQUIRE(r.calls.size() == 1);
  return r.calls[0];
}

void usage_error(std::vector<std::string> args, const std::string& needle) {
  auto r = run(args);
  INFO(r.err);
  CHECK(r.code == kExitUsage);
  CHECK(r.calls.empty());
  CHECK(r.err.find(needle) != std::string::npos);
}

json sample_flows() {
  return {{"active", 2},
          {"capacity", 65536},
          {"enabled", true},
          {"flows",
           {{{"src", "192.0.2.10"},
             {"dst", "198.51.100.10"},
             {"sport", 40000},
             {"dport", 9000},
             {"proto", 17},
             {"family", 4},
             {"dir", "out"},
             {"tenant", "acme"},
             {"class", "training"},
             {"packets", 1000},
             {"bytes", 1200000},
             {"bps", 9600000.0}}}}};
}

}  // namespace

TEST_CASE("flow top arguments", "[cli][flow]") {
  auto c = request({"flow", "top"});
  CHECK(c.cmd == cmd::kFlowTop);
  CHECK(c.args == json::object());
  c = request({"flow", "top", "-n", "5", "--by", "rate"});
  CHECK(c.args == json{{"n", 5}, {"by", "rate"}});
  c = request({"-j", "flow", "top", "--by=packets", "n", "0"});
  CHECK(c.args == json{{"by", "packets"}, {"n", 0}});
  c = request({"flows", "to"});  // alias and prefix
  CHECK(c.cmd == cmd::kFlowTop);
  usage_error({"flow", "top", "--by", "speed"}, "bad --by 'speed'");
  usage_error({"flow", "top", "-n", "x"}, "bad -n 'x'");
  usage_error({"flow", "top", "-n"}, "'-n' needs a value");
  usage_error({"flow", "top", "-n", "1", "-n", "2"}, "given more than once");
  usage_error({"flow", "top", "--bogus"}, "unknown argument '--bogus'");
}

TEST_CASE("flow show filters", "[cli][flow]") {
  auto c = request({"flow", "show", "tenant", "acme", "class", "training", "app-group", "10", "src",
                    "192.0.2.0/24", "dst", "2001:db8:2::10", "proto", "udp", "port", "9000", "dir",
                    "out"});
  CHECK(c.cmd == cmd::kFlowShow);
  CHECK(c.args == json{{"tenant", "acme"},
                       {"class", "training"},
                       {"app_group", 10},
                       {"src", "192.0.2.0/24"},
                       {"dst", "2001:db8:2::10/128"},
                       {"proto", 17},
                       {"port", 9000},
                       {"dir", "out"}});
  CHECK(request({"flow"}).cmd == cmd::kFlowShow);  // default verb
  CHECK(request({"flow", "show", "proto", "6"}).args == json{{"proto", 6}});
  usage_error({"flow", "show", "src", "192.0.2.1/24"}, "host bits set");
  usage_error({"flow", "show", "src", "nonsense"}, "bad src 'nonsense'");
  usage_error({"flow", "show", "dir", "up"}, "bad dir 'up'");
  usage_error({"flow", "show", "port", "70000"}, "bad port '70000'");
  usage_error({"flow", "show", "proto", "foo"}, "bad proto 'foo'");
  usage_error({"flow", "show", "colour", "red"}, "unknown argument 'colour'");
}

TEST_CASE("flow rendering and -j", "[cli][flow]") {
  auto r = run({"flow", "top"}, sample_flows());
  REQUIRE(r.code == kExitOk);
  CHECK(r.out.find("flows: 2 active (table 65536)") != std::string::npos);
  CHECK(r.out.find("192.0.2.10") != std::string::npos);
  CHECK(r.out.find("9.60Mbit") != std::string::npos);
  CHECK(r.out.find("acme") != std::string::npos);
  r = run({"-j", "flow", "top"}, sample_flows());
  CHECK(json::parse(r.out) == sample_flows());
}

TEST_CASE("usage show arguments and rendering", "[cli][usage]") {
  auto c = request({"usage", "show", "--tenant", "acme", "--period", "1h"});
  CHECK(c.cmd == cmd::kUsageShow);
  CHECK(c.args == json{{"tenant", "acme"}, {"period", 3600}});
  CHECK(request({"usage"}).args == json::object());
  CHECK(request({"usage", "show", "period", "10s"}).args == json{{"period", 10}});
  usage_error({"usage", "show", "--period", "1x"}, "bad period '1x'");
  usage_error({"usage", "show", "--period", "0s"}, "bad period");
  usage_error({"usage", "show", "--tenant"}, "needs a value");

  json rec = {{"tenant", "acme"},
              {"tenant_id", 7},
              {"out", {{"bytes", 4000}, {"packets", 20}, {"peak_bps", 24000}, {"p95_bps", 8000}}},
              {"in", {{"bytes", 0}, {"packets", 0}, {"peak_bps", 0}, {"p95_bps", 0}}},
              {"classes",
               {{{"class", "training"},
                 {"out", {{"bytes", 4000}, {"packets", 20}}},
                 {"in", {{"bytes", 0}, {"packets", 0}}}}}}};
  json data = {{"periods",
                {{{"period_s", 60},
                  {"period", "1m"},
                  {"current",
                   {{"start", "2026-11-24T12:34:00Z"},
                    {"end", "2026-11-24T12:35:00Z"},
                    {"samples", 37},
                    {"tenants", {rec}}}},
                  {"last", nullptr}}}}};
  auto r = run({"usage"}, data);
  REQUIRE(r.code == kExitOk);
  CHECK(
      r.out.find("period 1m current: 2026-11-24T12:34:00Z .. 2026-11-24T12:35:00Z (37 samples)") !=
      std::string::npos);
  CHECK(r.out.find("period 1m last: none yet") != std::string::npos);
  CHECK(r.out.find("24.00Kbit") != std::string::npos);
  CHECK(r.out.find("training") != std::string::npos);
  r = run({"-j", "usage"}, data);
  CHECK(json::parse(r.out) == data);
}

TEST_CASE("tenant and class show", "[cli][usage]") {
  // the totals, then the queues of the shaped tenants and their
  // backpressure to merge in
  auto calls = run({"tenant"}).calls;
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].cmd == cmd::kTenantShow);
  CHECK(calls[1].cmd == cmd::kTenantQueues);
  CHECK(calls[2].cmd == cmd::kTenantBackpressure);
  CHECK(request({"class", "show"}).cmd == cmd::kClassShow);
  CHECK(request({"classes", "ls"}).cmd == cmd::kClassShow);
  usage_error({"tenant", "show", "acme"}, "unexpected argument 'acme'");
  json d = {{{"name", "unclassified"},
             {"id", 0},
             {"configured", true},
             {"out", {{"packets", 1}, {"bytes", 60}}},
             {"in", {{"packets", 0}, {"bytes", 0}}}},
            {{"name", "acme"},
             {"id", 7},
             {"configured", true},
             {"out", {{"packets", 20}, {"bytes", 4000}}},
             {"in", {{"packets", 5}, {"bytes", 500}}}}};
  auto r = run({"tenant"}, d);
  REQUIRE(r.code == kExitOk);
  CHECK(r.out.find("NAME") == 0);
  CHECK(r.out.find("acme") != std::string::npos);
  CHECK(r.out.find("4000") != std::string::npos);
}

TEST_CASE("tenant show merges the queues; tenant set", "[cli][usage][shaping]") {
  json totals = {{{"name", "gold"},
                  {"id", 7},
                  {"out", {{"packets", 20}, {"bytes", 4000}}},
                  {"in", {{"packets", 5}, {"bytes", 500}}}},
                 {{"name", "free"},
                  {"id", 8},
                  {"out", {{"packets", 1}, {"bytes", 100}}},
                  {"in", {{"packets", 0}, {"bytes", 0}}}}};
  json queues = {{{"name", "gold"},
                  {"id", 7},
                  {"rate", "2gbit"},
                  {"ceil", "5gbit"},
                  {"queues",
                   {{{"port", "wan0"}, {"backlog_bytes", 3000}, {"drops", 4}},
                    {{"port", "wan1"}, {"backlog_bytes", 1000}, {"drops", 1}}}}}};
  cli::merge_tenant_queues(totals, queues);
  CHECK(totals[0]["rate"] == "2gbit");
  CHECK_FALSE(totals[1].contains("rate"));
  std::ostringstream out;
  cli::render_totals(totals, out, false);
  CHECK(out.str().find("QUEUED_BYTES") != std::string::npos);
  CHECK(out.str().find("5gbit") != std::string::npos);
  CHECK(out.str().find("4000") != std::string::npos);  // 3000 + 1000 waiting
  CHECK(out.str().find("WINDOW") == std::string::npos);  // no schedules: no column
  CHECK(out.str().find("PAUSING") == std::string::npos);  // never asked: no column
  // tenant.backpressure: what this gateway asks of its peers and hosts
  json bp = {{{"id", 7},
              {"pausing", true},
              {"pause_episodes", 12},
              {"pfc_priority", 3},
              {"pfc_on", false},
              {"pfc_episodes", 5},
              {"xoff_bytes", 350000}},
             {{"id", 8}, {"pausing", false}, {"pause_episodes", 0}}};
  cli::merge_tenant_queues(totals, bp);
  CHECK(totals[0]["xoff_bytes"] == 350000);
  std::ostringstream asked;
  cli::render_totals(totals, asked, false);
  CHECK(asked.str().find("PAUSING") != std::string::npos);
  CHECK(asked.str().find("yes (12)") != std::string::npos);
  CHECK(asked.str().find("p3 off (5)") != std::string::npos);
  // A schedule: the window in force, "(held)" after `tenant set` in it.
  queues[0]["schedule"] = {"mon-fri 08:00-18:00"};
  queues[0]["window"] = "mon-fri 08:00-18:00";
  queues[0]["held"] = true;
  queues.push_back({{"name", "free"}, {"id", 8}, {"schedule", {"daily 00:00-06:00"}}});
  cli::merge_tenant_queues(totals, queues);
  std::ostringstream sched;
  cli::render_totals(totals, sched, false);
  CHECK(sched.str().find("WINDOW") != std::string::npos);
  CHECK(sched.str().find("mon-fri 08:00-18:00 (held)") != std::string::npos);
  CHECK_FALSE(totals[1].contains("rate"));  // scheduled, unshaped now
  auto c = request({"tenant", "set", "gold", "rate", "2gbit", "ceil", "5gbit"});
  CHECK(c.cmd == cmd::kTenantSet);
  CHECK(c.args == json{{"name", "gold"}, {"rate", "2gbit"}, {"ceil", "5gbit"}});
  CHECK(request({"tenant", "set", "gold", "rate", "off"}).args["rate"] == "off");
  usage_error({"tenant", "set", "gold"}, "give rate");
  usage_error({"tenant", "set", "gold", "speed", "1"}, "unknown argument 'speed'");
  usage_error({"tenant", "set", "gold", "burst", "10"}, "burst");
}

TEST_CASE("accounting commands: help and exit codes", "[cli][usage]") {
  for (auto args : std::vector<std::vector<std::string>>{{"flow", "top", "--help"},
                                                         {"flow", "show", "-h"},
                                                         {"usage", "show", "--help"},
                                                         {"tenant", "--help"},
                                                         {"class", "show", "--help"}}) {
    auto r = run(args);
    INFO(args[0]);
    CHECK(r.code == kExitOk);
    CHECK(r.out.find("Usage:") != std::string::npos);
    CHECK(r.calls.empty());
  }
  CHECK(run({"flow", "top", "--help"}).out.find("--by bytes|packets|rate") != std::string::npos);
  CHECK(run({"--help"}).out.find("usage") != std::string::npos);
  Fake t;
  t.refuse = true;
  std::ostringstream out, err;
  CHECK(run_cli({"usage", "show", "--tenant", "nobody"}, out, err, t) == kExitRefused);
  CHECK(err.str().find("no tenant nobody") != std::string::npos);
  Fake u;
  u.unreachable = true;
  CHECK(run_cli({"flow", "top"}, out, err, u) == kExitUnreachable);
}

TEST_CASE("usage show prints the period's other aggregates", "[cli][usage]") {
  json pd = {
      {"start", "2026-11-24T12:34:00Z"},
      {"end", "2026-11-24T12:35:00Z"},
      {"samples", 60},
      {"tenants", json::array()},
      {"app_groups", {{{"dir", "out"}, {"app_group", 100}, {"packets", 3}, {"bytes", 300}}}},
      {"policies", {{{"slot", 1}, {"name", "to-b"}, {"packets", 2}, {"bytes", 200}}}},
      {"interfaces", {{{"slot", 1}, {"name", "eth1"}, {"rx", {{"packets", 9}, {"bytes", 900}}}}}}};
  json data = {{"periods", {{{"period", "1m"}, {"current", pd}, {"last", pd}}}}};
  auto r = run({"usage"}, data);
  REQUIRE(r.code == kExitOk);
  CHECK(r.out.find("app-groups: 100 out 300B/3p") != std::string::npos);
  CHECK(r.out.find("policies: to-b 200B/2p") != std::string::npos);
  CHECK(r.out.find("interfaces rx: eth1 900B/9p") != std::string::npos);
}

TEST_CASE("flow elephants: request and rendering", "[cli][flow]") {
  CHECK(request({"flow", "elephants"}).cmd == cmd::kFlowElephants);
  usage_error({"flow", "elephants", "extra"}, "extra");
  json d = {{"enabled", true},
            {"window_ms", 40},
            {"enter_mbps", 100},
            {"leave_mbps", 50},
            {"place", true},
            {"pins", 1},
            {"elephants",
             {{{"src", "192.0.2.10"},
               {"dst", "198.51.100.10"},
               {"sport", 49152},
               {"dport", 4791},
               {"proto", 17},
               {"dir", "out"},
               {"dqp", 257},
               {"bps", 2.5e9},
               {"peak_bps", 3e9},
               {"path", "mp/0"},
               {"placed", "mp/2"},
               {"moves", 1},
               {"since_s", 12.5}}}}};
  auto r = run({"flow", "elephants"}, d);
  REQUIRE(r.code == kExitOk);
  CHECK(r.out.find("elephants: 1 (detection on; window 40 ms, enter 100 Mbit/s") !=
        std::string::npos);
  CHECK(r.out.find("2.50Gbit") != std::string::npos);
  CHECK(r.out.find("mp/2") != std::string::npos);
  CHECK(r.out.find("257") != std::string::npos);
  CHECK(r.out.find("12.5s") != std::string::npos);
}
