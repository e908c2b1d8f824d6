#include "config_mutate.hpp"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <sstream>
#include <vector>

namespace aigw::fuzz {

namespace {

const std::vector<std::string>& hostile_scalars() {
  static const std::vector<std::string> v = {"0",
                                             "-1",
                                             "-0",
                                             "1",
                                             "65535",
                                             "65536",
                                             "4294967295",
                                             "4294967296",
                                             "18446744073709551615",
                                             "18446744073709551616",
                                             "-9223372036854775809",
                                             "99999999999999999999999999999999",
                                             "1e400",
                                             "-1e-400",
                                             ".nan",
                                             ".NaN",
                                             ".inf",
                                             "-.inf",
                                             "0x",
                                             "0x13",
                                             "0xffffffffffffffffff",
                                             "0o777",
                                             "0777",
                                             "0b101",
                                             "08",
                                             "1_000",
                                             "+5",
                                             "",
                                             " ",
                                             "~",
                                             "null",
                                             "true",
                                             "false",
                                             "yes",
                                             "on",
                                             "[]",
                                             "{}",
                                             "*",
                                             "&",
                                             "!",
                                             "|",
                                             ">",
                                             "-",
                                             "?",
                                             ":",
                                             "#",
                                             "%",
                                             "@",
                                             "`",
                                             "'",
                                             "\"",
                                             "\\",
                                             "::",
                                             ":::",
                                             "::/0",
                                             "::/129",
                                             "fc00::/64",
                                             "fc00::1/128",
                                             "fc00:a::e/129",
                                             "0.0.0.0/0",
                                             "1.2.3.4/33",
                                             "255.255.255.255",
                                             "::ffff:192.0.2.1",
                                             "fe80::1",
                                             "ff02::1",
                                             "::1",
                                             "127.0.0.1",
                                             "2001:db8::%eth0",
                                             "2001:db8:::1",
                                             "1.2.3",
                                             "1.2.3.4.5",
                                             "01.02.03.04",
                                             "eth0:1",
                                             "a b",
                                             "../../etc/passwd",
                                             "/",
                                             "/run/x\n",
                                             "End",
                                             "End.X",
                                             "End.DT46",
                                             "end",
                                             "encap",
                                             "encap.red",
                                             "customer",
                                             "wan",
                                             "auto",
                                             "off",
                                             "native",
                                             "generic",
                                             "hop-by-hop",
                                             "destination",
                                             "0x0000002a",
                                             "1:2",
                                             "4294967296:1",
                                             ":",
                                             "1:",
                                             std::string(300, 'a'),
                                             std::string(70000, 'x'),
                                             std::string("ctl\x01\x02\x1b[31m\x7f"),
                                             std::string("nul\0inside", 10),
                                             "\xff\xfe\xfd",
                                             "\xc3\x28",
                                             "\xe2\x80\xae"
                                             "rtl",
                                             "\xf0\x9f\x92\xa9",
                                             "tab\there",
                                             "line\nbreak"};
  return v;
}

// Nodes of the tree, parents before children, at most kMaxCollect: a
// mutation may have made the graph cyclic or exponential (an alias of an
// ancestor), which a full walk would never finish.
constexpr size_t kMaxCollect = 10000;
void collect(YAML::Node n, std::vector<YAML::Node>& out, int depth) {
  if (out.size() >= kMaxCollect) return;
  out.push_back(n);
  if (depth > 32) return;
  if (n.IsMap())
    for (auto it = n.begin(); it != n.end(); ++it) collect(it->second, out, depth + 1);
  if (n.IsSequence())
    for (auto it = n.begin(); it != n.end(); ++it) collect(*it, out, depth + 1);
}

YAML::Node deep(size_t levels, bool seq) {
  YAML::Node n = YAML::Node(1);
  for (size_t i = 0; i < levels; i++) {
    YAML::Node p = seq ? YAML::Node(YAML::NodeType::Sequence) : YAML::Node(YAML::NodeType::Map);
    if (seq)
      p.push_back(n);
    else
      p["k"] = n;
    n = p;
  }
  return n;
}

// One change of the tree; false when it found nothing to change.
const char* tree_mutation(YAML::Node root, Rng& rng) {
  std::vector<YAML::Node> nodes;
  collect(root, nodes, 0);
  YAML::Node n = nodes[rng.below(nodes.size())];
  switch (rng.below(7)) {
    case 0:
      n = rng.pick(hostile_scalars());
      return "scalar";
    case 1:
      n = rng.one_in(2) ? YAML::Node(YAML::NodeType::Sequence) : YAML::Node(YAML::NodeType::Map);
      return "empty-collection";
    case 2: {  // delete a key of a map / an item of a sequence
      if (n.IsMap() && n.size()) {
        auto it = n.begin();
        std::advance(it, static_cast<long>(rng.below(n.size())));
        n.remove(it->first);
        return "delete-key";
      }
      if (n.IsSequence() && n.size()) {
        YAML::Node s(YAML::NodeType::Sequence);
        const size_t skip = rng.below(n.size());
        for (size_t i = 0; i < n.size(); i++)
          if (i != skip) s.push_back(n[i]);
        n = s;
        return "delete-item";
      }
      return "none";
    }
    case 3:  // duplicate a sequence item (deep copy), many times sometimes
      if (n.IsSequence() && n.size()) {
        YAML::Node item = YAML::Clone(n[rng.below(n.size())]);
        const size_t times = rng.one_in(16) ? 200 + rng.below(1200) : 1;
        for (size_t i = 0; i < times; i++) n.push_back(YAML::Clone(item));
        return "duplicate-item";
      }
      return "none";
    case 4:
      n = deep(1 + rng.below(64), rng.one_in(2));
      return "deep";
    case 5:  // add an unknown or a known key with a hostile value
      if (n.IsMap()) {
        static const char* kKeys[] = {"name",      "vrf",      "vlan",  "role",    "sid",
                                      "segments",  "prefixes", "table", "nexthop", "mode",
                                      "hop_limit", "bogus",    "",      "apn",     "match",
                                      "set",       "priority"};
        n[kKeys[rng.below(std::size(kKeys))]] = rng.pick(hostile_scalars());
        return "add-key";
      }
      return "none";
    default:
      n = rng.one_in(2) ? YAML::Node(rng.next())
                        : YAML::Node(-static_cast<int64_t>(rng.below(1u << 31)));
      return "number";
  }
}

std::vector<std::string> lines_of(const std::string& t) {
  std::vector<std::string> v;
  std::stringstream ss(t);
  for (std::string l; std::getline(ss, l);) v.push_back(l);
  return v;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v) s += l + "\n";
  return s;
}

const char* text_mutation(std::string& t, Rng& rng) {
  auto lines = lines_of(t);
  if (lines.empty()) lines.push_back("");
  const size_t i = rng.below(lines.size());
  static const char* kInserts[] = {
      "&a ",       "*a",  "<<: *a", "!!binary ", "!!str ", "!!int ", "!!map ",  "!custom ",    "? ",
      "- ",        "{",   "}",      "[",         "]",      ": ",     "\t",      "'",           "\"",
      "%YAML 1.2", "---", "...",    "#",         "|",      ">-",     "\\u0000", "\xef\xbb\xbf"};
  switch (rng.below(9)) {
    case 0:  // the same key twice
      lines.insert(lines.begin() + static_cast<long>(i), lines[i]);
      t = join(lines);
      return "duplicate-line";
    case 1:
      lines.erase(lines.begin() + static_cast<long>(i));
      t = join(lines);
      return "delete-line";
    case 2: {
      const size_t j = rng.below(lines.size());
      std::swap(lines[i], lines[j]);
      t = join(lines);
      return "swap-lines";
    }
    case 3: {
      const std::string ins = kInserts[rng.below(std::size(kInserts))];
      auto& l = lines[i];
      l.insert(l.begin() + static_cast<long>(rng.below(l.size() + 1)), ins.begin(), ins.end());
      t = join(lines);
      return "insert-token";
    }
    case 4: {  // anchor on one value, aliases elsewhere (also "billion laughs" style)
      const size_t c = lines[i].find(": ");
      if (c == std::string::npos) return "none";
      lines[i].insert(c + 2, "&x ");
      const size_t j = rng.below(lines.size());
      const size_t d = lines[j].find(": ");
      if (d != std::string::npos) lines[j] = lines[j].substr(0, d + 2) + "*x";
      t = join(lines);
      return "anchor-alias";
    }
    case 5:  // indentation
      lines[i] =
          rng.one_in(2) ? " " + lines[i] : lines[i].substr(std::min<size_t>(1, lines[i].size()));
      t = join(lines);
      return "indent";
    case 6:
      if (!t.empty()) t.resize(rng.below(t.size()));
      return "truncate";
    case 7:
      for (size_t k = 0, n = 1 + rng.below(4); k < n && !t.empty(); k++)
        t[rng.below(t.size())] ^= static_cast<char>(1u << rng.below(8));
      return "bitflip";
    default:
      if (!t.empty()) t[rng.below(t.size())] = static_cast<char>(rng.next());
      return "byte";
  }
}

}  // namespace

std::string mutate_yaml(const std::string& text, Rng& rng, std::string& what) {
  std::string t = text;
  const size_t count = 1 + rng.below(3);
  for (size_t k = 0; k < count; k++) {
    if (!what.empty()) what += '+';
    if (rng.one_in(2)) {
      try {
        YAML::Node root = YAML::Load(t);
        if (!root.IsMap() && !root.IsSequence()) throw YAML::Exception(YAML::Mark(), "scalar");
        const char* m = tree_mutation(root, rng);
        YAML::Emitter e;
        e << root;
        t = e.c_str();
        what += m;
        continue;
      } catch (const YAML::Exception&) {
        // the text no longer parses (an earlier mutation): mutate the text
      }
    }
    what += text_mutation(t, rng);
  }
  // Last (the mutations above load the text themselves): nesting deeper
  // than any parser's stack should go.
  if (rng.one_in(50)) {
    const size_t levels = rng.pick(std::vector<size_t>{100, 1000, 10000, 100000});
    const bool seq = rng.one_in(2);
    std::string nest = seq ? std::string(levels, '[') : "";
    if (!seq)
      for (size_t i = 0; i < levels; i++) nest += "{a: ";
    nest += "1" + std::string(levels, seq ? ']' : '}');
    const size_t at = t.find(": ");
    const size_t nl = at == std::string::npos ? at : t.find('\n', at);
    t = at == std::string::npos
            ? nest
            : t.substr(0, at + 2) + nest + (nl == std::string::npos ? "" : t.substr(nl));
    what += "+deep-text";
  }
  return t;
}

}  // namespace aigw::fuzz
