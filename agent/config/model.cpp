#include "config/model.hpp"

#include <fmt/format.h>

#include "config/behaviors.hpp"

namespace aigw {

const char* to_string(XdpMode m) { return m == XdpMode::Generic ? "generic" : "native"; }

const char* to_string(IfRole r) { return r == IfRole::Wan ? "wan" : "customer"; }

const char* to_string(EncapMode m) { return m == EncapMode::EncapRed ? "encap.red" : "encap"; }

const char* to_string(Behavior b) {
  // Row names are string literals: data() is NUL-terminated.
  const BehaviorDesc* d = find_behavior(b);
  return d ? d->name.data() : "unknown";
}

std::optional<Behavior> behavior_from_string(std::string_view s) {
  const BehaviorDesc* d = find_behavior(s);
  if (!d) return std::nullopt;
  return d->behavior();
}

std::optional<XdpMode> xdp_mode_from_string(std::string_view s) {
  if (s == "native") return XdpMode::Native;
  if (s == "generic") return XdpMode::Generic;
  return std::nullopt;
}

std::optional<IfRole> if_role_from_string(std::string_view s) {
  if (s == "customer") return IfRole::Customer;
  if (s == "wan") return IfRole::Wan;
  return std::nullopt;
}

std::optional<EncapMode> encap_mode_from_string(std::string_view s) {
  if (s == "encap") return EncapMode::Encap;
  if (s == "encap.red") return EncapMode::EncapRed;
  return std::nullopt;
}

const char* to_string(ApnHeader h) {
  return h == ApnHeader::DestOpts ? "destination" : "hop-by-hop";
}

const char* to_string(ApnTrust t) {
  switch (t) {
    case ApnTrust::Trust: return "trust";
    case ApnTrust::Strip: return "strip";
    case ApnTrust::Rewrite: break;
  }
  return "rewrite";
}

std::optional<ApnTrust> apn_trust_from_string(std::string_view s) {
  if (s == "trust") return ApnTrust::Trust;
  if (s == "rewrite") return ApnTrust::Rewrite;
  if (s == "strip") return ApnTrust::Strip;
  return std::nullopt;
}

std::optional<ApnHeader> apn_header_from_string(std::string_view s) {
  if (s == "hop-by-hop") return ApnHeader::HopByHop;
  if (s == "destination") return ApnHeader::DestOpts;
  return std::nullopt;
}

bool is_dt(Behavior b) {
  const BehaviorDesc* d = find_behavior(b);
  return d && d->takes(kSidAttrTable);
}

std::string interface_key(const Interface& i) {
  return i.vlan ? fmt::format("{} vlan {}", i.name, *i.vlan) : i.name;
}

std::string mss_to_string(uint16_t mss) {
  if (mss == kMssAuto) return "auto";
  if (mss == kMssOff) return "off";
  return std::to_string(mss);
}

const char* to_string(UsageFormat f) { return f == UsageFormat::Csv ? "csv" : "jsonl"; }

std::string apn_id_str(const ApnId& id) {
  if (id.len == 0) return "";
  std::string s = "0x";
  for (uint8_t i = 0; i < id.len && i < id.b.size(); i++) s += fmt::format("{:02x}", id.b[i]);
  return s;
}

std::string protocol_str(uint8_t p) {
  switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmpv6";
    case 132: return "sctp";
    default: return std::to_string(p);
  }
}

std::string port_range_str(const PortRange& r) {
  return r.lo == r.hi ? std::to_string(r.lo) : fmt::format("{}-{}", r.lo, r.hi);
}

std::string duration_str(uint32_t s) {
  if (s != 0 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s != 0 && s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

}  // namespace aigw
