// SRv6 endpoint behaviours as rows (the pattern of the kernel's
// seg6_action_table in net/ipv6/seg6_local.c): one BehaviorDesc per
// behaviour says how it is spelled, which attributes of a SID entry it
// requires or accepts, any check of its own, and what it writes into the
// datapath's struct aigw_sid_entry. Config parsing and validation
// (parse_sids.cpp), serialisation (via to_string(Behavior)), aigwctl's
// `sid add` (parsing and help) and the map encoding (datapath/encode.cpp)
// all walk this table: a new behaviour is one row in behaviors.cpp plus its
// AIGW_BEH_* id and BPF function.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"

namespace aigw {

// Attributes of a SID entry besides `sid` and `behavior` (a bitmask).
enum SidAttr : uint32_t {
  kSidAttrTable = 1u << 0,      // `table`: routing table of the FIB lookup (default kDefaultTable)
  kSidAttrNexthop4 = 1u << 1,   // `nexthop`: an IPv4 next hop (aigw_sid_entry.nh4)
  kSidAttrNexthop6 = 1u << 2,   // `nexthop`: an IPv6 next hop (aigw_sid_entry.nh6)
  kSidAttrInterface = 1u << 3,  // `interface`: egress interface (aigw_sid_entry.oif)
};

// A problem a behaviour's own check finds: the offending key ("table",
// "nexthop", ...) and the message.
struct BehaviorIssue {
  std::string_view key;
  std::string message;
};

struct BehaviorDesc {
  std::string_view name;  // YAML, JSON and aigwctl spelling ("End.DT4")
  uint16_t abi;           // AIGW_BEH_*: aigw_sid_entry.behavior; also the Behavior value
  uint32_t required;      // SidAttr bits that must be given
  uint32_t optional;      // SidAttr bits that may be given (others are refused)
  // What a required interface is, for "required for End.X (...)" and the help.
  std::string_view interface_use;
  // A check beyond the attribute rules (nullptr: none), run on a SID whose
  // attributes passed them.
  std::optional<BehaviorIssue> (*check)(const Sid& s);

  Behavior behavior() const { return static_cast<Behavior>(abi); }
  bool takes(uint32_t attrs) const { return ((required | optional) & attrs) != 0; }
  bool needs(uint32_t attrs) const { return (required & attrs) != 0; }
  // The next hop family it takes: true IPv6, false IPv4, nullopt none.
  std::optional<bool> nexthop_v6() const;
};

// All behaviours, in the order of help texts and "one of" messages.
std::span<const BehaviorDesc> behaviors();

// By exact name; nullptr when unknown.
const BehaviorDesc* find_behavior(std::string_view name);
// By name ignoring ASCII case (aigwctl accepts "end.dt4"); nullptr when unknown.
const BehaviorDesc* find_behavior_nocase(std::string_view name);
// By model value; nullptr for a value no row has.
const BehaviorDesc* find_behavior(Behavior b);

// Names of all behaviours, in table order.
std::vector<std::string_view> behavior_names();
// Names of the behaviours that take any of `attrs` (required or optional);
// with `required_only`, of those that require one.
std::vector<std::string_view> behaviors_taking(uint32_t attrs, bool required_only = false);

}  // namespace aigw
