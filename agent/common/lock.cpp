#include "common/lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace aigw {

// /proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 00:27:574887 0 EOF", the
// device as hex major:minor.
std::optional<pid_t> flock_holder(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  const std::string id =
      fmt::format("{:02x}:{:02x}:{}", major(st.st_dev), minor(st.st_dev), st.st_ino);
  std::ifstream in("/proc/locks");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string num, kind, mode, access, pid, dev;
    if (!(f >> num >> kind)) continue;
    if (kind == "->") f >> kind;  // a waiter
    if (!(f >> mode >> access >> pid >> dev) || kind != "FLOCK" || dev != id) continue;
    try {
      return static_cast<pid_t>(std::stol(pid));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

ExclusiveLock::ExclusiveLock(const std::string& path, const std::string& what) : path_(path) {
  struct stat st {};
  const bool dir = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  fd_ = Fd(dir ? ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
               : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd_.get() < 0)
    throw std::runtime_error(fmt::format("lock {}: open: {}", path, std::strerror(errno)));
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) == 0) return;
  const int err = errno;
  if (err != EWOULDBLOCK)
    throw std::runtime_error(fmt::format("lock {}: flock: {}", path, std::strerror(err)));
  auto holder = flock_holder(fd_.get());
  throw LockBusy(fmt::format("{} is in use by another aigwd{} (lock {}): one agent per datapath",
                             what, holder ? fmt::format(" (pid {})", *holder) : "", path),
                 holder);
}

}  // namespace aigw
