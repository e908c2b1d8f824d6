// The receiving (upstream) gateway's side of pause/resume: which tenants
// its peers hold, until when, and which messages it takes. No I/O: the
// caller (features/pause_listener) reads the socket and writes the queues.
//
// A tenant is held while any peer's pause for it lasts. A pause lasts the
// message's hold_ms, at most max_pause (a lost RESUME, a dead peer: the
// tenant goes again); a PAUSE while paused refreshes it. From each peer only
// messages with a sequence newer than the last taken one, and within
// kMaxSkew of the receiver's wall clock, are taken.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "backpressure/message.hpp"

namespace aigw::bp {

class Holds {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict {
    Paused,         // the tenant is held from now
    Refreshed,      // it was held by this peer already: its time starts again
    Resumed,        // this peer's pause ended (others may still hold it)
    NotPaused,      // a RESUME from a peer that held nothing: taken, no change
    Replayed,       // not newer than the peer's last message
    Skewed,         // sequence too far from our clock
    UnknownTenant,  // no queue of that tenant here to hold it in
  };
  struct Outcome {
    Verdict verdict;
    bool changed = false;  // the tenant's held state changed
  };

  explicit Holds(std::chrono::milliseconds max_pause) : max_(max_pause) {}

  // A message from peer `peer`, authenticated. `wall_ns`: our wall clock.
  Outcome take(size_t peer, const Message& m, bool tenant_known, int64_t wall_ns,
               Clock::time_point now);
  // Pauses past their time; the tenants no longer held by anyone.
  std::vector<uint16_t> expire(Clock::time_point now);
  bool held(uint16_t tenant) const { return until_.count(tenant) > 0; }
  std::vector<uint16_t> held_tenants() const;
  std::optional<Clock::time_point> next_expiry() const;
  // A peer's state goes (its configuration was removed): its pauses end.
  std::vector<uint16_t> forget_peer(size_t peer);

 private:
  template <typename Pred>
  std::vector<uint16_t> end_if(Pred gone);

  std::chrono::milliseconds max_;
  std::map<uint16_t, std::map<size_t, Clock::time_point>> until_;  // tenant -> peer -> end
  std::map<size_t, uint64_t> last_seq_;
};

std::string_view verdict_name(Holds::Verdict v);

}  // namespace aigw::bp
