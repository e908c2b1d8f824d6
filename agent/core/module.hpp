// The shape of every capability of the agent. A module owns one concern
// (its map entries, timers, sockets, commands and metrics). A configuration
// change runs in three steps over all modules, in registration order:
//
//   plan    compute what `next` needs and check that it fits; write nothing.
//           Any module may refuse (throw): nothing has been written yet.
//   add     write what is new or changed (make before break).
//   remove  in reverse order: take away what `next` no longer has.
//
// then `commit` adopts the plan as the state in force. If add or remove
// throws, every module's `abort` runs and the caller puts the running
// configuration back (an apply writes only differences).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "config/model.hpp"
#include "core/commands.hpp"
#include "datapath/types.hpp"

namespace aigw::telemetry {
struct Snapshot;
}

namespace aigw::core {

struct ApplyContext {
  const Config& next;
  const Config& running;  // the configuration in force (== next at the first apply)
  const LinkResolver& links;
  bool initial = false;  // the first apply after start
};

class Module {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Module() = default;
  virtual std::string_view name() const = 0;

  virtual void plan(const ApplyContext&) {}
  virtual void add(const ApplyContext&) {}
  virtual void remove(const ApplyContext&) {}
  virtual void commit(const ApplyContext&) {}
  virtual void abort() {}

  // Lifecycle: timers, sockets and threads start after the first apply;
  // stop() runs at shutdown after the programs are detached (reverse
  // registration order), for last readings and saved state.
  virtual void start() {}
  virtual void stop() {}
  // Called once a second on the agent's thread.
  virtual void tick(TimePoint) {}
  virtual void register_commands(CommandTable&) {}
  // Contribute to a metrics scrape (any thread; the caller serialises
  // scrapes against applies).
  virtual void collect(telemetry::Snapshot&) const {}
};

}  // namespace aigw::core
