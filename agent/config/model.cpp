#include "config/model.hpp"

#include <fmt/format.h>

namespace aigw {

const char* to_string(XdpMode m) { return m == XdpMode::Generic ? "generic" : "native"; }

const char* to_string(IfRole r) { return r == IfRole::Wan ? "wan" : "customer"; }

const char* to_string(EncapMode m) { return m == EncapMode::EncapRed ? "encap.red" : "encap"; }

const char* to_string(Behavior b) {
  switch (b) {
    case Behavior::End:
      return "End";
    case Behavior::EndX:
      return "End.X";
    case Behavior::EndDX4:
      return "End.DX4";
    case Behavior::EndDX6:
      return "End.DX6";
    case Behavior::EndDT4:
      return "End.DT4";
    case Behavior::EndDT6:
      return "End.DT6";
    case Behavior::EndDT46:
      return "End.DT46";
  }
  return "unknown";
}

std::optional<Behavior> behavior_from_string(std::string_view s) {
  for (Behavior b : {Behavior::End, Behavior::EndX, Behavior::EndDX4, Behavior::EndDX6,
                     Behavior::EndDT4, Behavior::EndDT6, Behavior::EndDT46}) {
    if (s == to_string(b)) return b;
  }
  return std::nullopt;
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
  return b == Behavior::EndDT4 || b == Behavior::EndDT6 || b == Behavior::EndDT46;
}

std::string interface_key(const Interface& i) {
  return i.vlan ? fmt::format("{} vlan {}", i.name, *i.vlan) : i.name;
}

std::string mss_to_string(uint16_t mss) {
  if (mss == kMssAuto) return "auto";
  if (mss == kMssOff) return "off";
  return std::to_string(mss);
}

}  // namespace aigw
