// netlink/htb.hpp against the kernel, in a network namespace of its own: a
// forked child unshares one (anonymous: gone when it exits), makes veth and
// ifb ports there and drives the HTB; `tc` (iproute2) is the independent
// judge of what the kernel has. The child reports "ok" (and notes) or what
// went wrong through a pipe; the parent asserts (Catch2 in a forked child
// would not report). Never the root namespace: without the right to
// unshare (not root), a warning and nothing else.
#include <fmt/format.h>
#include <linux/if_packet.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "netlink/htb.hpp"

using namespace aigw::nl;

namespace {

constexpr uint16_t kMajor = 0xa16, kParent = 0x1000;

std::string sh(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  return out;
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

bool near(uint64_t got, uint64_t want) { return got >= want * 99 / 100 && got <= want * 101 / 100; }

int ifindex(const char* name) { return static_cast<int>(::if_nametoindex(name)); }

// n frames out of the port with skb->priority = the class (HTB's own
// classification: no filter needed).
bool send_frames(int ifx, uint32_t priority, int n) {
  int fd = ::socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) return false;
  bool ok = ::setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &priority, sizeof priority) == 0;
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifx;
  to.sll_halen = 6;
  unsigned char frame[100] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};
  for (int i = 0; ok && i < n; i++)
    ok = ::sendto(fd, frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
         static_cast<ssize_t>(sizeof frame);
  ::close(fd);
  return ok;
}

// The root and its parent class: made, kept, its rate followed.
std::string check_root(Htb& h, int a0) {
  h.ensure_root(a0, kMajor, kParent, 10'000'000'000);
  h.ensure_root(a0, kMajor, kParent, 10'000'000'000);  // again: kept
  std::string q = sh("tc qdisc show dev a0");
  if (!has(q, "qdisc htb a16: root") || !has(q, "default 0")) return "no root htb a16: " + q;
  auto p = h.class_rate(a0, kMajor, kParent);
  if (!p || p->rate_bps != 10'000'000'000 || p->ceil_bps != 10'000'000'000)
    return "parent class a16:1000 not at 10 Gbit/s";
  h.ensure_root(a0, kMajor, kParent, 25'000'000'000);
  p = h.class_rate(a0, kMajor, kParent);
  if (!p || p->rate_bps != 25'000'000'000) return "parent class not changed to 25 Gbit/s";
  return "ok";
}

// A tenant class at 150/300 Mbit/s, traffic through it, then 100 Gbit/s.
std::string check_class(Htb& h, int a0) {
  h.set_class(a0, kMajor, 5, kParent, HtbRate{150'000'000, 300'000'000, 0, 0});
  auto r = h.class_rate(a0, kMajor, 5);
  if (!r || !near(r->rate_bps, 150'000'000) || !near(r->ceil_bps, 300'000'000))
    return "150/300 Mbit/s not read back";
  // the default buckets: 10 ms at the rate + 1600 bytes
  if (!near(r->burst_bytes, 187'500 + 1600) || !near(r->cburst_bytes, 375'000 + 1600))
    return fmt::format("buckets {} {}", r->burst_bytes, r->cburst_bytes);
  std::string classes = sh("tc class show dev a0");
  if (!has(classes, "class htb a16:5 parent a16:1000") ||
      !has(classes, "rate 150Mbit ceil 300Mbit"))
    return "tc shows: " + classes;
  if (!send_frames(a0, TC_H_MAKE(uint32_t{kMajor} << 16, 5), 20)) return "cannot send frames";
  auto st = h.class_stats(a0, kMajor, 5);
  if (!st || st->packets < 20 || st->bytes < 20 * 100) return "the frames are not in a16:5";
  h.set_class(a0, kMajor, 5, kParent, HtbRate{100'000'000'000, 100'000'000'000, 0, 0});
  r = h.class_rate(a0, kMajor, 5);
  if (!r || !near(r->rate_bps, 100'000'000'000) || !near(r->ceil_bps, 100'000'000'000))
    return "100 Gbit/s not read back";
  if (!near(r->burst_bytes, 125'000'000 + 1600)) return fmt::format("burst {}", r->burst_bytes);
  if (!has(sh("tc class show dev a0"), "rate 100Gbit ceil 100Gbit"))
    return "tc shows no 100Gbit: " + sh("tc class show dev a0");
  if (st = h.class_stats(a0, kMajor, 5); !st || st->packets < 20) return "counters lost";
  return "ok";
}

// Small buckets at 100 Gbit/s stay above 0; classes outside the parent refused.
std::string check_edges(Htb& h, int a0) {
  h.set_class(a0, kMajor, 6, kParent, HtbRate{100'000'000'000, 0, 1600, 0});
  auto r = h.class_rate(a0, kMajor, 6);
  if (!r || r->burst_bytes < 12'500 || r->ceil_bps != 100'000'000'000)
    return "a 1600-byte bucket at 100 Gbit/s is 0";
  try {
    h.set_class(a0, kMajor, 7, 0x999, HtbRate{150'000'000, 0, 0, 0});
    return "a class under an absent parent was made";
  } catch (const std::runtime_error& e) {
    if (!has(e.what(), "no parent class a16:999")) return e.what();
  }
  if (h.class_rate(a0, kMajor, 7)) return "class a16:7 made";
  try {
    h.set_class(a0, kMajor, 6, 0, HtbRate{150'000'000, 0, 0, 0});
    return "a class moved to another parent";
  } catch (const std::runtime_error& e) {
    if (!has(e.what(), "netlink: htb class a16:6 on ifindex")) return e.what();
  }
  return "ok";
}

std::string check_stats_and_removal(Htb& h, int a0) {
  if (!h.class_stats(a0, kMajor, 5) || h.class_stats(a0, kMajor, 9)) return "class_stats";
  if (h.all_class_stats(a0, kMajor).size() != 3) return "all_class_stats";
  if (!has(sh("tc -s class show dev a0"), "class htb a16:5")) return "tc -s shows no a16:5";
  h.remove_class(a0, kMajor, 5);
  h.remove_class(a0, kMajor, 5);  // absent: nothing
  if (h.class_rate(a0, kMajor, 5) || h.class_stats(a0, kMajor, 5)) return "class not removed";
  return "ok";
}

// Roots of someone else's (an HTB 1:, a pfifo 2:) are never replaced nor removed.
std::string check_foreign(Htb& h, int b0) {
  for (const char* root : {"htb 1:", "pfifo 2:"}) {
    std::string kind(root, std::strchr(root, ' ')), handle(std::strchr(root, ' ') + 1);
    if (std::system(fmt::format("tc qdisc replace dev b0 root handle {} {}", handle, kind).c_str()))
      return fmt::format("cannot make a root {}", root);
    try {
      h.ensure_root(b0, kMajor, kParent, 10'000'000'000);
      return fmt::format("a foreign root ({}) was replaced", root);
    } catch (const std::runtime_error& e) {
      if (!has(e.what(), "someone else's")) return e.what();
    }
    h.remove_root(b0, kMajor);  // not ours: left
    if (!has(sh("tc qdisc show dev b0"), fmt::format("qdisc {} root", root)))
      return fmt::format("the foreign {} went", root);
  }
  return "ok";
}

// The kernel's default roots of a queueing device (pfifo_fast, mq; handle
// 0:) are replaced: ifb ports, when ifb is in the kernel already (loading
// the module would make ifb0 and ifb1 in the root namespace).
std::string check_defaults(Htb& h) {
  if (::access("/sys/module/ifb", F_OK) != 0 ||
      std::system("ip link add i0 type ifb && ip link add i1 numtxqueues 4 type ifb && "
                  "ip link set i0 up && ip link set i1 up") != 0)
    return "ok\nnote: no ifb ports: default pfifo_fast and mq roots not tried";
  for (const char* port : {"i0", "i1"}) {
    std::string before = sh(fmt::format("tc qdisc show dev {} root", port));
    if (!has(before, " 0: root")) return fmt::format("{} has no default root: {}", port, before);
    h.ensure_root(ifindex(port), kMajor, kParent, 10'000'000'000);
    if (!has(sh(fmt::format("tc qdisc show dev {}", port)), "qdisc htb a16: root"))
      return fmt::format("{} ({}) not replaced", port, before);
  }
  return "ok";
}

std::string exercise() {
  if (std::system("ip link add a0 type veth peer name b0 && ip link set a0 up && "
                  "ip link set b0 up") != 0)
    return "setup failed";
  // (not /sys/class/net: sysfs shows the namespace it was mounted in)
  int a0 = ifindex("a0"), b0 = ifindex("b0");
  if (!a0 || !b0) return "no veth";
  Htb h;
  for (auto step : {check_root, check_class, check_edges, check_stats_and_removal})
    if (std::string m = step(h, a0); m != "ok") return m;
  if (std::string m = check_foreign(h, b0); m != "ok") return m;
  std::string defaults = check_defaults(h);
  if (defaults.rfind("ok", 0) != 0) return defaults;
  h.remove_root(a0, kMajor);
  if (has(sh("tc qdisc show dev a0"), "htb")) return "our root stayed";
  h.remove_root(a0, kMajor);      // absent: nothing
  h.remove_class(a0, kMajor, 6);  // no root: nothing
  if (h.class_stats(a0, kMajor, 6)) return "a class without its root";
  return defaults;
}

// In a child of its own namespace: what exercise() says.
std::string in_namespace() {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::close(fds[0]);
    std::string msg = "skip: no CLONE_NEWNET (not root?)";
    if (::unshare(CLONE_NEWNET) == 0) {
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
  if (!WIFEXITED(status)) msg += fmt::format(" (child ended by signal {})", WTERMSIG(status));
  return msg;
}

}  // namespace

TEST_CASE("HTB over netlink: root, classes at 150 Mbit/s..100 Gbit/s, foreign roots kept",
          "[netlink][htb]") {
  std::string msg = in_namespace();
  if (msg.rfind("skip:", 0) == 0) {
    WARN(msg);
    return;
  }
  INFO(msg);
  CHECK(msg.substr(0, msg.find('\n')) == "ok");
  if (auto note = msg.find("\nnote: "); note != std::string::npos) WARN(msg.substr(note + 1));
}
