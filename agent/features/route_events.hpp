// Kernel routing changes invalidate the datapath's caches: the next-hop
// cache and the flows' cached decisions are recomputed from the next packet
// after a route, address, link or neighbour change that can move a next hop
// (netlink/route_watch.hpp), instead of only when nexthop_cache_ms runs out.
#pragma once

#include <memory>

#include "core/module.hpp"
#include "features/host.hpp"

namespace boost::asio {
class io_context;
}

namespace aigw::features {

class RouteEventsModule : public core::Module {
 public:
  RouteEventsModule(Host& host, boost::asio::io_context& io);
  ~RouteEventsModule() override;
  std::string_view name() const override { return "route-events"; }
  // Without rtnetlink (refused socket) the caches fall back to their time
  // bound, with a warning.
  void start() override;
  void stop() override;

 private:
  struct Watch;
  void wait();
  void on_readable();
  Host& host_;
  boost::asio::io_context& io_;
  std::unique_ptr<Watch> watch_;
};

}  // namespace aigw::features
