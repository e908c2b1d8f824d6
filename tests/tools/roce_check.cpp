// aigw-roce-check: what agent/rdma makes of RoCEv2 packets, for checks by an
// independent implementation (tests/tools/test_roce_icrc.py, scapy). Reads
// IP packets (no link header) as hex, one per line, and prints one JSON
// object per line:
//   {"family":4,"opcode":4,"dqp":258,"psn":123,"ackreq":true,
//    "icrc_computed":N,"icrc_carried":N,"icrc_ok":true}
// or {"error":"truncated"} (the names of rdma::RoceError).
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rdma/roce.hpp"

namespace {

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> b;
  for (size_t i = 0; i + 1 < s.size(); i += 2) b.push_back(std::stoi(s.substr(i, 2), nullptr, 16));
  return b;
}

nlohmann::json check(const std::vector<uint8_t>& ip) {
  using namespace aigw::rdma;
  auto r = parse_roce(ip);
  if (auto* e = std::get_if<RoceError>(&r)) return {{"error", std::string(name(*e))}};
  const auto& p = std::get<RocePacket>(r);
  return {{"family", p.family},
          {"opcode", p.bth.opcode},
          {"dqp", p.bth.dqp},
          {"psn", p.bth.psn},
          {"ackreq", p.bth.ackreq},
          {"icrc_computed", icrc_compute(ip, p)},
          {"icrc_carried", icrc_read(ip, p)},
          {"icrc_ok", icrc_ok(ip, p)}};
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    try {
      std::cout << check(unhex(line)).dump() << '\n';
    } catch (const std::exception& e) {
      std::cout << nlohmann::json{{"error", std::string("bad input: ") + e.what()}}.dump() << '\n';
    }
  }
  return 0;
}
