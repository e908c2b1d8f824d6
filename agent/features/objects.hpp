// Policies and SIDs as the operator sees them: show, add and delete over
// the control socket (each change is a commit of the whole configuration),
// and their counts in a metrics scrape. Their map entries are the
// datapath's PolicyTable and SidTable.
#pragma once

#include "core/module.hpp"
#include "features/host.hpp"

namespace aigw::features {

class PoliciesModule : public core::Module {
 public:
  explicit PoliciesModule(Host& host) : host_(host) {}
  std::string_view name() const override { return "policy-commands"; }
  void commit(const core::ApplyContext& ctx) override { count_ = ctx.next.policies.size(); }
  void register_commands(core::CommandTable& t) override;
  void collect(telemetry::Snapshot& s) const override;

 private:
  nlohmann::json show(const nlohmann::json& args) const;
  nlohmann::json add_policy(const nlohmann::json& args);
  nlohmann::json del_policy(const nlohmann::json& args);
  Host& host_;
  size_t count_ = 0;
};

class SidsModule : public core::Module {
 public:
  explicit SidsModule(Host& host) : host_(host) {}
  std::string_view name() const override { return "sid-commands"; }
  void commit(const core::ApplyContext& ctx) override { count_ = ctx.next.sids.size(); }
  void register_commands(core::CommandTable& t) override;
  void collect(telemetry::Snapshot& s) const override;

 private:
  nlohmann::json add_sid(const nlohmann::json& args);
  nlohmann::json del_sid(const nlohmann::json& args);
  Host& host_;
  size_t count_ = 0;
};

}  // namespace aigw::features
