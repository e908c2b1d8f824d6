// An ordered set of modules and the three-step apply over them.
#pragma once

#include <vector>

#include "core/module.hpp"

namespace aigw::core {

class ModuleSet {
 public:
  void add(Module& m) { modules_.push_back(&m); }
  const std::vector<Module*>& modules() const { return modules_; }

  // plan all -> add all -> remove all (reverse) -> commit all. Throws what a
  // module threw; after a failed add/remove every module is aborted.
  void apply(const ApplyContext& ctx) const;

  void start() const;
  void stop() const;  // reverse order
  void tick(Module::TimePoint now) const;
  void register_commands(CommandTable& t) const;
  void collect(telemetry::Snapshot& s) const;

 private:
  std::vector<Module*> modules_;
};

}  // namespace aigw::core
