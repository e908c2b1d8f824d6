// Sections apn, tenants[], classes[] and classification (default, rules[]),
// and the public parse_apn_id() / protocol_from_string().
#include <aigw/abi.h>
#include <fmt/format.h>

#include "config/parse_util.hpp"

namespace aigw {

using parse_detail::parse_decimal;
using parse_detail::parse_number;

namespace {

// Writes `width` bits of `v` at bit offset `off` (big-endian) into b.
void put_bits(std::array<uint8_t, 16>& b, unsigned off, unsigned width, uint64_t v) {
  for (unsigned i = 0; i < width; i++) {
    unsigned bit = off + i;
    if ((v >> (width - 1 - i)) & 1) b[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
  }
}

}  // namespace

std::variant<ApnId, std::string> parse_apn_id(std::string_view t, const ApnSettings& a) {
  ApnId id;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') &&
      t.find(':') == std::string_view::npos) {
    std::string_view h = t.substr(2);
    if (h.size() != 8 && h.size() != 16 && h.size() != 32)
      return fmt::format("{} hex digits, expected 8, 16 or 32 (a 32, 64 or 128-bit ID)", h.size());
    id.len = static_cast<uint8_t>(h.size() / 2);
    for (size_t i = 0; i < h.size(); i += 2) {
      auto v = parse_number(fmt::format("0x{}", h.substr(i, 2)));
      if (!v) return "not a hex number";
      id.b[i / 2] = static_cast<uint8_t>(*v);
    }
    return id;
  }
  auto colon = t.find(':');
  if (colon == std::string_view::npos)
    return std::string("expected 0x and 8, 16 or 32 hex digits, or APP:USER");
  auto app = parse_number(t.substr(0, colon));
  auto user = parse_number(t.substr(colon + 1));
  if (!app || !user) return std::string("APP and USER must be decimal or 0x hex numbers");
  auto fits = [](uint64_t v, unsigned bits) { return bits >= 64 || v < (uint64_t{1} << bits); };
  if (!fits(*app, a.app_group_bits))
    return fmt::format("APP {} does not fit apn.app_group_bits = {}", *app, a.app_group_bits);
  if (!fits(*user, a.user_group_bits))
    return fmt::format("USER {} does not fit apn.user_group_bits = {}", *user, a.user_group_bits);
  id.len = static_cast<uint8_t>(a.id_bits / 8);
  put_bits(id.b, 0, a.app_group_bits, *app);
  put_bits(id.b, a.app_group_bits, a.user_group_bits, *user);
  return id;
}

std::optional<uint8_t> protocol_from_string(std::string_view s) {
  if (s == "tcp") return 6;
  if (s == "udp") return 17;
  if (s == "icmp") return 1;
  if (s == "icmpv6") return 58;
  if (s == "sctp") return 132;
  if (auto v = parse_decimal(s); v && *v <= 255) return static_cast<uint8_t>(*v);
  return std::nullopt;
}

namespace parse_detail {

namespace {

std::optional<ApnId> read_apn_id(Sink& s, const Entry& e, const ApnSettings& a) {
  constexpr std::string_view expected = "an APN ID (0x + 8/16/32 hex digits, or APP:USER)";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  auto r = parse_apn_id(*t, a);
  if (auto* msg = std::get_if<std::string>(&r)) {
    s.error(e.line(), e.field, fmt::format("bad APN ID '{}': {}", *t, *msg));
    return std::nullopt;
  }
  return std::get<ApnId>(r);
}

// "N" or "LO-HI".
std::optional<PortRange> read_ports(Sink& s, const Entry& e) {
  constexpr std::string_view expected = "a port 0..65535 or a range \"LO-HI\"";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  std::string_view v = *t;
  auto dash = v.find('-');
  auto lo = parse_decimal(v.substr(0, dash));
  auto hi = dash == std::string_view::npos ? lo : parse_decimal(v.substr(dash + 1));
  if (!lo || !hi || *lo > 65535 || *hi > 65535) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  if (*lo > *hi) {
    s.error(e.line(), e.field, fmt::format("range '{}' is empty: {} > {}", *t, *lo, *hi));
    return std::nullopt;
  }
  return PortRange{static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)};
}

// One prefix or a list of prefixes. Lines go to lines["<key>[k]"].
std::vector<Prefix> read_prefixes(Sink& s, const Entry& e, const std::string& key,
                                  FieldLines& lines) {
  std::vector<Prefix> out;
  if (e.value.IsScalar()) {
    if (auto p = read_prefix(s, e)) out.push_back(*p);
    lines[index(key, 0)] = e.line();
    return out;
  }
  if (!expect_list(s, e, "IPv4/IPv6 prefixes")) return out;
  if (e.value.size() == 0) s.error(e.line(), e.field, "at least one prefix is required");
  for (size_t k = 0; k < e.value.size(); ++k) {
    Entry pe = item(e.value[k], index(e.field, k));
    if (auto p = read_prefix(s, pe)) out.push_back(*p);
    lines[index(key, k)] = pe.line();
  }
  return out;
}

std::optional<std::string> read_interface_key(Sink& s, const Entry& e) {
  constexpr std::string_view expected = "an interface (\"eth1\" or \"eth1 vlan 10\")";
  auto t = scalar(s, e, expected);
  if (!t) return std::nullopt;
  std::string_view v = *t;
  auto sp = v.find(" vlan ");
  bool ok = valid_ifname(v.substr(0, sp));
  if (ok && sp != std::string_view::npos) {
    auto vid = parse_decimal(v.substr(sp + 6));
    ok = vid && *vid >= 1 && *vid <= 4094;
  }
  if (!ok) {
    s.error(e.line(), e.field, fmt::format("expected {}, got '{}'", expected, *t));
    return std::nullopt;
  }
  return t;
}

// match.apn: {value, mask} or a bare ID (exact match).
void read_rule_apn(Sink& s, const Entry& f, ClassRule& r, const ApnSettings& apn) {
  r.lines["apn"] = f.line();
  ApnMatch am;
  std::optional<ApnId> value, mask;
  if (f.value.IsMap()) {
    MapReader am_r(s, f.value, f.field, {"value", "mask"});
    if (auto g = am_r.require("value")) value = read_apn_id(s, *g, apn);
    if (auto g = am_r.get("mask")) {
      mask = read_apn_id(s, *g, apn);
      if (mask && value && mask->len != value->len) {
        s.error(g->line(), g->field,
                fmt::format("mask is {} bits, value is {} bits", mask->len * 8, value->len * 8));
        mask.reset();
      }
    }
  } else {
    value = read_apn_id(s, f, apn);  // shorthand: exact match
  }
  if (value) {
    am.value = *value;
    if (mask) {
      am.mask = *mask;
    } else {
      am.mask.len = value->len;
      std::fill_n(am.mask.b.begin(), value->len, 0xff);
    }
    r.apn = am;
  }
}

// A rule's match: every condition given must hold.
void read_rule_match(Sink& s, const Entry& e, ClassRule& r, const ApnSettings& apn) {
  MapReader mm(s, e.value, e.field,
               {"interface", "src", "dst", "protocol", "sport", "dport", "dscp", "apn"});
  if (auto f = mm.get("interface")) {
    r.interface = read_interface_key(s, *f);
    r.lines["interface"] = f->line();
  }
  if (auto f = mm.get("src")) r.src = read_prefixes(s, *f, "src", r.lines);
  if (auto f = mm.get("dst")) r.dst = read_prefixes(s, *f, "dst", r.lines);
  auto fam = [](const std::vector<Prefix>& v, bool v6) {
    return std::any_of(v.begin(), v.end(), [&](const Prefix& p) { return p.v6 == v6; });
  };
  if (!r.src.empty() && !r.dst.empty() && !(fam(r.src, false) && fam(r.dst, false)) &&
      !(fam(r.src, true) && fam(r.dst, true))) {
    s.error(field_line(r.lines, "dst[0]", e.line()), join(e.field, "dst"),
            "src and dst have no address family in common: the rule can never match");
  }
  if (auto f = mm.get("protocol")) {
    r.protocol = read_enum<uint8_t>(s, *f, protocol_from_string,
                                    {"tcp", "udp", "icmp", "icmpv6", "sctp", "0..255"});
    r.lines["protocol"] = f->line();
  }
  for (auto [key, out] : {std::pair{"sport", &r.sport}, {"dport", &r.dport}}) {
    auto f = mm.get(key);
    if (!f) continue;
    *out = read_ports(s, *f);
    r.lines[key] = f->line();
    if (r.protocol && *r.protocol != 6 && *r.protocol != 17 && *r.protocol != 132) {
      s.error(f->line(), f->field,
              fmt::format("ports need protocol tcp, udp or sctp (or none), not {}",
                          protocol_str(*r.protocol)));
    }
  }
  if (auto f = mm.get("dscp")) {
    if (auto v = read_uint(s, *f, 0, 63)) r.dscp = static_cast<uint8_t>(*v);
    r.lines["dscp"] = f->line();
  }
  if (auto f = mm.get("apn")) read_rule_apn(s, *f, r, apn);
}

// A rule's actions.
void read_rule_set(Sink& s, const Entry& e, ClassRule& r, const ApnSettings& apn) {
  MapReader ms(s, e.value, e.field, {"tenant", "class", "dscp", "policy", "apn"});
  if (auto f = ms.get("tenant")) {
    r.tenant = read_name(s, *f);
    r.lines["tenant"] = f->line();
  }
  if (auto f = ms.get("class")) {
    r.service_class = read_name(s, *f);
    r.lines["class"] = f->line();
  }
  if (auto f = ms.get("dscp")) {
    if (auto v = read_uint(s, *f, 0, 63)) r.set_dscp = static_cast<uint8_t>(*v);
    r.lines["set.dscp"] = f->line();
  }
  if (auto f = ms.get("policy")) {
    r.policy = read_name(s, *f);
    r.lines["policy"] = f->line();
  }
  if (auto f = ms.get("apn")) {
    r.set_apn = read_apn_id(s, *f, apn);
    r.lines["set.apn"] = f->line();
  }
}

std::optional<ClassRule> rule_impl(Sink& s, const YAML::Node& n, const std::string& path,
                                   const ApnSettings& apn) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, priority, match, set")) return std::nullopt;
  ClassRule r;
  r.line = line_of(n);
  MapReader m(s, n, path, {"name", "priority", "match", "set"});
  if (auto e = m.require("name")) {
    if (auto v = read_name(s, *e)) r.name = *v;
    r.lines["name"] = e->line();
  }
  if (auto e = m.get("priority")) {
    if (auto v = read_uint(s, *e, 0, kU32Max)) r.priority = static_cast<uint32_t>(*v);
    r.lines["priority"] = e->line();
  }
  if (auto e = m.get("match"); e && expect_map_or_empty(s, *e) && e->value.IsMap())
    read_rule_match(s, *e, r, apn);
  if (auto e = m.get("set"); e && expect_map_or_empty(s, *e) && e->value.IsMap())
    read_rule_set(s, *e, r, apn);
  if (s.count() != before) return std::nullopt;
  return r;
}

}  // namespace

std::optional<Tenant> tenant_impl(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, id")) return std::nullopt;
  Tenant t;
  t.line = line_of(n);
  MapReader m(s, n, path, {"name", "id", "rate", "ceil", "burst", "schedule", "pfc_priority"});
  if (auto e = m.require("name")) {
    if (auto v = read_name(s, *e)) {
      t.name = *v;
      if (t.name == "unclassified")
        s.error(e->line(), e->field, "'unclassified' is reserved (tenant id 0)");
    }
    t.lines["name"] = e->line();
  }
  if (auto e = m.require("id")) {
    if (auto v = read_uint(s, *e, 1, AIGW_MAX_TENANTS - 1)) t.id = static_cast<uint16_t>(*v);
    t.lines["id"] = e->line();
  }
  read_tenant_shape(s, m, t);
  if (s.count() != before) return std::nullopt;
  return t;
}

std::optional<ServiceClass> class_impl(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, id")) return std::nullopt;
  ServiceClass c;
  c.line = line_of(n);
  MapReader m(s, n, path, {"name", "id"});
  if (auto e = m.require("name")) {
    if (auto v = read_name(s, *e)) {
      c.name = *v;
      for (unsigned k = 0; k < AIGW_CLASS_BUILTIN_MAX; k++)
        if (c.name == aigw_class_builtin_name(k))
          s.error(e->line(), e->field, fmt::format("'{}' is a built-in class (id {})", c.name, k));
    }
    c.lines["name"] = e->line();
  }
  if (auto e = m.require("id")) {
    if (auto v = read_uint(s, *e, AIGW_CLASS_BUILTIN_MAX, AIGW_MAX_CLASSES - 1))
      c.id = static_cast<uint8_t>(*v);
    c.lines["id"] = e->line();
  }
  if (s.count() != before) return std::nullopt;
  return c;
}

// RFC 8200 4.2: the two high bits of an option type say what a node that
// does not know the option does with the packet; anything but 00 (skip)
// makes every such node on the path drop it. Types IANA assigned to other
// options would be misread by the nodes that know them.
static std::optional<std::string> apn_option_type_problem(uint8_t t) {
  if (t >> 6)
    return fmt::format(
        "action bits {}{} make nodes that do not know APN drop the packet "
        "(use a type 0x02..0x3f)",
        (t >> 7) & 1, (t >> 6) & 1);
  switch (t) {
    case 0x04:
      return "that is the Tunnel Encapsulation Limit option";
    case 0x05:
      return "that is the Router Alert option";
    case 0x07:
      return "that is the CALIPSO option";
    case 0x08:
      return "that is the SMF_DPD option";
    case 0x0f:
      return "that is the PDM option";
    case 0x11:
      return "that is the IOAM option";
    case 0x26:
      return "that is the Quick-Start option";
    default:
      return std::nullopt;
  }
}

void parse_apn(Sink& s, const Entry& e, ApnSettings& a) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field,
              {"option_type", "header", "id_bits", "app_group_bits", "user_group_bits"});
  if (auto f = m.get("option_type")) {
    // 0 and 1 are Pad1 and PadN.
    if (auto v = read_number(s, *f, 2, 255)) {
      if (auto why = apn_option_type_problem(static_cast<uint8_t>(*v)))
        s.error(f->line(), f->field, fmt::format("option type {:#04x}: {}", *v, *why));
      else
        a.option_type = static_cast<uint8_t>(*v);
    }
  }
  if (auto f = m.get("header")) {
    if (auto v = read_enum<ApnHeader>(s, *f, apn_header_from_string, {"hop-by-hop", "destination"}))
      a.header = *v;
  }
  std::optional<Entry> bits_entry = m.get("id_bits");
  if (bits_entry) {
    auto from = [](std::string_view t) -> std::optional<uint8_t> {
      if (t == "32") return 32;
      if (t == "64") return 64;
      if (t == "128") return 128;
      return std::nullopt;
    };
    if (auto v = read_enum<uint8_t>(s, *bits_entry, +from, {"32", "64", "128"})) a.id_bits = *v;
  }
  auto app = m.get("app_group_bits");
  if (app) {
    if (auto v = read_uint(s, *app, 1, 64)) a.app_group_bits = static_cast<uint8_t>(*v);
  }
  auto user = m.get("user_group_bits");
  if (user) {
    if (auto v = read_uint(s, *user, 0, 64)) a.user_group_bits = static_cast<uint8_t>(*v);
  }
  if (a.app_group_bits + a.user_group_bits > a.id_bits) {
    const Entry& at = user ? *user : app ? *app : bits_entry ? *bits_entry : e;
    s.error(at.line(), at.field,
            fmt::format("app_group_bits + user_group_bits = {} exceed id_bits = {}",
                        a.app_group_bits + a.user_group_bits, unsigned{a.id_bits}));
  }
}

// classification.default, classification.rules[].
void parse_classification(Sink& s, const Entry& e, Classification& c, std::vector<size_t>& pos,
                          const ApnSettings& apn, int& default_line) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field, {"default", "rules"});
  if (auto f = m.get("default"); f && expect_map_or_empty(s, *f) && f->value.IsMap()) {
    default_line = f->line();
    MapReader d(s, f->value, f->field, {"tenant", "class", "apn"});
    if (auto g = d.get("tenant")) c.default_tenant = read_name(s, *g);
    if (auto g = d.get("class")) {
      if (auto v = read_name(s, *g)) c.default_class = *v;
    }
    if (auto g = d.get("apn")) c.default_apn = read_apn_id(s, *g, apn);
  }
  parse_list(s, m.get("rules"), "classification rules", c.rules, pos,
             [&](Sink& sk, const YAML::Node& n, const std::string& path) {
               return rule_impl(sk, n, path, apn);
             });
}

// Unique names and ids of tenants and classes.
void validate_tenants_classes(Sink& s, const Config& c, const Origin& o) {
  auto unique = [&](const auto& list, std::string_view section, const std::vector<size_t>& pos,
                    const char* what) {
    std::map<std::string, size_t> names;
    std::map<unsigned, size_t> ids;
    auto px = [&](size_t i) { return pos.empty() ? i : pos[i]; };
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& x = list[i];
      std::string path = index(std::string(section), px(i));
      if (auto [p, fresh] = names.emplace(x.name, i); !fresh)
        s.error(field_line(x.lines, "name", x.line), join(path, "name"),
                fmt::format("duplicate {} name '{}' (first at {})", what, x.name,
                            where(section, px(p->second), list[p->second].line)));
      if (auto [p, fresh] = ids.emplace(unsigned{x.id}, i); !fresh)
        s.error(
            field_line(x.lines, "id", x.line), join(path, "id"),
            fmt::format("{} id {} already used by '{}' ({})", what, unsigned{x.id},
                        list[p->second].name, where(section, px(p->second), list[p->second].line)));
    }
  };
  unique(c.tenants, "tenants", o.tenants, "tenant");
  unique(c.classes, "classes", o.classes, "class");
}

namespace {

bool known_tenant(const Config& c, const std::string& n) {
  return n == "unclassified" ||
         std::any_of(c.tenants.begin(), c.tenants.end(), [&](auto& t) { return t.name == n; });
}

bool known_class(const Config& c, const std::string& n) {
  for (unsigned k = 0; k < AIGW_CLASS_BUILTIN_MAX; k++)
    if (n == aigw_class_builtin_name(k)) return true;
  return std::any_of(c.classes.begin(), c.classes.end(), [&](auto& x) { return x.name == n; });
}

// What one rule refers to, looked up once per configuration.
struct RuleRefs {
  std::map<std::string, const Interface*> ifaces;  // by interface_key()
  std::map<std::string, const Policy*> policies;
  std::set<std::string> ports;
};

// match.interface: a customer interface of interfaces[]. Returns it, or
// nullptr (none given, or an error reported).
const Interface* rule_interface(Sink& s, const Origin& o, const RuleRefs& refs, const ClassRule& r,
                                const std::string& path, int line) {
  if (!r.interface) return nullptr;
  auto it = refs.ifaces.find(*r.interface);
  if (it == refs.ifaces.end()) {
    // An entry of the file that failed to parse has its own error already.
    std::string port = r.interface->substr(0, r.interface->find(' '));
    bool failed_entry = o.file_interfaces.count(port) && !refs.ports.count(port);
    if (!failed_entry)
      s.error(line, join(path, "match.interface"),
              fmt::format("interface '{}' is not in interfaces[]", *r.interface));
    return nullptr;
  }
  if (it->second->role != IfRole::Customer) {
    s.error(
        line, join(path, "match.interface"),
        fmt::format("interface '{}' is a wan port; rules match customer interfaces", *r.interface));
    return nullptr;
  }
  return it->second;
}

// set.policy: a policy of policies[] in the VRF of every port the rule matches.
void check_rule_policy(Sink& s, const Config& c, const RuleRefs& refs, const ClassRule& r,
                       const Interface* rif, const std::string& path, int line) {
  if (!r.policy) return;
  auto it = refs.policies.find(*r.policy);
  if (it == refs.policies.end()) {
    s.error(line, join(path, "set.policy"),
            fmt::format("policy '{}' is not in policies[]", *r.policy));
  } else if (rif && rif->vrf != it->second->vrf) {
    s.error(line, join(path, "set.policy"),
            fmt::format("policy '{}' is in VRF {}, interface '{}' in VRF {}", *r.policy,
                        it->second->vrf, *r.interface, rif->vrf));
  } else if (!rif) {
    // Without match.interface the rule matches every customer port: it
    // must not steer a port's traffic into another VRF's policy.
    for (const auto& i : c.interfaces)
      if (i.role == IfRole::Customer && i.vrf != it->second->vrf) {
        s.error(line, join(path, "set.policy"),
                fmt::format("policy '{}' is in VRF {} but the rule matches interface '{}' "
                            "in VRF {}: add match.interface",
                            *r.policy, it->second->vrf, interface_key(i), i.vrf));
        break;
      }
  }
}

// References of one rule: interface, policy, tenant, class.
void check_rule_refs(Sink& s, const Config& c, const Origin& o, const RuleRefs& refs,
                     const ClassRule& r, const std::string& path) {
  auto at = [&](const char* key) { return field_line(r.lines, key, r.line); };
  const Interface* rif = rule_interface(s, o, refs, r, path, at("interface"));
  check_rule_policy(s, c, refs, r, rif, path, at("policy"));
  if (r.tenant && !known_tenant(c, *r.tenant))
    s.error(at("tenant"), join(path, "set.tenant"),
            fmt::format("unknown tenant '{}' (not in tenants[])", *r.tenant));
  if (r.service_class && !known_class(c, *r.service_class))
    s.error(at("class"), join(path, "set.class"),
            fmt::format("unknown class '{}' (not built-in, not in classes[])", *r.service_class));
}

}  // namespace

// References (default and rules), unique rule names, what fits the datapath.
void validate_classification(Sink& s, const Config& c, const Origin& o) {
  const auto& cl = c.classification;
  if (cl.default_tenant && !known_tenant(c, *cl.default_tenant))
    s.error(o.default_line, "classification.default.tenant",
            fmt::format("unknown tenant '{}' (not in tenants[])", *cl.default_tenant));
  if (!known_class(c, cl.default_class))
    s.error(o.default_line, "classification.default.class",
            fmt::format("unknown class '{}' (not built-in, not in classes[])", cl.default_class));
  RuleRefs refs;
  for (const auto& it : c.interfaces) refs.ifaces.emplace(interface_key(it), &it);
  for (const auto& p : c.policies) refs.policies.emplace(p.name, &p);
  refs.ports = port_names(c);
  std::map<std::string, size_t> rule_names;
  std::set<std::pair<std::array<uint8_t, 16>, uint8_t>> masks;
  auto rx = [&](size_t i) { return Origin::at(o.rules, i); };
  for (size_t i = 0; i < cl.rules.size(); ++i) {
    const ClassRule& r = cl.rules[i];
    std::string path = index("classification.rules", rx(i));
    if (auto [p, fresh] = rule_names.emplace(r.name, i); !fresh)
      s.error(field_line(r.lines, "name", r.line), join(path, "name"),
              fmt::format("duplicate rule name '{}' (first at {})", r.name,
                          where("classification.rules", rx(p->second), cl.rules[p->second].line)));
    check_rule_refs(s, c, o, refs, r, path);
    if (r.apn) {
      masks.insert({r.apn->mask.b, r.apn->mask.len});
      if (masks.size() == AIGW_APN_MAX_MASKS + 1)
        s.error(field_line(r.lines, "apn", r.line), join(path, "match.apn"),
                fmt::format("rule '{}' brings the number of distinct APN masks over {}", r.name,
                            AIGW_APN_MAX_MASKS));
    }
    if (i == AIGW_CLS_MAX_RULES)
      s.error(r.line, path,
              fmt::format("rule '{}' is rule {}: at most {} classification rules are supported",
                          r.name, i + 1, AIGW_CLS_MAX_RULES));
  }
}

// The RDMA proxy's selection names tenants and classes that exist.
void validate_rdma_proxy(Sink& s, const Config& c) {
  for (size_t i = 0; i < c.rdma_proxy.select.size(); i++) {
    const auto& x = c.rdma_proxy.select[i];
    std::string path = index("rdma_proxy.select", i);
    if (!known_tenant(c, x.tenant))
      s.error(x.line, join(path, "tenant"),
              fmt::format("unknown tenant '{}' (not in tenants[])", x.tenant));
    if (!x.service_class.empty() && !known_class(c, x.service_class))
      s.error(x.line, join(path, "class"),
              fmt::format("unknown class '{}' (not built in, not in classes[])", x.service_class));
  }
}

}  // namespace parse_detail

}  // namespace aigw
