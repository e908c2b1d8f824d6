// aigwctl policy: show, add, del.
#include <aigw/abi.h>
#include <fmt/format.h>

#include <ostream>

#include "config/model.hpp"
#include "control/cli_internal.hpp"

namespace aigw::cli {

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

void add_policy_commands(CommandTree& t) {
  CLI::App* policy = t.object("policy");
  t.verb(policy, "show", "list policies (or one)", "[OPTIONS] [NAME]");
  t.verb(policy, "add", "add a policy",
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
  t.verb(policy, "del", "delete a policy", "[OPTIONS] NAME");
}

}  // namespace aigw::cli
