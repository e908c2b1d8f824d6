// The shaped tenants' entries in aigw_shape and the watch on their queues'
// backlog: a thread reads every tenant's HTB class on every WAN port each
// kPeriod (one netlink dump per port) and sets the tenant's CE flag while
// its deepest queue holds more than its marking threshold (cleared below
// half of it), so the TC program marks ECN-capable packets CE (RFC 3168)
// and TCP tenants slow down before the queue overflows.
//
// Threshold: the bytes of kMarkDelay at the tenant's rate, at least
// kMinMarkBytes (a few full frames): at 100 Mbit/s 30 kB, at 10 Gbit/s 2.5 MB.
// The queue (HTB's default leaf, pfifo, the port's txqueuelen packets)
// is far deeper.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace aigw::dp {
class ShapeMap;
}
namespace aigw::nl {
class Htb;
}

namespace aigw::features {

class QueueWatch {
 public:
  static constexpr auto kPeriod = std::chrono::milliseconds(5);
  static constexpr auto kIdlePeriod = std::chrono::milliseconds(100);  // no tenant shaped
  static constexpr auto kMarkDelay = std::chrono::milliseconds(2);
  static constexpr uint64_t kMinMarkBytes = 30'000;

  struct TenantState {
    uint64_t mark_bytes = 0;     // the threshold
    bool marking = false;        // CE flag set now
    uint64_t episodes = 0;       // times the flag was set
    uint64_t deepest_bytes = 0;  // the deepest backlog seen
  };

  explicit QueueWatch(dp::ShapeMap& map);
  ~QueueWatch();
  QueueWatch(const QueueWatch&) = delete;
  QueueWatch& operator=(const QueueWatch&) = delete;

  // The tenant's map entry (its queue's class), flag cleared; watched.
  void shape(uint16_t tenant, uint32_t priority, uint64_t rate_bps);
  // Back to the fast path; no longer watched.
  void unshape(uint16_t tenant);
  void set_ports(std::vector<int> ifindexes);
  std::map<uint16_t, TenantState> states() const;
  static uint64_t mark_bytes(uint64_t rate_bps);

 private:
  struct Tenant {
    uint32_t priority = 0;
    TenantState st;
  };
  void loop();
  bool poll(nl::Htb& htb);

  dp::ShapeMap& map_;
  mutable std::mutex mu_;  // tenants_, ports_ and every write of the map
  std::map<uint16_t, Tenant> tenants_;
  std::vector<int> ports_;
  std::atomic<bool> stop_{false};
  std::thread th_;  // last: started once the rest is made
};

}  // namespace aigw::features
