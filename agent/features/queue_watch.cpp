#include "features/queue_watch.hpp"

#include <aigw/abi.h>
#include <pthread.h>

#include <algorithm>
#include <optional>

#include "datapath/shape_map.hpp"
#include "netlink/htb.hpp"

namespace aigw::features {

QueueWatch::QueueWatch(dp::ShapeMap& map) : map_(map), th_([this] { loop(); }) {}

QueueWatch::~QueueWatch() {
  stop_ = true;
  th_.join();
}

uint64_t QueueWatch::mark_bytes(uint64_t rate_bps) {
  uint64_t b = rate_bps / 8 *
               std::chrono::duration_cast<std::chrono::microseconds>(kMarkDelay).count() /
               1'000'000;
  return std::max(b, kMinMarkBytes);
}

void QueueWatch::shape(uint16_t tenant, uint32_t priority, uint64_t rate_bps) {
  std::lock_guard l(mu_);
  Tenant& t = tenants_[tenant];
  if (t.priority != priority) {
    map_.set(tenant, priority, 0);
    t.priority = priority;
    t.st.marking = false;
  }
  t.st.mark_bytes = mark_bytes(rate_bps);
}

void QueueWatch::unshape(uint16_t tenant) {
  std::lock_guard l(mu_);
  map_.set(tenant, 0, 0);
  tenants_.erase(tenant);
}

void QueueWatch::set_ports(std::vector<int> ifindexes) {
  std::lock_guard l(mu_);
  ports_ = std::move(ifindexes);
}

std::map<uint16_t, QueueWatch::TenantState> QueueWatch::states() const {
  std::lock_guard l(mu_);
  std::map<uint16_t, TenantState> out;
  for (const auto& [id, t] : tenants_) out[id] = t.st;
  return out;
}

void QueueWatch::loop() {
  pthread_setname_np(pthread_self(), "aigw-queues");
  std::optional<nl::Htb> htb;
  while (!stop_) {
    bool watching = false;
    try {
      if (!htb) htb.emplace();
      watching = poll(*htb);
    } catch (const std::exception&) {
      // a port gone between a reload's steps: the next period reads again
    }
    std::this_thread::sleep_for(watching ? kPeriod : kIdlePeriod);
  }
}

// One dump per port (outside the lock), then the flags that changed.
// False when there is nothing to watch.
bool QueueWatch::poll(nl::Htb& htb) {
  std::vector<int> ports;
  {
    std::lock_guard l(mu_);
    if (tenants_.empty()) return false;
    ports = ports_;
  }
  std::map<uint16_t, uint64_t> deepest;
  for (int ifx : ports)
    for (const auto& [minor, s] : htb.all_class_stats(ifx, AIGW_SHAPE_MAJOR))
      deepest[minor] = std::max<uint64_t>(deepest[minor], s.backlog_bytes);
  std::lock_guard l(mu_);
  for (auto& [id, t] : tenants_) {
    uint64_t b = deepest[id];
    t.st.deepest_bytes = std::max(t.st.deepest_bytes, b);
    bool want = t.st.marking ? b > t.st.mark_bytes / 2 : b > t.st.mark_bytes;
    if (want == t.st.marking) continue;
    map_.set(id, t.priority, want ? AIGW_SHAPE_F_CE : 0);
    t.st.marking = want;
    t.st.episodes += want;
  }
  return true;
}

}  // namespace aigw::features
