#include "netlink/links.hpp"

#include <arpa/inet.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace aigw {
namespace {

struct LinkDeleter {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct CacheDeleter {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};

}  // namespace

void NetlinkLinks::SockDeleter::operator()(nl_sock* s) const { nl_socket_free(s); }

NetlinkLinks::NetlinkLinks() : sock_(nl_socket_alloc()) {
  if (!sock_) throw std::runtime_error("netlink: cannot allocate socket");
  if (int err = nl_connect(sock_.get(), NETLINK_ROUTE); err < 0)
    throw std::runtime_error(fmt::format("netlink: connect: {}", nl_geterror(err)));
}

NetlinkLinks::~NetlinkLinks() = default;

std::optional<LinkInfo> NetlinkLinks::resolve(const std::string& ifname) const {
  rtnl_link* raw = nullptr;
  if (rtnl_link_get_kernel(sock_.get(), 0, ifname.c_str(), &raw) < 0 || !raw) return std::nullopt;
  std::unique_ptr<rtnl_link, LinkDeleter> link(raw);

  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(link.get());
  info.mtu = rtnl_link_get_mtu(link.get());

  nl_cache* cache_raw = nullptr;
  if (rtnl_addr_alloc_cache(sock_.get(), &cache_raw) < 0) return info;
  std::unique_ptr<nl_cache, CacheDeleter> cache(cache_raw);
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != info.ifindex) continue;
    nl_addr* local = rtnl_addr_get_local(a);
    if (!local) continue;
    int family = rtnl_addr_get_family(a);
    if (family == AF_INET && info.addr4_be == 0 && nl_addr_get_len(local) == 4) {
      std::memcpy(&info.addr4_be, nl_addr_get_binary_addr(local), 4);
    } else if (family == AF_INET6 && nl_addr_get_len(local) == 16 &&
               rtnl_addr_get_scope(a) == RT_SCOPE_UNIVERSE) {
      bool zero = true;
      for (auto b : info.addr6) zero = zero && b == 0;
      if (zero) std::memcpy(info.addr6.data(), nl_addr_get_binary_addr(local), 16);
    }
  }
  return info;
}

}  // namespace aigw
