// aigwctl internals shared by its files (not an API): cli.cpp (words,
// dispatch, run_cli), cli_args.cpp (keyword arguments), cli_show.cpp (text
// tables, status/interface/stats rendering), and one file per object group:
// cli_policy.cpp, cli_sid.cpp, cli_flow.cpp (flows, usage, tenant/class
// totals). Each object file builds its requests, renders its answers and
// declares its commands' help.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace aigw::cli {

using nlohmann::json;

// A bad command line: exit kExitUsage with the message.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ------------------------------------------------------------------ arguments (cli_args.cpp)

// Reads keyword arguments: KEYWORD VALUE ...
class Keywords {
 public:
  Keywords(const std::vector<std::string>& w, std::size_t from) : w_(w), i_(from) {}
  bool done() const { return i_ >= w_.size(); }
  const std::string& keyword() { return w_[i_++]; }
  const std::string& value(const std::string& kw);
  // A single-valued keyword given twice is an error.
  void once(const std::string& canonical);

 private:
  const std::vector<std::string>& w_;
  std::size_t i_;
  std::set<std::string> seen_;
};

uint64_t parse_uint(const std::string& text, std::string_view what, uint64_t min, uint64_t max);
// auto|off|536..65534, as YAML spells it.
json parse_mss(const std::string& text);
void check_prefix(const std::string& text, std::string_view what);
void check_ip6(const std::string& text, std::string_view what);
std::vector<std::string> split_commas(const std::string& text);
void expect_words(const std::vector<std::string>& w, std::size_t min, std::size_t max,
                  std::string_view what);
// Keyword NAME of accounting commands: "tenant", "--tenant", "--tenant=X"
// all mean the same (iproute2 style and option style both work).
std::string accounting_keyword(const std::string& w);
// "--by=rate" -> ("--by", "rate"); anything else unchanged.
std::vector<std::string> split_equals(const std::vector<std::string>& w);

// ------------------------------------------------------------------ rendering (cli_show.cpp)

// obj[key], or null when absent or obj is not an object.
const json& field(const json& obj, const char* key);
// Display text of any JSON value ("-" for none).
std::string text(const json& v);
uint64_t number(const json& v);
void print_json(const json& j, std::ostream& out);

// An aligned text table: columns separated by two spaces, numbers right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::vector<bool> right = {});
  void add(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out, bool header = true) const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

void render_status(const json& d, std::ostream& out);
void render_interfaces(const json& d, std::ostream& out);
void render_stats(const json& d, bool all, std::ostream& out);

// ------------------------------------------------------------------ help (cli.cpp)

class Formatter;  // cli.cpp: usage lines of keyword arguments

// Declares objects and commands on the CLI11 app (help and validation of the
// object/verb words; arguments are parsed by the build_* functions).
class CommandTree {
 public:
  CommandTree(CLI::App& app, Formatter& formatter) : app_(app), formatter_(formatter) {}
  CLI::App* object(const char* name);
  CLI::App* verb(CLI::App* o, const char* name, const char* desc, std::string usage,
                 std::string footer = "");

 private:
  CLI::App& app_;
  Formatter& formatter_;
};

// ------------------------------------------------------------------ objects

// cli_policy.cpp
json build_policy(const std::vector<std::string>& w);
void render_policies(const json& d, std::ostream& out);
void add_policy_commands(CommandTree& t, bool& stats);
// "12.50Mbit" (iproute2 style).
std::string rate_text(double bps);
// `policy show -s`: each multipath path's load, capacity and elephants (the
// `paths` of a flow.elephants answer) merged into the policies' paths.
void merge_path_loads(json& policies, const json& elephants);

// cli_sid.cpp
// A SID argument: an IPv6 prefix, "/128" added to a bare address.
std::string sid_arg(const std::string& text);
json build_sid(const std::vector<std::string>& w);
void render_sids(const json& d, std::ostream& out);
void add_sid_commands(CommandTree& t);

// cli_flow.cpp (flow, usage, tenant, class)
json build_flow_top(const std::vector<std::string>& words);
json build_flow_show(const std::vector<std::string>& words);
json build_usage_show(const std::vector<std::string>& words);
void render_flows(const json& d, std::ostream& out);
void render_elephants(const json& d, std::ostream& out);
void render_usage(const json& d, std::ostream& out);
void render_totals(const json& d, std::ostream& out, bool classes);
// tenant set NAME rate R|off [ceil C] [burst BYTES]
json build_tenant_set(const std::vector<std::string>& w);
// The queues of `tenant.queues` into the tenants of `tenant.show` (by id).
void merge_tenant_queues(json& tenants, const json& queues);
void add_accounting_commands(CommandTree& t);

// cli_rdma.cpp
void render_rdma(const json& d, std::ostream& out);
void add_rdma_commands(CommandTree& t);

}  // namespace aigw::cli
