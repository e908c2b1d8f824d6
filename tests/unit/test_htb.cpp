// netlink/htb.hpp against the kernel, in a network namespace of its own: a
// forked child unshares one (anonymous: gone when it exits), makes a veth
// pair there and drives the HTB; `tc` (iproute2) is the independent judge
// of what the kernel has. The child reports one line per check; the parent
// asserts (Catch2 in a forked child would not report).
#include <net/if.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "netlink/htb.hpp"

using namespace aigw::nl;

namespace {

std::string sh(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  return out;
}

bool near(uint64_t got, uint64_t want) { return got >= want * 99 / 100 && got <= want * 101 / 100; }

// Runs in the child, in its own namespace: "ok" or what went wrong.
std::string exercise() {
  if (std::system("ip link add a0 type veth peer name b0 && ip link set a0 up && "
                  "ip link set b0 up && tc qdisc add dev b0 root handle 1: htb") != 0)
    return "setup failed";
  // (not /sys/class/net: sysfs shows the namespace it was mounted in)
  int a0 = static_cast<int>(if_nametoindex("a0")), b0 = static_cast<int>(if_nametoindex("b0"));
  if (!a0 || !b0) return "no veth";
  Htb h;
  h.ensure_root(a0, 0xa16, 0x1000, 10'000'000'000);
  h.ensure_root(a0, 0xa16, 0x1000, 10'000'000'000);  // again: kept
  if (sh("tc qdisc show dev a0").find("qdisc htb a16: root") == std::string::npos)
    return "no root htb a16: " + sh("tc qdisc show dev a0");
  h.set_class(a0, 0xa16, 5, 0x1000, HtbRate{150'000'000, 300'000'000, 0, 0});
  auto r = h.class_rate(a0, 0xa16, 5);
  if (!r || !near(r->rate_bps, 150'000'000) || !near(r->ceil_bps, 300'000'000))
    return "150/300 Mbit/s not read back";
  std::string classes = sh("tc class show dev a0");
  if (classes.find("class htb a16:5 parent a16:1000") == std::string::npos ||
      classes.find("rate 150Mbit ceil 300Mbit") == std::string::npos)
    return "tc shows: " + classes;
  h.set_class(a0, 0xa16, 5, 0x1000, HtbRate{100'000'000'000, 100'000'000'000, 0, 0});
  r = h.class_rate(a0, 0xa16, 5);
  if (!r || !near(r->rate_bps, 100'000'000'000)) return "100 Gbit/s not read back";
  if (sh("tc class show dev a0").find("rate 100Gbit") == std::string::npos)
    return "tc shows no 100Gbit: " + sh("tc class show dev a0");
  if (!h.class_stats(a0, 0xa16, 5) || h.class_stats(a0, 0xa16, 9)) return "class_stats";
  h.remove_class(a0, 0xa16, 5);
  h.remove_class(a0, 0xa16, 5);  // absent: nothing
  if (h.class_rate(a0, 0xa16, 5)) return "class not removed";
  try {
    h.ensure_root(b0, 0xa16, 0x1000, 10'000'000'000);
    return "a foreign root was replaced";
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find("someone else's") == std::string::npos) return e.what();
  }
  h.remove_root(b0, 0xa16);  // not ours: left
  if (sh("tc qdisc show dev b0").find("htb 1: root") == std::string::npos)
    return "the foreign root went";
  h.remove_root(a0, 0xa16);
  if (sh("tc qdisc show dev a0").find("htb") != std::string::npos) return "our root stayed";
  return "ok";
}

}  // namespace

TEST_CASE("HTB over netlink: root, classes at 150 Mbit/s..100 Gbit/s, foreign roots kept",
          "[netlink][htb]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string msg;
    if (::unshare(CLONE_NEWNET) != 0) {
      msg = "skip: no CLONE_NEWNET (not root?)";
    } else {
      try {
        msg = exercise();
      } catch (const std::exception& e) {
        msg = e.what();
      }
    }
    (void)!::write(fds[1], msg.data(), msg.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (msg.rfind("skip:", 0) == 0) {
    WARN(msg);
    return;
  }
  CHECK(msg == "ok");
}
