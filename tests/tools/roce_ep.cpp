// aigw-roce-ep: a RoCEv2 reliable-connection endpoint emulator (this kernel
// has no soft-RoCE), for the RDMA proxy's tests and benchmark. One queue
// pair, one direction of data:
//
//   aigw-roce-ep responder --local ADDR --packets N [--psn P] [--qp Q]
//                [--coalesce K] [--linger-ms 300] [--deadline-s 60]
//   aigw-roce-ep requester --local ADDR --peer ADDR --packets N [--mtu 1024]
//                [--psn P] [--qp Q] [--window W] [--timeout-ms 100]
//                [--rate-mbps R] [--deadline-s 60]
//
// IPv6 or IPv4 (by --local), over the kernel's UDP sockets (port 4791 both
// ends): the ICRC is computed over the IP and UDP headers the kernel will
// write (agent/rdma). IPv6 has no field the ICRC covers that user space
// cannot know; IPv4 has the IP ID, which the kernel writes as 0 for an
// unconnected socket sending with DF (IP_PMTUDISC_DO), as this one does, so
// a received IPv4 packet is taken to carry ID 0 and DF. The requester sends
// N SEND-only packets of --mtu bytes starting at PSN P (both ends are given
// P, as a QP's setup exchanges it), at most W unacknowledged, the AckReq bit
// on every 16th and the last; with --rate-mbps, no faster than R Mbit/s of
// RoCE datagrams (a NIC's rate limiter, as DCQCN or a slower line sets
// one; bursts of at most 16 packets), else as fast as the window allows. The responder acknowledges
// in order (one ACK per K packets or AckReq), re-ACKs duplicates, and on a PSN past the one it
// expects sends one NAK (PSN sequence error) per gap and drops the packet (a duplicate is ACKed
// again when it has AckReq); the requester goes back to the NAK's PSN (go-back-N), or to the oldest
// unacknowledged packet after --timeout-ms without progress. Both check the ICRC of what they
// receive. At the end one JSON line:
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
#include "rdma/ip_header.hpp"
#include "rdma/psn.hpp"
#include "rdma/roce.hpp"

namespace {

using namespace aigw::rdma;
using Clock = std::chrono::steady_clock;

constexpr uint8_t kOpSendOnly = 0x04;
constexpr uint8_t kSyndromeAck = 0x1f;     // ACK, credits not in use
constexpr uint8_t kSyndromeNakSeq = 0x60;  // NAK: PSN sequence error
constexpr size_t kAethLen = 4;

struct Opts {
  std::string role, local, peer;
  uint64_t packets = 0;
  uint32_t psn = 0xfffff0, qp = 0x11, mtu = 1024, window = 256, coalesce = 16;
  int timeout_ms = 100, linger_ms = 300, deadline_s = 60;
  double rate_mbps = 0;  // 0: unpaced
};

[[noreturn]] void fail(const std::string& s) { throw std::runtime_error(s); }

// An IPv6 or IPv4 address, as the IP header carries it.
struct Addr {
  int family = AF_INET6;
  std::array<uint8_t, 16> b{};
  size_t len() const { return family == AF_INET ? 4 : 16; }
  size_t ip_hlen() const { return family == AF_INET ? kIp4HeaderLen : kIp6HeaderLen; }
};

Addr addr(const std::string& s) {
  Addr a;
  if (inet_pton(AF_INET6, s.c_str(), a.b.data()) == 1) return a;
  a.family = AF_INET;
  if (inet_pton(AF_INET, s.c_str(), a.b.data()) == 1) return a;
  fail("not an IP address: " + s);
}

// The IP header the kernel writes for a UDP datagram of udp_len bytes, in
// every field the ICRC covers (IPv4: ID 0 and DF, see above).
void write_ip(std::vector<uint8_t>& b, const Addr& src, const Addr& dst, size_t udp_len) {
  write_udp_ip_header(b, src.family == AF_INET ? 4 : 6, src.b.data(), dst.b.data(), udp_len);
}

// A socket address of `a` at the RoCEv2 port.
socklen_t sockaddr_of(const Addr& a, sockaddr_storage& ss) {
  ss = {};
  if (a.family == AF_INET) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(kRoceV2Port);
    std::memcpy(&sa->sin_addr, a.b.data(), 4);
    return sizeof(*sa);
  }
  auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
  sa->sin6_family = AF_INET6;
  sa->sin6_port = htons(kRoceV2Port);
  std::memcpy(&sa->sin6_addr, a.b.data(), 16);
  return sizeof(*sa);
}

// One RoCEv2 datagram as the wire will carry it: IP + UDP headers (the
// kernel writes its own, equal in every field the ICRC covers), BTH,
// AETH (ACK/NAK), payload, ICRC.
std::vector<uint8_t> build(const Addr& src, const Addr& dst, uint8_t opcode, uint32_t dqp,
                           uint32_t psn, bool ackreq, int aeth_syndrome, size_t payload) {
  size_t udp_len = 8 + kBthLen + (aeth_syndrome >= 0 ? kAethLen : 0) + payload + kIcrcLen;
  std::vector<uint8_t> b(src.ip_hlen() + udp_len, 0);
  write_ip(b, src, dst, udp_len);
  uint8_t* u = &b[src.ip_hlen()];
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
    fd_ = aigw::Fd(socket(local_.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd_.get() < 0) fail(fmt::format("socket: {}", strerror(errno)));
    int one = 1, buf = 8 << 20;
    // past net.core.rmem_max (root): a window must fit, or the socket
    // loses what the WAN did not
    if (setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
      setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    if (setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
      setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    if (local_.family == AF_INET) {
      int df = IP_PMTUDISC_DO;  // DF, and with it IP ID 0 (the ICRC covers the ID)
      setsockopt(fd_.get(), IPPROTO_IP, IP_MTU_DISCOVER, &df, sizeof(df));
      setsockopt(fd_.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    } else {
      setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    }
    sockaddr_storage sa;
    socklen_t len = sockaddr_of(local_, sa);
    if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), len))
      fail(fmt::format("bind [{}]:{}: {}", o.local, kRoceV2Port, strerror(errno)));
  }

  void send(const Addr& to, const std::vector<uint8_t>& pkt) {
    sockaddr_storage sa;
    socklen_t len = sockaddr_of(to, sa);
    const uint8_t* d = pkt.data() + to.ip_hlen() + 8;
    size_t n = pkt.size() - to.ip_hlen() - 8;
    while (sendto(fd_.get(), d, n, 0, reinterpret_cast<sockaddr*>(&sa), len) < 0) {
      if (errno != ENOBUFS && errno != EAGAIN) fail(fmt::format("sendto: {}", strerror(errno)));
      poll(nullptr, 0, 1);  // the qdisc or the socket is full: wait, then again
    }
  }

  // The next datagram within `wait`, as the IP packet it came in; its
  // source in `from`. False on timeout.
  bool recv(std::chrono::nanoseconds wait, std::vector<uint8_t>& pkt, Addr& from) {
    pollfd p{fd_.get(), POLLIN, 0};
    timespec ts{static_cast<time_t>(wait.count() / 1'000'000'000),
                static_cast<long>(wait.count() % 1'000'000'000)};
    if (ppoll(&p, 1, &ts, nullptr) <= 0) return false;
    std::array<uint8_t, 9216> buf;
    sockaddr_storage sa{};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo))];
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
    Addr dst = local_;
    from.family = local_.family;
    uint16_t sport = 0;
    if (local_.family == AF_INET) {
      const auto* s4 = reinterpret_cast<const sockaddr_in*>(&sa);
      std::memcpy(from.b.data(), &s4->sin_addr, 4);
      sport = ntohs(s4->sin_port);
    } else {
      const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&sa);
      std::memcpy(from.b.data(), &s6->sin6_addr, 16);
      sport = ntohs(s6->sin6_port);
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)
        std::memcpy(dst.b.data(), &reinterpret_cast<in6_pktinfo*>(CMSG_DATA(c))->ipi6_addr, 16);
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
        std::memcpy(dst.b.data(), &reinterpret_cast<in_pktinfo*>(CMSG_DATA(c))->ipi_addr, 4);
    }
    size_t udp_len = 8 + static_cast<size_t>(n), ip = local_.ip_hlen();
    pkt.assign(ip + udp_len, 0);
    write_ip(pkt, from, dst, udp_len);
    pkt[ip] = static_cast<uint8_t>(sport >> 8), pkt[ip + 1] = static_cast<uint8_t>(sport);
    pkt[ip + 2] = kRoceV2Port >> 8, pkt[ip + 3] = kRoceV2Port & 0xff;
    pkt[ip + 4] = static_cast<uint8_t>(udp_len >> 8), pkt[ip + 5] = static_cast<uint8_t>(udp_len);
    std::memcpy(&pkt[ip + 8], buf.data(), static_cast<size_t>(n));
    return true;
  }

  const Addr& local() const { return local_; }

 protected:
  const Opts& o_;
  Addr local_;
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
  Addr from;
  auto reply = [&](uint32_t psn, int syndrome) {
    ep.send(from, build(ep.local(), from, kOpRcAck, o.qp, psn, false, syndrome, 0));
  };
  while (since(start) < o.deadline_s) {
    if (done_at && since(*done_at) * 1000 >= o.linger_ms) break;
    if (!ep.recv(std::chrono::milliseconds(10), pkt, from)) continue;
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

// A NIC's rate limiter: a packet goes when its predecessors would have
// taken their time on a line of the rate; credit saved up while idle is at
// most a burst of kBurst packets of the MTU.
class Pacer {
 public:
  static constexpr int kBurst = 16;

  Pacer(double rate_mbps, size_t mtu)
      : ns_per_byte_(rate_mbps > 0 ? 8e3 / rate_mbps : 0), burst_(wire(kBurst * mtu)) {}

  bool ready(Clock::time_point now) const { return !ns_per_byte_ || now >= due_; }
  void sent(size_t bytes, Clock::time_point now) {
    if (ns_per_byte_) due_ = std::max(due_, now - burst_) + wire(bytes);
  }
  // Until the next packet may go (zero when it may now).
  Clock::duration wait(Clock::time_point now) const {
    return ready(now) ? Clock::duration::zero() : due_ - now;
  }

 private:
  Clock::duration wire(size_t bytes) const {
    return std::chrono::nanoseconds(
        static_cast<int64_t>(static_cast<double>(bytes) * ns_per_byte_));
  }

  double ns_per_byte_;
  Clock::duration burst_;
  Clock::time_point due_{};
};

int requester(const Opts& o) {
  Endpoint ep(o);
  Addr peer = addr(o.peer);
  if (peer.family != ep.local().family) fail("--local and --peer are of different families");
  uint64_t acked = 0, next = 0, sent = 0, retrans = 0, naks = 0, timeouts = 0, bad_icrc = 0;
  uint64_t high = 0;              // packets ever sent once
  std::optional<int64_t> nak_at;  // the packet the last NAK went back to
  auto start = Clock::now(), progress = start;
  std::vector<uint8_t> pkt;
  Addr from;
  auto psn_of = [&](uint64_t i) { return psn_add(o.psn, static_cast<int64_t>(i & kPsnMask)); };
  auto room = [&] { return next < o.packets && next - acked < o.window; };
  Pacer pacer(o.rate_mbps, o.mtu);
  while (acked < o.packets && since(start) < o.deadline_s) {
    for (auto now = Clock::now(); room() && pacer.ready(now);) {
      bool ackreq = (next % 16) == 15 || next + 1 == o.packets;
      auto b = build(ep.local(), peer, kOpSendOnly, o.qp, psn_of(next), ackreq, -1, o.mtu);
      ep.send(peer, b);
      pacer.sent(b.size(), now);
      sent++;
      if (next < high) retrans++;
      high = std::max(high, ++next);
    }
    // an ACK, for at most 1 ms or until the pacer lets the next packet go
    std::chrono::nanoseconds wait = std::chrono::milliseconds(1);
    if (room()) wait = std::min(wait, std::chrono::nanoseconds(pacer.wait(Clock::now())));
    if (ep.recv(wait, pkt, from)) {
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
    else if (a == "--rate-mbps")
      o.rate_mbps = std::stod(v);
    else
      fail("unknown option " + a);
  }
  if (o.local.empty() || o.packets == 0) fail("--local and --packets are required");
  if (o.role == "requester" && o.peer.empty()) fail("the requester needs --peer");
  if (o.mtu < 1 || o.mtu > 8192 || o.window < 1 || o.window >= kPsnHalf)
    fail("--mtu 1..8192, --window 1..2^23-1");
  if (!(o.rate_mbps >= 0)) fail("--rate-mbps: 0 (unpaced) or more");
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
