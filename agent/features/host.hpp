// What a feature module may use of the agent that runs it. The daemon
// implements it; every call is made on the agent's (io) thread.
#pragma once

#include <string>

#include "common/log.hpp"
#include "config/model.hpp"
#include "datapath/datapath.hpp"

namespace aigw::features {

class Host {
 public:
  virtual ~Host() = default;
  virtual const Config& running() const = 0;
  virtual Datapath& datapath() const = 0;
  virtual const LinkResolver& links() const = 0;
  virtual const Logger& log() const = 0;
  // Validate `next`, apply it through every module and make it the running
  // configuration (aigwctl changes). Throws ControlError with the reason;
  // the running configuration stays in force.
  virtual void commit(Config next, const std::string& what) = 0;
};

}  // namespace aigw::features
