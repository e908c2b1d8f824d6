// Runs a control request from a peer: looks the command up in the table and
// enforces its access (a peer that may not write gets only Access::Read
// commands). Writes are logged at info with the peer, reads at debug.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/log.hpp"
#include "control/server.hpp"
#include "core/commands.hpp"

namespace aigw::features {

// Throws ControlError for an unknown command or a write from a read-only
// peer ("permission denied: policy.add needs write access (uid 1000 is
// read-only)"); otherwise returns what the command's handler returns.
nlohmann::json dispatch(const core::CommandTable& commands, const Peer& peer,
                        const std::string& cmd, const nlohmann::json& args, const Logger& log);

}  // namespace aigw::features
