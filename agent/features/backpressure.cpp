#include "features/backpressure.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "control/protocol.hpp"
#include "features/key_file.hpp"
#include "features/shaping.hpp"
#include "telemetry/metrics.hpp"

namespace aigw::features {
namespace {

constexpr auto kIdlePoll = std::chrono::milliseconds(100);

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
    out.push_back({p.name, mapped6(p.address), load_key_file(p.key_file, who)});
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

// The sending half follows the queues as they are now (after every module's
// add): the shaped tenants, their ports, the peers with their keys.
void BackpressureModule::commit(const core::ApplyContext& ctx) {
  planned_.reset();
  const auto& b = ctx.next.backpressure;
  bool pfc = std::any_of(ctx.next.tenants.begin(), ctx.next.tenants.end(),
                         [](const Tenant& t) { return t.pfc_priority.has_value(); });
  if (b.peers.empty() && !pfc) {
    watch_.reset();
    return;
  }
  if (!watch_ || watch_source_ != b.source) {
    watch_.reset();  // its pauses let go before another source sends
    watch_ = std::make_unique<PauseWatch>(host_.log(), b.source);
    watch_source_ = b.source;
  }
  watch_->set(watch_plan(ctx.next));
}

PauseWatch::Plan BackpressureModule::watch_plan(const Config& c) const {
  PauseWatch::Plan p;
  p.hold_ms = c.backpressure.max_pause_ms;
  for (size_t i = 0; i < peers_.size() && i < c.backpressure.peers.size(); i++) {
    PauseWatch::Peer w{peers_[i].name, {}, peers_[i].key, c.backpressure.peers[i].rtt_ms};
    w.to.sin6_family = AF_INET6;
    w.to.sin6_port = htons(c.backpressure.port);
    std::memcpy(&w.to.sin6_addr, peers_[i].address.b.data(), 16);
    p.peers.push_back(std::move(w));
  }
  auto q = shaping_.queues();
  for (const auto& t : c.tenants) {
    auto sh = q.tenants.find(t.id);
    if (sh != q.tenants.end())
      p.tenants.push_back(
          {t.name, t.id, std::max(sh->second.ceil_bps, sh->second.rate_bps), t.pfc_priority});
  }
  for (const auto& port : q.customers)
    p.customers.push_back({port.name, port.ifindex, port.speed_bps});
  for (const auto& port : q.wan) p.wan.push_back({port.name, port.ifindex, port.speed_bps});
  return p;
}

void BackpressureModule::stop() {
  watch_.reset();
  listener_.reset();
}

// Per tenant: the thresholds of its queues and what this gateway asks now.
nlohmann::json BackpressureModule::show() const {
  nlohmann::json out = nlohmann::json::array();
  if (!watch_) return out;
  const Config& c = host_.running();
  for (const auto& [id, st] : watch_->states()) {
    const Tenant* t = nullptr;
    for (const auto& x : c.tenants)
      if (x.id == id) t = &x;
    nlohmann::json e = {{"id", id},
                        {"name", st.name},
                        {"xoff_bytes", st.pause.xoff_bytes},
                        {"xon_bytes", st.pause.xon_bytes},
                        {"buffer_bytes", st.pause.buffer_bytes()},
                        {"pausing", st.pausing},
                        {"pause_episodes", st.pause_episodes},
                        {"rx_backlog_bytes", st.rx_backlog},
                        {"rx_deepest_bytes", st.rx_deepest}};
    if (t && t->pfc_priority) {
      e["pfc_priority"] = *t->pfc_priority;
      e["pfc_xoff_bytes"] = st.pfc.xoff_bytes;
      e["pfc_xon_bytes"] = st.pfc.xon_bytes;
      e["pfc_on"] = st.pfc_on;
      e["pfc_episodes"] = st.pfc_episodes;
    }
    out.push_back(std::move(e));
  }
  return out;
}

void BackpressureModule::register_commands(core::CommandTable& t) {
  t.add(cmd::kTenantBackpressure, core::Access::Read,
        [this](const nlohmann::json&) { return show(); });
}

void BackpressureModule::collect(telemetry::Snapshot& s) const {
  if (listener_) s.shaping.pause_messages = listener_->counts();
  if (!watch_) return;
  for (const auto& [k, n] : watch_->sent()) {
    if (k.second.rfind("pfc_", 0) == 0)
      s.shaping.pfc_frames[{k.first, k.second.substr(4)}] = n;
    else
      s.shaping.pause_sent[k] = n;
  }
  for (const auto& [id, st] : watch_->states())
    s.shaping.senders.push_back({st.name, st.pausing ? 1u : 0u, st.pfc_on ? 1u : 0u,
                                 st.pause_episodes, st.pfc_episodes, st.pause.xoff_bytes});
}

}  // namespace aigw::features
