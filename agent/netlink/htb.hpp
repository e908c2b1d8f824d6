// HTB queues over rtnetlink (libnl-route): the root HTB of a port, a parent
// class at the port's speed, and leaf classes under it; their counters.
// Handles are major:minor as tc(8) writes them (a16:7).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>

struct nl_sock;

namespace aigw::nl {

// Rates in bits/s, buckets in bytes. A bucket of 0 is computed as tc and
// libnl did on HZ=100 kernels: 10 ms at its rate plus one 1600-byte frame
// (libnl's own default today, rate / 10^9 + MTU, is one frame: below 1 µs,
// so 0 in the kernel, from about 12 Gbit/s up). A bucket given is used as
// is, but never below 2 µs at its rate (libnl hands the kernel whole µs,
// rounded down: 1600 bytes at 10 Gbit/s would be 0), and set_class refuses
// one above 60 s at its rate.
struct HtbRate {
  uint64_t rate_bps = 0;      // guaranteed
  uint64_t ceil_bps = 0;      // the most it may borrow up to; 0 = rate
  uint32_t burst_bytes = 0;   // the rate's bucket; 0 = computed
  uint32_t cburst_bytes = 0;  // the ceil's bucket; 0 = computed
};

struct HtbClassStats {
  uint64_t bytes = 0, packets = 0, drops = 0, overlimits = 0;
  uint32_t backlog_bytes = 0, qlen = 0;  // waiting in the class's leaf queue now
};

class Htb {
 public:
  Htb();  // its own NETLINK_ROUTE socket; throws std::runtime_error
  ~Htb();
  Htb(const Htb&) = delete;
  Htb& operator=(const Htb&) = delete;

  // The port's root qdisc becomes an HTB major: whose default class is 0
  // (unclassified traffic goes direct, unshaped) with one parent class
  // major:parent_minor at rate = ceil = link_bps. An HTB root of ours
  // already there is kept (the parent's rate set again when it differs).
  // A root qdisc with a handle of someone else's (another HTB, any qdisc an
  // operator made) is never replaced: throws. A default root (handle 0:
  // noqueue, pfifo_fast, fq_codel, mq) is.
  void ensure_root(int ifindex, uint16_t major, uint16_t parent_minor, uint64_t link_bps);
  // Add or change the leaf class major:minor under major:parent_minor
  // (parent_minor 0: under the root qdisc). Its counters stay across changes.
  // Throws when the parent class is absent or the class is under another
  // (HTB would make it a root class / keep it where it is, silently).
  void set_class(int ifindex, uint16_t major, uint16_t minor, uint16_t parent_minor,
                 const HtbRate& r);
  // Nothing when absent (or the port or the root is).
  void remove_class(int ifindex, uint16_t major, uint16_t minor);
  // Only our HTB (an htb with handle major:); nothing when absent or someone else's.
  void remove_root(int ifindex, uint16_t major);
  std::optional<HtbClassStats> class_stats(int ifindex, uint16_t major, uint16_t minor);
  // Every class major:* of the port at once (one dump), by minor.
  std::map<uint16_t, HtbClassStats> all_class_stats(int ifindex, uint16_t major);
  // rate and ceil (and the buckets) as the kernel has them.
  std::optional<HtbRate> class_rate(int ifindex, uint16_t major, uint16_t minor);

 private:
  struct SockDeleter {
    void operator()(nl_sock* s) const;
  };
  std::unique_ptr<nl_sock, SockDeleter> sock_;
};

}  // namespace aigw::nl
