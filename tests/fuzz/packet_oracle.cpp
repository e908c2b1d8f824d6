#include "packet_oracle.hpp"

#include <fmt/format.h>

#include "packet_build.hpp"

namespace aigw::fuzz {

namespace {

using Span = std::span<const uint8_t>;

bool is_ext(uint8_t nh) { return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51; }

// The L3 bytes of an Ethernet frame (behind up to two VLAN tags) and their
// EtherType; nullopt when the frame has none.
std::optional<std::pair<uint16_t, Span>> l3_of(Span f) {
  if (f.size() < 14) return std::nullopt;
  size_t off = 12;
  uint16_t et = get16(f, off);
  for (int n = 0; n < 2 && (et == 0x8100 || et == 0x88a8); n++) {
    if (off + 6 > f.size()) return std::nullopt;
    off += 4;
    et = get16(f, off);
  }
  return std::pair{et, f.subspan(off + 2)};
}

class Checker {
 public:
  explicit Checker(const OracleScope& s) : scope_(s) {}
  std::vector<Finding> take() { return std::move(found_); }

  void ip(Span l3, uint16_t et, int depth) {
    if (et == 0x0800) ip4(l3, depth);
    if (et == 0x86DD) ip6(l3, depth);
  }

 private:
  void add(int depth, const char* check, std::string detail) {
    found_.push_back({std::string(depth ? "inner." : "") + check, std::move(detail)});
  }

  void ip4(Span l3, int depth) {
    if (l3.size() < 20 || l3[0] >> 4 != 4) {
      add(depth, "ipv4.header",
          fmt::format("{} L3 bytes, first byte {:#x}", l3.size(), l3.empty() ? 0 : l3[0]));
      return;
    }
    const size_t ihl = static_cast<size_t>(l3[0] & 0xf) * 4;
    const size_t total = get16(l3, 2);
    if (ihl < 20 || ihl > l3.size()) return add(depth, "ipv4.ihl", fmt::format("IHL {}", ihl));
    if (total != l3.size())
      add(depth, "ipv4.total_length",
          fmt::format("total length {} but {} L3 bytes", total, l3.size()));
    if (csum_fold(csum_add(0, l3.first(ihl))) != 0)
      add(depth, "ipv4.checksum", fmt::format("header checksum {:#06x} invalid", get16(l3, 10)));
    if (scope_.icmp_too && l3[9] == 1 && total >= ihl && total <= l3.size() &&
        csum_fold(csum_add(0, l3.subspan(ihl, total - ihl))) != 0)
      add(depth, "icmp.checksum", "ICMP error with an invalid checksum");
  }

  void ip6(Span l3, int depth) {
    if (l3.size() < 40 || l3[0] >> 4 != 6) {
      add(depth, "ipv6.header",
          fmt::format("{} L3 bytes, first byte {:#x}", l3.size(), l3.empty() ? 0 : l3[0]));
      return;
    }
    const size_t plen = get16(l3, 4);
    if (plen + 40 != l3.size())
      add(depth, "ipv6.payload_length",
          fmt::format("payload length {} + 40 but {} L3 bytes", plen, l3.size()));
    const size_t end = std::min(l3.size(), plen + 40);
    uint8_t nh = l3[6];
    size_t p = 40;
    bool seen_srh = false;
    for (int n = 0; n < 16 && is_ext(nh); n++) {
      if (p + 8 > end)
        return add(depth, "exthdr.beyond_payload",
                   fmt::format("header {} at L3 offset {} past the payload end {}", nh, p, end));
      const size_t len = nh == 44 ? 8 : nh == 51 ? (l3[p + 1] + 2u) * 4 : (l3[p + 1] + 1u) * 8;
      if (p + len > end)
        return add(depth, "exthdr.beyond_payload",
                   fmt::format("header {} at L3 offset {} ({} bytes) past the payload end {}", nh,
                               p, len, end));
      // The first SRH only: End/End.X process that one (a second routing
      // header is the next SID's business).
      if (nh == 43 && l3[p + 2] == 4 && depth == 0 && scope_.srh_too && !seen_srh) {
        srh(l3.subspan(p, len), depth);
        seen_srh = true;
      }
      if (nh == 44 && (get16(l3, p + 2) & 0xfff8)) return;  // a later fragment
      nh = l3[p];
      p += len;
    }
    if (depth == 0 && scope_.inner_too && (nh == 4 || nh == 41))
      return ip(l3.subspan(p, end - p), nh == 4 ? 0x0800 : 0x86DD, depth + 1);
    if (scope_.icmp_too && nh == 58 && plen + 40 == l3.size()) {
      uint32_t s = csum_add(csum_add(0, l3.subspan(8, 32)), Span(l3).subspan(p));
      s += 58 + static_cast<uint32_t>(l3.size() - p);
      if (csum_fold(s) != 0) add(depth, "icmp.checksum", "ICMPv6 error with an invalid checksum");
    }
  }

  void srh(Span s, int depth) {
    const unsigned hel = s[1], sl = s[3], le = s[4];
    if (hel * 8u < 16u * (le + 1))
      add(depth, "srh.hdr_ext_len",
          fmt::format("Hdr Ext Len {} cannot hold Last Entry {} + 1 segments", hel, le));
    if (sl > le + 1)
      add(depth, "srh.segments_left", fmt::format("Segments Left {} > Last Entry {} + 1", sl, le));
  }

  OracleScope scope_;
  std::vector<Finding> found_;
};

// RFC 8200 8.1: the pseudo-header's destination is the final one (the
// SRH's Segment List[0] when there is one).
std::optional<bool> l4_ok(Span l3, int depth);

std::optional<bool> l4_sum(Span src, Span dst, uint8_t proto, Span l4) {
  if (proto == 17 && l4.size() >= 8 && src.size() == 4 && get16(l4, 6) == 0) return std::nullopt;
  const size_t min = proto == 6 ? 20 : proto == 17 ? 8 : 4;
  if (l4.size() < min) return std::nullopt;
  uint32_t s = csum_add(0, l4);
  if (proto != 1) {
    s = csum_add(csum_add(s, src), dst);
    s += proto + static_cast<uint32_t>(l4.size());
  }
  return csum_fold(s) == 0;
}

std::optional<bool> l4_ok4(Span l3, int depth) {
  if (l3.size() < 20) return std::nullopt;
  const size_t ihl = static_cast<size_t>(l3[0] & 0xf) * 4, total = get16(l3, 2);
  if (ihl < 20 || total < ihl || total > l3.size() || (get16(l3, 6) & 0x3fff)) return std::nullopt;
  const uint8_t proto = l3[9];
  Span l4 = l3.subspan(ihl, total - ihl);
  if (proto == 4 || proto == 41) return depth < 2 ? l4_ok(l4, depth + 1) : std::nullopt;
  if (proto != 6 && proto != 17 && proto != 1) return std::nullopt;
  return l4_sum(l3.subspan(12, 4), l3.subspan(16, 4), proto, l4);
}

std::optional<bool> l4_ok6(Span l3, int depth) {
  if (l3.size() < 40) return std::nullopt;
  const size_t end = 40 + get16(l3, 4);
  if (end > l3.size()) return std::nullopt;
  Span dst = l3.subspan(24, 16);
  uint8_t nh = l3[6];
  size_t p = 40;
  for (int n = 0; n < 16 && is_ext(nh); n++) {
    if (nh == 44 || nh == 51 || p + 8 > end) return std::nullopt;
    const size_t len = (l3[p + 1] + 1u) * 8;
    if (p + len > end) return std::nullopt;
    if (nh == 43 && l3[p + 2] == 4 && len >= 24) dst = l3.subspan(p + 8, 16);
    nh = l3[p];
    p += len;
  }
  Span l4 = l3.subspan(p, end - p);
  if (nh == 4 || nh == 41) return depth < 2 ? l4_ok(l4, depth + 1) : std::nullopt;
  if (nh != 6 && nh != 17 && nh != 58) return std::nullopt;
  return l4_sum(l3.subspan(8, 16), dst, nh, l4);
}

std::optional<bool> l4_ok(Span l3, int depth) {
  if (l3.empty()) return std::nullopt;
  if (l3[0] >> 4 == 4) return l4_ok4(l3, depth);
  if (l3[0] >> 4 == 6) return l4_ok6(l3, depth);
  return std::nullopt;
}

}  // namespace

std::vector<Finding> check_frame(std::span<const uint8_t> frame, const OracleScope& scope) {
  auto l3 = l3_of(frame);
  if (!l3) return {{"ethernet", fmt::format("{}-byte frame", frame.size())}};
  Checker c(scope);
  c.ip(l3->second, l3->first, 0);
  return c.take();
}

std::optional<bool> innermost_l4_ok(std::span<const uint8_t> frame) {
  auto l3 = l3_of(frame);
  if (!l3 || (l3->first != 0x0800 && l3->first != 0x86DD)) return std::nullopt;
  return l4_ok(l3->second, 0);
}

}  // namespace aigw::fuzz
