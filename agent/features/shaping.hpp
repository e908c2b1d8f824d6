// Per-tenant queues (issue 13, first part): a tenant with a rate
// (tenants[].rate, ceil, burst) gets an HTB class on every WAN port and on
// every customer port (netlink/htb.hpp: root AIGW_SHAPE_MAJOR:, the
// tenant's class AIGW_SHAPE_MAJOR:<tenant id> under
// AIGW_SHAPE_MAJOR:AIGW_SHAPE_PARENT at the port's speed); its entry in
// aigw_shape sends its encapsulated packets (and its decapsulated ones, bound
// for a customer port) through the kernel (tc_customer_ingress on the
// ingress of every port) into that class instead of past the qdisc layer.
// The customer ports' queues are the ones whose backlog pauses upstream
// gateways (features/backpressure.hpp); the WAN ports' are the ones a
// pause holds. Unshaped tenants keep the XDP fast
// path. Rates change at runtime (`aigwctl tenant set T rate R [ceil C]`),
// through the same plan/add/remove as a reload. A tenant's schedule
// (time windows, UTC) gives it other rates in its windows: tick() applies
// a window's start and end, through the same commit.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/module.hpp"
#include "features/host.hpp"

namespace aigw::nl {
class Htb;
struct HtbRate;
}  // namespace aigw::nl

namespace aigw::dp {
class ShapeMap;
}

namespace aigw::features {
class QueueWatch;
}

namespace aigw::features {

class ShapingModule : public core::Module {
 public:
  explicit ShapingModule(Host& host);
  ~ShapingModule() override;
  std::string_view name() const override { return "shaping"; }
  void plan(const core::ApplyContext& ctx) override;
  void add(const core::ApplyContext& ctx) override;
  void remove(const core::ApplyContext& ctx) override;
  void commit(const core::ApplyContext& ctx) override;
  void tick(TimePoint) override;
  void register_commands(core::CommandTable& t) override;
  void collect(telemetry::Snapshot& s) const override;

  // Holds (on) or lets go a shaped tenant's queue on every WAN port, for
  // pause/resume (features/backpressure.hpp): held, its class sends at
  // held_rate() and what arrives waits in it. Any thread. False for a
  // tenant that is not shaped here (no queue to hold it in).
  bool hold(uint16_t tenant, bool on);
  bool held(uint16_t tenant) const;
  bool holdable(uint16_t tenant) const;
  // HTB cannot stop a class (and this kernel has no plug qdisc), and a
  // packet a class sends costs it the packet's time at its rate, paid
  // even after the rate is back: at 8 kbit/s a 1.3 kB frame would block
  // the tenant 1.3 s after the resume. So a held class sends at 1/1000 of
  // its rate, at least 1 Mbit/s: what leaks is 0.1 % of the rate (1 Mbit/s
  // at most 1 %), and a resume waits at most one frame's time (12 ms).
  static uint64_t held_rate(uint64_t rate_bps);

  // A tenant's queue as configured.
  struct Shape {
    uint64_t rate_bps = 0, ceil_bps = 0;
    uint32_t burst_bytes = 0;
    bool operator==(const Shape&) const = default;
  };
  struct Port {
    std::string name;
    int ifindex = 0;
    uint64_t speed_bps = 0;  // 0: unknown (no check, the parent class at the largest rate)
    bool operator==(const Port&) const = default;
  };
  struct State {
    std::map<uint16_t, Shape> tenants;  // shaped tenants by id
    std::vector<Port> wan;              // where their queues are, towards the WAN
    std::vector<Port> customers;        // and towards the hosts (decapsulated)
    std::set<int> tc;                   // where tc_customer_ingress runs: all of them
    bool operator==(const State&) const = default;
  };
  // What the queues are now, for the backpressure watch (any thread).
  struct Queues {
    std::map<uint16_t, Shape> tenants;
    std::vector<Port> wan, customers;
  };
  Queues queues() const;

 private:
  // The tenants' rates at week second `ws` (config/schedule.hpp).
  std::map<uint16_t, Shape> shapes_at(const Config& c, uint32_t ws) const;
  void add_ports(const core::ApplyContext& ctx, State& s) const;
  State state_of(const core::ApplyContext& ctx) const;
  void check(const Config& c, const State& s, const std::vector<Port>& wan) const;
  void forget_earlier(const core::ApplyContext& ctx, const State& next);
  void queues_up(const State& next);
  void queues_down(const State& next);
  nl::Htb& htb();
  dp::ShapeMap& map();
  QueueWatch& watch();
  std::vector<int> wan_ifindexes() const;
  void ports_up(const std::vector<Port>& next, std::vector<Port>& applied,
                const std::map<uint16_t, Shape>& tenants, bool holds);
  void ports_down(const std::vector<Port>& next, std::vector<Port>& applied);
  // Writes the tenant's class on a WAN port: its shape, or the held one.
  void write_class(nl::Htb& htb, int ifindex, uint16_t id, const Shape& sh);
  void publish_holdable();
  nlohmann::json show(nl::Htb& htb) const;
  void add_schedules(const Config& c, nlohmann::json& out) const;
  nlohmann::json set(const nlohmann::json& args);

  Host& host_;
  std::unique_ptr<nl::Htb> htb_;
  std::unique_ptr<dp::ShapeMap> map_;
  std::unique_ptr<QueueWatch> watch_;  // after map_: its thread writes the map
  std::optional<State> planned_;
  bool clear_holds_ = false;  // planned: a reload changed the tenants
  bool in_set_ = false;       // set() is committing
  // Tenants given rates by `tenant set` inside one of their windows: they
  // keep those rates (the configuration's base ones) until that window ends.
  // Written on the agent's thread under hold_mu_ (a scrape reads it).
  std::map<uint16_t, ShapeWindow> held_;
  std::optional<std::map<uint16_t, Shape>> schedule_failed_;  // logged once
  State applied_;  // what the kernel has now (updated step by step)

  // For hold() on other threads: every class write is made under hold_mu_.
  mutable std::mutex hold_mu_;
  std::map<uint16_t, Shape> holdable_;  // = applied_.tenants
  std::vector<int> hold_ports_;         // = applied_.wan
  std::vector<Port> wan_ports_;         // = applied_.wan
  std::vector<Port> rx_ports_;          // = applied_.customers
  std::set<uint16_t> holding_;
  std::map<uint16_t, uint64_t> pauses_;  // times held, by tenant
  std::unique_ptr<nl::Htb> hold_htb_;
};

// The port's speed from /sys/class/net/NAME/speed (Mbit/s), 0 when unknown.
uint64_t port_speed_bps(const std::string& ifname);

}  // namespace aigw::features
