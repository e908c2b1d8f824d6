#include "core/module_set.hpp"

namespace aigw::core {

void ModuleSet::apply(const ApplyContext& ctx) const {
  try {
    for (Module* m : modules_) m->plan(ctx);
    for (Module* m : modules_) m->add(ctx);
    for (auto it = modules_.rbegin(); it != modules_.rend(); ++it) (*it)->remove(ctx);
  } catch (...) {
    for (Module* m : modules_) m->abort();
    throw;
  }
  for (Module* m : modules_) m->commit(ctx);
}

void ModuleSet::start() const {
  for (Module* m : modules_) m->start();
}

void ModuleSet::stop() const {
  for (auto it = modules_.rbegin(); it != modules_.rend(); ++it) (*it)->stop();
}

void ModuleSet::tick(Module::TimePoint now) const {
  for (Module* m : modules_) m->tick(now);
}

void ModuleSet::register_commands(CommandTable& t) const {
  for (Module* m : modules_) m->register_commands(t);
}

void ModuleSet::collect(telemetry::Snapshot& s) const {
  for (const Module* m : modules_) m->collect(s);
}

}  // namespace aigw::core
