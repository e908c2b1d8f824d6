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

struct HtbRate {
  uint64_t rate_bps = 0;      // guaranteed, bits/s
  uint64_t ceil_bps = 0;      // the most it may borrow up to; 0 = rate
  uint32_t burst_bytes = 0;   // 0: libnl's (rate / HZ + MTU, as tc's default)
  uint32_t cburst_bytes = 0;  // 0: the same rule on ceil
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

  // The port's root qdisc becomes an HTB major: (unclassified traffic goes
  // direct, unshaped) with one parent class major:parent_minor at link_bps.
  // An HTB root of ours already there is kept (the parent's rate set
  // again). A root qdisc with a handle of someone else's (another HTB, any
  // qdisc an operator made) is never replaced: throws. A default root
  // (handle 0: noqueue, pfifo_fast, fq_codel, mq) is.
  void ensure_root(int ifindex, uint16_t major, uint16_t parent_minor, uint64_t link_bps);
  // Add or change the leaf class major:minor under major:parent_minor
  // (its counters stay across changes).
  void set_class(int ifindex, uint16_t major, uint16_t minor, uint16_t parent_minor,
                 const HtbRate& r);
  // Nothing when absent.
  void remove_class(int ifindex, uint16_t major, uint16_t minor);
  // Only our HTB (handle major:); nothing when absent or someone else's.
  void remove_root(int ifindex, uint16_t major);
  std::optional<HtbClassStats> class_stats(int ifindex, uint16_t major, uint16_t minor);
  // Every class major:* of the port at once (one dump), by minor.
  std::map<uint16_t, HtbClassStats> all_class_stats(int ifindex, uint16_t major);
  // rate and ceil as the kernel has them.
  std::optional<HtbRate> class_rate(int ifindex, uint16_t major, uint16_t minor);

 private:
  struct SockDeleter {
    void operator()(nl_sock* s) const;
  };
  std::unique_ptr<nl_sock, SockDeleter> sock_;
};

}  // namespace aigw::nl
