// Classifier compiler (agent/policy/classifier.cpp): hand-written rule sets
// with known answers, the layout of the compiled form, limits, a randomized
// comparison against a linear first-match scan written here from the README
// semantics, and compile times.
#include <aigw/abi.h>
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "config/parse.hpp"
#include "policy/classifier.hpp"

using namespace aigw;

namespace {

Config parse_ok(const std::string& yaml) {
  auto r = parse_config(yaml, "t.yaml");
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&r)) {
    FAIL("unexpected errors:\n" << format_errors(*errs));
  }
  return std::get<Config>(r);
}

// Slots: interfaces in file order from 1; policies in file order from 1.
ClsResolver resolver(const Config& c) {
  ClsResolver r;
  r.iface_slot = [&c](const std::string& key) -> std::optional<uint16_t> {
    for (size_t i = 0; i < c.interfaces.size(); i++)
      if (interface_key(c.interfaces[i]) == key) return static_cast<uint16_t>(i + 1);
    return std::nullopt;
  };
  r.policy_slot = [&c](const std::string& name) -> std::optional<uint32_t> {
    for (size_t i = 0; i < c.policies.size(); i++)
      if (c.policies[i].name == name) return static_cast<uint32_t>(i + 1);
    return std::nullopt;
  };
  return r;
}

ClsPacket pkt(const char* src, const char* dst, uint8_t proto = 6, int sport = 1000, int dport = 80,
              uint16_t slot = 1) {
  ClsPacket p;
  p.ifslot = slot;
  auto s = *parse_ip(src), d = *parse_ip(dst);
  p.family = is_v6(s) ? 6 : 4;
  if (is_v6(s)) {
    p.src = std::get<Ip6>(s).b;
    p.dst = std::get<Ip6>(d).b;
  } else {
    std::copy_n(std::get<Ip4>(s).b.begin(), 4, p.src.begin());
    std::copy_n(std::get<Ip4>(d).b.begin(), 4, p.dst.begin());
  }
  p.proto = proto;
  p.has_ports = sport >= 0;
  p.sport = static_cast<uint16_t>(sport < 0 ? 0 : sport);
  p.dport = static_cast<uint16_t>(dport < 0 ? 0 : dport);
  return p;
}

// Name of the rule that decides, "" for the default.
std::string winner(const Config& c, const CompiledClassifier& cc, const ClsPacket& p) {
  auto a = classify_compiled(cc, p);
  if (a.rule_id == AIGW_CLS_NO_RULE) return "";
  return c.classification.rules.at(a.rule_id).name;
}

const char* kBase = R"(
interfaces:
  - {name: eth1, role: customer}
  - {name: eth1, role: customer, vlan: 10}
  - {name: eth2, role: wan}
policies:
  - name: p1
    prefixes: [203.0.113.0/24]
    source: fc00:a::1
    segments: [fc00:b::1]
tenants:
  - {name: acme, id: 7}
  - {name: globex, id: 8}
classes:
  - {name: gold, id: 9}
)";

}  // namespace

TEST_CASE("classifier: first match by priority, then file order", "[classifier]") {
  Config c = parse_ok(std::string(kBase) + R"(
classification:
  default: {tenant: globex, class: storage}
  rules:
    - name: late
      priority: 200
      match: {src: 192.0.2.0/24}
      set: {tenant: acme, class: gold}
    - name: tie-a
      match: {src: 192.0.2.0/25}
      set: {class: training}
    - name: tie-b
      match: {src: 192.0.2.0/26}
      set: {class: inference, dscp: 46, policy: p1, apn: "0x0000000100000002"}
    - name: first
      priority: 5
      match: {src: 192.0.2.200/32}
)");
  auto cc = compile_classifier(c, resolver(c));
  REQUIRE(cc.nrules == 4);
  REQUIRE(cc.nwords == 1);
  CHECK(cc.rule_of_bit == std::vector<uint32_t>{3, 1, 2, 0});
  // 192.0.2.1 is in tie-a and tie-b (same priority): file order decides.
  CHECK(winner(c, cc, pkt("192.0.2.1", "198.51.100.1")) == "tie-a");
  CHECK(winner(c, cc, pkt("192.0.2.130", "198.51.100.1")) == "late");
  CHECK(winner(c, cc, pkt("192.0.2.200", "198.51.100.1")) == "first");
  CHECK(winner(c, cc, pkt("192.0.3.1", "198.51.100.1")) == "");
  // Actions: unset fields come from the default.
  auto a = classify_compiled(cc, pkt("192.0.2.1", "198.51.100.1"));
  CHECK(a.tenant == 8);
  CHECK(a.cls == AIGW_CLASS_TRAINING);
  CHECK(a.flags == 0);
  auto late = classify_compiled(cc, pkt("192.0.2.150", "198.51.100.1"));
  CHECK(late.tenant == 7);
  CHECK(late.cls == 9);
  auto d = classify_compiled(cc, pkt("10.0.0.1", "198.51.100.1"));
  CHECK(d.rule_id == AIGW_CLS_NO_RULE);
  CHECK(d.tenant == 8);
  CHECK(d.cls == AIGW_CLASS_STORAGE);
  // tie-b is hidden behind tie-a for v4 addresses of its /26 - check its action via actions[].
  const aigw_cls_action& b = cc.actions[2];
  CHECK(b.rule_id == 2);
  CHECK(b.flags == (AIGW_ACT_F_REMARK | AIGW_ACT_F_POLICY | AIGW_ACT_F_APN));
  CHECK(b.dscp == 46);
  CHECK(b.policy_slot == 1);
  CHECK(b.apn_len == 8);
  CHECK(b.apn[3] == 1);
  CHECK(b.apn[7] == 2);
}

TEST_CASE("classifier: nested prefixes, families and the none bitmaps", "[classifier]") {
  Config c = parse_ok(std::string(kBase) + R"(
classification:
  rules:
    - name: host
      match: {dst: [198.51.100.7/32, "2001:db8:1::7/128"]}
    - name: net24
      match: {dst: 198.51.100.0/24, src: 192.0.2.0/24}
    - name: net16
      match: {dst: 198.51.0.0/16}
    - name: v6only
      match: {src: "2001:db8::/32"}
    - name: any
      match: {protocol: udp}
)");
  auto cc = compile_classifier(c, resolver(c));
  CHECK(winner(c, cc, pkt("192.0.2.9", "198.51.100.7")) == "host");
  CHECK(winner(c, cc, pkt("192.0.2.9", "198.51.100.8")) == "net24");
  CHECK(winner(c, cc, pkt("203.0.113.9", "198.51.100.8")) == "net16");  // src not in net24
  CHECK(winner(c, cc, pkt("203.0.113.9", "198.51.7.8")) == "net16");
  CHECK(winner(c, cc, pkt("203.0.113.9", "198.52.0.1")) == "");
  CHECK(winner(c, cc, pkt("203.0.113.9", "198.52.0.1", 17)) == "any");
  // IPv6: the IPv4-only rules never match; host's v6 prefix does.
  CHECK(winner(c, cc, pkt("2001:db8::1", "2001:db8:1::7")) == "host");
  CHECK(winner(c, cc, pkt("2001:db8::1", "2001:db8:1::8")) == "v6only");
  CHECK(winner(c, cc, pkt("2001:db9::1", "2001:db8:1::8")) == "");
  CHECK(winner(c, cc, pkt("2001:db9::1", "2001:db8:1::8", 17)) == "any");
  // v6only is not in the IPv4 source none bitmap, "any" is in all four.
  CHECK(cc.src4_none.w[0] == 0b10101);
  CHECK(cc.src6_none.w[0] == 0b10101);
  CHECK(cc.dst4_none.w[0] == 0b11000);
  CHECK(cc.dst6_none.w[0] == 0b11000);
  // The /32 entry includes its ancestors' rules.
  bool found = false;
  for (const auto& e : cc.dst4)
    if (e.prefix.str() == "198.51.100.7/32") {
      found = true;
      CHECK(e.bits.w[0] == 0b11111);  // host, net24, net16 + the dst wildcards v6only, any
    }
  CHECK(found);
}

TEST_CASE("classifier: port range edges, packets without ports", "[classifier]") {
  Config c = parse_ok(std::string(kBase) + R"(
classification:
  rules:
    - name: low
      match: {protocol: tcp, dport: "1000-1999"}
    - name: mid
      match: {dport: "1500-2500", sport: 53}
    - name: one
      match: {protocol: udp, dport: 2501}
    - name: noports
      match: {src: 192.0.2.0/24}
)");
  auto cc = compile_classifier(c, resolver(c));
  auto w = [&](uint8_t proto, int sport, int dport) {
    return winner(c, cc, pkt("192.0.2.1", "198.51.100.1", proto, sport, dport));
  };
  CHECK(w(6, 1, 999) == "noports");
  CHECK(w(6, 1, 1000) == "low");
  CHECK(w(6, 1, 1999) == "low");
  CHECK(w(6, 1, 2000) == "noports");
  CHECK(w(6, 53, 2000) == "mid");
  CHECK(w(17, 53, 1999) == "mid");  // low is tcp only
  CHECK(w(17, 53, 2500) == "mid");
  CHECK(w(17, 53, 2501) == "one");
  CHECK(w(6, 53, 2501) == "noports");
  CHECK(w(17, 54, 1500) == "noports");
  // ICMP (no ports): rules with port conditions never match.
  CHECK(w(1, -1, -1) == "noports");
  CHECK(winner(c, cc, pkt("10.0.0.1", "198.51.100.1", 6, -1, -1)) == "");
  // Identical interval bitmaps are stored once; every port maps to one.
  for (auto idx : {cc.sport[0], cc.sport[65535], cc.dport[0], cc.dport[65535]})
    CHECK(idx < cc.port_bitmaps.size());
  CHECK(cc.dport[999] == cc.dport[2502]);
  CHECK(cc.sport[0] == cc.sport[54]);
  CHECK(cc.sport[0] != cc.sport[53]);
  CHECK(cc.no_sport.w[0] == 0b1101);
  CHECK(cc.no_dport.w[0] == 0b1000);
}

TEST_CASE("classifier: interfaces, DSCP, APN masks", "[classifier]") {
  Config c = parse_ok(std::string(kBase) + R"(
apn: {id_bits: 64, app_group_bits: 16, user_group_bits: 16}
classification:
  rules:
    - name: vlan
      match: {interface: eth1 vlan 10, dscp: 10}
    - name: app5
      match: {apn: {value: "5:0", mask: "0xffff:0"}}
    - name: app5-user9
      priority: 50
      match: {apn: "5:9"}
    - name: short
      match: {apn: {value: "0x00050000", mask: "0xffff0000"}}
    - name: untagged
      match: {interface: eth1}
)");
  auto cc = compile_classifier(c, resolver(c));
  CHECK(cc.apn_masks.size() == 3);
  auto p = pkt("192.0.2.1", "198.51.100.1");
  p.ifslot = 2;
  p.dscp = 10;
  CHECK(winner(c, cc, p) == "vlan");
  p.dscp = 11;
  CHECK(winner(c, cc, p) == "");
  p.ifslot = 1;
  CHECK(winner(c, cc, p) == "untagged");
  p.ifslot = 0;
  CHECK(winner(c, cc, p) == "");
  // 64-bit IDs: 5:9 exact beats 5:* on priority.
  p.apn_len = 8;
  p.apn = {0, 5, 0, 9, 0, 0, 0, 0};
  CHECK(winner(c, cc, p) == "app5-user9");
  p.apn[3] = 8;
  CHECK(winner(c, cc, p) == "app5");
  p.apn[1] = 6;
  CHECK(winner(c, cc, p) == "");
  // A 32-bit ID only meets the 32-bit mask.
  p.apn_len = 4;
  p.apn = {0, 5, 0, 9};
  CHECK(winner(c, cc, p) == "short");
}

TEST_CASE("classifier: empty rule set and limits", "[classifier]") {
  Config c = parse_ok(std::string(kBase) + "classification: {default: {class: gold}}\n");
  auto cc = compile_classifier(c, resolver(c));
  CHECK(cc.nrules == 0);
  CHECK(cc.nwords == 0);
  CHECK(classify_compiled(cc, pkt("192.0.2.1", "198.51.100.1")).cls == 9);

  SECTION("too many rules") {
    c.classification.rules.resize(AIGW_CLS_MAX_RULES + 1);
    for (size_t i = 0; i < c.classification.rules.size(); i++)
      c.classification.rules[i].name = fmt::format("r{}", i);
    REQUIRE_THROWS_AS(compile_classifier(c, resolver(c)), ClassifyError);
    try {
      compile_classifier(c, resolver(c));
    } catch (const ClassifyError& e) {
      CHECK_THAT(e.what(), Catch::Contains("r16384"));
    }
    c.classification.rules.resize(AIGW_CLS_MAX_RULES);
    auto full = compile_classifier(c, resolver(c));
    CHECK(full.nwords == AIGW_CLS_WORDS);
    CHECK(full.iface[0].to_abi().agg[AIGW_CLS_AGG_WORDS - 1] == ~uint64_t{0});
  }
  SECTION("too many APN masks") {
    for (int i = 0; i <= AIGW_APN_MAX_MASKS; i++) {
      ClassRule r;
      r.name = fmt::format("m{}", i);
      ApnMatch m;
      m.value.len = m.mask.len = 4;
      m.mask.b[0] = static_cast<uint8_t>(0x80 | i);
      r.apn = m;
      c.classification.rules.push_back(r);
    }
    CHECK_THROWS_WITH(compile_classifier(c, resolver(c)), Catch::Contains("m8"));
  }
  SECTION("map capacities (one bank = half of datapath.map_sizes)") {
    c.datapath.map_sizes.class_prefixes = 4;
    c.datapath.map_sizes.class_port_bitmaps = 4;
    for (int i = 0; i < 2; i++) {
      ClassRule r;
      r.name = fmt::format("p{}", i);
      r.src = {std::get<Prefix>(Prefix::parse(fmt::format("192.0.2.{}/32", i)))};
      c.classification.rules.push_back(r);
    }
    CHECK_NOTHROW(compile_classifier(c, resolver(c)));
    c.classification.rules[1].src.push_back(std::get<Prefix>(Prefix::parse("192.0.2.9/32")));
    CHECK_THROWS_WITH(compile_classifier(c, resolver(c)),
                      Catch::Contains("3 distinct IPv4 source prefixes, more than 2"));
    c.classification.rules[1].src.pop_back();
    c.classification.rules[0].dport = PortRange{10, 20};
    c.classification.rules[1].dport = PortRange{15, 30};
    CHECK_THROWS_WITH(compile_classifier(c, resolver(c)), Catch::Contains("port bitmaps"));
  }
  SECTION("unknown policy at compile time") {
    ClassRule r;
    r.name = "x";
    r.policy = "nope";
    c.classification.rules.push_back(r);
    CHECK_THROWS_WITH(compile_classifier(c, resolver(c)), Catch::Contains("nope"));
  }
  SECTION("to_abi sets agg for non-zero words only") {
    ClsBitmap b{std::vector<uint64_t>(70, 0)};
    b.w[3] = 1;
    b.w[65] = 4;
    auto a = b.to_abi();
    CHECK(a.agg[0] == (uint64_t{1} << 3));
    CHECK(a.agg[1] == (uint64_t{1} << 1));
    CHECK(a.w[65] == 4);
  }
}

// ---------------------------------------------------------------- randomized

namespace {

// Linear first-match scan over the rules in precedence order, from the
// README's semantics (never looks at the compiled form).
uint32_t reference(const Config& c, const ClsResolver& res, const ClsPacket& p) {
  std::vector<uint32_t> order(c.classification.rules.size());
  for (uint32_t i = 0; i < order.size(); i++) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return c.classification.rules[a].priority < c.classification.rules[b].priority;
  });
  auto in = [&](const std::vector<Prefix>& v, const std::array<uint8_t, 16>& a) {
    if (v.empty()) return true;
    for (const auto& pf : v) {
      if (pf.v6 != (p.family == 6)) continue;
      IpAddr ad;
      if (pf.v6) {
        Ip6 x;
        x.b = a;
        ad = x;
      } else {
        Ip4 x;
        std::copy_n(a.begin(), 4, x.b.begin());
        ad = x;
      }
      if (pf.contains(ad)) return true;
    }
    return false;
  };
  for (uint32_t i : order) {
    const ClassRule& r = c.classification.rules[i];
    if (r.interface && res.iface_slot(*r.interface) != std::optional<uint16_t>(p.ifslot)) continue;
    if (!in(r.src, p.src) || !in(r.dst, p.dst)) continue;
    if (r.protocol && *r.protocol != p.proto) continue;
    if ((r.sport || r.dport) && !p.has_ports) continue;
    if (r.sport && (p.sport < r.sport->lo || p.sport > r.sport->hi)) continue;
    if (r.dport && (p.dport < r.dport->lo || p.dport > r.dport->hi)) continue;
    if (r.dscp && *r.dscp != p.dscp) continue;
    if (r.apn) {
      if (p.apn_len != r.apn->value.len) continue;
      bool ok = true;
      for (int k = 0; k < p.apn_len; k++)
        ok &= (p.apn[k] & r.apn->mask.b[k]) == (r.apn->value.b[k] & r.apn->mask.b[k]);
      if (!ok) continue;
    }
    return i;
  }
  return AIGW_CLS_NO_RULE;
}

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(uint64_t seed) : rng(seed) {}
  uint64_t u(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); }
  bool coin(int pct) { return u(100) < static_cast<uint64_t>(pct); }

  // Addresses come from a small pool so prefixes nest and packets hit them.
  std::array<uint8_t, 16> addr(bool v6) {
    std::array<uint8_t, 16> a{};
    if (v6) {
      a = {0x20, 0x01, 0x0d, 0xb8};
      a[4] = static_cast<uint8_t>(u(3));
      a[15] = static_cast<uint8_t>(u(8));
    } else {
      a = {192, 0, 2, static_cast<uint8_t>(u(16) * 16 + u(2))};
      if (coin(30)) a[2] = static_cast<uint8_t>(u(3));
    }
    return a;
  }
  Prefix prefix(bool v6) {
    auto a = addr(v6);
    uint8_t len = v6 ? static_cast<uint8_t>(u(129)) : static_cast<uint8_t>(u(33));
    if (v6) {
      Ip6 x;
      x.b = a;
      return Prefix::masked(x, len);
    }
    Ip4 x;
    std::copy_n(a.begin(), 4, x.b.begin());
    return Prefix::masked(x, len);
  }
  PortRange ports() {
    uint16_t lo = static_cast<uint16_t>(u(40) * 25), hi = static_cast<uint16_t>(lo + u(100));
    if (coin(10)) hi = lo;
    return {lo, hi};
  }
};

Config random_config(Gen& g, size_t nrules) {
  Config c;
  for (const char* n : {"eth1", "eth2"}) {
    Interface i;
    i.name = n;
    c.interfaces.push_back(i);
  }
  c.interfaces.push_back(c.interfaces[0]);
  c.interfaces.back().vlan = 10;
  const char* ifk[] = {"eth1", "eth2", "eth1 vlan 10"};
  for (size_t i = 0; i < nrules; i++) {
    ClassRule r;
    r.name = fmt::format("r{}", i);
    r.priority = static_cast<uint32_t>(g.u(5) * 10);
    if (g.coin(20)) r.interface = ifk[g.u(3)];
    for (auto* v : {&r.src, &r.dst}) {
      if (g.coin(40)) continue;
      size_t n = 1 + g.u(2);
      for (size_t k = 0; k < n; k++) v->push_back(g.prefix(g.coin(40)));
    }
    if (g.coin(50)) r.protocol = std::array<uint8_t, 4>{6, 17, 1, 132}[g.u(4)];
    bool ports_ok = !r.protocol || *r.protocol != 1;
    if (ports_ok && g.coin(30)) r.sport = g.ports();
    if (ports_ok && g.coin(40)) r.dport = g.ports();
    if (g.coin(15)) r.dscp = static_cast<uint8_t>(g.u(4));
    if (g.coin(15)) {
      ApnMatch m;
      m.value.len = m.mask.len = g.coin(80) ? 8 : 4;
      m.value.b[1] = static_cast<uint8_t>(g.u(3));
      m.value.b[3] = static_cast<uint8_t>(g.u(3));
      static const uint8_t masks[3][8] = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                                          {0xff, 0xff, 0, 0, 0, 0, 0, 0},
                                          {0xff, 0xfe, 0xff, 0xff, 0, 0, 0, 0}};
      std::copy_n(masks[g.u(3)], m.value.len, m.mask.b.begin());
      r.apn = m;
    }
    c.classification.rules.push_back(r);
  }
  return c;
}

ClsPacket random_packet(Gen& g) {
  ClsPacket p;
  p.ifslot = static_cast<uint16_t>(g.u(4));
  p.family = g.coin(40) ? 6 : 4;
  p.src = g.addr(p.family == 6);
  p.dst = g.addr(p.family == 6);
  p.proto = std::array<uint8_t, 5>{6, 17, 1, 132, 47}[g.u(5)];
  p.has_ports = p.proto != 1 && p.proto != 47 && g.coin(95);
  if (p.has_ports) {
    p.sport = static_cast<uint16_t>(g.u(40) * 25 + g.u(3) - 1 + g.u(2) * 100);
    p.dport = static_cast<uint16_t>(g.u(40) * 25 + g.u(3) - 1 + g.u(2) * 100);
  }
  p.dscp = static_cast<uint8_t>(g.u(5));
  if (g.coin(60)) {
    p.apn_len = g.coin(80) ? 8 : 4;
    p.apn[1] = static_cast<uint8_t>(g.u(3));
    p.apn[3] = static_cast<uint8_t>(g.u(3));
    p.apn[2] = static_cast<uint8_t>(g.u(2));
  }
  return p;
}

}  // namespace

TEST_CASE("classifier: compiled form agrees with a linear scan on random rule sets",
          "[classifier]") {
  for (uint64_t seed : {1, 2, 3, 4, 5, 6}) {
    Gen g(seed);
    size_t n = std::array<size_t, 6>{1, 5, 40, 200, 700, 1500}[seed - 1];
    Config c = random_config(g, n);
    auto res = resolver(c);
    auto cc = compile_classifier(c, res);
    size_t matched = 0;
    for (int i = 0; i < 4000; i++) {
      ClsPacket p = random_packet(g);
      uint32_t want = reference(c, res, p);
      auto got = classify_compiled(cc, p);
      if (got.rule_id != want) {
        FAIL(fmt::format("seed {} packet {}: compiled says rule {}, the linear scan {}", seed, i,
                         got.rule_id, want));
      }
      matched += want != AIGW_CLS_NO_RULE;
    }
    INFO("seed " << seed << " rules " << n << " matched " << matched);
    CHECK(matched > (n > 5 ? 400u : 0u));  // the generator hits rules, not just the default
  }
}

TEST_CASE("classifier: compile time", "[classifier][time]") {
  for (size_t n : {10, 1000, 10000}) {
    Gen g(42);
    Config c = random_config(g, n);
    auto t0 = std::chrono::steady_clock::now();
    auto cc = compile_classifier(c, resolver(c));
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    WARN(
        fmt::format("compile_classifier: {} rules in {:.1f} ms ({} port bitmaps, {}+{} v4 "
                    "prefixes)",
                    n, ms, cc.port_bitmaps.size(), cc.src4.size(), cc.dst4.size()));
    CHECK(cc.nrules == n);
    CHECK(ms < 2000);  // target well under 1 s; generous for a loaded CI machine
  }
  // Every rule with its own IPv4 and IPv6 prefixes and port ranges.
  Config c;
  for (uint32_t i = 0; i < 10000; i++) {
    ClassRule r;
    r.name = fmt::format("r{}", i);
    Ip4 a{{10, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 0}};
    Ip6 b;
    b.b = {0x20, 0x01, 0x0d, 0xb8, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    r.src = {Prefix::masked(a, static_cast<uint8_t>(24 + i % 9)), Prefix::masked(b, 48)};
    r.dst = {Prefix::masked(a, static_cast<uint8_t>(8 + i % 17)), Prefix::masked(b, 64)};
    r.sport = PortRange{static_cast<uint16_t>(i * 3), static_cast<uint16_t>(i * 3 + 5)};
    r.dport = PortRange{static_cast<uint16_t>(i * 6), static_cast<uint16_t>(i * 6 + 100)};
    c.classification.rules.push_back(r);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto cc = compile_classifier(c, resolver(c));
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  WARN(
      fmt::format("compile_classifier: 10000 distinct-prefix rules in {:.1f} ms ({} port "
                  "bitmaps, {} src4 / {} src6 prefixes)",
                  ms, cc.port_bitmaps.size(), cc.src4.size(), cc.src6.size()));
  CHECK(ms < 2000);
}
