// Encoding of configuration objects into datapath map values.
#include "datapath/encode.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "config/behaviors.hpp"

namespace aigw {

aigw_policy encode_policy(const Policy& p, const DatapathSettings& dp, uint32_t id) {
  const size_t n = p.segments.size();
  if (n == 0 || n > AIGW_MAX_SIDS)
    throw std::invalid_argument("policy " + p.name + ": segment count out of range");

  // H.Encaps lists every SID in the SRH; H.Encaps.Red leaves the first SID
  // only in the destination address (and needs no SRH for a single SID).
  const bool reduced = p.mode == EncapMode::EncapRed;
  const size_t listed = reduced ? n - 1 : n;
  const bool has_srh = listed > 0;
  const size_t srh_len = has_srh ? AIGW_SRH_FIXED_LEN + AIGW_SID_LEN * listed : 0;

  aigw_policy v{};
  v.encap_len = static_cast<uint16_t>(AIGW_IPV6_HDR_LEN + srh_len);
  v.mode = reduced ? AIGW_ENCAP_H_ENCAPS_RED : AIGW_ENCAP_H_ENCAPS;
  v.nsids = static_cast<uint8_t>(n);
  v.has_srh = has_srh ? 1 : 0;
  v.flags = AIGW_POL_F_VALID;
  v.tcp_mss = p.tcp_mss.value_or(dp.tcp_mss_clamp);
  v.id = id;

  // Outer IPv6 header: version 6; traffic class, flow label, payload length
  // and (without SRH) next header are per packet.
  uint8_t* ip6 = v.hdr;
  ip6[0] = 0x60;
  ip6[6] = has_srh ? 43 /* routing */ : 0;
  ip6[7] = p.hop_limit.value_or(dp.hop_limit);
  std::memcpy(ip6 + 8, p.source.b.data(), 16);
  std::memcpy(ip6 + 24, p.segments[0].b.data(), 16);

  if (has_srh) {
    uint8_t* srh = v.hdr + AIGW_IPV6_HDR_LEN;
    srh[0] = 0;                                        // next header: per packet
    srh[1] = static_cast<uint8_t>(srh_len / 8 - 1);    // Hdr Ext Len
    srh[2] = 4;                                        // Routing Type: SRH
    srh[3] = static_cast<uint8_t>(n - 1);              // Segments Left
    srh[4] = static_cast<uint8_t>(listed - 1);         // Last Entry
    // flags and tag stay zero. SegList[0] is the last segment.
    for (size_t i = 0; i < listed; ++i)
      std::memcpy(srh + AIGW_SRH_FIXED_LEN + AIGW_SID_LEN * i, p.segments[n - 1 - i].b.data(), 16);
  }
  return v;
}

aigw_sid_entry encode_sid(const Sid& s, uint32_t oif_ifindex, uint32_t id) {
  const BehaviorDesc* d = find_behavior(s.behavior);
  if (!d)
    throw std::invalid_argument("SID " + s.sid.str() + ": behaviour " +
                                std::to_string(static_cast<unsigned>(s.behavior)) +
                                " has no row in the behaviour table");
  aigw_sid_entry e{};
  e.behavior = d->abi;
  e.table = s.table.value_or(kDefaultTable);
  if (s.interface) e.oif = oif_ifindex;
  if (s.nexthop) {
    if (const auto* v4 = std::get_if<Ip4>(&*s.nexthop))
      e.nh4 = v4->be();
    else
      std::memcpy(e.nh6, std::get<Ip6>(*s.nexthop).b.data(), 16);
  }
  e.id = id;
  return e;
}

}  // namespace aigw
