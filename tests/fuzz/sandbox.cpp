#include "sandbox.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

extern char** environ;

namespace aigw::fuzz {

namespace {

// The child to forward SIGINT/SIGTERM/SIGHUP to: a signal handler can reach
// nothing else.
volatile sig_atomic_t g_child = 0;

void forward_signal(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

bool enter(const std::string& ns) {
  const std::string path = "/run/netns/" + ns;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
    fmt::print(stderr, "sandbox: entering {}: {}\n", path, std::strerror(errno));
    return false;
  }
  ::close(fd);
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("aigwt-fuzz-bpf", "/sys/fs/bpf", "bpf", 0, nullptr) != 0) {
    fmt::print(stderr, "sandbox: private bpffs: {}\n", std::strerror(errno));
    return false;
  }
  return true;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 2;
  if (WIFSIGNALED(status)) {
    fmt::print(stderr, "sandbox: fuzzer killed by signal {} ({})\n", WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

int setup(const std::string& ns, const SandboxSpec& spec) {
  if (run_command({"ip", "-n", ns, "-batch", spec.topology_file}) != 0) return 2;
  std::vector<std::string> argv{"ip", "netns", "exec", ns, "sysctl", "-q", "-w"};
  argv.insert(argv.end(), spec.sysctls.begin(), spec.sysctls.end());
  return spec.sysctls.empty() || run_command(argv) == 0 ? 0 : 2;
}

}  // namespace

int run_command(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_in_sandbox(const SandboxSpec& spec, const std::function<int()>& body) {
  const std::string ns = fmt::format("aigwt-fuzz-{}", ::getpid());
  if (run_command({"ip", "netns", "add", ns}) != 0) {
    fmt::print(stderr, "sandbox: ip netns add {} failed\n", ns);
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &sa, nullptr);
  int rc = setup(ns, spec);
  if (rc == 0) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      for (int s : {SIGINT, SIGTERM, SIGHUP}) std::signal(s, SIG_DFL);
      const int r = enter(ns) ? body() : 2;
      std::fflush(nullptr);
      ::_exit(r);
    }
    g_child = pid;
    rc = pid < 0 ? 2 : wait_child(pid);
    g_child = 0;
  }
  if (run_command({"ip", "netns", "del", ns}) != 0)
    fmt::print(stderr, "sandbox: ip netns del {} failed\n", ns);
  return rc;
}

}  // namespace aigw::fuzz
