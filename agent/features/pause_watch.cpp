#include "features/pause_watch.hpp"

#include <aigw/abi.h>
#include <fmt/format.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "datapath/types.hpp"
#include "features/shaping.hpp"
#include "netlink/htb.hpp"

namespace aigw::features {
namespace {

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Fd udp_socket(const std::optional<IpAddr>& source) {
  Fd s(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (s.get() < 0) throw ApplyError(fmt::format("backpressure: socket: {}", strerror(errno)));
  int off = 0;
  ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  if (!source) return s;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  Ip6 m = mapped6(*source);
  std::memcpy(&a.sin6_addr, m.b.data(), 16);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw ApplyError(fmt::format("backpressure: source {}: {}", ip_str(*source), strerror(errno)));
  return s;
}

std::optional<bp::Mac> port_mac(int fd, const std::string& name) {
  ifreq r{};
  std::strncpy(r.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, SIOCGIFHWADDR, &r) != 0) return std::nullopt;
  bp::Mac m;
  std::memcpy(m.data(), r.ifr_hwaddr.sa_data, m.size());
  return m;
}

std::chrono::microseconds us(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

// A port whose speed the kernel does not know is taken for 10 Gbit/s: its
// PFC quanta are then counted short (refreshed sooner), its headroom large.
constexpr uint64_t kUnknownSpeed = 10'000'000'000;

}  // namespace

PauseWatch::PauseWatch(const Logger& log, std::optional<IpAddr> source)
    : log_(log), sock_(udp_socket(source)), th_([this] { loop(); }) {}

PauseWatch::~PauseWatch() {
  stop_ = true;
  th_.join();
  std::lock_guard l(mu_);
  release_all();
}

bp::Thresholds PauseWatch::pause_thresholds(const Plan& p, const Tenant& t) {
  uint32_t rtt = 0;
  for (const auto& peer : p.peers) rtt = std::max(rtt, peer.rtt_ms);
  auto feedback = us(std::chrono::milliseconds(rtt) + 2 * kPeriod + kReaction);
  uint64_t senders = std::max<size_t>(p.peers.size(), 1);
  return bp::thresholds(t.ceil_bps, senders * t.ceil_bps, feedback);
}

bp::Thresholds PauseWatch::pfc_thresholds(const Plan& p, const Tenant& t) {
  uint64_t hosts = 0;  // what the hosts can send: the customer ports' speed
  for (const auto& c : p.customers) hosts = std::max(hosts, c.speed_bps);
  return bp::thresholds(t.ceil_bps, hosts ? hosts : kUnknownSpeed, us(2 * kPeriod + kReaction));
}

void PauseWatch::set(Plan p) {
  std::lock_guard l(mu_);
  std::map<uint16_t, TenantState> next;
  for (const auto& t : p.tenants) {
    TenantState st;
    if (auto was = states_.find(t.id); was != states_.end()) st = was->second;
    st.name = t.name;
    st.pause = pause_thresholds(p, t);
    st.pfc = pfc_thresholds(p, t);
    if (p.peers.empty() && st.pausing) {  // no peers any more: let the old ones go
      send_all(bp::MsgType::Resume, t.id, "resume");
      st.pausing = false;
    }
    if (!t.pfc_priority && st.pfc_on) {
      auto old = std::find_if(plan_.tenants.begin(), plan_.tenants.end(),
                              [&](const Tenant& x) { return x.id == t.id; });
      if (old != plan_.tenants.end() && old->pfc_priority) pfc_all(*old->pfc_priority, false);
      st.pfc_on = false;
    }
    next[t.id] = st;
  }
  // tenants gone: let go of what was asked for them
  for (const auto& [id, st] : states_) {
    if (next.count(id)) continue;
    if (st.pausing) send_all(bp::MsgType::Resume, id, "resume");
    auto old = std::find_if(plan_.tenants.begin(), plan_.tenants.end(),
                            [&](const Tenant& x) { return x.id == id; });
    if (st.pfc_on && old != plan_.tenants.end() && old->pfc_priority)
      pfc_all(*old->pfc_priority, false);
  }
  states_ = std::move(next);
  plan_ = std::move(p);
  open_pfc_ports();
}

// A raw socket on each customer port, for tenants with a pfc_priority.
void PauseWatch::open_pfc_ports() {
  bool any = std::any_of(plan_.tenants.begin(), plan_.tenants.end(),
                         [](const Tenant& t) { return t.pfc_priority.has_value(); });
  std::vector<PfcPort> next;
  for (const auto& c : any ? plan_.customers : std::vector<Port>{}) {
    auto was = std::find_if(pfc_ports_.begin(), pfc_ports_.end(),
                            [&](const PfcPort& x) { return x.ifindex == c.ifindex; });
    if (was != pfc_ports_.end()) {
      next.push_back(std::move(*was));
      continue;
    }
    // PFC quanta are bit times of the port itself, not of a slower circuit
    // behind it (interfaces[].speed)
    uint64_t phy = port_speed_bps(c.name);
    PfcPort p{c.name,
              c.ifindex,
              {},
              phy ? phy : kUnknownSpeed,
              Fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0))};
    if (p.sock.get() < 0)
      throw ApplyError(fmt::format("backpressure: PFC socket on {}: {}", c.name, strerror(errno)));
    auto mac = port_mac(p.sock.get(), c.name);
    if (!mac) throw ApplyError(fmt::format("backpressure: MAC address of {}", c.name));
    p.mac = *mac;
    next.push_back(std::move(p));
  }
  pfc_ports_ = std::move(next);
}

void PauseWatch::loop() {
  pthread_setname_np(pthread_self(), "aigw-bp-watch");
  std::unique_ptr<nl::Htb> htb;
  while (!stop_) {
    bool watching = false;
    try {
      if (!htb) htb = std::make_unique<nl::Htb>();
      std::lock_guard l(mu_);
      watching = !plan_.tenants.empty();
      if (watching) poll(*htb, Clock::now());
    } catch (const std::exception& e) {
      log_.debug("backpressure watch: {}", e.what());  // a port gone mid-reload: read again
    }
    std::this_thread::sleep_for(watching ? kPeriod : kIdlePeriod);
  }
}

std::map<uint16_t, uint64_t> PauseWatch::backlog(nl::Htb& htb,
                                                 const std::vector<Port>& ports) const {
  std::map<uint16_t, uint64_t> out;  // the deepest of the tenant's queues
  for (const auto& p : ports)
    for (const auto& [minor, st] : htb.all_class_stats(p.ifindex, AIGW_SHAPE_MAJOR))
      out[minor] = std::max<uint64_t>(out[minor], st.backlog_bytes);
  return out;
}

void PauseWatch::poll(nl::Htb& htb, Clock::time_point now) {
  auto rx = plan_.peers.empty() ? std::map<uint16_t, uint64_t>{} : backlog(htb, plan_.customers);
  auto tx = pfc_ports_.empty() ? std::map<uint16_t, uint64_t>{} : backlog(htb, plan_.wan);
  for (const auto& t : plan_.tenants) {
    TenantState& st = states_[t.id];
    st.rx_backlog = rx[t.id];
    st.tx_backlog = tx[t.id];
    st.rx_deepest = std::max(st.rx_deepest, st.rx_backlog);
    if (!plan_.peers.empty()) pause_step(t.id, st, now);
    if (t.pfc_priority && !pfc_ports_.empty()) pfc_step(t.id, t, st, now);
  }
}

void PauseWatch::pause_step(uint16_t id, TenantState& st, Clock::time_point now) {
  auto refresh = std::chrono::milliseconds(std::max<uint32_t>(plan_.hold_ms / 4, 1));
  if (!st.pausing && st.rx_backlog >= st.pause.xoff_bytes) {
    st.pausing = true;
    st.pause_episodes++;
    send_all(bp::MsgType::Pause, id, "pause");
    last_pause_[id] = now;
  } else if (st.pausing && st.rx_backlog <= st.pause.xon_bytes) {
    st.pausing = false;
    send_all(bp::MsgType::Resume, id, "resume");
  } else if (st.pausing && now - last_pause_[id] >= refresh) {
    send_all(bp::MsgType::Pause, id, "refresh");
    last_pause_[id] = now;
  }
}

void PauseWatch::pfc_step(uint16_t id, const Tenant& t, TenantState& st, Clock::time_point now) {
  uint64_t slowest = UINT64_MAX;
  for (const auto& p : pfc_ports_) slowest = std::min(slowest, p.speed_bps);
  auto lasts = bp::pfc_duration(bp::kPfcMaxQuanta, slowest);
  if (!st.pfc_on && st.tx_backlog >= st.pfc.xoff_bytes) {
    st.pfc_on = true;
    st.pfc_episodes++;
    pfc_all(*t.pfc_priority, true);
    last_pfc_[id] = now;
  } else if (st.pfc_on && st.tx_backlog <= st.pfc.xon_bytes) {
    st.pfc_on = false;
    pfc_all(*t.pfc_priority, false);
  } else if (st.pfc_on && now - last_pfc_[id] >= lasts / 2) {
    pfc_all(*t.pfc_priority, true);
    last_pfc_[id] = now;
  }
}

void PauseWatch::send_all(bp::MsgType type, uint16_t tenant, const char* kind) {
  bp::Message m;
  m.type = type;
  m.tenant = tenant;
  m.hold_ms = type == bp::MsgType::Pause ? plan_.hold_ms : 0;
  for (const auto& p : plan_.peers) {
    m.seq = last_seq_ = std::max<uint64_t>(static_cast<uint64_t>(wall_ns()), last_seq_ + 1);
    auto wire = bp::encode(m, p.key);
    bool ok =
        ::sendto(sock_.get(), wire.data(), wire.size(), 0, reinterpret_cast<const sockaddr*>(&p.to),
                 sizeof p.to) == static_cast<ssize_t>(wire.size());
    sent_[{p.name, ok ? kind : "error"}]++;
  }
}

void PauseWatch::pfc_all(uint8_t priority, bool on) {
  for (const auto& p : pfc_ports_) {
    auto f = bp::pfc_frame(p.mac, priority, on ? bp::kPfcMaxQuanta : 0);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = p.ifindex;
    to.sll_halen = 6;
    std::copy(bp::kPfcDst.begin(), bp::kPfcDst.end(), to.sll_addr);
    bool ok = ::sendto(p.sock.get(), f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to),
                       sizeof to) == static_cast<ssize_t>(f.size());
    sent_[{p.name, !ok ? "pfc_error" : on ? "pfc_pause" : "pfc_resume"}]++;
  }
}

void PauseWatch::release_all() {
  for (auto& [id, st] : states_) {
    if (st.pausing) send_all(bp::MsgType::Resume, id, "resume");
    st.pausing = false;
    auto t = std::find_if(plan_.tenants.begin(), plan_.tenants.end(),
                          [&](const Tenant& x) { return x.id == id; });
    if (st.pfc_on && t != plan_.tenants.end() && t->pfc_priority) pfc_all(*t->pfc_priority, false);
    st.pfc_on = false;
  }
}

std::map<uint16_t, PauseWatch::TenantState> PauseWatch::states() const {
  std::lock_guard l(mu_);
  return states_;
}

std::map<std::pair<std::string, std::string>, uint64_t> PauseWatch::sent() const {
  std::lock_guard l(mu_);
  return sent_;
}

}  // namespace aigw::features
