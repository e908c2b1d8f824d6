// Pause/resume from peer gateways (issue 13; the message:
// backpressure/message.hpp). With backpressure.peers configured the agent
// listens on UDP backpressure.port; a datagram from a peer's address, with
// that peer's MAC, fresh and in order, pauses or resumes one tenant: its
// queues on the WAN ports are held (ShapingModule::hold) while any peer's
// pause lasts: until that peer's RESUME, or max_pause_ms after its last
// PAUSE (a lost RESUME, a dead peer: the tenant goes again). Everything
// else is refused and counted by outcome (aigw_pause_messages_total).
// The sending half, pauses to the peers from this gateway's customer
// queues and PFC to its hosts from its WAN queues: features/pause_watch.hpp.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backpressure/holds.hpp"
#include "backpressure/message.hpp"
#include "common/fd.hpp"
#include "core/module.hpp"
#include "features/host.hpp"
#include "features/pause_watch.hpp"

namespace aigw::features {

class ShapingModule;

// The listener's thread: a socket, the holds, the counters.
class PauseListener {
 public:
  struct Peer {
    std::string name;
    Ip6 address;  // IPv4 as ::ffff:a.b.c.d
    bp::Key key;
  };
  PauseListener(const BackpressureSettings& s, std::vector<Peer> peers, ShapingModule& shaping,
                const Logger& log);
  ~PauseListener();  // lets every held tenant go
  PauseListener(const PauseListener&) = delete;
  PauseListener& operator=(const PauseListener&) = delete;

  std::map<std::pair<std::string, std::string>, uint64_t> counts() const;
  std::vector<uint16_t> held() const;

 private:
  void loop();
  void receive();
  void take(size_t peer, const bp::Message& m);
  void expire();
  void count(const std::string& peer, std::string_view outcome);
  void hold(uint16_t tenant, bool on);

  std::vector<Peer> peers_;
  ShapingModule& shaping_;
  const Logger& log_;
  Fd sock_;
  mutable std::mutex mu_;  // holds_, counts_
  bp::Holds holds_;
  std::map<std::pair<std::string, std::string>, uint64_t> counts_;
  std::atomic<bool> stop_{false};
  std::thread th_;  // last
};

class BackpressureModule : public core::Module {
 public:
  BackpressureModule(Host& host, ShapingModule& shaping);
  ~BackpressureModule() override;
  std::string_view name() const override { return "backpressure"; }
  void plan(const core::ApplyContext& ctx) override;
  void add(const core::ApplyContext& ctx) override;
  void commit(const core::ApplyContext& ctx) override;
  void stop() override;
  void register_commands(core::CommandTable& t) override;
  void collect(telemetry::Snapshot& s) const override;

 private:
  PauseWatch::Plan watch_plan(const Config& c) const;
  nlohmann::json show() const;

  Host& host_;
  ShapingModule& shaping_;
  std::optional<std::vector<PauseListener::Peer>> planned_;
  BackpressureSettings applied_;
  std::vector<PauseListener::Peer> peers_;  // the listener's, keys included
  std::unique_ptr<PauseListener> listener_;
  std::optional<IpAddr> watch_source_;
  std::unique_ptr<PauseWatch> watch_;  // while there are peers or a pfc_priority
};

// The peers with their keys read; ApplyError naming the peer and the file.
std::vector<PauseListener::Peer> load_pause_peers(const BackpressureSettings& s);

}  // namespace aigw::features
