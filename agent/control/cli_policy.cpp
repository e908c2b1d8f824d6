// aigwctl policy: show, add, del.
#include <aigw/abi.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <ostream>

#include "config/model.hpp"
#include "control/cli_internal.hpp"

namespace aigw::cli {

namespace {

json segment_list(const std::string& v) {
  json segs = json::array();
  for (const auto& sid : split_commas(v)) {
    check_ip6(sid, "segment");
    segs.push_back(sid);
  }
  if (segs.size() > AIGW_MAX_SIDS)
    throw UsageError(fmt::format("too many segments ({}, at most {})", segs.size(), AIGW_MAX_SIDS));
  return segs;
}

}  // namespace

json build_policy(const std::vector<std::string>& w) {
  if (w.empty()) throw UsageError("missing policy NAME");
  const std::string& name = w[0];
  if (name.empty()) throw UsageError("empty policy NAME");
  json p = {{"name", name}};
  json prefixes = json::array(), paths = json::array();
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
      p["segments"] = segment_list(k.value(kw));
    } else if (kw == "path") {
      if (paths.size() == AIGW_MAX_PATHS)
        throw UsageError(fmt::format("too many paths (at most {})", AIGW_MAX_PATHS));
      paths.push_back({{"segments", segment_list(k.value(kw))}});
    } else if (kw == "weight") {
      if (paths.empty()) throw UsageError("'weight N' follows the 'path SID[,SID...]' it weighs");
      if (paths.back().contains("weight")) throw UsageError("one 'weight' per path");
      paths.back()["weight"] = parse_uint(k.value(kw), "weight", 1, kMaxPathWeight);
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
  if (p.contains("segments") && !paths.empty())
    throw UsageError("give either 'segs' (one path) or 'path' (several), not both");
  if (!paths.empty()) p["paths"] = std::move(paths);
  if (!p.contains("segments") && !p.contains("paths"))
    throw UsageError("missing 'segs SID[,SID...]' (or 'path SID[,SID...] [weight N]'...)");
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
    add("packets", "packets");
    add("bytes", "bytes");
    if (!line.empty()) out << "    " << line << '\n';
    std::vector<std::string> pf, sg;
    if (field(p, "prefixes").is_array())
      for (const auto& x : field(p, "prefixes")) pf.push_back(text(x));
    if (field(p, "segments").is_array())
      for (const auto& x : field(p, "segments")) sg.push_back(text(x));
    out << fmt::format("    prefixes  {}\n",
                       pf.empty() ? "-" : fmt::format("{}", fmt::join(pf, " ")));
    if (!field(p, "paths").is_array()) {
      out << fmt::format("    segments  {}\n",
                         sg.empty() ? "-" : fmt::format("{}", fmt::join(sg, " -> ")));
      continue;
    }
    size_t i = 0;
    for (const auto& pp : field(p, "paths")) {
      std::vector<std::string> ps;
      if (field(pp, "segments").is_array())
        for (const auto& x : field(pp, "segments")) ps.push_back(text(x));
      out << fmt::format("    path {}    weight {}  packets {}  bytes {}  {}\n", i++,
                         text(field(pp, "weight")), text(field(pp, "packets")),
                         text(field(pp, "bytes")), fmt::join(ps, " -> "));
      if (!field(pp, "load_bps").is_number()) continue;
      const json& cap = field(pp, "capacity_bps");
      out << fmt::format("              load {}  capacity {}  elephants {}  mice weight {}\n",
                         rate_text(field(pp, "load_bps").get<double>()),
                         cap.is_number() ? rate_text(cap.get<double>()) : "-",
                         text(field(pp, "elephants")), text(field(pp, "mice_weight")));
    }
  }
}

void merge_path_loads(json& policies, const json& elephants) {
  if (!policies.is_array() || !field(elephants, "paths").is_array()) return;
  for (auto& p : policies) {
    if (!p.is_object() || !p.contains("paths") || !p["paths"].is_array()) continue;
    for (const auto& l : field(elephants, "paths")) {
      if (field(l, "policy") != field(p, "name") || !field(l, "path").is_number_integer()) continue;
      auto i = field(l, "path").get<int64_t>();
      if (i < 0 || static_cast<size_t>(i) >= p["paths"].size()) continue;
      for (const char* k : {"load_bps", "capacity_bps", "elephants"})
        if (!field(l, k).is_null()) p["paths"][i][k] = field(l, k);
      // the weight new flows hash over now (adapt_weights), beside the configured one
      if (!field(l, "weight").is_null()) p["paths"][i]["mice_weight"] = field(l, "weight");
    }
  }
}

void add_policy_commands(CommandTree& t, bool& stats) {
  CLI::App* policy = t.object("policy");
  CLI::App* show = t.verb(policy, "show", "list policies (or one)", "[OPTIONS] [NAME]");
  show->add_flag("-s,--stats", stats,
                 "also each path's load (about the last second), capacity and elephants");
  t.verb(policy, "add", "add a policy",
         "[OPTIONS] NAME prefix PFX [prefix PFX...] segs SID[,SID...] src ADDR\n"
         "           | ... path SID[,SID...] [weight N] [path ...] src ADDR\n"
         "           [mode encap|encap.red] [vrf N] [hop-limit N] [tcp-mss auto|off|N]",
         "Arguments:\n"
         "  NAME                  unique policy name\n"
         "  prefix PFX            destination prefix steered into the policy (IPv4 or IPv6;\n"
         "                        repeat, or separate with commas)\n"
         "  segs SID[,SID...]     1..10 IPv6 segments in travel order (first = first visited)\n"
         "  path SID[,SID...]     a candidate segment list (2..8 of them, instead of segs):\n"
         "                        each flow takes one, by hash, in proportion to the weights\n"
         "  weight N              the preceding path's weight, 1..1000 (default 1)\n"
         "  src ADDR              outer IPv6 source address\n"
         "  mode encap|encap.red  H.Encaps (default) or H.Encaps.Red\n"
         "  vrf N                 VRF of the prefixes (default 0)\n"
         "  hop-limit N           outer hop limit 1..255 (default datapath.hop_limit)\n"
         "  tcp-mss auto|off|N    TCP SYN MSS clamp (default datapath.tcp_mss_clamp)\n"
         "Example:\n"
         "  aigwctl policy add dc1 prefix 10.1.0.0/16 segs fc00:1::1,fc00:2::100 src 2001:db8::1\n"
         "  aigwctl policy add dc2 prefix 10.2.0.0/16 path fc00:1::2 weight 3 path fc00:3::2 \\\n"
         "          src 2001:db8::1");
  t.verb(policy, "del", "delete a policy", "[OPTIONS] NAME");
}

}  // namespace aigw::cli
