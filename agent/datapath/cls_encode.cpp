#include "datapath/cls_encode.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace aigw::cls {

aigw_cls_id_key id_key(uint32_t bank, uint32_t id) {
  aigw_cls_id_key k{};
  k.bank = bank;
  k.id = id;
  return k;
}

aigw_cls_pfx4_key pfx4_key(uint32_t bank, const Prefix& p) {
  aigw_cls_pfx4_key k{};
  k.prefixlen = 32 + std::min<uint32_t>(p.len, 32);
  k.bank_be = htonl(bank);
  std::memcpy(k.addr, p.b.data(), sizeof k.addr);
  return k;
}

aigw_cls_pfx6_key pfx6_key(uint32_t bank, const Prefix& p) {
  aigw_cls_pfx6_key k{};
  k.prefixlen = 32 + std::min<uint32_t>(p.len, 128);
  k.bank_be = htonl(bank);
  std::memcpy(k.addr, p.b.data(), sizeof k.addr);
  return k;
}

aigw_cls_apn_key apn_key(uint32_t bank, const ClsApnEntry& e) {
  aigw_cls_apn_key k{};
  k.bank = bank;
  k.mask_idx = e.mask_idx;
  std::memcpy(k.id, e.id.data(), sizeof k.id);
  return k;
}

uint32_t bank_of_id_key(const void* key) {
  uint32_t bank;  // first field of both aigw_cls_id_key and aigw_cls_apn_key
  std::memcpy(&bank, key, sizeof bank);
  return bank;
}

uint32_t bank_of_pfx_key(const void* key) {
  uint32_t be;  // after prefixlen in both LPM key types
  std::memcpy(&be, static_cast<const uint8_t*>(key) + sizeof(uint32_t), sizeof be);
  return ntohl(be);
}

aigw_cls_meta encode_meta(const CompiledClassifier& c) {
  aigw_cls_meta m{};
  m.nrules = c.nrules;
  m.nwords = c.nwords;
  m.bv_no_sport = kMiscNoSport;
  m.bv_no_dport = kMiscNoDport;
  m.bv_apn_none = kMiscApnNone;
  m.bv_apn_wild = kMiscApnWild;
  m.bv_src4_none = kMiscSrc4None;
  m.bv_dst4_none = kMiscDst4None;
  m.bv_src6_none = kMiscSrc6None;
  m.bv_dst6_none = kMiscDst6None;
  m.apn_opt_type = c.apn_opt_type;
  m.apn_header = c.apn_header;
  m.app_group_bits = c.app_group_bits;
  m.apn_nmasks = static_cast<uint8_t>(std::min<size_t>(c.apn_masks.size(), AIGW_APN_MAX_MASKS));
  m.flows_on = c.flows_on ? 1 : 0;
  m.dflt = c.dflt;
  for (size_t i = 0; i < m.apn_nmasks; ++i) {
    std::memcpy(m.apn_masks[i], c.apn_masks[i].data(), AIGW_APN_MAX_ID_LEN);
    m.apn_mask_len[i] = i < c.apn_mask_len.size() ? c.apn_mask_len[i] : 0;
  }
  return m;
}

std::array<const ClsBitmap*, kMiscCount> misc_bitmaps(const CompiledClassifier& c) {
  return {&c.no_sport,  &c.no_dport,  &c.apn_none,  &c.apn_wild,
          &c.src4_none, &c.dst4_none, &c.src6_none, &c.dst6_none};
}

namespace {

bool same_action(const aigw_cls_action& a, const aigw_cls_action& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool same_prefixes(const std::vector<ClsPrefixEntry>& a, const std::vector<ClsPrefixEntry>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.prefix == y.prefix && x.bits == y.bits;
  });
}

}  // namespace

bool same_classifier(const CompiledClassifier& a, const CompiledClassifier& b) {
  return a.nrules == b.nrules && a.nwords == b.nwords &&
         std::equal(a.actions.begin(), a.actions.end(), b.actions.begin(), b.actions.end(),
                    same_action) &&
         same_action(a.dflt, b.dflt) && a.iface == b.iface && a.proto == b.proto &&
         a.dscp == b.dscp && a.sport == b.sport && a.dport == b.dport &&
         a.port_bitmaps == b.port_bitmaps && a.no_sport == b.no_sport && a.no_dport == b.no_dport &&
         same_prefixes(a.src4, b.src4) && same_prefixes(a.dst4, b.dst4) &&
         same_prefixes(a.src6, b.src6) && same_prefixes(a.dst6, b.dst6) &&
         a.src4_none == b.src4_none && a.dst4_none == b.dst4_none && a.src6_none == b.src6_none &&
         a.dst6_none == b.dst6_none && a.apn_masks == b.apn_masks &&
         a.apn_mask_len == b.apn_mask_len &&
         std::equal(a.apn.begin(), a.apn.end(), b.apn.begin(), b.apn.end(),
                    [](const auto& x, const auto& y) {
                      return x.mask_idx == y.mask_idx && x.id == y.id && x.bits == y.bits;
                    }) &&
         a.apn_none == b.apn_none && a.apn_wild == b.apn_wild && a.apn_opt_type == b.apn_opt_type &&
         a.apn_header == b.apn_header && a.app_group_bits == b.app_group_bits &&
         a.flows_on == b.flows_on;
}

}  // namespace aigw::cls
