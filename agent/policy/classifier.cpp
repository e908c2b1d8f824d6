// Classifier compiler: ordered rules -> per-field bitmaps (abi.h,
// "Classification"). One bit per rule: a field with several prefixes (or both
// address families) is a disjunction inside that field, which a per-field
// bitmap expresses directly, so no rule needs to be split into several bits.
#include "policy/classifier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <unordered_map>

namespace aigw {

aigw_cls_bitmap ClsBitmap::to_abi() const {
  aigw_cls_bitmap out{};
  for (size_t i = 0; i < w.size() && i < AIGW_CLS_WORDS; i++) {
    out.w[i] = w[i];
    if (w[i]) out.agg[i / 64] |= uint64_t{1} << (i % 64);
  }
  return out;
}

namespace {

struct Bits {
  uint32_t nwords;
  ClsBitmap empty() const { return ClsBitmap{std::vector<uint64_t>(nwords, 0)}; }
};

void set_bit(ClsBitmap& b, uint32_t i) { b.w[i / 64] |= uint64_t{1} << (i % 64); }
void or_into(ClsBitmap& dst, const ClsBitmap& src) {
  for (size_t i = 0; i < dst.w.size(); i++) dst.w[i] |= src.w[i];
}

struct BitmapHash {
  size_t operator()(const ClsBitmap& b) const {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t x : b.w) h = (h ^ x) * 1099511628211ull + (h >> 29);
    return static_cast<size_t>(h);
  }
};

std::string where(const ClassRule& r) {
  return r.line ? fmt::format("line {}: rule '{}'", r.line, r.name)
                : fmt::format("rule '{}'", r.name);
}

// Mask `id` (len bytes) with `mask`, zero-fill the rest.
std::array<uint8_t, 16> apply_mask(const std::array<uint8_t, 16>& id,
                                   const std::array<uint8_t, 16>& mask, uint8_t len) {
  std::array<uint8_t, 16> out{};
  for (uint8_t i = 0; i < len && i < 16; i++) out[i] = id[i] & mask[i];
  return out;
}

// Prefix field (one of src4/dst4/src6/dst6). `rules_of[P]` = bits naming P;
// `wild` = bits with no condition in this field that match this family.
void build_prefix_field(const std::map<Prefix, ClsBitmap>& rules_of, const ClsBitmap& wild,
                        std::vector<ClsPrefixEntry>& out, ClsBitmap& none) {
  none = wild;
  out.clear();
  out.reserve(rules_of.size());
  for (const auto& [p, own] : rules_of) {
    // Bits = rules with a prefix containing p: p's stored ancestors (and p).
    ClsBitmap bits = wild;
    for (int l = 0; l <= p.len; l++) {
      Prefix anc = p;
      anc.len = static_cast<uint8_t>(l);
      for (int i = 0; i < 16; i++) {
        int keep = std::clamp(l - 8 * i, 0, 8);
        anc.b[i] = p.b[i] & static_cast<uint8_t>(0xff00 >> keep);
      }
      auto it = rules_of.find(anc);
      if (it != rules_of.end()) or_into(bits, it->second);
    }
    out.push_back({p, std::move(bits)});
  }
}

// One port field: elementary intervals between the sorted range endpoints;
// each gets the bitmap of the rules covering it (stored once per distinct
// bitmap, shared by both fields).
void build_port_field(const std::vector<std::optional<PortRange>>& ranges, const Bits& bits,
                      std::vector<uint32_t>& index, std::vector<ClsBitmap>& store,
                      std::unordered_map<ClsBitmap, uint32_t, BitmapHash>& dedupe) {
  struct Event {
    uint32_t port;  // first port where the change applies (hi + 1 for an end)
    bool add;
    uint32_t bit;
  };
  std::vector<Event> ev;
  ClsBitmap cur = bits.empty();
  for (uint32_t i = 0; i < ranges.size(); i++) {
    if (!ranges[i]) {
      set_bit(cur, i);
      continue;
    }
    ev.push_back({ranges[i]->lo, true, i});
    ev.push_back({uint32_t{ranges[i]->hi} + 1, false, i});
  }
  std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) { return a.port < b.port; });
  index.assign(AIGW_CLS_PORTS, 0);
  size_t k = 0;
  uint32_t port = 0;
  while (port < AIGW_CLS_PORTS) {
    for (; k < ev.size() && ev[k].port == port; k++) {
      uint64_t m = uint64_t{1} << (ev[k].bit % 64);
      if (ev[k].add)
        cur.w[ev[k].bit / 64] |= m;
      else
        cur.w[ev[k].bit / 64] &= ~m;
    }
    uint32_t next = k < ev.size() ? std::min<uint32_t>(ev[k].port, AIGW_CLS_PORTS) : AIGW_CLS_PORTS;
    auto [it, fresh] = dedupe.try_emplace(cur, static_cast<uint32_t>(store.size()));
    if (fresh) store.push_back(cur);
    std::fill(index.begin() + port, index.begin() + next, it->second);
    port = next;
  }
}

}  // namespace

std::optional<uint8_t> class_id(const Config& cfg, const std::string& name) {
  for (unsigned c = 0; c < AIGW_CLASS_BUILTIN_MAX; c++)
    if (name == aigw_class_builtin_name(c)) return static_cast<uint8_t>(c);
  for (const auto& sc : cfg.classes)
    if (sc.name == name) return sc.id;
  return std::nullopt;
}

std::string class_name(const Config& cfg, uint8_t id) {
  if (const char* b = aigw_class_builtin_name(id)) return b;
  for (const auto& sc : cfg.classes)
    if (sc.id == id) return sc.name;
  return fmt::format("class-{}", id);
}

std::optional<uint16_t> tenant_id(const Config& cfg, const std::string& name) {
  if (name == "unclassified") return AIGW_TENANT_NONE;
  for (const auto& t : cfg.tenants)
    if (t.name == name) return t.id;
  return std::nullopt;
}

std::string tenant_name(const Config& cfg, uint16_t id) {
  if (id == AIGW_TENANT_NONE) return "unclassified";
  for (const auto& t : cfg.tenants)
    if (t.id == id) return t.name;
  return fmt::format("tenant-{}", id);
}

namespace {

// The decision when no rule matches.
void compile_default(const Config& cfg, CompiledClassifier& c) {
  const auto& cl = cfg.classification;
  c.dflt.rule_id = AIGW_CLS_NO_RULE;
  if (cl.default_tenant) {
    auto t = tenant_id(cfg, *cl.default_tenant);
    if (!t)
      throw ClassifyError(
          fmt::format("classification.default: unknown tenant '{}'", *cl.default_tenant));
    c.dflt.tenant = *t;
  }
  {
    auto k = class_id(cfg, cl.default_class);
    if (!k)
      throw ClassifyError(
          fmt::format("classification.default: unknown class '{}'", cl.default_class));
    c.dflt.cls = *k;
  }
  if (cl.default_apn && cl.default_apn->len) {
    c.dflt.flags |= AIGW_ACT_F_APN;
    c.dflt.apn_len = cl.default_apn->len;
    std::copy_n(cl.default_apn->b.begin(), AIGW_APN_MAX_ID_LEN, c.dflt.apn);
  }
}

// What each rule decides, in precedence order.
void compile_actions(const Config& cfg, const ClsResolver& resolve,
                     const std::vector<uint32_t>& order, CompiledClassifier& c) {
  const auto& rules = cfg.classification.rules;
  const uint32_t n = c.nrules;
  c.actions.resize(n);
  for (uint32_t bit = 0; bit < n; bit++) {
    const ClassRule& r = rules[order[bit]];
    aigw_cls_action a = c.dflt;
    a.rule_id = order[bit];
    if (r.tenant) {
      auto t = tenant_id(cfg, *r.tenant);
      if (!t) throw ClassifyError(fmt::format("{}: unknown tenant '{}'", where(r), *r.tenant));
      a.tenant = *t;
    }
    if (r.service_class) {
      auto k = class_id(cfg, *r.service_class);
      if (!k)
        throw ClassifyError(fmt::format("{}: unknown class '{}'", where(r), *r.service_class));
      a.cls = *k;
    }
    if (r.set_dscp) {
      a.flags |= AIGW_ACT_F_REMARK;
      a.dscp = *r.set_dscp;
    }
    if (r.policy) {
      auto slot = resolve.policy_slot ? resolve.policy_slot(*r.policy) : std::nullopt;
      if (!slot) throw ClassifyError(fmt::format("{}: unknown policy '{}'", where(r), *r.policy));
      a.flags |= AIGW_ACT_F_POLICY;
      a.policy_slot = *slot;
    }
    if (r.set_apn && r.set_apn->len) {
      a.flags |= AIGW_ACT_F_APN;
      a.apn_len = r.set_apn->len;
      std::fill(std::begin(a.apn), std::end(a.apn), 0);
      std::copy_n(r.set_apn->b.begin(), AIGW_APN_MAX_ID_LEN, a.apn);
    }
    c.actions[bit] = a;
  }
}

void compile_iface(const Config& cfg, const ClsResolver& resolve,
                   const std::vector<uint32_t>& order, const Bits& bits, CompiledClassifier& c) {
  const auto& rules = cfg.classification.rules;
  const uint32_t n = c.nrules;
  // Interface slots. A rule naming an interface that has no slot (configured
  // but not present) matches nothing until it appears.
  c.iface.assign(AIGW_MAX_IFACES, bits.empty());
  for (uint32_t bit = 0; bit < n; bit++) {
    const ClassRule& r = rules[order[bit]];
    if (!r.interface) {
      for (auto& b : c.iface) set_bit(b, bit);
      continue;
    }
    auto slot = resolve.iface_slot ? resolve.iface_slot(*r.interface) : std::nullopt;
    if (slot && *slot < AIGW_MAX_IFACES) set_bit(c.iface[*slot], bit);
  }
}

void compile_proto_dscp(const Config& cfg, const std::vector<uint32_t>& order, const Bits& bits,
                        CompiledClassifier& c) {
  const auto& rules = cfg.classification.rules;
  const uint32_t n = c.nrules;
  // Protocol and DSCP.
  c.proto.assign(256, bits.empty());
  c.dscp.assign(64, bits.empty());
  for (uint32_t bit = 0; bit < n; bit++) {
    const ClassRule& r = rules[order[bit]];
    if (r.protocol)
      set_bit(c.proto[*r.protocol], bit);
    else
      for (auto& b : c.proto) set_bit(b, bit);
    if (r.dscp)
      set_bit(c.dscp[*r.dscp & 63], bit);
    else
      for (auto& b : c.dscp) set_bit(b, bit);
  }
}

void compile_ports(const Config& cfg, const std::vector<uint32_t>& order, const Bits& bits,
                   CompiledClassifier& c) {
  const auto& rules = cfg.classification.rules;
  const uint32_t n = c.nrules;
  // Ports: a rule with a port condition never matches a packet without ports.
  std::vector<std::optional<PortRange>> sp(n), dp(n);
  c.no_sport = bits.empty();
  c.no_dport = bits.empty();
  for (uint32_t bit = 0; bit < n; bit++) {
    const ClassRule& r = rules[order[bit]];
    sp[bit] = r.sport;
    dp[bit] = r.dport;
    if (!r.sport) set_bit(c.no_sport, bit);
    if (!r.dport) set_bit(c.no_dport, bit);
  }
  std::unordered_map<ClsBitmap, uint32_t, BitmapHash> dedupe;
  build_port_field(sp, bits, c.sport, c.port_bitmaps, dedupe);
  build_port_field(dp, bits, c.dport, c.port_bitmaps, dedupe);
  uint32_t cap = cfg.datapath.map_sizes.class_port_bitmaps / AIGW_CLS_BANKS;
  if (c.port_bitmaps.size() > cap)
    throw ClassifyError(
        fmt::format("classification rules need {} distinct port bitmaps, more than {} "
                    "(datapath.map_sizes.class_port_bitmaps / 2)",
                    c.port_bitmaps.size(), cap));
}

void compile_addresses(const Config& cfg, const std::vector<uint32_t>& order, const Bits& bits,
                       CompiledClassifier& c) {
  const auto& rules = cfg.classification.rules;
  const uint32_t n = c.nrules;
  // Addresses, per family. A field with prefixes of the other family only
  // never matches this family (not in the entries, not in *_none).
  std::map<Prefix, ClsBitmap> s4, d4, s6, d6;
  ClsBitmap ws4 = bits.empty(), wd4 = bits.empty(), ws6 = bits.empty(), wd6 = bits.empty();
  auto add = [&](std::map<Prefix, ClsBitmap>& m, const Prefix& p, uint32_t bit) {
    auto it = m.try_emplace(p, bits.empty()).first;
    set_bit(it->second, bit);
  };
  for (uint32_t bit = 0; bit < n; bit++) {
    const ClassRule& r = rules[order[bit]];
    if (r.src.empty()) {
      set_bit(ws4, bit);
      set_bit(ws6, bit);
    }
    for (const auto& p : r.src) add(p.v6 ? s6 : s4, p, bit);
    if (r.dst.empty()) {
      set_bit(wd4, bit);
      set_bit(wd6, bit);
    }
    for (const auto& p : r.dst) add(p.v6 ? d6 : d4, p, bit);
  }
  build_prefix_field(s4, ws4, c.src4, c.src4_none);
  build_prefix_field(d4, wd4, c.dst4, c.dst4_none);
  build_prefix_field(s6, ws6, c.src6, c.src6_none);
  build_prefix_field(d6, wd6, c.dst6, c.dst6_none);
  uint32_t cap = cfg.datapath.map_sizes.class_prefixes / AIGW_CLS_BANKS;
  for (auto [name, v] : {std::pair{"IPv4 source", &c.src4},
                         {"IPv4 destination", &c.dst4},
                         {"IPv6 source", &c.src6},
                         {"IPv6 destination", &c.dst6}})
    if (v->size() > cap)
      throw ClassifyError(
          fmt::format("classification rules use {} distinct {} prefixes, more than {} "
                      "(datapath.map_sizes.class_prefixes / 2)",
                      v->size(), name, cap));
}

void compile_apn(const Config& cfg, const std::vector<uint32_t>& order, const Bits& bits,
                 CompiledClassifier& c) {
  const auto& rules = cfg.classification.rules;
  const uint32_t n = c.nrules;
  // APN ID: distinct (mask, length) pairs, then (mask, value & mask) entries.
  c.apn_wild = bits.empty();
  std::map<std::pair<std::array<uint8_t, 16>, uint8_t>, uint32_t> masks;
  std::map<std::pair<uint32_t, std::array<uint8_t, 16>>, ClsBitmap> entries;
  for (uint32_t bit = 0; bit < n; bit++) {
    const ClassRule& r = rules[order[bit]];
    if (!r.apn) {
      set_bit(c.apn_wild, bit);
      continue;
    }
    uint8_t len = r.apn->value.len;
    std::array<uint8_t, 16> mask{};
    std::copy_n(r.apn->mask.b.begin(), len, mask.begin());
    auto [mit, fresh] = masks.try_emplace({mask, len}, static_cast<uint32_t>(masks.size()));
    if (fresh) {
      if (masks.size() > AIGW_APN_MAX_MASKS)
        throw ClassifyError(
            fmt::format("{}: more than {} distinct APN masks", where(r), AIGW_APN_MAX_MASKS));
      c.apn_masks.push_back(mask);
      c.apn_mask_len.push_back(len);
    }
    auto key = std::pair{mit->second, apply_mask(r.apn->value.b, mask, len)};
    auto eit = entries.try_emplace(key, bits.empty()).first;
    set_bit(eit->second, bit);
  }
  for (auto& [k, b] : entries) c.apn.push_back({k.first, k.second, std::move(b)});
  // A packet without an APN ID matches only rules without an APN condition.
  c.apn_none = c.apn_wild;
  if (c.apn.size() > AIGW_CLS_DEFAULT_APN / AIGW_CLS_BANKS)
    throw ClassifyError(
        fmt::format("classification rules use {} distinct APN values, more "
                    "than {}",
                    c.apn.size(), AIGW_CLS_DEFAULT_APN / AIGW_CLS_BANKS));
}

}  // namespace

CompiledClassifier compile_classifier(const Config& cfg, const ClsResolver& resolve) {
  const auto& rules = cfg.classification.rules;
  CompiledClassifier c;
  c.apn_opt_type = cfg.apn.option_type;
  c.apn_header =
      cfg.apn.header == ApnHeader::DestOpts ? AIGW_APN_HDR_DEST_OPTS : AIGW_APN_HDR_HOP_BY_HOP;
  c.app_group_bits = cfg.apn.app_group_bits;
  c.flows_on = cfg.flows.enabled;
  compile_default(cfg, c);

  if (rules.size() > AIGW_CLS_MAX_RULES)
    throw ClassifyError(fmt::format("{}: more than {} classification rules",
                                    where(rules[AIGW_CLS_MAX_RULES]), AIGW_CLS_MAX_RULES));

  // Precedence order: priority, then file order (stable).
  std::vector<uint32_t> order(rules.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return rules[a].priority < rules[b].priority; });

  const uint32_t n = static_cast<uint32_t>(rules.size());
  c.nrules = n;
  c.nwords = (n + 63) / 64;
  c.rule_of_bit = order;
  const Bits bits{c.nwords};

  compile_actions(cfg, resolve, order, c);
  compile_iface(cfg, resolve, order, bits, c);
  compile_proto_dscp(cfg, order, bits, c);
  compile_ports(cfg, order, bits, c);
  compile_addresses(cfg, order, bits, c);
  compile_apn(cfg, order, bits, c);
  return c;
}

namespace {

const ClsBitmap* lpm(const std::vector<ClsPrefixEntry>& v, bool v6,
                     const std::array<uint8_t, 16>& a) {
  const ClsPrefixEntry* best = nullptr;
  for (const auto& e : v) {
    if (e.prefix.v6 != v6) continue;
    bool in = true;
    for (int i = 0; i < 16 && in; i++) {
      int keep = std::clamp(int(e.prefix.len) - 8 * i, 0, 8);
      uint8_t m = static_cast<uint8_t>(0xff00 >> keep);
      in = (a[i] & m) == (e.prefix.b[i] & m);
    }
    if (in && (!best || e.prefix.len > best->prefix.len)) best = &e;
  }
  return best ? &best->bits : nullptr;
}

}  // namespace

aigw_cls_action classify_compiled(const CompiledClassifier& c, const ClsPacket& p) {
  if (c.nrules == 0) return c.dflt;
  ClsBitmap acc = c.iface.at(p.ifslot < c.iface.size() ? p.ifslot : 0);
  auto and_with = [&](const ClsBitmap& b) {
    for (size_t i = 0; i < acc.w.size(); i++) acc.w[i] &= b.w[i];
  };
  bool v6 = p.family == 6;
  const ClsBitmap* s = lpm(v6 ? c.src6 : c.src4, v6, p.src);
  const ClsBitmap* d = lpm(v6 ? c.dst6 : c.dst4, v6, p.dst);
  and_with(s ? *s : (v6 ? c.src6_none : c.src4_none));
  and_with(d ? *d : (v6 ? c.dst6_none : c.dst4_none));
  and_with(c.proto[p.proto]);
  and_with(c.dscp[p.dscp & 63]);
  if (p.has_ports) {
    and_with(c.port_bitmaps[c.sport[p.sport]]);
    and_with(c.port_bitmaps[c.dport[p.dport]]);
  } else {
    and_with(c.no_sport);
    and_with(c.no_dport);
  }
  if (p.apn_len == 0) {
    and_with(c.apn_none);
  } else {
    ClsBitmap any = c.apn_wild;
    for (size_t m = 0; m < c.apn_masks.size(); m++) {
      if (c.apn_mask_len[m] != p.apn_len) continue;
      auto key = apply_mask(p.apn, c.apn_masks[m], p.apn_len);
      for (const auto& e : c.apn)
        if (e.mask_idx == m && e.id == key) or_into(any, e.bits);
    }
    and_with(any);
  }
  for (size_t i = 0; i < acc.w.size(); i++)
    if (acc.w[i]) return c.actions[i * 64 + __builtin_ctzll(acc.w[i])];
  return c.dflt;
}

}  // namespace aigw
