// The systemd service notification protocol (sd_notify(3)): one datagram of
// KEY=VALUE lines to the socket in $NOTIFY_SOCKET. Without that variable
// (not started by systemd with Type=notify) every call is a no-op.
#pragma once

#include <string>

namespace aigw {

// Sends `state` ("READY=1\nSTATUS=..."). Returns false when there is no
// notification socket or the send failed (never throws: readiness must not
// take the agent down).
bool sd_notify(const std::string& state);

// RELOADING=1 with the CLOCK_MONOTONIC time systemd 253+ asks for.
std::string sd_reloading_state();

}  // namespace aigw
