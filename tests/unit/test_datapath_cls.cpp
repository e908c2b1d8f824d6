// Encoding of the compiled classifier into the double-banked datapath maps
// (agent/datapath/cls_encode.hpp): bank offsets, key byte layouts as
// include/aigw/abi.h describes them, cls_meta, and the "unchanged
// classifier" test that keeps reloads from flipping banks.
#include <catch2/catch.hpp>
#include <cstring>
#include <set>
#include <vector>

#include "datapath/cls_encode.hpp"

using namespace aigw;

namespace {

Prefix pfx(const char* s) { return std::get<Prefix>(Prefix::parse(s)); }

template <class T>
std::vector<uint8_t> raw(const T& v) {
  std::vector<uint8_t> b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}

uint32_t u32_at(const std::vector<uint8_t>& b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

Config base_config() {
  Config c;
  Tenant t;
  t.name = "acme";
  t.id = 7;
  c.tenants.push_back(t);
  ClassRule r;
  r.name = "train";
  r.src = {pfx("192.0.2.0/24")};
  r.dst = {pfx("2001:db8:2::/48")};
  r.protocol = 6;
  r.dport = PortRange{5000, 5010};
  r.tenant = "acme";
  r.service_class = "training";
  r.set_dscp = 10;
  c.classification.rules.push_back(r);
  ClassRule s;
  s.name = "storage";
  s.dst = {pfx("198.51.100.0/24")};
  s.service_class = "storage";
  c.classification.rules.push_back(s);
  return c;
}

CompiledClassifier compile(const Config& c) {
  ClsResolver r;
  r.iface_slot = [](const std::string&) -> std::optional<uint16_t> { return std::nullopt; };
  r.policy_slot = [](const std::string&) -> std::optional<uint32_t> { return std::nullopt; };
  return compile_classifier(c, r);
}

}  // namespace

TEST_CASE("array maps: bank b's entries start at b * per-bank size", "[datapath][cls]") {
  CHECK(cls::array_index(0, cls::kRulesPerBank, 5) == 5);
  CHECK(cls::array_index(1, cls::kRulesPerBank, 5) == AIGW_CLS_MAX_RULES + 5);
  CHECK(cls::array_index(1, cls::kIfacesPerBank, 0) == AIGW_MAX_IFACES);
  CHECK(cls::array_index(1, cls::kProtosPerBank, 255) == 511);
  CHECK(cls::array_index(1, cls::kDscpsPerBank, 63) == 127);
  CHECK(cls::array_index(1, cls::kPortsPerBank, 65535) == 131071);
}

TEST_CASE("LPM keys: prefix length counts the 32 bank bits, bank big-endian first",
          "[datapath][cls]") {
  auto k4 = raw(cls::pfx4_key(1, pfx("198.51.100.0/24")));
  REQUIRE(k4.size() == 12);
  CHECK(u32_at(k4, 0) == 32 + 24);
  CHECK(std::vector<uint8_t>(k4.begin() + 4, k4.begin() + 8) == std::vector<uint8_t>{0, 0, 0, 1});
  CHECK(std::vector<uint8_t>(k4.begin() + 8, k4.end()) == std::vector<uint8_t>{198, 51, 100, 0});
  CHECK(cls::bank_of_pfx_key(k4.data()) == 1);

  auto k6 = raw(cls::pfx6_key(0, pfx("2001:db8:2::/48")));
  REQUIRE(k6.size() == 24);
  CHECK(u32_at(k6, 0) == 32 + 48);
  CHECK(u32_at(k6, 4) == 0);
  CHECK(std::vector<uint8_t>(k6.begin() + 8, k6.begin() + 14) ==
        std::vector<uint8_t>{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02});
  CHECK(cls::bank_of_pfx_key(k6.data()) == 0);

  // The default route of a bank is still inside that bank only.
  auto d0 = raw(cls::pfx4_key(0, pfx("0.0.0.0/0")));
  auto d1 = raw(cls::pfx4_key(1, pfx("0.0.0.0/0")));
  CHECK(u32_at(d0, 0) == 32);
  CHECK(d0 != d1);
}

TEST_CASE("id and APN keys: bank first, host order", "[datapath][cls]") {
  auto k = raw(cls::id_key(1, 42));
  CHECK(u32_at(k, 0) == 1);
  CHECK(u32_at(k, 4) == 42);
  CHECK(cls::bank_of_id_key(k.data()) == 1);

  ClsApnEntry e;
  e.mask_idx = 3;
  e.id = {0, 0, 0, 10, 0, 0, 0, 1};
  auto a = raw(cls::apn_key(1, e));
  REQUIRE(a.size() == 24);
  CHECK(u32_at(a, 0) == 1);
  CHECK(u32_at(a, 4) == 3);
  CHECK(a[8 + 3] == 10);
  CHECK(a[8 + 7] == 1);
  CHECK(cls::bank_of_id_key(a.data()) == 1);
}

TEST_CASE("cls_meta carries counts, misc ids, defaults and settings", "[datapath][cls]") {
  Config cfg = base_config();
  cfg.apn.option_type = 0x3e;
  cfg.apn.header = ApnHeader::DestOpts;
  cfg.apn.app_group_bits = 16;
  cfg.flows.enabled = false;
  cfg.classification.default_class = "inference";
  CompiledClassifier c = compile(cfg);
  aigw_cls_meta m = cls::encode_meta(c);
  CHECK(m.nrules == 2);
  CHECK(m.nwords == 1);
  CHECK(m.apn_opt_type == 0x3e);
  CHECK(m.apn_header == AIGW_APN_HDR_DEST_OPTS);
  CHECK(m.app_group_bits == 16);
  CHECK(m.flows_on == 0);
  CHECK(m.dflt.rule_id == AIGW_CLS_NO_RULE);
  CHECK(m.dflt.cls == AIGW_CLASS_INFERENCE);
  CHECK(m.apn_nmasks == 0);

  // Every id cls_meta names is a distinct misc entry holding the right bitmap.
  auto misc = cls::misc_bitmaps(c);
  const std::pair<uint32_t, const ClsBitmap*> named[] = {
      {m.bv_no_sport, &c.no_sport},   {m.bv_no_dport, &c.no_dport},
      {m.bv_apn_none, &c.apn_none},   {m.bv_apn_wild, &c.apn_wild},
      {m.bv_src4_none, &c.src4_none}, {m.bv_dst4_none, &c.dst4_none},
      {m.bv_src6_none, &c.src6_none}, {m.bv_dst6_none, &c.dst6_none}};
  std::set<uint32_t> ids;
  for (auto [id, bm] : named) {
    REQUIRE(id < misc.size());
    CHECK(misc[id] == bm);
    ids.insert(id);
  }
  CHECK(ids.size() == std::size(named));
  // Rule 0 has a destination port, rule 1 has none: only rule 1 matches
  // packets without ports.
  CHECK(c.no_dport.w == std::vector<uint64_t>{0b10});
}

TEST_CASE("same_classifier: only what the datapath sees counts", "[datapath][cls]") {
  Config cfg = base_config();
  CompiledClassifier a = compile(cfg);
  CHECK(cls::same_classifier(a, compile(cfg)));

  Config renamed = cfg;  // names are display data: no bank flip for a rename
  renamed.classification.rules[0].name = "training-jobs";
  CHECK(cls::same_classifier(a, compile(renamed)));

  Config remark = cfg;
  remark.classification.rules[0].set_dscp = 12;
  CHECK_FALSE(cls::same_classifier(a, compile(remark)));

  Config ports = cfg;
  ports.classification.rules[0].dport = PortRange{5000, 5011};
  CHECK_FALSE(cls::same_classifier(a, compile(ports)));

  Config pfxs = cfg;
  pfxs.classification.rules[1].dst = {pfx("198.51.100.0/25")};
  CHECK_FALSE(cls::same_classifier(a, compile(pfxs)));

  Config flows = cfg;
  flows.flows.enabled = false;
  CHECK_FALSE(cls::same_classifier(a, compile(flows)));

  Config apn = cfg;
  apn.apn.app_group_bits = 8;
  CHECK_FALSE(cls::same_classifier(a, compile(apn)));

  Config order = cfg;  // precedence changes the bits
  order.classification.rules[1].priority = 1;
  CHECK_FALSE(cls::same_classifier(a, compile(order)));
}
