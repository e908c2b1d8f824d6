#include "rdma/ip_header.hpp"

#include <cstring>

#include "rdma/wire.hpp"

namespace aigw::rdma {

uint32_t sum16(std::span<const uint8_t> b, uint32_t s) {
  for (size_t i = 0; i + 1 < b.size(); i += 2) s += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
  if (b.size() & 1) s += static_cast<uint32_t>(b.back() << 8);
  return s;
}

uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

size_t write_udp_ip_header(std::span<uint8_t> b, uint8_t family, const uint8_t* src,
                           const uint8_t* dst, size_t udp_len) {
  if (family == 4) {
    b[0] = 0x45;
    wire::put16(&b[2], static_cast<uint32_t>(kIp4HeaderLen + udp_len));
    b[6] = 0x40;  // DF
    b[8] = 64;
    b[9] = kIpProtoUdp;
    std::memcpy(&b[12], src, 4);
    std::memcpy(&b[16], dst, 4);
    wire::put16(&b[10], fold(sum16(b.first(kIp4HeaderLen))));
    return kIp4HeaderLen;
  }
  b[0] = 0x60;
  wire::put16(&b[4], static_cast<uint32_t>(udp_len));
  b[6] = kIpProtoUdp;
  b[7] = 64;
  std::memcpy(&b[8], src, 16);
  std::memcpy(&b[24], dst, 16);
  return kIp6HeaderLen;
}

}  // namespace aigw::rdma
