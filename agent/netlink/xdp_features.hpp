// What XDP a kernel interface supports now, from the generic netlink
// "netdev" family (Linux 6.3+): whether frames can be redirected into it.
// A veth gains NETDEV_XDP_ACT_NDO_XMIT only while its peer has an XDP
// program or GRO, so the answer changes with the peer.
#pragma once

#include <cstdint>
#include <optional>

namespace aigw {

// NETDEV_XDP_ACT_NDO_XMIT (include/uapi/linux/netdev.h; Debian 12's headers
// predate it): the interface takes frames other interfaces redirect into it.
inline constexpr uint64_t kXdpActNdoXmit = 4;

// The interface's xdp_features bitmask (NETDEV_XDP_ACT_*); nullopt when the
// kernel has no netdev family or the interface is gone.
std::optional<uint64_t> xdp_features(int ifindex);

}  // namespace aigw
