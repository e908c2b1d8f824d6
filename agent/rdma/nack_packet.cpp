#include "rdma/nack_packet.hpp"

#include <cstring>

#include "rdma/wire.hpp"

namespace aigw::rdma {

using wire::put16;

namespace {

constexpr size_t kIp4Len = 20, kIp6Len = 40, kUdpHdr = 8;
constexpr uint8_t kProtoUdp = 17;

uint32_t sum16(std::span<const uint8_t> b, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < b.size(); i += 2) s += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
  if (b.size() & 1) s += static_cast<uint32_t>(b.back() << 8);
  return s;
}

uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

}  // namespace

std::vector<uint8_t> nack_packet(const Nack& n) {
  std::vector<uint8_t> msg = encode(n);
  bool v4 = n.family == 4;
  size_t ip_len = v4 ? kIp4Len : kIp6Len, udp_len = kUdpHdr + msg.size();
  std::vector<uint8_t> b(ip_len + udp_len, 0);
  // from the responder (the stream's destination) to the requester
  if (v4) {
    b[0] = 0x45;
    put16(&b[2], static_cast<uint32_t>(b.size()));
    b[6] = 0x40;  // DF
    b[8] = 64;
    b[9] = kProtoUdp;
    std::memcpy(&b[12], n.dst.data(), 4);
    std::memcpy(&b[16], n.src.data(), 4);
    put16(&b[10], fold(sum16(std::span(b).first(kIp4Len))));
  } else {
    b[0] = 0x60;
    put16(&b[4], static_cast<uint32_t>(udp_len));
    b[6] = kProtoUdp;
    b[7] = 64;
    std::memcpy(&b[8], n.dst.data(), 16);
    std::memcpy(&b[24], n.src.data(), 16);
  }
  uint8_t* u = &b[ip_len];
  put16(u, kNackPort);
  put16(u + 2, kNackPort);
  put16(u + 4, static_cast<uint32_t>(udp_len));
  std::memcpy(u + kUdpHdr, msg.data(), msg.size());
  // pseudo-header: addresses, protocol, UDP length
  size_t alen = v4 ? 4 : 16;
  uint32_t s = sum16(std::span(b).subspan(v4 ? 12 : 8, 2 * alen));
  s += kProtoUdp + static_cast<uint32_t>(udp_len);
  uint16_t c = fold(sum16(std::span(b).subspan(ip_len), s));
  put16(u + 6, c ? c : 0xffff);
  return b;
}

std::optional<Nack> nack_of_packet(std::span<const uint8_t> ip, std::optional<NackError>* error) {
  if (ip.size() < kIp4Len) return std::nullopt;
  size_t hlen = 0, total = 0;
  if ((ip[0] >> 4) == 4) {
    hlen = static_cast<size_t>(ip[0] & 0x0f) * 4;
    total = static_cast<size_t>(ip[2] << 8 | ip[3]);
    if (ip[9] != kProtoUdp || hlen < kIp4Len) return std::nullopt;
  } else if ((ip[0] >> 4) == 6 && ip.size() >= kIp6Len) {
    hlen = kIp6Len;
    total = kIp6Len + static_cast<size_t>(ip[4] << 8 | ip[5]);
    if (ip[6] != kProtoUdp) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (total > ip.size() || total < hlen + kUdpHdr) return std::nullopt;
  if ((ip[hlen + 2] << 8 | ip[hlen + 3]) != kNackPort) return std::nullopt;
  auto d = decode_nack(ip.subspan(hlen + kUdpHdr, total - hlen - kUdpHdr));
  if (auto* e = std::get_if<NackError>(&d)) {
    if (error) *error = *e;
    return std::nullopt;
  }
  return std::get<Nack>(d);
}

}  // namespace aigw::rdma
