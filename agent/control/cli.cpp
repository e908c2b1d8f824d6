// aigwctl: the command words (objects, verbs, abbreviations), the request
// of each command, the rendering dispatch and run_cli(). The objects'
// arguments, renderings and help live in cli_policy.cpp, cli_sid.cpp,
// cli_flow.cpp and cli_show.cpp (see cli_internal.hpp).
#include "control/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <map>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string_view>
#include <variant>

#include "common/version.hpp"
#include "config/parse.hpp"
#include "control/cli_internal.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"

namespace aigw {

using nlohmann::json;

// ------------------------------------------------------------------ transport

SocketTransport::SocketTransport(std::chrono::milliseconds timeout) : timeout_(timeout) {}
SocketTransport::~SocketTransport() = default;

json SocketTransport::call(const std::string& socket_path, const std::string& cmd,
                           const json& args) {
  auto& c = clients_[socket_path];
  if (!c) c = std::make_unique<ControlClient>(socket_path, timeout_);
  return c->call(cmd, args);
}

using namespace cli;

namespace cli {

// Usage lines we write ourselves: CLI11 cannot describe keyword arguments.
class Formatter : public CLI::Formatter {
 public:
  void set_usage(const CLI::App* app, std::string tail) { usage_[app] = std::move(tail); }
  std::string make_usage(const CLI::App* app, std::string name) const override;

 private:
  std::map<const CLI::App*, std::string> usage_;
};

}  // namespace cli

namespace {

// ------------------------------------------------------------------ words

struct WordSpec {
  const char* name;
  std::vector<const char*> aliases;
};

struct ObjectSpec {
  WordSpec word;
  std::vector<WordSpec> verbs;  // empty: the object is the whole command (status)
  const char* description;
};

const std::vector<ObjectSpec>& object_specs() {
  static const std::vector<ObjectSpec> specs = {
      {{"status", {}}, {}, "show the agent's state"},
      {{"interface", {"if", "iface", "link"}}, {{"show", {"list", "ls"}}}, "configured interfaces"},
      {{"policy", {}},
       {{"show", {"list", "ls"}}, {"add", {}}, {"del", {"delete", "remove", "rm"}}},
       "SRv6 policies (headend steering)"},
      {{"sid", {"sids"}},
       {{"show", {"list", "ls"}}, {"add", {}}, {"del", {"delete", "remove", "rm"}}},
       "local SIDs (endpoint behaviours)"},
      {{"stats", {"statistics"}}, {{"show", {"list", "ls"}}}, "datapath counters"},
      {{"flow", {"flows"}},
       {{"show", {"list", "ls"}}, {"top", {}}, {"elephants", {"elephant"}}},
       "tracked flows, elephant flows"},
      {{"usage", {}}, {{"show", {"list", "ls"}}}, "per-tenant usage by period (billing)"},
      {{"tenant", {"tenants"}},
       {{"show", {"list", "ls"}}, {"set", {"change"}}},
       "tenants: totals, queues and rates"},
      {{"class", {"classes"}}, {{"show", {"list", "ls"}}}, "service classes and their totals"},
      {{"rdma", {}}, {{"show", {"list", "ls"}}}, "the RDMA proxy: streams, NACKs, resends"},
      {{"config", {"cfg"}},
       {{"check", {"validate"}}, {"show", {"list", "ls"}}, {"reload", {}}},
       "configuration file"},
  };
  return specs;
}

// Exact name or alias, else a unique prefix of a name (iproute2 style:
// "pol sh"). Returns the canonical name; throws UsageError.
std::string resolve_word(const std::string& w, const std::vector<WordSpec>& specs,
                         std::string_view what, std::string_view context) {
  for (const auto& s : specs) {
    if (w == s.name) return s.name;
    for (const char* a : s.aliases)
      if (w == a) return s.name;
  }
  std::vector<std::string> matches, all;
  for (const auto& s : specs) {
    all.emplace_back(s.name);
    if (!w.empty() && std::string_view(s.name).starts_with(w)) matches.emplace_back(s.name);
  }
  if (matches.size() == 1) return matches[0];
  std::string prefix = context.empty() ? std::string("aigwctl") : fmt::format("{}", context);
  if (matches.size() > 1)
    throw UsageError(fmt::format("{}: ambiguous {} '{}' (could be {})", prefix, what, w,
                                 fmt::join(matches, ", ")));
  throw UsageError(
      fmt::format("{}: unknown {} '{}' (one of: {})", prefix, what, w, fmt::join(all, ", ")));
}

const ObjectSpec& object_spec(const std::string& name) {
  for (const auto& o : object_specs())
    if (name == o.word.name) return o;
  throw std::logic_error("unknown object " + name);
}

bool is_help_flag(const std::string& t) { return t == "-h" || t == "--help"; }

// Flags that may appear after the verb (everything else there is an argument
// of the command). "-S PATH" takes the next token.
bool is_flag_after_verb(const std::string& t) {
  if (t == "--json" || t == "--help" || t == "--all" || t.starts_with("--socket=")) return true;
  if (t.size() >= 2 && t[0] == '-' && t[1] == 'S') return true;  // -S / -SPATH
  if (t.size() >= 2 && t[0] == '-' &&
      t.find_first_not_of("jhs", 1) == std::string::npos)  // -j, -h, -s, -js...
    return true;
  return false;
}

bool takes_value(const std::string& t) { return t == "-S" || t == "--socket"; }

// The command line split for CLI11 (options, object, verb, flags) and for
// our own keyword parsing (the command's arguments).
struct Split {
  std::vector<std::string> cli;    // for CLI11, in order
  std::vector<std::string> words;  // arguments after the verb
  std::string object, verb;
  bool help = false;
};

Split split_args(const std::vector<std::string>& args) {
  Split s;
  std::size_t i = 0;
  const std::size_t n = args.size();
  auto take_option = [&](std::vector<std::string>& into) {
    const std::string& t = args[i++];
    if (is_help_flag(t)) s.help = true;
    into.push_back(t);
    if (takes_value(t) && i < n) into.push_back(args[i++]);
  };
  // Options and the object.
  while (i < n && s.object.empty()) {
    const std::string& t = args[i];
    if (t.size() > 1 && t[0] == '-' && t != "--") {
      if (t == "-V" || t == "--version") s.help = true;
      take_option(s.cli);
      continue;
    }
    if (t == "--") throw UsageError("aigwctl: '--' before the object");
    std::vector<WordSpec> objs;
    for (const auto& o : object_specs()) objs.push_back(o.word);
    s.object = resolve_word(t, objs, "object", "aigwctl");
    s.cli.push_back(s.object);
    ++i;
  }
  if (s.object.empty()) return s;
  const ObjectSpec& spec = object_spec(s.object);
  const std::size_t object_at = s.cli.size();  // where a default verb goes
  // Options and the verb.
  if (!spec.verbs.empty()) {
    while (i < n && s.verb.empty()) {
      const std::string& t = args[i];
      if (t.size() > 1 && t[0] == '-' && t != "--") {
        take_option(s.cli);
        continue;
      }
      s.verb = resolve_word(t, spec.verbs, "command", fmt::format("aigwctl {}", s.object));
      s.cli.push_back(s.verb);
      ++i;
    }
    if (s.verb.empty()) {
      if (s.help) return s;  // help on the object
      // `aigwctl policy` = `aigwctl policy show` (like `ip route`).
      bool has_show = std::any_of(spec.verbs.begin(), spec.verbs.end(),
                                  [](const WordSpec& v) { return v.name == std::string("show"); });
      if (!has_show) throw UsageError(fmt::format("aigwctl {}: missing command", s.object));
      s.verb = "show";
      s.cli.insert(s.cli.begin() + static_cast<std::ptrdiff_t>(object_at), s.verb);
    }
  }
  // Flags and arguments; after "--" only arguments.
  bool only_words = false;
  while (i < n) {
    const std::string& t = args[i];
    if (!only_words && t == "--") {
      only_words = true;
      ++i;
      continue;
    }
    if (!only_words && is_flag_after_verb(t)) {
      take_option(s.cli);
      continue;
    }
    s.words.push_back(t);
    ++i;
  }
  return s;
}

// ------------------------------------------------------------------ CLI11 setup

struct Command {
  std::string object, verb;
  std::vector<std::string> words;
  bool json_out = false;
  bool all = false;
  std::string socket = kDefaultSocketPath;
};

int config_check(const Command& c, std::ostream& out, std::ostream& err) {
  expect_words(c.words, 1, 1, "FILE");
  const std::string& file = c.words[0];
  ParseResult r = load_config_file(file);
  std::vector<ConfigError> errors;
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&r)) {
    errors = std::move(*errs);
  } else {
    errors = validate(std::get<Config>(r), file);  // no-op when the loader validated
  }
  if (c.json_out) {
    json j = {{"file", file}, {"ok", errors.empty()}, {"errors", json::array()}};
    for (const auto& e : errors)
      j["errors"].push_back({{"file", e.file},
                             {"line", e.line},
                             {"field", e.field},
                             {"message", e.message},
                             {"text", e.str()}});
    print_json(j, out);
  } else if (errors.empty()) {
    out << file << ": OK\n";
  } else {
    for (const auto& e : errors) err << e.str() << '\n';
  }
  return errors.empty() ? kExitOk : kExitRefused;
}

// The request of an agent command; throws UsageError.
std::pair<std::string, json> build_request(const Command& c) {
  const auto& w = c.words;
  const std::string& o = c.object;
  const std::string& v = c.verb;
  if (o == "status") {
    expect_words(w, 0, 0, "");
    return {cmd::kStatus, json::object()};
  }
  if (o == "interface") {
    expect_words(w, 0, 0, "");
    return {cmd::kInterfaceShow, json::object()};
  }
  if (o == "policy") {
    if (v == "show") {
      expect_words(w, 0, 1, "");
      json a = json::object();
      if (!w.empty()) a["name"] = w[0];
      return {cmd::kPolicyShow, a};
    }
    if (v == "add") return {cmd::kPolicyAdd, {{"policy", build_policy(w)}}};
    if (v == "del") {
      expect_words(w, 1, 1, "policy NAME");
      return {cmd::kPolicyDel, {{"name", w[0]}}};
    }
  }
  if (o == "sid") {
    if (v == "show") {
      expect_words(w, 0, 0, "");
      return {cmd::kSidShow, json::object()};
    }
    if (v == "add") return {cmd::kSidAdd, {{"sid", build_sid(w)}}};
    if (v == "del") {
      expect_words(w, 1, 1, "SID");
      return {cmd::kSidDel, {{"sid", sid_arg(w[0])}}};
    }
  }
  if (o == "stats") {
    expect_words(w, 0, 0, "");
    return {cmd::kStatsShow, json::object()};
  }
  if (o == "flow") {
    if (v == "top") return {cmd::kFlowTop, build_flow_top(w)};
    if (v == "show") return {cmd::kFlowShow, build_flow_show(w)};
    if (v == "elephants") {
      expect_words(w, 0, 0, "");
      return {cmd::kFlowElephants, json::object()};
    }
  }
  if (o == "usage") return {cmd::kUsageShow, build_usage_show(w)};
  if (o == "tenant") {
    if (v == "set") return {cmd::kTenantSet, build_tenant_set(w)};
    expect_words(w, 0, 0, "");
    return {cmd::kTenantShow, json::object()};
  }
  if (o == "class") {
    expect_words(w, 0, 0, "");
    return {cmd::kClassShow, json::object()};
  }
  if (o == "rdma") {
    expect_words(w, 0, 0, "");
    return {cmd::kRdmaShow, json::object()};
  }
  if (o == "config") {
    expect_words(w, 0, 0, "");
    if (v == "show") return {cmd::kConfigShow, json::object()};
    if (v == "reload") return {cmd::kConfigReload, json::object()};
  }
  throw std::logic_error(fmt::format("no request for {} {}", o, v));
}

void render(const std::string& request, const Command& c, const json& data, std::ostream& out) {
  if (c.json_out) {
    if (request == cmd::kConfigShow)
      print_json(field(data, "config"), out);
    else if (!data.is_null())
      print_json(data, out);
    return;
  }
  if (request == cmd::kStatus) return render_status(data, out);
  if (request == cmd::kInterfaceShow) return render_interfaces(data, out);
  if (request == cmd::kPolicyShow) return render_policies(data, out);
  if (request == cmd::kSidShow) return render_sids(data, out);
  if (request == cmd::kStatsShow) return render_stats(data, c.all, out);
  if (request == cmd::kFlowTop || request == cmd::kFlowShow) return render_flows(data, out);
  if (request == cmd::kFlowElephants) return render_elephants(data, out);
  if (request == cmd::kUsageShow) return render_usage(data, out);
  if (request == cmd::kTenantShow) return render_totals(data, out, false);
  if (request == cmd::kClassShow) return render_totals(data, out, true);
  if (request == cmd::kRdmaShow) return render_rdma(data, out);
  if (request == cmd::kConfigShow) {
    std::string yaml = text(field(data, "yaml"));
    out << yaml;
    if (!yaml.empty() && yaml.back() != '\n') out << '\n';
    return;
  }
  // reload, add, del: a summary when the agent gives one.
  const json& summary = field(data, "summary");
  if (summary.is_string() && !summary.get<std::string>().empty())
    out << summary.get<std::string>() << '\n';
  else if (data.is_string() && !data.get<std::string>().empty())
    out << data.get<std::string>() << '\n';
}

const char* kRootFooter =
    "Objects and commands may be abbreviated to a unique prefix (aigwctl pol sh).\n"
    "An object without a command shows it (aigwctl policy = aigwctl policy show).\n"
    "Global options (-j, -S PATH) may also follow the object or the command.\n"
    "Exit status: 0 ok, 1 usage error, 2 refused by the agent (or config check\n"
    "found errors), 3 agent unreachable.";

// The whole command tree: objects in the order of the help.
void add_commands(CLI::App& app, Formatter& formatter, Command& c) {
  CommandTree t(app, formatter);
  CLI::App* status = t.object("status");
  formatter.set_usage(status, "[OPTIONS]");
  status->footer("Version, uptime, files, object counts and the outcome of the last reload.");

  CLI::App* iface = t.object("interface");
  t.verb(iface, "show", "list the configured interfaces and their XDP attachment", "[OPTIONS]");

  add_policy_commands(t, c.all);
  add_sid_commands(t);

  CLI::App* stats = t.object("stats");
  CLI::App* stats_show =
      t.verb(stats, "show", "per-interface counters, drop reasons and events", "[OPTIONS]");
  stats_show->add_flag("-s,--all", c.all, "also show drop reasons and events that are zero");

  add_accounting_commands(t);
  add_rdma_commands(t);

  CLI::App* config = t.object("config");
  t.verb(config, "check", "validate a configuration file locally (no agent needed)",
         "[OPTIONS] FILE",
         "Prints 'FILE: OK', or every error as 'file:line: field: message' (exit 2).");
  t.verb(config, "show", "print the running configuration (YAML; JSON with -j)", "[OPTIONS]");
  t.verb(config, "reload", "re-read the configuration file and apply the changes", "[OPTIONS]");
}

// Sends the request and renders the answer.
int call_agent(const Command& c, const std::string& where, std::ostream& out, std::ostream& err,
               CliTransport& transport) {
  std::pair<std::string, json> req;
  try {
    req = build_request(c);
  } catch (const UsageError& e) {
    err << fmt::format("{}: {} (try '{} --help')\n", where, e.what(), where);
    return kExitUsage;
  }

  json resp;
  try {
    resp = transport.call(c.socket, req.first, req.second);
    check_response(resp);
  } catch (const UnreachableError& e) {
    err << fmt::format("aigwctl: cannot reach aigwd at {}: {}\n", c.socket, e.what());
    return kExitUnreachable;
  } catch (const ProtocolError& e) {
    err << fmt::format("aigwctl: bad response from aigwd at {}: {}\n", c.socket, e.what());
    return kExitUnreachable;
  }
  if (!resp["ok"].get<bool>()) {
    err << fmt::format("aigwctl: agent refused: {}\n", resp["error"].get<std::string>());
    return kExitRefused;
  }
  json data = field(resp, "data");
  if (req.first == cmd::kTenantShow) try {
      json q = transport.call(c.socket, cmd::kTenantQueues, json::object());
      if (q.is_object() && field(q, "ok") == true) merge_tenant_queues(data, field(q, "data"));
      json b = transport.call(c.socket, cmd::kTenantBackpressure, json::object());
      if (b.is_object() && field(b, "ok") == true) merge_tenant_queues(data, field(b, "data"));
    } catch (const std::exception&) {
      // an agent without shaping: the totals alone
    }
  if (req.first == cmd::kPolicyShow && c.all) try {
      json e = transport.call(c.socket, cmd::kFlowElephants, json::object());
      if (e.is_object() && field(e, "ok") == true) merge_path_loads(data, field(e, "data"));
    } catch (const std::exception&) {
      // an agent without elephants: the policies without loads
    }
  render(req.first, c, data, out);
  return kExitOk;
}

}  // namespace

namespace cli {

std::string Formatter::make_usage(const CLI::App* app, std::string name) const {
  auto it = usage_.find(app);
  if (it == usage_.end()) return CLI::Formatter::make_usage(app, std::move(name));
  return fmt::format("Usage: {} {}\n", name, it->second);
}

CLI::App* CommandTree::object(const char* name) {
  const ObjectSpec& spec = object_spec(name);
  CLI::App* o = app_.add_subcommand(name, spec.description);
  o->fallthrough()->group("Objects");
  if (!spec.verbs.empty()) {
    o->require_subcommand(1);
    formatter_.set_usage(o, "[OPTIONS] COMMAND [ARGS...]");
  }
  std::vector<std::string> aliases;
  for (const char* a : spec.word.aliases) aliases.emplace_back(a);
  o->footer(aliases.empty() ? std::string() : fmt::format("Aliases: {}", fmt::join(aliases, ", ")));
  return o;
}

CLI::App* CommandTree::verb(CLI::App* o, const char* name, const char* desc, std::string usage,
                            std::string footer) {
  CLI::App* v = o->add_subcommand(name, desc);
  v->fallthrough()->group("Commands");
  formatter_.set_usage(v, std::move(usage));
  v->footer(std::move(footer));
  return v;
}

}  // namespace cli

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            CliTransport& transport) {
  Command c;
  Split split;
  try {
    split = split_args(args);
  } catch (const UsageError& e) {
    err << e.what() << '\n';
    return kExitUsage;
  }

  auto formatter = std::make_shared<Formatter>();
  CLI::App app("aigwctl: control the aigw agent (aigwd) over its control socket", "aigwctl");
  app.formatter(formatter);
  app.add_flag("-j,--json", c.json_out, "print the agent's data as JSON");
  app.add_option("-S,--socket", c.socket, "control socket of aigwd")
      ->type_name("PATH")
      ->default_str(kDefaultSocketPath)
      ->envname("AIGW_SOCKET")
      ->check([](const std::string& s) { return s.empty() ? "empty socket path" : ""; });
  app.set_version_flag("-V,--version", std::string("aigwctl ") + version());
  app.require_subcommand(1);
  app.footer(kRootFooter);
  formatter->set_usage(&app, "[OPTIONS] OBJECT [COMMAND] [ARGS...]");
  add_commands(app, *formatter, c);

  std::string where =
      split.object.empty()
          ? "aigwctl"
          : fmt::format("aigwctl {}{}", split.object, split.verb.empty() ? "" : " " + split.verb);
  try {
    std::vector<std::string> rev(split.cli.rbegin(), split.cli.rend());
    if (split.object.empty() && !split.help) {
      err << "aigwctl: missing object (try 'aigwctl --help')\n";
      return kExitUsage;
    }
    app.parse(rev);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << fmt::format("{}: {} (try '{} --help')\n", where, e.what(), where);
    return kExitUsage;
  }

  c.object = split.object;
  c.verb = split.verb;
  c.words = std::move(split.words);

  if (c.object == "config" && c.verb == "check") {
    try {
      return config_check(c, out, err);
    } catch (const UsageError& e) {
      err << fmt::format("{}: {} (try '{} --help')\n", where, e.what(), where);
      return kExitUsage;
    }
  }
  return call_agent(c, where, out, err, transport);
}

}  // namespace aigw
