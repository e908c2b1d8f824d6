#include "netlink/route_watch.hpp"

#include <fmt/format.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/object.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>

#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

namespace aigw {
namespace {

// A neighbour the kernel's FIB helpers use (bpf_fib_lookup wants NUD_VALID).
constexpr int kNudUsable =
    NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;
// Link flags whose change moves traffic.
constexpr unsigned kLinkFlags = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
// What is remembered is bounded; beyond it every event counts as a change.
constexpr std::size_t kMaxNeighbours = 1 << 16;
// Reads per drain(): the socket stays readable if more waits.
constexpr int kMaxReads = 256;

struct SockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct CacheDeleter {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using Sock = std::unique_ptr<nl_sock, SockDeleter>;
using Cache = std::unique_ptr<nl_cache, CacheDeleter>;

std::string bytes_of(nl_addr* a) {
  if (!a) return {};
  return std::string(static_cast<const char*>(nl_addr_get_binary_addr(a)), nl_addr_get_len(a));
}

Sock connect_route(const char* what) {
  Sock s(nl_socket_alloc());
  if (!s) throw std::runtime_error(fmt::format("netlink {}: cannot allocate a socket", what));
  if (int err = nl_connect(s.get(), NETLINK_ROUTE); err < 0)
    throw std::runtime_error(fmt::format("netlink {}: connect: {}", what, nl_geterror(err)));
  return s;
}

struct Neigh {
  std::string lladdr;
  bool usable = false;
};
struct Link {
  unsigned flags = 0;
  unsigned mtu = 0;
  std::string addr;
  bool operator==(const Link&) const = default;
};

std::string neigh_key(rtnl_neigh* n) {
  int ifindex = rtnl_neigh_get_ifindex(n);
  return std::string(1, static_cast<char>(rtnl_neigh_get_family(n))) +
         std::string(reinterpret_cast<const char*>(&ifindex), sizeof ifindex) +
         bytes_of(rtnl_neigh_get_dst(n));
}

Neigh neigh_of(rtnl_neigh* n) {
  return {bytes_of(rtnl_neigh_get_lladdr(n)), (rtnl_neigh_get_state(n) & kNudUsable) != 0};
}

Link link_of(rtnl_link* l) {
  return {rtnl_link_get_flags(l) & kLinkFlags, rtnl_link_get_mtu(l),
          bytes_of(rtnl_link_get_addr(l))};
}

}  // namespace

struct RouteWatch::Impl {
  Sock events;
  std::map<std::string, Neigh> neighbours;
  std::map<int, Link> links;
  std::size_t changes = 0;  // of the drain() running

  void load(nl_sock* s);
  void on_object(nl_object* obj);
  void on_neigh(rtnl_neigh* n, int msgtype);
  void on_link(rtnl_link* l, int msgtype);
};

// What the kernel holds now, so that the first notification about a
// neighbour or link is compared against it.
void RouteWatch::Impl::load(nl_sock* s) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(s, AF_UNSPEC, &raw); err < 0)
    throw std::runtime_error(fmt::format("netlink: dump links: {}", nl_geterror(err)));
  Cache lc(raw);
  for (nl_object* o = nl_cache_get_first(lc.get()); o; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    links[rtnl_link_get_ifindex(l)] = link_of(l);
  }
  raw = nullptr;
  if (int err = rtnl_neigh_alloc_cache(s, &raw); err < 0)
    throw std::runtime_error(fmt::format("netlink: dump neighbours: {}", nl_geterror(err)));
  Cache nc(raw);
  for (nl_object* o = nl_cache_get_first(nc.get()); o; o = nl_cache_get_next(o)) {
    if (neighbours.size() >= kMaxNeighbours) break;
    auto* n = reinterpret_cast<rtnl_neigh*>(o);
    neighbours[neigh_key(n)] = neigh_of(n);
  }
}

void RouteWatch::Impl::on_object(nl_object* obj) {
  const std::string_view type = nl_object_get_type(obj);
  const int msgtype = nl_object_get_msgtype(obj);
  if (type == "route/neigh")
    on_neigh(reinterpret_cast<rtnl_neigh*>(obj), msgtype);
  else if (type == "route/link")
    on_link(reinterpret_cast<rtnl_link*>(obj), msgtype);
  else if (type == "route/route" || type == "route/addr")
    ++changes;
}

// A cached next hop holds a neighbour that was usable: only its removal,
// failure or a new link-layer address matters.
void RouteWatch::Impl::on_neigh(rtnl_neigh* n, int msgtype) {
  const std::string key = neigh_key(n);
  auto it = neighbours.find(key);
  if (msgtype == RTM_DELNEIGH) {
    if (it == neighbours.end() || it->second.usable) ++changes;
    if (it != neighbours.end()) neighbours.erase(it);
    return;
  }
  Neigh now = neigh_of(n);
  if (it == neighbours.end()) {
    if (neighbours.size() < kMaxNeighbours)
      neighbours.emplace(key, now);
    else
      ++changes;  // cannot tell: assume it changed
    return;
  }
  if (it->second.usable && (!now.usable || now.lladdr != it->second.lladdr)) ++changes;
  it->second = now;
}

void RouteWatch::Impl::on_link(rtnl_link* l, int msgtype) {
  const int ifindex = rtnl_link_get_ifindex(l);
  if (msgtype == RTM_DELLINK) {
    links.erase(ifindex);
    ++changes;
    return;
  }
  Link now = link_of(l);
  auto [it, fresh] = links.try_emplace(ifindex, now);
  if (!fresh && !(it->second == now)) ++changes;
  it->second = now;
}

RouteWatch::RouteWatch() : impl_(std::make_unique<Impl>()) {
  impl_->events = connect_route("route watch");
  nl_sock* s = impl_->events.get();
  nl_socket_disable_seq_check(s);
  auto on_msg = [](nl_msg* msg, void* arg) -> int {
    nl_msg_parse(
        msg, [](nl_object* obj, void* a) { static_cast<Impl*>(a)->on_object(obj); }, arg);
    return NL_OK;
  };
  nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_CUSTOM, on_msg, impl_.get());
  // Subscribed before the dump, so that no change falls between the two.
  if (int err = nl_socket_add_memberships(s, RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_ROUTE,
                                          RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_IFADDR,
                                          RTNLGRP_IPV6_IFADDR, 0);
      err < 0)
    throw std::runtime_error(fmt::format("netlink route watch: subscribe: {}", nl_geterror(err)));
  nl_socket_set_buffer_size(s, 4 << 20, 0);
  if (int err = nl_socket_set_nonblocking(s); err < 0)
    throw std::runtime_error(fmt::format("netlink route watch: nonblocking: {}", nl_geterror(err)));
  Sock dump = connect_route("dump");
  impl_->load(dump.get());
}

RouteWatch::~RouteWatch() = default;

int RouteWatch::fd() const { return nl_socket_get_fd(impl_->events.get()); }

std::size_t RouteWatch::drain() {
  impl_->changes = 0;
  for (int i = 0; i < kMaxReads; ++i) {
    int rc = nl_recvmsgs_default(impl_->events.get());
    if (rc >= 0) continue;
    if (rc == -NLE_AGAIN) break;
    // Overrun (ENOBUFS) or another error: notifications were lost.
    impl_->neighbours.clear();
    impl_->links.clear();
    ++impl_->changes;
    if (rc != -NLE_NOMEM) break;
  }
  return impl_->changes;
}

}  // namespace aigw
