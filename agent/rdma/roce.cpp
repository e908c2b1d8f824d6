#include "rdma/roce.hpp"

#include <array>
#include <cstring>

#include "rdma/crc32.hpp"
#include "rdma/wire.hpp"

namespace aigw::rdma {

namespace {

constexpr size_t kIpv4MinLen = 20;
constexpr size_t kIpv6Len = 40;
constexpr uint8_t kProtoUdp = 17;

// IP header length and payload length (the packet's own IP length), or an
// error.
struct IpView {
  size_t hlen = 0;
  size_t payload = 0;
};

std::variant<IpView, RoceError> ipv4_view(std::span<const uint8_t> ip) {
  if (ip.size() < kIpv4MinLen) return RoceError::truncated;
  size_t hlen = static_cast<size_t>(ip[0] & 0x0f) * 4;
  size_t total = wire::get16(ip, 2);
  if (hlen < kIpv4MinLen || total < hlen || total > ip.size()) return RoceError::truncated;
  if (wire::get16(ip, 6) & 0x3fff) return RoceError::ip_options;  // a fragment (MF or offset)
  if (ip[9] != kProtoUdp) return RoceError::not_udp;
  return IpView{hlen, total - hlen};
}

std::variant<IpView, RoceError> ipv6_view(std::span<const uint8_t> ip) {
  if (ip.size() < kIpv6Len) return RoceError::truncated;
  size_t payload = wire::get16(ip, 4);
  if (kIpv6Len + payload > ip.size()) return RoceError::truncated;
  if (ip[6] != kProtoUdp) return RoceError::ip_options;  // extension headers (or not UDP)
  return IpView{kIpv6Len, payload};
}

Bth read_bth(std::span<const uint8_t> b) {
  Bth h;
  h.opcode = b[0];
  h.solicited = b[1] & 0x80;
  h.migreq = b[1] & 0x40;
  h.padcount = (b[1] >> 4) & 0x3;
  h.version = b[1] & 0x0f;
  h.pkey = wire::get16(b, 2);
  h.fecn = b[4] & 0x80;
  h.becn = b[4] & 0x40;
  h.dqp = wire::get24(b, 5);
  h.ackreq = b[8] & 0x80;
  h.psn = wire::get24(b, 9);
  return h;
}

}  // namespace

std::string_view name(RoceError e) {
  switch (e) {
    case RoceError::truncated:
      return "truncated";
    case RoceError::not_ip:
      return "not_ip";
    case RoceError::ip_options:
      return "ip_options";
    case RoceError::not_udp:
      return "not_udp";
    case RoceError::not_roce:
      return "not_roce";
    case RoceError::bad_udp_length:
      return "bad_udp_length";
    case RoceError::bad_version:
      return "bad_version";
  }
  return "unknown";
}

std::variant<RocePacket, RoceError> parse_roce(std::span<const uint8_t> ip) {
  if (ip.empty()) return RoceError::truncated;
  RocePacket p;
  p.family = ip[0] >> 4;
  std::variant<IpView, RoceError> v = RoceError::not_ip;
  if (p.family == 4) v = ipv4_view(ip);
  if (p.family == 6) v = ipv6_view(ip);
  if (auto* e = std::get_if<RoceError>(&v)) return *e;
  auto [hlen, payload] = std::get<IpView>(v);
  if (payload < kUdpLen) return RoceError::truncated;
  p.udp_off = hlen;
  if (wire::get16(ip, p.udp_off + 2) != kRoceV2Port) return RoceError::not_roce;
  if (wire::get16(ip, p.udp_off + 4) != payload) return RoceError::bad_udp_length;
  if (payload < kUdpLen + kBthLen + kIcrcLen) return RoceError::truncated;
  p.bth_off = p.udp_off + kUdpLen;
  p.icrc_off = hlen + payload - kIcrcLen;
  p.bth = read_bth(ip.subspan(p.bth_off, kBthLen));
  if (p.bth.version != 0) return RoceError::bad_version;
  return p;
}

uint32_t icrc_compute(std::span<const uint8_t> ip, const RocePacket& p) {
  // The headers, masked, then the rest as it is.
  std::array<uint8_t, 60 + kUdpLen + kBthLen> hdr{};
  size_t hlen = p.bth_off + kBthLen;
  std::memcpy(hdr.data(), ip.data(), hlen);
  if (p.family == 4) {
    hdr[1] = 0xff;             // type of service
    hdr[8] = 0xff;             // TTL
    hdr[10] = hdr[11] = 0xff;  // header checksum
  } else {
    hdr[0] |= 0x0f;                   // traffic class (high nibble)
    hdr[1] = hdr[2] = hdr[3] = 0xff;  // traffic class (low nibble), flow label
    hdr[7] = 0xff;                    // hop limit
  }
  hdr[p.udp_off + 6] = hdr[p.udp_off + 7] = 0xff;  // UDP checksum
  hdr[p.bth_off + 4] = 0xff;                       // FECN, BECN, reserved
  const std::array<uint8_t, 8> lrh{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  uint32_t crc = crc32_feed(0xffffffffu, lrh);
  crc = crc32_feed(crc, std::span<const uint8_t>(hdr.data(), hlen));
  crc = crc32_feed(crc, ip.subspan(hlen, p.icrc_off - hlen));
  return ~crc;
}

uint32_t icrc_read(std::span<const uint8_t> ip, const RocePacket& p) {
  const uint8_t* b = ip.data() + p.icrc_off;
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
         static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
}

void icrc_write(std::span<uint8_t> ip, const RocePacket& p) {
  uint32_t c = icrc_compute(ip, p);
  for (size_t i = 0; i < kIcrcLen; i++) ip[p.icrc_off + i] = static_cast<uint8_t>(c >> (8 * i));
}

}  // namespace aigw::rdma
