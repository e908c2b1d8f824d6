#include "features/objects.hpp"

#include <fmt/format.h>

#include "config/serialize.hpp"
#include "features/args.hpp"
#include "telemetry/metrics.hpp"

namespace aigw::features {

// ------------------------------------------------------------------ policies

void PoliciesModule::register_commands(core::CommandTable& t) {
  using core::Access;
  t.add(cmd::kPolicyShow, Access::Read, [this](const nlohmann::json& a) { return show(a); });
  t.add(cmd::kPolicyAdd, Access::Write, [this](const nlohmann::json& a) { return add_policy(a); });
  t.add(cmd::kPolicyDel, Access::Write, [this](const nlohmann::json& a) { return del_policy(a); });
}

void PoliciesModule::collect(telemetry::Snapshot& s) const { s.config.policies = count_; }

nlohmann::json PoliciesModule::show(const nlohmann::json& args) const {
  std::string only = args.is_object() && args.contains("name") && args["name"].is_string()
                         ? args["name"].get<std::string>()
                         : "";
  nlohmann::json out = nlohmann::json::array();
  const auto stats = host_.datapath().read_policy_stats();
  auto ctr = [&](uint32_t slot) {
    auto it = stats.find(slot);
    return it == stats.end() ? aigw_ctr{} : it->second;
  };
  for (const auto& p : host_.running().policies) {
    if (!only.empty() && p.name != only) continue;
    nlohmann::json j = to_json(p);
    const auto slots = host_.datapath().policy_slots(p.name);
    j["slot"] = slots.empty() ? 0 : slots[0];
    // Packets encapsulated, per path and in all.
    aigw_ctr total{};
    for (size_t i = 0; i < slots.size(); ++i) {
      aigw_ctr c = ctr(slots[i]);
      total.packets += c.packets;
      total.bytes += c.bytes;
      if (!j.contains("paths") || i >= j["paths"].size()) continue;
      j["paths"][i]["slot"] = slots[i];
      j["paths"][i]["packets"] = c.packets;
      j["paths"][i]["bytes"] = c.bytes;
    }
    j["packets"] = total.packets;
    j["bytes"] = total.bytes;
    out.push_back(std::move(j));
  }
  if (!only.empty() && out.empty()) throw ControlError(fmt::format("no policy named {}", only));
  return out;
}

nlohmann::json PoliciesModule::add_policy(const nlohmann::json& args) {
  auto parsed = parse_policy(yaml_arg(args, "policy"), "<aigwctl>");
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&parsed))
    throw ControlError(join_errors(*errs));
  Policy p = std::get<Policy>(std::move(parsed));
  for (const auto& q : host_.running().policies)
    if (q.name == p.name)
      throw ControlError(fmt::format("policy {} exists (delete it first)", p.name));
  Config next = host_.running();
  next.policies.push_back(std::move(p));
  host_.commit(std::move(next), "<aigwctl>");
  return nullptr;
}

nlohmann::json PoliciesModule::del_policy(const nlohmann::json& args) {
  std::string name = arg_str(args, "name");
  Config next = host_.running();
  auto n = std::erase_if(next.policies, [&](const Policy& p) { return p.name == name; });
  if (n == 0) throw ControlError(fmt::format("no policy named {}", name));
  host_.commit(std::move(next), "<aigwctl>");
  return nullptr;
}

// ------------------------------------------------------------------ SIDs

void SidsModule::register_commands(core::CommandTable& t) {
  using core::Access;
  t.add(cmd::kSidShow, Access::Read, [this](const nlohmann::json&) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : host_.running().sids) out.push_back(to_json(s));
    return out;
  });
  t.add(cmd::kSidAdd, Access::Write, [this](const nlohmann::json& a) { return add_sid(a); });
  t.add(cmd::kSidDel, Access::Write, [this](const nlohmann::json& a) { return del_sid(a); });
}

void SidsModule::collect(telemetry::Snapshot& s) const { s.config.sids = count_; }

nlohmann::json SidsModule::add_sid(const nlohmann::json& args) {
  auto parsed = parse_sid(yaml_arg(args, "sid"), "<aigwctl>");
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&parsed))
    throw ControlError(join_errors(*errs));
  Sid s = std::get<Sid>(std::move(parsed));
  for (const auto& q : host_.running().sids)
    if (q.sid == s.sid)
      throw ControlError(fmt::format("SID {} exists (delete it first)", s.sid.str()));
  Config next = host_.running();
  next.sids.push_back(std::move(s));
  host_.commit(std::move(next), "<aigwctl>");
  return nullptr;
}

nlohmann::json SidsModule::del_sid(const nlohmann::json& args) {
  std::string text = arg_str(args, "sid");
  auto pfx = Prefix::parse(text.find('/') == std::string::npos ? text + "/128" : text);
  if (auto* err = std::get_if<std::string>(&pfx)) throw ControlError(fmt::format("sid: {}", *err));
  Prefix want = std::get<Prefix>(pfx);
  Config next = host_.running();
  auto n = std::erase_if(next.sids, [&](const Sid& s) { return s.sid == want; });
  if (n == 0) throw ControlError(fmt::format("no SID {}", want.str()));
  host_.commit(std::move(next), "<aigwctl>");
  return nullptr;
}

}  // namespace aigw::features
