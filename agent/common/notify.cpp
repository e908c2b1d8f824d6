#include "common/notify.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

#include "common/fd.hpp"

namespace aigw {

bool sd_notify(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return false;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  const size_t len = std::strlen(path);
  if (len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@')) return false;
  std::memcpy(sa.sun_path, path, len);
  if (path[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace
  Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return false;
  const auto salen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  return ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                  reinterpret_cast<const sockaddr*>(&sa), salen) ==
         static_cast<ssize_t>(state.size());
}

std::string sd_reloading_state() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return fmt::format("RELOADING=1\nMONOTONIC_USEC={}", static_cast<uint64_t>(ts.tv_sec) * 1000000 +
                                                           static_cast<uint64_t>(ts.tv_nsec) / 1000);
}

}  // namespace aigw
