// For the in-process fuzzers: the input being run is saved to a file when
// the process dies of a signal (crash, abort, stack overflow) and when one
// input takes longer than a limit (a hang); both end the process with a
// message naming the file.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace aigw::fuzz {

class Watchdog {
 public:
  // Saves inputs to `crash_file`; an input running longer than limit_s
  // ends the process (exit code 3).
  Watchdog(std::string crash_file, double limit_s);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Around each input: the input must stay alive until done().
  void start(std::string_view input, std::string_view label);
  void done();

 private:
  void watch();
  std::string file_;
  double limit_s_;
  std::atomic<int64_t> started_ns_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace aigw::fuzz
