#include "control/cli.hpp"

#include <aigw/abi.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <variant>

#include "common/net.hpp"
#include "common/period.hpp"
#include "common/version.hpp"
#include "config/model.hpp"
#include "config/parse.hpp"
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

namespace {

// A bad command line: exit kExitUsage with the message.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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
      {{"flow", {"flows"}}, {{"show", {"list", "ls"}}, {"top", {}}}, "tracked flows"},
      {{"usage", {}}, {{"show", {"list", "ls"}}}, "per-tenant usage by period (billing)"},
      {{"tenant", {"tenants"}}, {{"show", {"list", "ls"}}}, "tenants and their totals"},
      {{"class", {"classes"}}, {{"show", {"list", "ls"}}}, "service classes and their totals"},
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

// Reads keyword arguments: KEYWORD VALUE ...
class Keywords {
 public:
  Keywords(const std::vector<std::string>& w, std::size_t from) : w_(w), i_(from) {}
  bool done() const { return i_ >= w_.size(); }
  const std::string& keyword() { return w_[i_++]; }
  const std::string& value(const std::string& kw) {
    if (done()) throw UsageError(fmt::format("'{}' needs a value", kw));
    return w_[i_++];
  }
  // A single-valued keyword given twice is an error.
  void once(const std::string& canonical) {
    if (!seen_.insert(canonical).second)
      throw UsageError(fmt::format("'{}' given more than once", canonical));
  }

 private:
  const std::vector<std::string>& w_;
  std::size_t i_;
  std::set<std::string> seen_;
};

uint64_t parse_uint(const std::string& text, std::string_view what, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < min || v > max)
    throw UsageError(fmt::format("bad {} '{}' (expected {}..{})", what, text, min, max));
  return v;
}

// auto|off|536..65534, as YAML spells it.
json parse_mss(const std::string& text) {
  if (text == "auto" || text == "off") return text;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 536 || v > 65534)
    throw UsageError(fmt::format("bad tcp-mss '{}' (expected auto, off or 536..65534)", text));
  return v;
}

void check_prefix(const std::string& text, std::string_view what) {
  auto r = Prefix::parse(text);
  if (auto* e = std::get_if<std::string>(&r))
    throw UsageError(fmt::format("bad {} '{}': {}", what, text, *e));
}

void check_ip6(const std::string& text, std::string_view what) {
  if (!Ip6::parse(text))
    throw UsageError(fmt::format("bad {} '{}': not an IPv6 address", what, text));
}

// A SID argument: an IPv6 prefix, "/128" added to a bare address.
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

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto c = text.find(',', start);
    out.push_back(text.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

json build_policy(const std::vector<std::string>& w) {
  if (w.empty()) throw UsageError("missing policy NAME");
  const std::string& name = w[0];
  if (name.empty()) throw UsageError("empty policy NAME");
  json p = {{"name", name}};
  json prefixes = json::array();
  Keywords k(w, 1);
  while (!k.done()) {
    const std::string kw = k.keyword();
    if (kw == "prefix" || kw == "prefixes" || kw == "to") {
      for (const auto& pfx : split_commas(k.value(kw))) {
        check_prefix(pfx, "prefix");
        prefixes.push_back(pfx);
      }
    } else if (kw == "segs" || kw == "segments") {
      k.once("segs");
      json segs = json::array();
      for (const auto& sid : split_commas(k.value(kw))) {
        check_ip6(sid, "segment");
        segs.push_back(sid);
      }
      if (segs.size() > AIGW_MAX_SIDS)
        throw UsageError(
            fmt::format("too many segments ({}, at most {})", segs.size(), AIGW_MAX_SIDS));
      p["segments"] = std::move(segs);
    } else if (kw == "src" || kw == "source") {
      k.once("src");
      const std::string& v = k.value(kw);
      check_ip6(v, "src");
      p["source"] = v;
    } else if (kw == "mode") {
      k.once("mode");
      const std::string& v = k.value(kw);
      if (!encap_mode_from_string(v))
        throw UsageError(fmt::format("bad mode '{}' (expected encap or encap.red)", v));
      p["mode"] = v;
    } else if (kw == "vrf") {
      k.once("vrf");
      p["vrf"] = parse_uint(k.value(kw), "vrf", 0, UINT32_MAX);
    } else if (kw == "hop-limit" || kw == "hop_limit" || kw == "hoplimit") {
      k.once("hop-limit");
      p["hop_limit"] = parse_uint(k.value(kw), "hop-limit", 1, 255);
    } else if (kw == "tcp-mss" || kw == "tcp_mss") {
      k.once("tcp-mss");
      p["tcp_mss"] = parse_mss(k.value(kw));
    } else {
      throw UsageError(fmt::format("unknown argument '{}'", kw));
    }
  }
  if (prefixes.empty()) throw UsageError("missing 'prefix PFX'");
  if (!p.contains("segments")) throw UsageError("missing 'segs SID[,SID...]'");
  if (!p.contains("source")) throw UsageError("missing 'src ADDR'");
  p["prefixes"] = std::move(prefixes);
  return p;
}

std::string canonical_behavior(const std::string& text) {
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (Behavior b : {Behavior::End, Behavior::EndX, Behavior::EndDX4, Behavior::EndDX6,
                     Behavior::EndDT4, Behavior::EndDT6, Behavior::EndDT46}) {
    if (lower(text) == lower(to_string(b))) return to_string(b);
  }
  throw UsageError(fmt::format(
      "bad behavior '{}' (one of End, End.X, End.DX4, End.DX6, End.DT4, End.DT6, End.DT46)", text));
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

void expect_words(const std::vector<std::string>& w, std::size_t min, std::size_t max,
                  std::string_view what) {
  if (w.size() < min) throw UsageError(fmt::format("missing {}", what));
  if (w.size() > max) throw UsageError(fmt::format("unexpected argument '{}'", w[max]));
}

// Keyword NAME of accounting commands: "tenant", "--tenant", "--tenant=X"
// all mean the same (iproute2 style and option style both work).
std::string accounting_keyword(const std::string& w) {
  std::string k = w;
  if (k.starts_with("--"))
    k = k.substr(2);
  else if (k.starts_with("-"))
    k = k.substr(1);
  return k;
}

// "--by=rate" -> ("--by", "rate"); anything else unchanged.
std::vector<std::string> split_equals(const std::vector<std::string>& w) {
  std::vector<std::string> out;
  for (const auto& t : w) {
    auto eq = t.find('=');
    if (t.starts_with("-") && eq != std::string::npos) {
      out.push_back(t.substr(0, eq));
      out.push_back(t.substr(eq + 1));
    } else {
      out.push_back(t);
    }
  }
  return out;
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

uint8_t parse_proto(const std::string& v) {
  if (v == "tcp") return 6;
  if (v == "udp") return 17;
  if (v == "icmp") return 1;
  if (v == "icmpv6" || v == "ipv6-icmp") return 58;
  if (v == "sctp") return 132;
  return static_cast<uint8_t>(parse_uint(v, "proto", 0, 255));
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

// ------------------------------------------------------------------ rendering

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

// An aligned text table: columns separated by two spaces, numbers right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::vector<bool> right = {})
      : headers_(std::move(headers)), right_(std::move(right)) {
    right_.resize(headers_.size(), false);
  }
  void add(std::vector<std::string> row) {
    row.resize(headers_.size());
    rows_.push_back(std::move(row));
  }
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out, bool header = true) const {
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

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

std::string uptime_text(uint64_t s) {
  uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  if (d) return fmt::format("{}d {}h {}m {}s", d, h, m, sec);
  if (h) return fmt::format("{}h {}m {}s", h, m, sec);
  if (m) return fmt::format("{}m {}s", m, sec);
  return fmt::format("{}s", sec);
}

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

void render_policies(const json& d, std::ostream& out) {
  if (!d.is_array()) return;
  bool first = true;
  for (const auto& p : d) {
    if (!first) out << '\n';
    first = false;
    std::string head = fmt::format("policy {}", text(field(p, "name")));
    if (!field(p, "slot").is_null()) head += fmt::format(" (slot {})", text(field(p, "slot")));
    out << head << '\n';
    std::string line;
    auto add = [&](const char* label, const char* key) {
      const json& v = field(p, key);
      if (v.is_null()) return;
      if (!line.empty()) line += "  ";
      line += fmt::format("{} {}", label, text(v));
    };
    add("vrf", "vrf");
    add("mode", "mode");
    add("src", "source");
    add("hop-limit", "hop_limit");
    add("tcp-mss", "tcp_mss");
    if (!line.empty()) out << "    " << line << '\n';
    std::vector<std::string> pf, sg;
    if (field(p, "prefixes").is_array())
      for (const auto& x : field(p, "prefixes")) pf.push_back(text(x));
    if (field(p, "segments").is_array())
      for (const auto& x : field(p, "segments")) sg.push_back(text(x));
    out << fmt::format("    prefixes  {}\n",
                       pf.empty() ? "-" : fmt::format("{}", fmt::join(pf, " ")));
    out << fmt::format("    segments  {}\n",
                       sg.empty() ? "-" : fmt::format("{}", fmt::join(sg, " -> ")));
  }
}

void render_sids(const json& d, std::ostream& out) {
  if (!d.is_array() || d.empty()) return;
  Table t({"SID", "BEHAVIOR", "TABLE", "NEXTHOP", "DEV"}, {false, false, true, false, false});
  for (const auto& s : d)
    t.add({text(field(s, "sid")), text(field(s, "behavior")), text(field(s, "table")),
           text(field(s, "nexthop")), text(field(s, "interface"))});
  t.print(out);
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
  section(named_counters(field(d, "drops"), "reason", all, drop_name, AIGW_DROP_MAX), "DROP REASON",
          "drops: none");
  section(named_counters(field(d, "events"), "event", all, event_name, AIGW_EV_MAX), "EVENT",
          "events: none");
}

// "1.23 Gbit/s" style (SI, like tc/iproute2 rates).
std::string rate_text(double bps) {
  static constexpr const char* units[] = {"bit", "Kbit", "Mbit", "Gbit", "Tbit"};
  int u = 0;
  while (bps >= 1000.0 && u < 4) {
    bps /= 1000.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}{}", bps, units[u]) : fmt::format("{:.2f}{}", bps, units[u]);
}

double real(const json& v) { return v.is_number() ? v.get<double>() : 0.0; }

void render_flows(const json& d, std::ostream& out) {
  out << fmt::format(
      "flows: {} active (table {}){}\n", number(field(d, "active")), number(field(d, "capacity")),
      field(d, "enabled").is_boolean() && !field(d, "enabled").get<bool>() ? ", tracking off" : "");
  const json& fl = field(d, "flows");
  if (!fl.is_array() || fl.empty()) return;
  Table t({"DIR", "PROTO", "SRC", "SPORT", "DST", "DPORT", "TENANT", "CLASS", "PACKETS", "BYTES",
           "RATE"},
          {false, true, false, true, false, true, false, false, true, true, true});
  for (const auto& f : fl)
    t.add({text(field(f, "dir")), text(field(f, "proto")), text(field(f, "src")),
           text(field(f, "sport")), text(field(f, "dst")), text(field(f, "dport")),
           text(field(f, "tenant")), text(field(f, "class")), text(field(f, "packets")),
           text(field(f, "bytes")), rate_text(real(field(f, "bps")))});
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

void render_totals(const json& d, std::ostream& out, bool classes) {
  if (!d.is_array() || d.empty()) return;
  std::vector<std::string> head = {"NAME", "ID"};
  if (classes) head.push_back("BUILTIN");
  for (const char* h : {"OUT_PACKETS", "OUT_BYTES", "IN_PACKETS", "IN_BYTES"}) head.push_back(h);
  std::vector<bool> right = {false, true};
  if (classes) right.push_back(false);
  right.insert(right.end(), 4, true);
  Table t(head, right);
  for (const auto& e : d) {
    std::vector<std::string> row = {text(field(e, "name")), text(field(e, "id"))};
    if (classes) row.push_back(text(field(e, "builtin")));
    row.push_back(text(field(field(e, "out"), "packets")));
    row.push_back(text(field(field(e, "out"), "bytes")));
    row.push_back(text(field(field(e, "in"), "packets")));
    row.push_back(text(field(field(e, "in"), "bytes")));
    t.add(std::move(row));
  }
  t.print(out);
}

void print_json(const json& j, std::ostream& out) {
  out << j.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

// ------------------------------------------------------------------ CLI11 setup

// Usage lines we write ourselves: CLI11 cannot describe keyword arguments.
class Formatter : public CLI::Formatter {
 public:
  void set_usage(const CLI::App* app, std::string tail) { usage_[app] = std::move(tail); }
  std::string make_usage(const CLI::App* app, std::string name) const override {
    auto it = usage_.find(app);
    if (it == usage_.end()) return CLI::Formatter::make_usage(app, std::move(name));
    return fmt::format("Usage: {} {}\n", name, it->second);
  }

 private:
  std::map<const CLI::App*, std::string> usage_;
};

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
  }
  if (o == "usage") return {cmd::kUsageShow, build_usage_show(w)};
  if (o == "tenant") {
    expect_words(w, 0, 0, "");
    return {cmd::kTenantShow, json::object()};
  }
  if (o == "class") {
    expect_words(w, 0, 0, "");
    return {cmd::kClassShow, json::object()};
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
  if (request == cmd::kUsageShow) return render_usage(data, out);
  if (request == cmd::kTenantShow) return render_totals(data, out, false);
  if (request == cmd::kClassShow) return render_totals(data, out, true);
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

}  // namespace

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

  auto object = [&](const char* name) {
    const ObjectSpec& spec = object_spec(name);
    CLI::App* o = app.add_subcommand(name, spec.description);
    o->fallthrough()->group("Objects");
    if (!spec.verbs.empty()) {
      o->require_subcommand(1);
      formatter->set_usage(o, "[OPTIONS] COMMAND [ARGS...]");
    }
    std::vector<std::string> aliases;
    for (const char* a : spec.word.aliases) aliases.emplace_back(a);
    o->footer(aliases.empty() ? std::string()
                              : fmt::format("Aliases: {}", fmt::join(aliases, ", ")));
    return o;
  };
  auto verb = [&](CLI::App* o, const char* name, const char* desc, std::string usage,
                  std::string footer = "") {
    CLI::App* v = o->add_subcommand(name, desc);
    v->fallthrough()->group("Commands");
    formatter->set_usage(v, std::move(usage));
    v->footer(std::move(footer));
    return v;
  };

  CLI::App* status = object("status");
  formatter->set_usage(status, "[OPTIONS]");
  status->footer("Version, uptime, files, object counts and the outcome of the last reload.");

  CLI::App* iface = object("interface");
  verb(iface, "show", "list the configured interfaces and their XDP attachment", "[OPTIONS]");

  CLI::App* policy = object("policy");
  verb(policy, "show", "list policies (or one)", "[OPTIONS] [NAME]");
  verb(policy, "add", "add a policy",
       "[OPTIONS] NAME prefix PFX [prefix PFX...] segs SID[,SID...] src ADDR\n"
       "           [mode encap|encap.red] [vrf N] [hop-limit N] [tcp-mss auto|off|N]",
       "Arguments:\n"
       "  NAME                  unique policy name\n"
       "  prefix PFX            destination prefix steered into the policy (IPv4 or IPv6;\n"
       "                        repeat, or separate with commas)\n"
       "  segs SID[,SID...]     1..10 IPv6 segments in travel order (first = first visited)\n"
       "  src ADDR              outer IPv6 source address\n"
       "  mode encap|encap.red  H.Encaps (default) or H.Encaps.Red\n"
       "  vrf N                 VRF of the prefixes (default 0)\n"
       "  hop-limit N           outer hop limit 1..255 (default datapath.hop_limit)\n"
       "  tcp-mss auto|off|N    TCP SYN MSS clamp (default datapath.tcp_mss_clamp)\n"
       "Example:\n"
       "  aigwctl policy add dc1 prefix 10.1.0.0/16 segs fc00:1::1,fc00:2::100 src 2001:db8::1");
  verb(policy, "del", "delete a policy", "[OPTIONS] NAME");

  CLI::App* sid = object("sid");
  verb(sid, "show", "list local SIDs", "[OPTIONS]");
  verb(sid, "add", "add a local SID", "[OPTIONS] SID behavior B [table N] [nh ADDR] [dev IFNAME]",
       "Arguments:\n"
       "  SID           IPv6 address (= /128) or locator+function prefix\n"
       "  behavior B    End, End.X, End.DX4, End.DX6, End.DT4, End.DT6, End.DT46\n"
       "  table N       End.DT*: routing table for the lookup (default 254)\n"
       "  nh ADDR       End.X / End.DX6: IPv6 next hop; End.DX4: IPv4 next hop\n"
       "  dev IFNAME    End.X: the adjacency's interface; End.DX*: optional\n"
       "Example:\n"
       "  aigwctl sid add fc00:1::100 behavior End.DT4 table 100");
  verb(sid, "del", "delete a local SID", "[OPTIONS] SID");

  CLI::App* stats = object("stats");
  CLI::App* stats_show =
      verb(stats, "show", "per-interface counters, drop reasons and events", "[OPTIONS]");
  stats_show->add_flag("-s,--all", c.all, "also show drop reasons and events that are zero");

  CLI::App* flow = object("flow");
  verb(flow, "top", "the largest flows", "[OPTIONS] [-n N] [--by bytes|packets|rate]",
       "Arguments:\n"
       "  -n N                       how many flows (default 20, 0 = all)\n"
       "  --by bytes|packets|rate    order (default bytes; rate = over the last second)\n"
       "Example:\n"
       "  aigwctl flow top -n 10 --by rate");
  verb(flow, "show", "tracked flows, filtered",
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
  CLI::App* usage = object("usage");
  verb(usage, "show", "per-tenant usage: period in progress and last completed",
       "[OPTIONS] [--tenant T] [--period 1m|1h|...]",
       "Arguments:\n"
       "  --tenant T     one tenant (name or id)\n"
       "  --period P     one configured period (10s, 1m, 1h...)\n"
       "Bytes are L3 bytes of the customer packets; out = customer -> WAN. PEAK and P95\n"
       "are bit rates over the period's samples (P95: nearest rank).");
  CLI::App* tenant = object("tenant");
  verb(tenant, "show", "tenants, ids and totals since the maps were created", "[OPTIONS]");
  CLI::App* cls = object("class");
  verb(cls, "show", "service classes, ids and totals since the maps were created", "[OPTIONS]");

  CLI::App* config = object("config");
  verb(config, "check", "validate a configuration file locally (no agent needed)", "[OPTIONS] FILE",
       "Prints 'FILE: OK', or every error as 'file:line: field: message' (exit 2).");
  verb(config, "show", "print the running configuration (YAML; JSON with -j)", "[OPTIONS]");
  verb(config, "reload", "re-read the configuration file and apply the changes", "[OPTIONS]");

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
  render(req.first, c, field(resp, "data"), out);
  return kExitOk;
}

}  // namespace aigw
