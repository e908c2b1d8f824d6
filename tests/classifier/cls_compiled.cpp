// aigw-cls-compiled: classify_compiled() (agent/policy/classifier.cpp) on
// packets given as JSON lines, for the differential test (it checks this
// software twin of the datapath lookup against the reference classifier too).
//
//   aigw-cls-compiled --config FILE
//
// Parses FILE with the real parser and compiles its rules (interface slots and
// policy slots: configuration order from 1). Then per stdin line
//   {"iface":"c1 vlan 10","family":4|6,"src":"ADDR","dst":"ADDR","proto":N,
//    "has_ports":bool,"sport":N,"dport":N,"dscp":N,"apn":"<hex>" ("" = none)}
// one stdout line {"rule_id":r,"tenant":t,"cls":c,"dscp":d} (d after
// remarking), or {"error":"..."}.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "config/parse.hpp"
#include "policy/classifier.hpp"

using nlohmann::json;

namespace {

bool put_addr(const std::string& text, int family, std::array<uint8_t, 16>& out) {
  auto a = aigw::parse_ip(text);
  if (!a || aigw::is_v6(*a) != (family == 6)) return false;
  out = {};
  if (family == 6)
    out = std::get<aigw::Ip6>(*a).b;
  else
    std::copy_n(std::get<aigw::Ip4>(*a).b.begin(), 4, out.begin());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::string(argv[1]) != "--config") {
    std::cerr << "usage: aigw-cls-compiled --config FILE\n";
    return 2;
  }
  auto r = aigw::load_config_file(argv[2]);
  if (auto* errs = std::get_if<std::vector<aigw::ConfigError>>(&r)) {
    std::cerr << aigw::format_errors(*errs) << "\n";
    return 1;
  }
  const aigw::Config cfg = std::get<aigw::Config>(r);
  aigw::ClsResolver res;
  res.iface_slot = [&cfg](const std::string& key) -> std::optional<uint16_t> {
    for (size_t i = 0; i < cfg.interfaces.size(); i++)
      if (aigw::interface_key(cfg.interfaces[i]) == key) return static_cast<uint16_t>(i + 1);
    return std::nullopt;
  };
  res.policy_slot = [&cfg](const std::string& name) -> std::optional<uint32_t> {
    for (size_t i = 0; i < cfg.policies.size(); i++)
      if (cfg.policies[i].name == name) return static_cast<uint32_t>(i + 1);
    return std::nullopt;
  };
  aigw::CompiledClassifier cc;
  try {
    cc = aigw::compile_classifier(cfg, res);
  } catch (const aigw::ClassifyError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json out;
    try {
      json j = json::parse(line);
      aigw::ClsPacket p;
      p.ifslot = res.iface_slot(j.at("iface").get<std::string>()).value_or(0);
      p.family = j.at("family").get<uint8_t>();
      if (!put_addr(j.at("src"), p.family, p.src) || !put_addr(j.at("dst"), p.family, p.dst))
        throw std::runtime_error("bad address");
      p.proto = j.at("proto").get<uint8_t>();
      p.has_ports = j.at("has_ports").get<bool>();
      p.sport = j.at("sport").get<uint16_t>();
      p.dport = j.at("dport").get<uint16_t>();
      p.dscp = j.at("dscp").get<uint8_t>();
      std::string apn = j.at("apn");
      if (apn.size() % 2 || apn.size() > 32) throw std::runtime_error("bad apn");
      p.apn_len = static_cast<uint8_t>(apn.size() / 2);
      for (size_t i = 0; i < p.apn_len; i++)
        p.apn[i] = static_cast<uint8_t>(std::stoul(apn.substr(2 * i, 2), nullptr, 16));
      auto a = aigw::classify_compiled(cc, p);
      out = {{"rule_id", a.rule_id},
             {"tenant", a.tenant},
             {"cls", a.cls},
             {"dscp", (a.flags & AIGW_ACT_F_REMARK) ? a.dscp : p.dscp}};
    } catch (const std::exception& e) {
      out = {{"error", e.what()}};
    }
    std::cout << out.dump() << '\n';
  }
  return 0;
}
