// The RDMA proxy (config `rdma_proxy`): RoCEv2 of the selected tenants and
// classes leaves the XDP fast path for the agent's AF_XDP sockets, one per
// port and queue (abi.h "RDMA proxy"), and goes through rdma::Proxy:
//   - sending side: the headend hands over each packet encapsulated for the
//     WAN; it is cached (byte for byte, outer headers included) and sent on
//     out of the WAN port; a peer gateway's NACK (decapsulated by the
//     endpoint) resends the cached packets it names;
//   - receiving side: the endpoint hands over each packet decapsulated for
//     a local host; it is reordered by PSN, holes are asked for with NACKs
//     that enter the SRv6 tunnel through the headend program (run on the
//     NACK as if the host had sent it), and what is in order goes out of
//     the customer port.
// One thread per queue owns that queue's sockets on every port; the
// proxy's state is shared by the threads under a lock (a stream's data
// and its NACKs may arrive on different queues). Serves `aigwctl rdma
// show` and exports aigw_rdma_* metrics.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/module.hpp"
#include "datapath/rdma_maps.hpp"
#include "features/host.hpp"
#include "rdma/proxy.hpp"
#include "telemetry/metrics.hpp"

namespace aigw::features {

// The tenants' and classes' RoCEv2 the XDP programs hand to the proxy
// (aigw_rdma_sel), from rdma_proxy.select. Throws ApplyError for a tenant
// or class the configuration does not have.
dp::RdmaSelection rdma_selection(const Config& c);

// The proxy's limits from the rdma_proxy settings.
rdma::ProxyLimits rdma_limits(const RdmaProxySettings& s);

class RdmaProxyModule : public core::Module {
 public:
  explicit RdmaProxyModule(Host& host);
  ~RdmaProxyModule() override;
  std::string_view name() const override { return "rdma_proxy"; }
  void plan(const core::ApplyContext& ctx) override;
  void commit(const core::ApplyContext& ctx) override;
  void start() override;
  void stop() override;
  void register_commands(core::CommandTable& t) override;
  void collect(telemetry::Snapshot& s) const override;

  struct Shared;  // the proxy and its counters (rdma_proxy.cpp)

 private:
  struct Worker;
  // The ports to serve: name, and the counter slots of its entries.
  struct Port {
    std::string name;
    int ifindex = 0;
    std::vector<uint16_t> slots;
    bool operator==(const Port&) const = default;
  };
  std::vector<Port> ports_of(const Config& c) const;
  void run(const Config& c);
  void halt();
  nlohmann::json show() const;
  template <class R>
  R sum(R (Worker::*counter)() const) const;  // a worker's count, over the workers

  Host& host_;
  std::optional<dp::RdmaMaps> maps_;
  std::optional<dp::RdmaSelection> planned_;
  std::vector<uint8_t> planned_key_;  // rdma_proxy.key_file's key, read at plan
  bool started_ = false;
  RdmaProxySettings running_;
  std::vector<Port> ports_;
  std::string error_;  // why the proxy is off although selected
  std::shared_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace aigw::features
