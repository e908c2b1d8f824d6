// Pure encoding of a compiled classifier into the datapath's double-banked
// classification maps (include/aigw/abi.h, "Classification"): bank offsets
// of the array maps, the keys of the hash and LPM maps, cls_meta. No BPF
// here, so all of it is unit-tested (tests/unit/test_datapath_cls.cpp).
#pragma once

#include <aigw/abi.h>

#include <array>
#include <cstdint>

#include "common/net.hpp"
#include "policy/classifier.hpp"

namespace aigw::cls {

// Entries per bank of the array maps (the bank's entries start at bank * N).
inline constexpr uint32_t kRulesPerBank = AIGW_CLS_MAX_RULES;
inline constexpr uint32_t kIfacesPerBank = AIGW_MAX_IFACES;
inline constexpr uint32_t kProtosPerBank = 256;
inline constexpr uint32_t kDscpsPerBank = 64;
inline constexpr uint32_t kPortsPerBank = AIGW_CLS_PORTS;

// Ids of the aigw_cls_misc bitmaps that cls_meta names (the same in both
// banks; the key's bank field tells them apart).
enum MiscId : uint32_t {
  kMiscNoSport = 0,
  kMiscNoDport,
  kMiscApnNone,
  kMiscApnWild,
  kMiscSrc4None,
  kMiscDst4None,
  kMiscSrc6None,
  kMiscDst6None,
  kMiscCount
};

// Array-map index of entry `i` of a bank: bank * per_bank + i.
constexpr uint32_t array_index(uint32_t bank, uint32_t per_bank, uint32_t i) {
  return bank * per_bank + i;
}

aigw_cls_id_key id_key(uint32_t bank, uint32_t id);
// LPM keys: the bank (big-endian) forms the 32 leading bits.
aigw_cls_pfx4_key pfx4_key(uint32_t bank, const Prefix& p);
aigw_cls_pfx6_key pfx6_key(uint32_t bank, const Prefix& p);
aigw_cls_apn_key apn_key(uint32_t bank, const ClsApnEntry& e);
// The bank a hash/LPM key of these maps belongs to.
uint32_t bank_of_id_key(const void* key);   // aigw_cls_id_key, aigw_cls_apn_key
uint32_t bank_of_pfx_key(const void* key);  // aigw_cls_pfx4_key, aigw_cls_pfx6_key

// cls_meta of a bank holding `c` (bitmap ids = MiscId).
aigw_cls_meta encode_meta(const CompiledClassifier& c);
// The misc bitmaps in MiscId order.
std::array<const ClsBitmap*, kMiscCount> misc_bitmaps(const CompiledClassifier& c);

// Everything the datapath sees is equal (rule_of_bit, display only, ignored):
// reloads that leave classification alone must not rewrite the banks.
bool same_classifier(const CompiledClassifier& a, const CompiledClassifier& b);

}  // namespace aigw::cls
