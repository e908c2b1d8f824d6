// An AF_PACKET socket on one interface of the current namespace that sees
// every frame arriving there (not its own transmissions), non-blocking,
// with large buffers: the test tools' way to stand in the wire.
#pragma once

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "common/fd.hpp"

namespace aigw::tools {

inline Fd open_packet_port(const std::string& dev) {
  int ifindex = static_cast<int>(if_nametoindex(dev.c_str()));
  if (!ifindex) throw std::runtime_error("no interface " + dev);
  Fd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL)));
  if (fd.get() < 0) throw std::runtime_error(fmt::format("socket: {}", strerror(errno)));
  int one = 1, buf = 16 << 20;
  if (setsockopt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)))
    throw std::runtime_error(fmt::format("PACKET_IGNORE_OUTGOING: {}", strerror(errno)));
  // past net.core.rmem_max (root): the port must not be the loss
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  if (setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  sockaddr_ll sa{};
  sa.sll_family = AF_PACKET;
  sa.sll_protocol = htons(ETH_P_ALL);
  sa.sll_ifindex = ifindex;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)))
    throw std::runtime_error(fmt::format("bind {}: {}", dev, strerror(errno)));
  return fd;
}

}  // namespace aigw::tools
