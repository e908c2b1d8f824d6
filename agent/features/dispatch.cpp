#include "features/dispatch.hpp"

#include <fmt/format.h>

#include "control/protocol.hpp"

namespace aigw::features {

nlohmann::json dispatch(const core::CommandTable& commands, const Peer& peer,
                        const std::string& cmd, const nlohmann::json& args, const Logger& log) {
  const auto* e = commands.find(cmd);
  if (!e) {
    log.debug("control: {}: unknown command '{}'", peer.str(), cmd);
    throw ControlError(fmt::format("unknown command '{}'", cmd));
  }
  if (e->access == core::Access::Read) {
    log.debug("control: {}: {}", peer.str(), cmd);
    return e->handler(args);
  }
  if (!peer.may_write) {
    log.info("control: {}: {} refused: read-only peer", peer.str(), cmd);
    throw ControlError(fmt::format("permission denied: {} needs write access (uid {} is read-only)",
                                   cmd, peer.uid));
  }
  log.info("control: {}: {}", peer.str(), cmd);
  return e->handler(args);
}

}  // namespace aigw::features
