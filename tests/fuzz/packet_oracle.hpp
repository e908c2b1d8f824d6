// The packet fuzzer's oracle for one output frame: what every frame the
// datapath sends on must satisfy, whatever came in.
//   IPv4: total length = the frame's L3 bytes, valid header checksum.
//   IPv6: payload length + 40 = the frame's L3 bytes; every extension
//         header (and the SRH) inside the payload; SRH self-consistent
//         (Hdr Ext Len holds Last Entry + 1 segments, SL <= Last Entry + 1)
//         when it is ours (srh_too, outer header only).
//   Encapsulated (inner_too): the inner packet passes the same checks and
//         fills the outer payload exactly.
//   ICMP errors sent from XDP (icmp_too): valid ICMP/ICMPv6 checksum.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fuzz_util.hpp"

namespace aigw::fuzz {

struct Finding {
  std::string check;   // the defect class, e.g. "ipv6.payload_length"
  std::string detail;  // what was seen
};

struct OracleScope {
  bool inner_too = false;  // encapsulated by us: check the inner packet as well
  bool icmp_too = false;   // a generated ICMP error: check its checksum
  // The outer SRH is one the datapath wrote or processed (encapsulation,
  // End/End.X): check it is self-consistent. The SRH of a customer's or a
  // decapsulated packet is the final destination's business (RFC 8754 4.3:
  // only the node in the destination address processes it).
  bool srh_too = false;
};

std::vector<Finding> check_frame(std::span<const uint8_t> frame, const OracleScope& scope);

// Whether the innermost packet's TCP/UDP/ICMP checksum is valid; nullopt
// when it cannot be told (fragment, no such header, inconsistent lengths).
std::optional<bool> innermost_l4_ok(std::span<const uint8_t> frame);

}  // namespace aigw::fuzz
