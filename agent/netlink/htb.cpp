#include "netlink/htb.hpp"

#include <fmt/format.h>
#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/tc.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace aigw::nl {
namespace {

struct QdiscPut {
  void operator()(rtnl_qdisc* q) const { rtnl_qdisc_put(q); }
};
struct ClassPut {
  void operator()(rtnl_class* c) const { rtnl_class_put(c); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using Qdisc = std::unique_ptr<rtnl_qdisc, QdiscPut>;
using Class = std::unique_ptr<rtnl_class, ClassPut>;
using Cache = std::unique_ptr<nl_cache, CacheFree>;

uint32_t handle(uint16_t major, uint16_t minor) { return TC_H_MAKE(uint32_t{major} << 16, minor); }

std::string where(uint16_t major, uint16_t minor, int ifindex) {
  return fmt::format("netlink: htb {:x}:{:x} on ifindex {}", major, minor, ifindex);
}

void check(int err, const std::string& what) {
  if (err < 0) throw std::runtime_error(fmt::format("{}: {}", what, nl_geterror(err)));
}

Class new_class(int ifindex, uint32_t h, uint32_t parent) {
  Class c(rtnl_class_alloc());
  if (!c) throw std::runtime_error("netlink: cannot allocate a class");
  rtnl_tc_set_ifindex(TC_CAST(c.get()), ifindex);
  rtnl_tc_set_handle(TC_CAST(c.get()), h);
  rtnl_tc_set_parent(TC_CAST(c.get()), parent);
  return c;
}

}  // namespace

void Htb::SockDeleter::operator()(nl_sock* s) const { nl_socket_free(s); }

Htb::Htb() : sock_(nl_socket_alloc()) {
  if (!sock_) throw std::runtime_error("netlink: cannot allocate socket");
  check(nl_connect(sock_.get(), NETLINK_ROUTE), "netlink: connect");
}

Htb::~Htb() = default;

void Htb::ensure_root(int ifindex, uint16_t major, uint16_t parent_minor, uint64_t link_bps) {
  nl_cache* raw = nullptr;
  check(rtnl_qdisc_alloc_cache(sock_.get(), &raw), where(major, 0, ifindex) + ": qdiscs");
  Cache cache(raw);
  Qdisc root(rtnl_qdisc_get_by_parent(cache.get(), ifindex, TC_H_ROOT));
  uint32_t have = root ? rtnl_tc_get_handle(TC_CAST(root.get())) : 0;
  const char* kind = root ? rtnl_tc_get_kind(TC_CAST(root.get())) : "";
  bool ours = have == handle(major, 0) && kind && std::strcmp(kind, "htb") == 0;
  // the kernel's default root has handle 0; any other was made by someone
  if (!ours && have)
    throw std::runtime_error(fmt::format("{}: port has a root qdisc {} {:x}: of someone else's",
                                         where(major, 0, ifindex), kind ? kind : "?",
                                         TC_H_MAJ(have) >> 16));
  if (!ours) {
    Qdisc q(rtnl_qdisc_alloc());
    if (!q) throw std::runtime_error("netlink: cannot allocate a qdisc");
    rtnl_tc_set_ifindex(TC_CAST(q.get()), ifindex);
    rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_ROOT);
    rtnl_tc_set_handle(TC_CAST(q.get()), handle(major, 0));
    check(rtnl_tc_set_kind(TC_CAST(q.get()), "htb"), where(major, 0, ifindex));
    rtnl_htb_set_defcls(q.get(), 0);  // unclassified: direct, unshaped
    check(rtnl_qdisc_add(sock_.get(), q.get(), NLM_F_CREATE | NLM_F_REPLACE),
          where(major, 0, ifindex) + ": root");
  }
  set_class(ifindex, major, parent_minor, 0, HtbRate{link_bps, link_bps, 0, 0});
}

// parent_minor 0: a class directly under the root qdisc.
void Htb::set_class(int ifindex, uint16_t major, uint16_t minor, uint16_t parent_minor,
                    const HtbRate& r) {
  uint32_t parent = parent_minor ? handle(major, parent_minor) : handle(major, 0);
  Class c = new_class(ifindex, handle(major, minor), parent);
  std::string w = where(major, minor, ifindex);
  check(rtnl_tc_set_kind(TC_CAST(c.get()), "htb"), w);
  check(rtnl_htb_set_rate64(c.get(), r.rate_bps / 8), w + ": rate");
  check(rtnl_htb_set_ceil64(c.get(), (r.ceil_bps ? r.ceil_bps : r.rate_bps) / 8), w + ": ceil");
  if (r.burst_bytes) check(rtnl_htb_set_rbuffer(c.get(), r.burst_bytes), w + ": burst");
  if (r.cburst_bytes) check(rtnl_htb_set_cbuffer(c.get(), r.cburst_bytes), w + ": cburst");
  check(rtnl_class_add(sock_.get(), c.get(), NLM_F_CREATE | NLM_F_REPLACE), w);
}

void Htb::remove_class(int ifindex, uint16_t major, uint16_t minor) {
  Class c = new_class(ifindex, handle(major, minor), 0);
  int err = rtnl_class_delete(sock_.get(), c.get());
  if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NOADDR)
    check(err, where(major, minor, ifindex) + ": delete");
}

void Htb::remove_root(int ifindex, uint16_t major) {
  nl_cache* raw = nullptr;
  check(rtnl_qdisc_alloc_cache(sock_.get(), &raw), where(major, 0, ifindex) + ": qdiscs");
  Cache cache(raw);
  Qdisc root(rtnl_qdisc_get_by_parent(cache.get(), ifindex, TC_H_ROOT));
  if (!root || rtnl_tc_get_handle(TC_CAST(root.get())) != handle(major, 0)) return;
  check(rtnl_qdisc_delete(sock_.get(), root.get()), where(major, 0, ifindex) + ": delete root");
}

namespace {

HtbClassStats stats_of(rtnl_class* c) {
  auto* tc = TC_CAST(c);
  HtbClassStats s;
  s.bytes = rtnl_tc_get_stat(tc, RTNL_TC_BYTES);
  s.packets = rtnl_tc_get_stat(tc, RTNL_TC_PACKETS);
  s.drops = rtnl_tc_get_stat(tc, RTNL_TC_DROPS);
  s.overlimits = rtnl_tc_get_stat(tc, RTNL_TC_OVERLIMITS);
  s.backlog_bytes = static_cast<uint32_t>(rtnl_tc_get_stat(tc, RTNL_TC_BACKLOG));
  s.qlen = static_cast<uint32_t>(rtnl_tc_get_stat(tc, RTNL_TC_QLEN));
  return s;
}

// The port's classes as the kernel has them now.
Cache class_cache(nl_sock* sock, int ifindex, uint16_t major, uint16_t minor) {
  nl_cache* raw = nullptr;
  check(rtnl_class_alloc_cache(sock, ifindex, &raw), where(major, minor, ifindex));
  return Cache(raw);
}

// One class (null when absent); it holds its own reference.
Class find_class(nl_sock* sock, int ifindex, uint16_t major, uint16_t minor) {
  Cache cache = class_cache(sock, ifindex, major, minor);
  return Class(rtnl_class_get(cache.get(), ifindex, handle(major, minor)));
}

}  // namespace

std::optional<HtbClassStats> Htb::class_stats(int ifindex, uint16_t major, uint16_t minor) {
  Class c = find_class(sock_.get(), ifindex, major, minor);
  if (!c) return std::nullopt;
  return stats_of(c.get());
}

std::map<uint16_t, HtbClassStats> Htb::all_class_stats(int ifindex, uint16_t major) {
  Cache cache = class_cache(sock_.get(), ifindex, major, 0);
  std::map<uint16_t, HtbClassStats> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* c = reinterpret_cast<rtnl_class*>(o);
    uint32_t h = rtnl_tc_get_handle(TC_CAST(c));
    if (TC_H_MAJ(h) == TC_H_MAJ(handle(major, 0)))
      out[static_cast<uint16_t>(TC_H_MIN(h))] = stats_of(c);
  }
  return out;
}

std::optional<HtbRate> Htb::class_rate(int ifindex, uint16_t major, uint16_t minor) {
  Class c = find_class(sock_.get(), ifindex, major, minor);
  if (!c) return std::nullopt;
  uint64_t rate = 0, ceil = 0;
  if (rtnl_htb_get_rate64(c.get(), &rate) < 0 || rtnl_htb_get_ceil64(c.get(), &ceil) < 0)
    return std::nullopt;
  HtbRate r;
  r.rate_bps = rate * 8;
  r.ceil_bps = ceil * 8;
  r.burst_bytes = rtnl_htb_get_rbuffer(c.get());
  r.cburst_bytes = rtnl_htb_get_cbuffer(c.get());
  return r;
}

}  // namespace aigw::nl
