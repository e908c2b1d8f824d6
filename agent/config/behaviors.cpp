// The SRv6 behaviour table (see behaviors.hpp).
#include "config/behaviors.hpp"

#include <aigw/abi.h>

#include <algorithm>
#include <cctype>
#include <iterator>

namespace aigw {

namespace {

constexpr uint32_t kNone = 0;

// One row per behaviour (RFC 8986 section 4). Columns: name, AIGW_BEH_* id,
// required attributes, optional attributes, what a required interface is,
// own check. The flags the endpoint dispatches on are in abi.h's row.
constexpr BehaviorDesc kBehaviors[] = {
    {"End", AIGW_BEH_END, kNone, kNone, {}, nullptr},
    {"End.X", AIGW_BEH_END_X, kSidAttrNexthop6 | kSidAttrInterface, kNone,
     "the adjacency's interface", nullptr},
    {"End.DX4", AIGW_BEH_END_DX4, kSidAttrNexthop4, kSidAttrInterface, {}, nullptr},
    {"End.DX6", AIGW_BEH_END_DX6, kSidAttrNexthop6, kSidAttrInterface, {}, nullptr},
    {"End.DT4", AIGW_BEH_END_DT4, kNone, kSidAttrTable, {}, nullptr},
    {"End.DT6", AIGW_BEH_END_DT6, kNone, kSidAttrTable, {}, nullptr},
    {"End.DT46", AIGW_BEH_END_DT46, kNone, kSidAttrTable, {}, nullptr},
};

// The named Behavior values of model.hpp are the ABI ids.
static_assert(static_cast<uint16_t>(Behavior::End) == AIGW_BEH_END);
static_assert(static_cast<uint16_t>(Behavior::EndX) == AIGW_BEH_END_X);
static_assert(static_cast<uint16_t>(Behavior::EndDX4) == AIGW_BEH_END_DX4);
static_assert(static_cast<uint16_t>(Behavior::EndDX6) == AIGW_BEH_END_DX6);
static_assert(static_cast<uint16_t>(Behavior::EndDT4) == AIGW_BEH_END_DT4);
static_assert(static_cast<uint16_t>(Behavior::EndDT6) == AIGW_BEH_END_DT6);
static_assert(static_cast<uint16_t>(Behavior::EndDT46) == AIGW_BEH_END_DT46);
static_assert(std::size(kBehaviors) == AIGW_BEH_MAX - 1, "one row per AIGW_BEH_* behaviour");

bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<bool> BehaviorDesc::nexthop_v6() const {
  if (takes(kSidAttrNexthop6)) return true;
  if (takes(kSidAttrNexthop4)) return false;
  return std::nullopt;
}

std::span<const BehaviorDesc> behaviors() { return kBehaviors; }

const BehaviorDesc* find_behavior(std::string_view name) {
  for (const auto& d : kBehaviors)
    if (d.name == name) return &d;
  return nullptr;
}

const BehaviorDesc* find_behavior_nocase(std::string_view name) {
  for (const auto& d : kBehaviors)
    if (equal_nocase(d.name, name)) return &d;
  return nullptr;
}

const BehaviorDesc* find_behavior(Behavior b) {
  for (const auto& d : kBehaviors)
    if (d.behavior() == b) return &d;
  return nullptr;
}

std::vector<std::string_view> behavior_names() {
  std::vector<std::string_view> out;
  for (const auto& d : kBehaviors) out.push_back(d.name);
  return out;
}

std::vector<std::string_view> behaviors_taking(uint32_t attrs, bool required_only) {
  std::vector<std::string_view> out;
  for (const auto& d : kBehaviors)
    if (required_only ? d.needs(attrs) : d.takes(attrs)) out.push_back(d.name);
  return out;
}

}  // namespace aigw
