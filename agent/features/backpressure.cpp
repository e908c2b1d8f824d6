#include "features/backpressure.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "features/shaping.hpp"
#include "telemetry/metrics.hpp"

namespace aigw::features {
namespace {

constexpr auto kIdlePoll = std::chrono::milliseconds(100);

Ip6 as_ip6(const IpAddr& a) {
  if (const auto* v6 = std::get_if<Ip6>(&a)) return *v6;
  Ip6 m;
  m.b[10] = m.b[11] = 0xff;
  std::copy_n(std::get<Ip4>(a).b.begin(), 4, m.b.begin() + 12);
  return m;
}

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Fd bind_udp(uint16_t port) {
  Fd s(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (s.get() < 0) throw ApplyError(fmt::format("backpressure: socket: {}", strerror(errno)));
  int off = 0;
  ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);  // IPv4 peers too
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  a.sin6_addr = in6addr_any;
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw ApplyError(fmt::format("backpressure: UDP port {}: {}", port, strerror(errno)));
  return s;
}

}  // namespace

std::vector<PauseListener::Peer> load_pause_peers(const BackpressureSettings& s) {
  std::vector<PauseListener::Peer> out;
  for (const auto& p : s.peers) {
    std::string who =
        fmt::format("backpressure peer '{}' (line {}): key_file {}", p.name, p.line, p.key_file);
    std::ifstream f(p.key_file);
    if (!f) throw ApplyError(fmt::format("{}: {}", who, strerror(errno)));
    std::stringstream text;
    text << f.rdbuf();
    auto key = bp::parse_key_hex(text.str());
    if (!key)
      throw ApplyError(fmt::format("{}: expected {}..{} hex digits", who, 2 * bp::kMinKeyBytes,
                                   2 * bp::kMaxKeyBytes));
    out.push_back({p.name, as_ip6(p.address), std::move(*key)});
  }
  return out;
}

// ------------------------------------------------------------ listener

PauseListener::PauseListener(const BackpressureSettings& s, std::vector<Peer> peers,
                             ShapingModule& shaping, const Logger& log)
    : peers_(std::move(peers)),
      shaping_(shaping),
      log_(log),
      sock_(bind_udp(s.port)),
      holds_(std::chrono::milliseconds(s.max_pause_ms)),
      th_([this] { loop(); }) {}

PauseListener::~PauseListener() {
  stop_ = true;
  th_.join();
  for (uint16_t t : holds_.held_tenants()) hold(t, false);
}

void PauseListener::loop() {
  pthread_setname_np(pthread_self(), "aigw-pause");
  while (!stop_) {
    auto wait = kIdlePoll;
    {
      std::lock_guard l(mu_);
      if (auto next = holds_.next_expiry())
        wait = std::clamp(
            std::chrono::ceil<std::chrono::milliseconds>(*next - bp::Holds::Clock::now()),
            std::chrono::milliseconds(1), kIdlePoll);
    }
    pollfd p{sock_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) > 0) receive();
    expire();
  }
}

// Every datagram waiting: its peer by source address, then its MAC.
void PauseListener::receive() {
  for (int i = 0; i < 64; i++) {
    uint8_t buf[bp::kMessageSize + 1];
    sockaddr_in6 from{};
    socklen_t len = sizeof from;
    ssize_t n =
        ::recvfrom(sock_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return;
    Ip6 src;
    std::memcpy(src.b.data(), &from.sin6_addr, 16);
    auto peer =
        std::find_if(peers_.begin(), peers_.end(), [&](const Peer& x) { return x.address == src; });
    if (peer == peers_.end()) {
      count("", "unknown_peer");
      continue;
    }
    auto d = bp::decode(std::span(buf, static_cast<size_t>(n)), peer->key);
    if (auto* r = std::get_if<bp::Reject>(&d)) {
      count(peer->name, bp::reject_name(*r));
      continue;
    }
    take(static_cast<size_t>(peer - peers_.begin()), std::get<bp::Message>(d));
  }
}

void PauseListener::take(size_t peer, const bp::Message& m) {
  bool known = shaping_.holdable(m.tenant);
  bp::Holds::Outcome o;
  {
    std::lock_guard l(mu_);
    o = holds_.take(peer, m, known, wall_ns(), bp::Holds::Clock::now());
  }
  count(peers_[peer].name, bp::verdict_name(o.verdict));
  if (!o.changed) return;
  bool on = o.verdict == bp::Holds::Verdict::Paused;
  log_.info("tenant {}: {} by peer {}", m.tenant, on ? "paused" : "resumed", peers_[peer].name);
  hold(m.tenant, on);
}

void PauseListener::expire() {
  std::vector<uint16_t> gone;
  {
    std::lock_guard l(mu_);
    gone = holds_.expire(bp::Holds::Clock::now());
  }
  for (uint16_t t : gone) {
    log_.warn("tenant {}: pause expired (no refresh or resume from its peer)", t);
    count("", "expired");
    hold(t, false);
  }
}

void PauseListener::hold(uint16_t tenant, bool on) {
  try {
    shaping_.hold(tenant, on);
  } catch (const std::exception& e) {
    log_.error("tenant {}: cannot {} its queues: {}", tenant, on ? "hold" : "release", e.what());
  }
}

void PauseListener::count(const std::string& peer, std::string_view outcome) {
  std::lock_guard l(mu_);
  counts_[{peer, std::string(outcome)}]++;
}

std::map<std::pair<std::string, std::string>, uint64_t> PauseListener::counts() const {
  std::lock_guard l(mu_);
  return counts_;
}

std::vector<uint16_t> PauseListener::held() const {
  std::lock_guard l(mu_);
  return holds_.held_tenants();
}

// ------------------------------------------------------------ module

BackpressureModule::BackpressureModule(Host& host, ShapingModule& shaping)
    : host_(host), shaping_(shaping) {}
BackpressureModule::~BackpressureModule() = default;

void BackpressureModule::plan(const core::ApplyContext& ctx) {
  planned_ = load_pause_peers(ctx.next.backpressure);  // the keys are read here: refused early
}

// A changed section, or a changed key in a key file, makes a new listener
// (the old one lets its holds go and frees the port first). Any other
// apply (a reload of something else, `tenant set`, a schedule) keeps it
// and its holds.
void BackpressureModule::add(const core::ApplyContext& ctx) {
  if (!planned_) return;
  const auto& next = ctx.next.backpressure;
  auto same = [](const PauseListener::Peer& a, const PauseListener::Peer& b) {
    return a.name == b.name && a.address == b.address && a.key == b.key;
  };
  bool unchanged = next == applied_ && planned_->size() == peers_.size() &&
                   std::equal(planned_->begin(), planned_->end(), peers_.begin(), same);
  if (unchanged && (listener_ || next.peers.empty())) return;
  listener_.reset();
  peers_.clear();
  applied_ = BackpressureSettings{};
  if (!next.peers.empty())
    listener_ = std::make_unique<PauseListener>(next, *planned_, shaping_, host_.log());
  peers_ = std::move(*planned_);
  applied_ = next;
}

void BackpressureModule::commit(const core::ApplyContext&) { planned_.reset(); }

void BackpressureModule::stop() { listener_.reset(); }

void BackpressureModule::collect(telemetry::Snapshot& s) const {
  if (listener_) s.shaping.pause_messages = listener_->counts();
}

}  // namespace aigw::features
