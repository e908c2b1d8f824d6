// Interface facts from the kernel over rtnetlink (libnl-route): ifindex,
// MTU and the addresses the datapath uses as ICMP error sources.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "datapath/types.hpp"

struct nl_sock;

namespace aigw {

class NetlinkLinks : public LinkResolver {
 public:
  NetlinkLinks();  // throws std::runtime_error when netlink is unavailable
  ~NetlinkLinks() override;
  NetlinkLinks(const NetlinkLinks&) = delete;
  NetlinkLinks& operator=(const NetlinkLinks&) = delete;

  // Queries the kernel afresh on every call (names can move between calls).
  std::optional<LinkInfo> resolve(const std::string& ifname) const override;

 private:
  struct SockDeleter {
    void operator()(nl_sock* s) const;
  };
  std::unique_ptr<nl_sock, SockDeleter> sock_;
};

}  // namespace aigw
