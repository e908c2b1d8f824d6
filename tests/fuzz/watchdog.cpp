#include "watchdog.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

namespace aigw::fuzz {

namespace {

// What a signal handler can reach: the input being run and where to save
// it (one Watchdog per process).
struct CrashState {
  const char* input = nullptr;
  size_t size = 0;
  const char* label = nullptr;
  char file[512] = {};
};
CrashState g_crash;

void write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void save_input() {
  const int fd = ::open(g_crash.file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    if (g_crash.input) write_all(fd, g_crash.input, g_crash.size);
    ::close(fd);
  }
}

void on_fatal(int sig) {
  static const char kMsg[] = "\nFINDING crash: fatal signal while running an input; saved to ";
  write_all(2, kMsg, sizeof kMsg - 1);
  write_all(2, g_crash.file, std::strlen(g_crash.file));
  if (g_crash.label) {
    write_all(2, " (", 2);
    write_all(2, g_crash.label, std::strlen(g_crash.label));
    write_all(2, ")", 1);
  }
  write_all(2, "\n", 1);
  save_input();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Watchdog::Watchdog(std::string crash_file, double limit_s)
    : file_(std::move(crash_file)), limit_s_(limit_s) {
  std::snprintf(g_crash.file, sizeof g_crash.file, "%s", file_.c_str());
  // An alternate stack, so that a stack overflow still reaches the handler.
  static std::vector<char> alt(1 << 16);
  stack_t ss{};
  ss.ss_sp = alt.data();
  ss.ss_size = alt.size();
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_fatal;
  sa.sa_flags = SA_ONSTACK;
  for (int s : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) ::sigaction(s, &sa, nullptr);
  thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Watchdog::start(std::string_view input, std::string_view label) {
  g_crash.input = input.data();
  g_crash.size = input.size();
  g_crash.label = label.data();
  started_ns_.store(now_ns());
}

void Watchdog::done() {
  started_ns_.store(0);
  g_crash.input = nullptr;
  g_crash.size = 0;
  g_crash.label = nullptr;
}

void Watchdog::watch() {
  std::unique_lock l(mu_);
  while (!stop_) {
    cv_.wait_for(l, std::chrono::milliseconds(200));
    const int64_t t = started_ns_.load();
    if (t && (now_ns() - t) / 1e9 > limit_s_) {
      save_input();
      fmt::print(stderr, "\nFINDING hang: one input ran longer than {} s; saved to {} ({})\n",
                 limit_s_, file_, g_crash.label ? g_crash.label : "");
      std::fflush(nullptr);
      ::_exit(3);
    }
  }
}

}  // namespace aigw::fuzz
