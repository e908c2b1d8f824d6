#include "netlink/htb.hpp"

#include <fmt/format.h>
#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/tc.h>

#include <algorithm>
#include <cstring>
#include <limits>
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

// The most a bucket given may last at its rate (libnl keeps it in µs in an
// int, the kernel in 64 ns ticks in a u32: 274 s).
constexpr uint64_t kMaxBucketSeconds = 60;
// The default bucket: 10 ms at the rate (rate / HZ, HZ = 100) and a frame.
constexpr uint64_t kDefaultBucketsPerSecond = 100;
constexpr uint64_t kFrameBytes = 1600;

uint32_t handle(uint16_t major, uint16_t minor) { return TC_H_MAKE(uint32_t{major} << 16, minor); }

std::string class_where(uint16_t major, uint16_t minor, int ifindex) {
  return fmt::format("netlink: htb class {:x}:{:x} on ifindex {}", major, minor, ifindex);
}

std::string root_where(uint16_t major, int ifindex) {
  return fmt::format("netlink: htb root {:x}: on ifindex {}", major, ifindex);
}

void check(int err, const std::string& what) {
  if (err < 0) throw std::runtime_error(fmt::format("{}: {}", what, nl_geterror(err)));
}

bool is_htb(rtnl_tc* tc) {
  const char* kind = rtnl_tc_get_kind(tc);
  return kind && std::strcmp(kind, "htb") == 0;
}

// The bucket handed to libnl, in bytes, for a rate in bytes/s. libnl turns
// it into whole µs at the rate (rounding down) through an int, then into the
// kernel's 64 ns ticks (rounding down again): at least 2 µs (1.98 µs in the
// kernel; a bucket under 1 µs would be 0), at most INT_MAX bytes.
uint32_t bucket(uint64_t bytes_per_s, uint32_t asked, const std::string& what) {
  if (asked > bytes_per_s * kMaxBucketSeconds || asked > std::numeric_limits<int>::max())
    throw std::runtime_error(fmt::format("{}: {} bytes is more than {} s at {} bit/s", what, asked,
                                         kMaxBucketSeconds, bytes_per_s * 8));
  uint64_t b = asked ? asked
                     : std::min(bytes_per_s / kDefaultBucketsPerSecond + kFrameBytes,
                                bytes_per_s * kMaxBucketSeconds);
  b = std::max(b, 2 * bytes_per_s / 1'000'000 + 1);
  return static_cast<uint32_t>(std::min<uint64_t>(b, std::numeric_limits<int>::max()));
}

Class new_class(int ifindex, uint32_t h, uint32_t parent) {
  Class c(rtnl_class_alloc());
  if (!c) throw std::runtime_error("netlink: cannot allocate a class");
  rtnl_tc_set_ifindex(TC_CAST(c.get()), ifindex);
  rtnl_tc_set_handle(TC_CAST(c.get()), h);
  rtnl_tc_set_parent(TC_CAST(c.get()), parent);
  return c;
}

// An htb class with its rates and buckets (rates in bits/s; libnl's in bytes/s).
Class htb_class(int ifindex, uint32_t h, uint32_t parent, const HtbRate& r, const std::string& w) {
  uint64_t rate = r.rate_bps / 8, ceil = (r.ceil_bps ? r.ceil_bps : r.rate_bps) / 8;
  if (!rate || !ceil) throw std::runtime_error(w + ": a rate or ceil below 8 bit/s");
  Class c = new_class(ifindex, h, parent);
  check(rtnl_tc_set_kind(TC_CAST(c.get()), "htb"), w);
  check(rtnl_htb_set_rate64(c.get(), rate), w + ": rate");
  check(rtnl_htb_set_ceil64(c.get(), ceil), w + ": ceil");
  check(rtnl_htb_set_rbuffer(c.get(), bucket(rate, r.burst_bytes, w + ": burst")), w + ": burst");
  check(rtnl_htb_set_cbuffer(c.get(), bucket(ceil, r.cburst_bytes, w + ": cburst")),
        w + ": cburst");
  return c;
}

// HTB makes a class whose parent it cannot find a root class, and never
// moves a class to another parent: both would leave a tenant outside the
// parent it borrows from.
void check_parent(Cache& cache, int ifindex, uint16_t major, uint16_t minor, uint16_t parent_minor,
                  const std::string& w) {
  if (parent_minor && !Class(rtnl_class_get(cache.get(), ifindex, handle(major, parent_minor))))
    throw std::runtime_error(fmt::format("{}: no parent class {:x}:{:x}", w, major, parent_minor));
  Class c(rtnl_class_get(cache.get(), ifindex, handle(major, minor)));
  uint32_t want = parent_minor ? handle(major, parent_minor) : TC_H_ROOT;
  if (uint32_t now = c ? rtnl_tc_get_parent(TC_CAST(c.get())) : want; now != want)
    throw std::runtime_error(fmt::format("{}: it is under {:x}:{:x}, not {:x}:{:x}", w,
                                         TC_H_MAJ(now) >> 16, TC_H_MIN(now), major, parent_minor));
}

// The port's root qdisc (null when it has none).
Qdisc root_qdisc(nl_sock* sock, int ifindex, const std::string& w) {
  nl_cache* raw = nullptr;
  check(rtnl_qdisc_alloc_cache(sock, &raw), w + ": qdiscs");
  Cache cache(raw);
  return Qdisc(rtnl_qdisc_get_by_parent(cache.get(), ifindex, TC_H_ROOT));
}

// A new root HTB major: in place of the kernel's default root. Without
// NLM_F_REPLACE the kernel itself refuses to replace any other root (one
// made since we looked): EEXIST.
void add_root(nl_sock* sock, int ifindex, uint16_t major, const std::string& w) {
  Qdisc q(rtnl_qdisc_alloc());
  if (!q) throw std::runtime_error("netlink: cannot allocate a qdisc");
  rtnl_tc_set_ifindex(TC_CAST(q.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_ROOT);
  rtnl_tc_set_handle(TC_CAST(q.get()), handle(major, 0));
  check(rtnl_tc_set_kind(TC_CAST(q.get()), "htb"), w);
  check(rtnl_htb_set_defcls(q.get(), 0), w + ": default class");  // direct, unshaped
  check(rtnl_qdisc_add(sock, q.get(), NLM_F_CREATE | NLM_F_EXCL), w);
}

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
  check(rtnl_class_alloc_cache(sock, ifindex, &raw), class_where(major, minor, ifindex));
  return Cache(raw);
}

// One class (null when absent); it holds its own reference.
Class find_class(nl_sock* sock, int ifindex, uint16_t major, uint16_t minor) {
  Cache cache = class_cache(sock, ifindex, major, minor);
  return Class(rtnl_class_get(cache.get(), ifindex, handle(major, minor)));
}

}  // namespace

void Htb::SockDeleter::operator()(nl_sock* s) const { nl_socket_free(s); }

Htb::Htb() : sock_(nl_socket_alloc()) {
  if (!sock_) throw std::runtime_error("netlink: cannot allocate socket");
  check(nl_connect(sock_.get(), NETLINK_ROUTE), "netlink: connect");
}

Htb::~Htb() = default;

void Htb::ensure_root(int ifindex, uint16_t major, uint16_t parent_minor, uint64_t link_bps) {
  std::string w = root_where(major, ifindex);
  Qdisc root = root_qdisc(sock_.get(), ifindex, w);
  uint32_t have = root ? rtnl_tc_get_handle(TC_CAST(root.get())) : 0;
  bool ours = have == handle(major, 0) && is_htb(TC_CAST(root.get()));
  // the kernel's default root has handle 0; any other was made by someone
  if (!ours && have) {
    const char* kind = rtnl_tc_get_kind(TC_CAST(root.get()));
    throw std::runtime_error(fmt::format("{}: the port's root qdisc ({} {:x}:) is someone else's",
                                         w, kind ? kind : "?", TC_H_MAJ(have) >> 16));
  }
  if (!ours) {
    add_root(sock_.get(), ifindex, major, w);
  } else if (auto r = class_rate(ifindex, major, parent_minor)) {
    if (r->rate_bps == link_bps / 8 * 8 && r->ceil_bps == r->rate_bps) return;
  }
  set_class(ifindex, major, parent_minor, 0, HtbRate{link_bps, link_bps, 0, 0});
}

void Htb::set_class(int ifindex, uint16_t major, uint16_t minor, uint16_t parent_minor,
                    const HtbRate& r) {
  std::string w = class_where(major, minor, ifindex);
  Cache cache = class_cache(sock_.get(), ifindex, major, minor);
  check_parent(cache, ifindex, major, minor, parent_minor, w);
  Class c = htb_class(ifindex, handle(major, minor), handle(major, parent_minor), r, w);
  check(rtnl_class_add(sock_.get(), c.get(), NLM_F_CREATE | NLM_F_REPLACE), w);
}

void Htb::remove_class(int ifindex, uint16_t major, uint16_t minor) {
  Class c = new_class(ifindex, handle(major, minor), 0);
  int err = rtnl_class_delete(sock_.get(), c.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return;  // no class, root or port
  check(err, class_where(major, minor, ifindex) + ": delete");
}

void Htb::remove_root(int ifindex, uint16_t major) {
  std::string w = root_where(major, ifindex);
  Qdisc root = root_qdisc(sock_.get(), ifindex, w);
  if (!root || rtnl_tc_get_handle(TC_CAST(root.get())) != handle(major, 0) ||
      !is_htb(TC_CAST(root.get())))
    return;
  int err = rtnl_qdisc_delete(sock_.get(), root.get());
  if (err != -NLE_OBJ_NOTFOUND) check(err, w + ": delete");
}

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
    return std::nullopt;  // not an htb class
  HtbRate r;
  r.rate_bps = rate * 8;
  r.ceil_bps = ceil * 8;
  r.burst_bytes = rtnl_htb_get_rbuffer(c.get());
  r.cburst_bytes = rtnl_htb_get_cbuffer(c.get());
  return r;
}

}  // namespace aigw::nl
