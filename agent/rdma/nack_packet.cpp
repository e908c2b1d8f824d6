#include "rdma/nack_packet.hpp"

#include <cstring>

#include "rdma/ip_header.hpp"
#include "rdma/wire.hpp"

namespace aigw::rdma {

using wire::put16;

namespace {

constexpr size_t kUdpHdr = 8;

}  // namespace

std::vector<uint8_t> nack_packet(const Nack& n, std::span<const uint8_t> key) {
  std::vector<uint8_t> msg = encode(n, key);
  bool v4 = n.family == 4;
  size_t ip_len = v4 ? kIp4HeaderLen : kIp6HeaderLen, udp_len = kUdpHdr + msg.size();
  std::vector<uint8_t> b(ip_len + udp_len, 0);
  // a NACK from the responder (the stream's destination) to the requester,
  // a MISS along the stream
  bool along = n.type == kMissType;
  write_udp_ip_header(b, n.family, along ? n.src.data() : n.dst.data(),
                      along ? n.dst.data() : n.src.data(), udp_len);
  uint8_t* u = &b[ip_len];
  put16(u, kNackPort);
  put16(u + 2, kNackPort);
  put16(u + 4, static_cast<uint32_t>(udp_len));
  std::memcpy(u + kUdpHdr, msg.data(), msg.size());
  // pseudo-header: addresses, protocol, UDP length
  size_t alen = v4 ? 4 : 16;
  uint32_t s = sum16(std::span(b).subspan(v4 ? 12 : 8, 2 * alen));
  s += kIpProtoUdp + static_cast<uint32_t>(udp_len);
  uint16_t c = fold(sum16(std::span(b).subspan(ip_len), s));
  put16(u + 6, c ? c : 0xffff);
  return b;
}

std::optional<Nack> nack_of_packet(std::span<const uint8_t> ip, std::optional<NackError>* error,
                                   std::span<const uint8_t> key) {
  if (ip.size() < kIp4HeaderLen) return std::nullopt;
  size_t hlen = 0, total = 0;
  if ((ip[0] >> 4) == 4) {
    hlen = static_cast<size_t>(ip[0] & 0x0f) * 4;
    total = static_cast<size_t>(ip[2] << 8 | ip[3]);
    if (ip[9] != kIpProtoUdp || hlen < kIp4HeaderLen) return std::nullopt;
  } else if ((ip[0] >> 4) == 6 && ip.size() >= kIp6HeaderLen) {
    hlen = kIp6HeaderLen;
    total = kIp6HeaderLen + static_cast<size_t>(ip[4] << 8 | ip[5]);
    if (ip[6] != kIpProtoUdp) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (total > ip.size() || total < hlen + kUdpHdr) return std::nullopt;
  if ((ip[hlen + 2] << 8 | ip[hlen + 3]) != kNackPort) return std::nullopt;
  auto d = decode_nack(ip.subspan(hlen + kUdpHdr, total - hlen - kUdpHdr), key);
  if (auto* e = std::get_if<NackError>(&d)) {
    if (error) *error = *e;
    return std::nullopt;
  }
  return std::get<Nack>(d);
}

}  // namespace aigw::rdma
