// clang-format off
#include <utility>  // before boost/asio.hpp (GCC 12)
// clang-format on
#include "features/route_events.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <system_error>

#include "netlink/route_watch.hpp"

namespace aigw::features {

struct RouteEventsModule::Watch {
  Watch(boost::asio::io_context& io) : sd(io) {
    // The descriptor closes what it holds: give it its own copy.
    int fd = ::dup(rw.fd());
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "dup netlink socket");
    sd.assign(fd);
  }
  RouteWatch rw;
  boost::asio::posix::stream_descriptor sd;
};

RouteEventsModule::RouteEventsModule(Host& host, boost::asio::io_context& io)
    : host_(host), io_(io) {}

RouteEventsModule::~RouteEventsModule() = default;

void RouteEventsModule::start() {
  try {
    watch_ = std::make_unique<Watch>(io_);
  } catch (const std::exception& e) {
    host_.log().warn(
        "route events: {}; next hops are re-read only every "
        "datapath.nexthop_cache_ms",
        e.what());
    return;
  }
  wait();
}

void RouteEventsModule::stop() { watch_.reset(); }

void RouteEventsModule::wait() {
  watch_->sd.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                        [this](const boost::system::error_code& ec) {
                          if (ec || !watch_) return;  // stopped
                          on_readable();
                        });
}

void RouteEventsModule::on_readable() {
  if (std::size_t n = watch_->rw.drain()) {
    try {
      host_.datapath().invalidate_caches();
      host_.log().debug("route events: {} change(s) that can move a next hop; caches invalidated",
                        n);
    } catch (const std::exception& e) {
      host_.log().error("route events: {}", e.what());
    }
  }
  wait();
}

}  // namespace aigw::features
