// Kernel routing changes that can alter a next hop the datapath has cached
// (the headend's next-hop cache, flow decisions): rtnetlink notifications of
// routes (every table), addresses, links and neighbours, read without
// blocking from one socket the caller polls.
#pragma once

#include <cstddef>
#include <memory>

namespace aigw {

class RouteWatch {
 public:
  // Subscribes to the route, address, link and neighbour groups and reads
  // the current links and neighbours (so that a later notification can be
  // told from a change). Throws std::runtime_error with the reason.
  RouteWatch();
  ~RouteWatch();
  RouteWatch(const RouteWatch&) = delete;
  RouteWatch& operator=(const RouteWatch&) = delete;

  // Readable when notifications wait.
  int fd() const;

  // Reads every waiting notification and returns how many of them can
  // change a cached next hop: any route or address change; a link removed,
  // going up or down, or changing its MTU or address; a neighbour removed,
  // becoming unusable (FAILED, INCOMPLETE) or changing its link-layer
  // address. Neighbour confirmations (REACHABLE <-> STALE with the same
  // address) and new neighbours do not count. A lost notification (socket
  // buffer overrun) counts as one change and forgets what was known.
  std::size_t drain();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aigw
