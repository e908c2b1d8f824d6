// One agent per datapath: an exclusive flock(2) held for the life of the
// process (released by the kernel when it exits, even on a crash).
#pragma once

#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "common/fd.hpp"

namespace aigw {

// Thrown when another process holds the lock.
class LockBusy : public std::runtime_error {
 public:
  LockBusy(const std::string& msg, std::optional<pid_t> holder)
      : std::runtime_error(msg), holder(holder) {}
  std::optional<pid_t> holder;  // from /proc/locks, when it can be read
};

class ExclusiveLock {
 public:
  // Locks `path` without waiting: a directory as it is, a missing file is
  // created (mode 0600). Throws LockBusy, naming `what` and the holder's pid,
  // when another process holds it; std::runtime_error when it cannot be
  // opened or locked.
  ExclusiveLock(const std::string& path, const std::string& what);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  Fd fd_;
};

// The pid holding a flock on the file `fd` refers to, from /proc/locks.
std::optional<pid_t> flock_holder(int fd);

}  // namespace aigw
