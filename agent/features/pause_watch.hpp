// The sending half of backpressure (issue 13): a thread reads every
// kPeriod the backlog of each shaped tenant's queues and
//  - on the customer ports (decapsulated traffic waiting for this site's
//    hosts): past the tenant's XOFF it asks every peer gateway to hold the
//    tenant (a PAUSE, backpressure/message.hpp, from backpressure.source),
//    refreshes it every hold_ms / 4 while the queue stays above XON, and
//    lets it go (RESUME) at XON;
//  - on the WAN ports (the tenant's traffic from this site's hosts, held
//    here when a peer pauses it): for a tenant with a pfc_priority, past
//    its XOFF it pauses that priority on every customer port with 802.1Qbb
//    PFC frames (backpressure/pfc.hpp), refreshed before they run out, and
//    resumes it (a PFC frame of 0 quanta) at XON.
// Thresholds: backpressure/thresholds.hpp, with the feedback delay of the
// peers (the largest rtt_ms, plus two periods and the far side's reaction)
// and of the hosts (two periods and a host's reaction). Whatever it asked
// for is let go when the watch stops or its plan drops the tenant.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backpressure/message.hpp"
#include "backpressure/pfc.hpp"
#include "backpressure/thresholds.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/net.hpp"

namespace aigw::nl {
class Htb;
}

namespace aigw::features {

class PauseWatch {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kPeriod = std::chrono::milliseconds(2);
  static constexpr auto kIdlePeriod = std::chrono::milliseconds(100);
  static constexpr auto kReaction = std::chrono::milliseconds(1);  // a peer's or a host's

  struct Peer {
    std::string name;
    sockaddr_in6 to{};  // its address (IPv4 mapped), our backpressure port
    bp::Key key;
    uint32_t rtt_ms = 0;
  };
  struct Port {
    std::string name;
    int ifindex = 0;
    uint64_t speed_bps = 0;
  };
  struct Tenant {
    std::string name;
    uint16_t id = 0;
    uint64_t ceil_bps = 0;
    std::optional<uint8_t> pfc_priority;
  };
  struct Plan {
    std::vector<Peer> peers;
    std::vector<Tenant> tenants;
    std::vector<Port> customers, wan;
    uint32_t hold_ms = 200;
  };
  struct TenantState {
    std::string name;
    bp::Thresholds pause, pfc;  // of its customer queue, of its WAN queue
    bool pausing = false;       // the peers are asked to hold it
    bool pfc_on = false;        // its hosts are paused
    uint64_t pause_episodes = 0, pfc_episodes = 0;
    uint64_t rx_backlog = 0, tx_backlog = 0;  // at the last read
    uint64_t rx_deepest = 0;
  };

  PauseWatch(const Logger& log, std::optional<IpAddr> source);
  ~PauseWatch();  // lets go of everything it asked for
  PauseWatch(const PauseWatch&) = delete;
  PauseWatch& operator=(const PauseWatch&) = delete;

  void set(Plan p);
  std::map<uint16_t, TenantState> states() const;
  // Messages and frames sent: (peer, pause|refresh|resume|error) and
  // (port, pfc_pause|pfc_resume|pfc_error).
  std::map<std::pair<std::string, std::string>, uint64_t> sent() const;

  // The thresholds of a tenant's queues under a plan.
  static bp::Thresholds pause_thresholds(const Plan& p, const Tenant& t);
  static bp::Thresholds pfc_thresholds(const Plan& p, const Tenant& t);

 private:
  struct PfcPort {
    std::string name;
    int ifindex = 0;
    bp::Mac mac{};
    uint64_t speed_bps = 0;
    Fd sock;
  };
  void loop();
  void poll(nl::Htb& htb, Clock::time_point now);
  std::map<uint16_t, uint64_t> backlog(nl::Htb& htb, const std::vector<Port>& ports) const;
  void pause_step(uint16_t id, TenantState& st, Clock::time_point now);
  void pfc_step(uint16_t id, const Tenant& t, TenantState& st, Clock::time_point now);
  void send_all(bp::MsgType type, uint16_t tenant, const char* kind);
  void pfc_all(uint8_t priority, bool on);
  void release_all();
  void open_pfc_ports();

  const Logger& log_;
  Fd sock_;                // UDP, bound to the source address when given
  mutable std::mutex mu_;  // everything below but the thread
  Plan plan_;
  std::map<uint16_t, TenantState> states_;
  std::map<uint16_t, Clock::time_point> last_pause_, last_pfc_;
  std::vector<PfcPort> pfc_ports_;
  std::map<std::pair<std::string, std::string>, uint64_t> sent_;
  uint64_t last_seq_ = 0;
  std::atomic<bool> stop_{false};
  std::thread th_;  // last
};

}  // namespace aigw::features
