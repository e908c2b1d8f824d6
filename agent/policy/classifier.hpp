// Classification: compiles the configured rules into the aggregated bit
// vectors the datapath looks up (include/aigw/abi.h, "Classification"), and
// evaluates them in software the way the datapath does (for tests and
// `aigwctl`). The plain reference classifier the differential test compares
// against lives in tests/, independent of this code.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <aigw/abi.h>

#include "config/model.hpp"

namespace aigw {

// One bitmap: bit i = rule i (in precedence order). words.size() == nwords.
struct ClsBitmap {
  std::vector<uint64_t> w;
  bool operator==(const ClsBitmap&) const = default;
  // The datapath form (agg filled from w, unused words zero).
  aigw_cls_bitmap to_abi() const;
};

struct ClsPrefixEntry {
  Prefix prefix;   // IPv4 or IPv6
  ClsBitmap bits;  // rules whose prefix for this field contains `prefix`
};

struct ClsApnEntry {
  uint32_t mask_idx = 0;
  std::array<uint8_t, 16> id{};  // value & mask, zero-filled past the mask's length
  ClsBitmap bits;
};

// Everything one bank of the datapath's classification maps holds.
struct CompiledClassifier {
  // One bit per rule: several prefixes (or both families) in a field are a
  // disjunction inside that field's bitmaps, so no rule is split in bits.
  uint32_t nrules = 0;
  uint32_t nwords = 0;
  std::vector<aigw_cls_action> actions;  // by bit
  aigw_cls_action dflt{};
  // Interface slots 0..AIGW_MAX_IFACES-1 (slot 0 = unconfigured / unknown).
  std::vector<ClsBitmap> iface;   // size AIGW_MAX_IFACES
  std::vector<ClsBitmap> proto;   // size 256
  std::vector<ClsBitmap> dscp;    // size 64
  // Ports: value -> index into port_bitmaps (both fields share the store).
  std::vector<uint32_t> sport;    // size 65536
  std::vector<uint32_t> dport;    // size 65536
  std::vector<ClsBitmap> port_bitmaps;
  ClsBitmap no_sport, no_dport;   // packets without ports
  std::vector<ClsPrefixEntry> src4, dst4, src6, dst6;
  ClsBitmap src4_none, dst4_none, src6_none, dst6_none;  // nothing in the LPM matched
  std::vector<std::array<uint8_t, 16>> apn_masks;  // distinct masks (<= AIGW_APN_MAX_MASKS)
  std::vector<uint8_t> apn_mask_len;               // ID length each mask applies to
  std::vector<ClsApnEntry> apn;
  ClsBitmap apn_none, apn_wild;
  // Settings carried in cls_meta.
  uint8_t apn_opt_type = 0x13;
  uint8_t apn_header = AIGW_APN_HDR_HOP_BY_HOP;
  uint8_t app_group_bits = 32;
  bool flows_on = true;
  // For display: bit -> index of the rule in Config::classification.rules.
  std::vector<uint32_t> rule_of_bit;
};

// A packet as classification sees it, already in customer orientation
// (WAN->customer packets swapped by the caller).
struct ClsPacket {
  uint16_t ifslot = 0;
  uint8_t family = 4;               // 4 or 6
  std::array<uint8_t, 16> src{}, dst{};  // left-aligned
  uint8_t proto = 0;
  bool has_ports = false;
  uint16_t sport = 0, dport = 0;    // host order
  uint8_t dscp = 0;
  uint8_t apn_len = 0;              // 0 = no APN ID
  std::array<uint8_t, 16> apn{};
};

struct ClassifyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Resolves names to datapath slots at compile time.
struct ClsResolver {
  std::function<std::optional<uint16_t>(const std::string& interface_key)> iface_slot;
  std::function<std::optional<uint32_t>(const std::string& policy)> policy_slot;
};

// Rule ids in aigw_cls_action.rule_id are the rule's index in
// Config::classification.rules (0-based); AIGW_CLS_NO_RULE for the default.
// Throws ClassifyError (with the rule's line) when the rules do not fit
// (more than AIGW_CLS_MAX_RULES after expansion, too many APN masks...).
CompiledClassifier compile_classifier(const Config& cfg, const ClsResolver& resolve);

// Evaluate the compiled form exactly as bpf/lib/classify.h does.
aigw_cls_action classify_compiled(const CompiledClassifier& c, const ClsPacket& p);

// Id of a service class name (built-in or user-defined), if known.
std::optional<uint8_t> class_id(const Config& cfg, const std::string& name);
// Name of a class id for display ("class-N" if unknown).
std::string class_name(const Config& cfg, uint8_t id);
// Tenant id of a name (0 = "unclassified"); name of an id for display.
std::optional<uint16_t> tenant_id(const Config& cfg, const std::string& name);
std::string tenant_name(const Config& cfg, uint16_t id);

}  // namespace aigw
