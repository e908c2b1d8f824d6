// aigw-roce-ep: a RoCEv2 reliable-connection endpoint emulator (this kernel
// has no soft-RoCE), for the RDMA proxy's tests and benchmark. One queue
// pair, one direction of data:
//
//   aigw-roce-ep responder --local ADDR --packets N [--psn P] [--qp Q]
//                [--coalesce K] [--linger-ms 300] [--deadline-s 60]
//   aigw-roce-ep requester --local ADDR --peer ADDR --packets N [--mtu 1024]
//                [--psn P] [--qp Q] [--window W] [--timeout-ms 100]
//                [--deadline-s 60]
//
// IPv6, over the kernel's UDP sockets (port 4791 both ends): the ICRC is
// computed over the IPv6 and UDP headers the kernel will write (agent/rdma),
// which IPv6 makes possible from user space (no IP ID). The requester sends
// N SEND-only packets of --mtu bytes starting at PSN P (both ends are given
// P, as a QP's setup exchanges it), at most W unacknowledged, the AckReq bit
// on every 16th and the last. The responder acknowledges in order (one ACK
// per K packets or AckReq), re-ACKs duplicates, and on a PSN past the one
// it expects sends one NAK (PSN sequence error) per gap and drops the
// packet (a duplicate is ACKed again when it has AckReq); the requester goes back to the NAK's PSN
// (go-back-N), or to the oldest unacknowledged packet after --timeout-ms without progress. Both
// check the ICRC of what they receive. At the end one JSON line:
//   requester: {"packets":N,"bytes":..,"seconds":..,"goodput_mbps":..,
//               "sent":..,"retransmitted":..,"naks":..,"timeouts":..,"done":true}
//   responder: {"received":N,"out_of_order":..,"duplicates":..,"naks_sent":..,
//               "bad_icrc":..,"done":true}
// Exit status 0 when done, 1 when the deadline passed first, 2 on errors.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "rdma/psn.hpp"
#include "rdma/roce.hpp"

namespace {

using namespace aigw::rdma;
using Clock = std::chrono::steady_clock;

constexpr uint8_t kOpSendOnly = 0x04;
constexpr uint8_t kSyndromeAck = 0x1f;     // ACK, credits not in use
constexpr uint8_t kSyndromeNakSeq = 0x60;  // NAK: PSN sequence error
constexpr size_t kIp6Len = 40;
constexpr size_t kAethLen = 4;

struct Opts {
  std::string role, local, peer;
  uint64_t packets = 0;
  uint32_t psn = 0xfffff0, qp = 0x11, mtu = 1024, window = 256, coalesce = 16;
  int timeout_ms = 100, linger_ms = 300, deadline_s = 60;
};

[[noreturn]] void fail(const std::string& s) { throw std::runtime_error(s); }

in6_addr addr(const std::string& s) {
  in6_addr a{};
  if (inet_pton(AF_INET6, s.c_str(), &a) != 1) fail("not an IPv6 address: " + s);
  return a;
}

// One RoCEv2 datagram as the wire will carry it: IPv6 + UDP headers (the
// kernel writes its own, equal in every field the ICRC covers), BTH,
// AETH (ACK/NAK), payload, ICRC.
std::vector<uint8_t> build(const in6_addr& src, const in6_addr& dst, uint8_t opcode, uint32_t dqp,
                           uint32_t psn, bool ackreq, int aeth_syndrome, size_t payload) {
  size_t udp_len = 8 + kBthLen + (aeth_syndrome >= 0 ? kAethLen : 0) + payload + kIcrcLen;
  std::vector<uint8_t> b(kIp6Len + udp_len, 0);
  b[0] = 0x60;
  b[4] = static_cast<uint8_t>(udp_len >> 8);
  b[5] = static_cast<uint8_t>(udp_len);
  b[6] = 17;
  b[7] = 64;
  std::memcpy(&b[8], &src, 16);
  std::memcpy(&b[24], &dst, 16);
  uint8_t* u = &b[kIp6Len];
  u[0] = kRoceV2Port >> 8, u[1] = kRoceV2Port & 0xff;
  u[2] = kRoceV2Port >> 8, u[3] = kRoceV2Port & 0xff;
  u[4] = static_cast<uint8_t>(udp_len >> 8), u[5] = static_cast<uint8_t>(udp_len);
  uint8_t* h = u + 8;
  h[0] = opcode;
  h[2] = h[3] = 0xff;  // default partition key
  h[5] = static_cast<uint8_t>(dqp >> 16), h[6] = static_cast<uint8_t>(dqp >> 8);
  h[7] = static_cast<uint8_t>(dqp);
  h[8] = ackreq ? 0x80 : 0;
  h[9] = static_cast<uint8_t>(psn >> 16), h[10] = static_cast<uint8_t>(psn >> 8);
  h[11] = static_cast<uint8_t>(psn);
  if (aeth_syndrome >= 0) h[12] = static_cast<uint8_t>(aeth_syndrome);
  for (size_t i = 0; i < payload; i++) h[kBthLen + i] = static_cast<uint8_t>(psn + i);
  auto p = std::get<RocePacket>(parse_roce(b));
  icrc_write(b, p);
  return b;
}

class Endpoint {
 public:
  explicit Endpoint(const Opts& o) : o_(o), local_(addr(o.local)) {
    fd_ = aigw::Fd(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd_.get() < 0) fail(fmt::format("socket: {}", strerror(errno)));
    int one = 1, buf = 8 << 20;
    // past net.core.rmem_max (root): a window must fit, or the socket
    // loses what the WAN did not
    if (setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
      setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    if (setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
      setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(kRoceV2Port);
    sa.sin6_addr = local_;
    if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)))
      fail(fmt::format("bind [{}]:{}: {}", o.local, kRoceV2Port, strerror(errno)));
  }

  void send(const in6_addr& to, const std::vector<uint8_t>& pkt) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(kRoceV2Port);
    sa.sin6_addr = to;
    const uint8_t* d = pkt.data() + kIp6Len + 8;
    size_t n = pkt.size() - kIp6Len - 8;
    while (sendto(fd_.get(), d, n, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
      if (errno != ENOBUFS && errno != EAGAIN) fail(fmt::format("sendto: {}", strerror(errno)));
      poll(nullptr, 0, 1);  // the qdisc or the socket is full: wait, then again
    }
  }

  // The next datagram within wait_ms, as the IPv6 packet it came in; its
  // source in `from`. False on timeout.
  bool recv(int wait_ms, std::vector<uint8_t>& pkt, in6_addr& from) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (poll(&p, 1, wait_ms) <= 0) return false;
    std::array<uint8_t, 9216> buf;
    sockaddr_in6 sa{};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(in6_pktinfo))];
    iovec iov{buf.data(), buf.size()};
    msghdr m{};
    m.msg_name = &sa;
    m.msg_namelen = sizeof(sa);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof(ctl);
    ssize_t n = recvmsg(fd_.get(), &m, MSG_DONTWAIT);
    if (n < 0) return false;
    in6_addr dst = local_;
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)
        dst = reinterpret_cast<in6_pktinfo*>(CMSG_DATA(c))->ipi6_addr;
    from = sa.sin6_addr;
    size_t udp_len = 8 + static_cast<size_t>(n);
    pkt.assign(kIp6Len + udp_len, 0);
    pkt[0] = 0x60;
    pkt[4] = static_cast<uint8_t>(udp_len >> 8);
    pkt[5] = static_cast<uint8_t>(udp_len);
    pkt[6] = 17;
    std::memcpy(&pkt[8], &sa.sin6_addr, 16);
    std::memcpy(&pkt[24], &dst, 16);
    uint16_t sport = ntohs(sa.sin6_port);
    pkt[40] = static_cast<uint8_t>(sport >> 8), pkt[41] = static_cast<uint8_t>(sport);
    pkt[42] = kRoceV2Port >> 8, pkt[43] = kRoceV2Port & 0xff;
    pkt[44] = static_cast<uint8_t>(udp_len >> 8), pkt[45] = static_cast<uint8_t>(udp_len);
    std::memcpy(&pkt[48], buf.data(), static_cast<size_t>(n));
    return true;
  }

  const in6_addr& local() const { return local_; }

 protected:
  const Opts& o_;
  in6_addr local_;
  aigw::Fd fd_;
};

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int responder(const Opts& o) {
  Endpoint ep(o);
  uint32_t epsn = o.psn;
  uint64_t received = 0, out_of_order = 0, duplicates = 0, naks = 0, bad_icrc = 0;
  uint32_t since_ack = 0;
  bool nak_sent = false;
  auto start = Clock::now();
  std::optional<Clock::time_point> done_at;
  std::vector<uint8_t> pkt;
  in6_addr from{};
  auto reply = [&](uint32_t psn, int syndrome) {
    ep.send(from, build(ep.local(), from, kOpRcAck, o.qp, psn, false, syndrome, 0));
  };
  while (since(start) < o.deadline_s) {
    if (done_at && since(*done_at) * 1000 >= o.linger_ms) break;
    if (!ep.recv(10, pkt, from)) continue;
    auto r = parse_roce(pkt);
    if (!std::holds_alternative<RocePacket>(r)) continue;
    const auto& p = std::get<RocePacket>(r);
    if (!icrc_ok(pkt, p)) {
      bad_icrc++;
      continue;
    }
    int32_t d = psn_diff(p.bth.psn, epsn);
    if (d == 0) {
      received++;
      epsn = psn_add(epsn, 1);
      nak_sent = false;
      if (p.bth.ackreq || ++since_ack >= o.coalesce || received == o.packets) {
        reply(psn_add(epsn, -1), kSyndromeAck);
        since_ack = 0;
      }
      if (received == o.packets && !done_at) done_at = Clock::now();
    } else if (d < 0) {
      // a duplicate: acknowledged again when it asks (as the first copy
      // was), so a resent window does not bring an ACK per packet
      duplicates++;
      if (p.bth.ackreq) reply(psn_add(epsn, -1), kSyndromeAck);
    } else {
      out_of_order++;
      if (!nak_sent) {
        reply(epsn, kSyndromeNakSeq);
        naks++;
        nak_sent = true;
      }
    }
  }
  bool done = received == o.packets;
  fmt::print(
      "{{\"received\":{},\"out_of_order\":{},\"duplicates\":{},\"naks_sent\":{},"
      "\"bad_icrc\":{},\"done\":{}}}\n",
      received, out_of_order, duplicates, naks, bad_icrc, done);
  return done ? 0 : 1;
}

int requester(const Opts& o) {
  Endpoint ep(o);
  in6_addr peer = addr(o.peer);
  uint64_t acked = 0, next = 0, sent = 0, retrans = 0, naks = 0, timeouts = 0, bad_icrc = 0;
  uint64_t high = 0;              // packets ever sent once
  std::optional<int64_t> nak_at;  // the packet the last NAK went back to
  auto start = Clock::now(), progress = start;
  std::vector<uint8_t> pkt;
  in6_addr from{};
  auto psn_of = [&](uint64_t i) { return psn_add(o.psn, static_cast<int64_t>(i & kPsnMask)); };
  while (acked < o.packets && since(start) < o.deadline_s) {
    while (next < o.packets && next - acked < o.window) {
      bool ackreq = (next % 16) == 15 || next + 1 == o.packets;
      ep.send(peer, build(ep.local(), peer, kOpSendOnly, o.qp, psn_of(next), ackreq, -1, o.mtu));
      sent++;
      if (next < high) retrans++;
      high = std::max(high, ++next);
    }
    if (ep.recv(1, pkt, from)) {
      auto r = parse_roce(pkt);
      if (std::holds_alternative<RocePacket>(r)) {
        const auto& p = std::get<RocePacket>(r);
        if (!icrc_ok(pkt, p)) {
          bad_icrc++;
        } else if (p.bth.opcode == kOpRcAck && p.icrc_off >= p.bth_off + kBthLen + kAethLen) {
          uint8_t syndrome = pkt[p.bth_off + kBthLen];
          int64_t i = static_cast<int64_t>(acked) + psn_diff(p.bth.psn, psn_of(acked));
          if ((syndrome & 0xe0) == 0x60) {  // NAK: everything before i arrived
            // once per PSN: packets of the old window still arriving make
            // the responder NAK the same PSN again while its resend is on
            // the way (a requester that went back each time would never
            // get through)
            bool again = nak_at && *nak_at == i && static_cast<int64_t>(acked) == i;
            if (!again && i >= static_cast<int64_t>(acked) && i <= static_cast<int64_t>(next)) {
              acked = next = static_cast<uint64_t>(i);
              nak_at = i;
              naks++;
              progress = Clock::now();
            }
          } else if (i + 1 > static_cast<int64_t>(acked) && i < static_cast<int64_t>(next)) {
            acked = static_cast<uint64_t>(i + 1);
            progress = Clock::now();
          }
        }
      }
    }
    if (since(progress) * 1000 >= o.timeout_ms && acked < next) {
      next = acked;  // retransmission timeout: go back to the oldest unacknowledged
      nak_at.reset();
      timeouts++;
      progress = Clock::now();
    }
  }
  double secs = since(start);
  bool done = acked == o.packets;
  fmt::print(
      "{{\"packets\":{},\"bytes\":{},\"seconds\":{:.4f},\"goodput_mbps\":{:.2f},"
      "\"sent\":{},\"retransmitted\":{},\"naks\":{},\"timeouts\":{},\"bad_icrc\":{},"
      "\"done\":{}}}\n",
      acked, acked * o.mtu, secs, acked * o.mtu * 8 / secs / 1e6, sent, retrans, naks, timeouts,
      bad_icrc, done);
  return done ? 0 : 1;
}

Opts parse(int argc, char** argv) {
  if (argc < 2) fail("usage: aigw-roce-ep requester|responder --local ADDR ...");
  Opts o;
  o.role = argv[1];
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) fail(a + " needs a value");
    std::string v = argv[++i];
    if (a == "--local")
      o.local = v;
    else if (a == "--peer")
      o.peer = v;
    else if (a == "--packets")
      o.packets = std::stoull(v);
    else if (a == "--psn")
      o.psn = static_cast<uint32_t>(std::stoul(v, nullptr, 0)) & kPsnMask;
    else if (a == "--qp")
      o.qp = static_cast<uint32_t>(std::stoul(v, nullptr, 0)) & kPsnMask;
    else if (a == "--mtu")
      o.mtu = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--window")
      o.window = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--coalesce")
      o.coalesce = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--timeout-ms")
      o.timeout_ms = std::stoi(v);
    else if (a == "--linger-ms")
      o.linger_ms = std::stoi(v);
    else if (a == "--deadline-s")
      o.deadline_s = std::stoi(v);
    else
      fail("unknown option " + a);
  }
  if (o.local.empty() || o.packets == 0) fail("--local and --packets are required");
  if (o.role == "requester" && o.peer.empty()) fail("the requester needs --peer");
  if (o.mtu < 1 || o.mtu > 8192 || o.window < 1 || o.window >= kPsnHalf)
    fail("--mtu 1..8192, --window 1..2^23-1");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Opts o = parse(argc, argv);
    if (o.role == "responder") return responder(o);
    if (o.role == "requester") return requester(o);
    fail("the role is requester or responder, not " + o.role);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aigw-roce-ep: %s\n", e.what());
    return 2;
  }
}
