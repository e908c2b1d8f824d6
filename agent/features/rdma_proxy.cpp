#include "features/rdma_proxy.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>

#include <functional>
#include <map>
#include <unordered_map>

#include "control/protocol.hpp"
#include "datapath/xsk.hpp"
#include "features/key_file.hpp"
#include "policy/classifier.hpp"
#include "rdma/nack_packet.hpp"
#include "rdma/proxy.hpp"

namespace aigw::features {

namespace {

using rdma::Clock;
using rdma::FlowKey;
using rdma::FlowKeyHash;

constexpr size_t kEthLen = 14;
constexpr size_t kRxBurst = 64;
constexpr auto kTick = std::chrono::milliseconds(1);

// A frame the proxy holds: bytes as they go out, and where to.
struct Pkt {
  std::vector<uint8_t> bytes;
  uint32_t egress = 0;
  uint16_t ip_off = 0;
};

// Where a receiving stream's packets go: the customer port and the MACs
// of its delivered frames (destination: the host; source: the port), for
// the NACKs, which enter the headend as if that host had sent them.
struct Delivery {
  uint32_t ifindex = 0;
  std::array<uint8_t, 12> macs{};
};

// Per tenant: its streams, what they use, and each stream's share of the
// tenant's budget on each side.
nlohmann::json tenants_json(rdma::Proxy<Pkt>& px, uint64_t budget,
                            const std::function<std::string(uint16_t)>& name) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [id, u] : px.tenant_use())
    out.push_back({{"tenant", name(id)},
                   {"id", id},
                   {"budget_bytes", budget},
                   {"tx_streams", u.tx_streams},
                   {"rx_streams", u.rx_streams},
                   {"cached_bytes", u.cached_bytes},
                   {"held", u.held},
                   {"tx_share_bytes", px.share(u.tx_streams)},
                   {"rx_share_bytes", px.share(u.rx_streams)}});
  return out;
}

double ms_of(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string addr_str(uint8_t family, const std::array<uint8_t, 16>& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, a.data(), buf, sizeof(buf));
  return buf;
}

nlohmann::json key_json(const FlowKey& k) {
  return {{"src", addr_str(k.family, k.src)}, {"dst", addr_str(k.family, k.dst)}, {"qp", k.dqp}};
}

}  // namespace

rdma::ProxyLimits rdma_limits(const RdmaProxySettings& s) {
  rdma::ProxyLimits l;
  l.max_tx_streams = s.max_streams;
  l.max_rx_streams = s.max_streams;
  l.reorder.max_held = s.max_held;
  l.reorder.nack_interval = std::chrono::milliseconds(s.nack_ms);
  l.reorder.give_up = std::chrono::milliseconds(s.give_up_ms);
  l.cache.keep = std::chrono::milliseconds(s.cache_ms);
  l.cache.probe_min = std::chrono::milliseconds(s.nack_ms);
  l.cache.max_bytes = s.cache_bytes;
  l.cache.max_packets = s.cache_packets;
  l.tenant_bytes = size_t{s.tenant_memory_mb} << 20;
  // idle after the longest a hole or a cached packet can last
  l.idle = std::max<Clock::duration>(
      std::chrono::seconds(1), 2 * std::chrono::milliseconds(std::max(s.give_up_ms, s.cache_ms)));
  return l;
}

struct RdmaProxyModule::Shared {
  Shared(const RdmaProxySettings& s, int headend_fd, std::vector<uint8_t> nack_key)
      : proxy(rdma_limits(s)),
        max_deliveries(2 * size_t{s.max_streams}),
        headend_fd(headend_fd),
        verify_icrc(s.verify_icrc),
        key(std::move(nack_key)) {}
  mutable std::mutex mu;
  rdma::Proxy<Pkt> proxy;
  std::unordered_map<FlowKey, Delivery, FlowKeyHash> deliveries;
  size_t max_deliveries;
  int headend_fd;
  bool verify_icrc;
  std::vector<uint8_t> key;  // NACKs' and MISSes' MAC key (empty: none)
  // Counted by the workers, without the lock.
  using Ctr = std::atomic<uint64_t>;
  Ctr bad_nacks{0}, not_roce{0}, no_port{0}, bad_icrc{0};
  Ctr nack_no_delivery{0}, nack_inject_failed{0}, bad_meta{0}, nacks_unauthenticated{0};
};

namespace {

// A count kept by one thread and read by others: a relaxed load and store,
// not a locked add. On x86 a locked add waits for every earlier store to
// leave the store buffer, the frame just copied to the TX ring among them.
class OwnCounter {
 public:
  void add() { v_.store(v_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace

// One queue's sockets on every port and the thread that serves them.
struct RdmaProxyModule::Worker {
  Worker(std::shared_ptr<Shared> sh, std::vector<std::unique_ptr<dp::XskSocket>> socks,
         std::vector<uint32_t> ifindexes, uint32_t queue)
      : sh_(std::move(sh)),
        socks_(std::move(socks)),
        ifx_(std::move(ifindexes)),
        ticks_(queue == 0) {
    th_ = std::thread([this, queue] {
      // named, so that top and the benchmark find the proxy's CPU time
      pthread_setname_np(pthread_self(), fmt::format("aigw-rdma-q{}", queue).c_str());
      while (!stop_) {
        try {
          loop();
        } catch (const std::exception&) {
          // nothing a packet carries throws; memory can run out: count it,
          // go on with the next packets rather than take the agent down
          failures_++;
        }
      }
    });
  }
  ~Worker() {
    stop_ = true;
    th_.join();
  }

  uint64_t tx_full() const { return tx_full_.load(); }
  uint64_t failures() const { return failures_.load(); }
  uint64_t to_host() const { return to_host_.get(); }
  uint64_t to_wan() const { return to_wan_.get(); }
  dp::XskKernelDrops kernel_drops() const {
    dp::XskKernelDrops d;
    for (const auto& s : socks_) d += s->kernel_drops();
    return d;
  }

 private:
  void loop() {
    std::vector<pollfd> pfd;
    for (auto& s : socks_) pfd.push_back({s->fd(), POLLIN, 0});
    auto next_tick = Clock::now();
    size_t got = 0;
    while (!stop_) {
      // Waits only when the last pass found nothing: while frames keep
      // coming, the rings are read again at once (no system call).
      if (!got) ::poll(pfd.data(), pfd.size(), 1);
      got = 0;
      for (auto& s : socks_) {
        auto now = Clock::now();  // one reading per burst
        got += s->receive(kRxBurst, [&](std::span<const uint8_t> f, const aigw_xsk_meta& m) {
          on_frame(f, m, now);
        });
      }
      if (auto now = Clock::now(); ticks_ && now >= next_tick) {
        rdma::Proxy<Pkt>::Out out;
        {
          std::lock_guard l(sh_->mu);
          out = sh_->proxy.tick(now);
        }
        take(std::move(out));
        next_tick = now + kTick;
      }
      uint64_t full = 0;
      for (auto& s : socks_) {
        s->flush();
        full += s->counters().tx_full;
      }
      tx_full_ = full;
    }
  }

  dp::XskSocket* sock(uint32_t ifindex) {
    for (size_t i = 0; i < ifx_.size(); i++)
      if (ifx_[i] == ifindex) return socks_[i].get();
    return nullptr;
  }

  void send(uint32_t ifindex, std::span<const uint8_t> bytes, OwnCounter& sent) {
    dp::XskSocket* s = sock(ifindex);
    if (!s)
      sh_->no_port++;
    else if (s->send(bytes))
      sent.add();
  }

  void on_frame(std::span<const uint8_t> f, const aigw_xsk_meta& m, Clock::time_point now) {
    if (m.ip_off < kEthLen || m.ip_off >= f.size()) {
      sh_->bad_meta++;
      return;
    }
    auto ip = f.subspan(m.ip_off);
    switch (m.kind) {
      case AIGW_XSK_EGRESS:
        return egress(f, ip, m, now);
      case AIGW_XSK_INGRESS:
        return ingress(f, ip, m, now);
      case AIGW_XSK_NACK:
        return nack(f, ip, m);
      default:
        sh_->bad_meta++;
    }
  }

  // Sending side: cached, then on to the WAN in any case.
  void egress(std::span<const uint8_t> f, std::span<const uint8_t> ip, const aigw_xsk_meta& m,
              Clock::time_point now) {
    auto r = rdma::parse_roce(ip);
    if (auto* p = std::get_if<rdma::RocePacket>(&r)) {
      std::lock_guard l(sh_->mu);
      sh_->proxy.egress(ip, *p, Pkt{{f.begin(), f.end()}, m.egress_ifindex, m.ip_off}, now,
                        m.tenant);
    }
    send(m.egress_ifindex, f, to_wan_);
  }

  // Receiving side: through the stream's reorder buffer. A packet whose
  // ICRC is wrong (changed on the WAN) is dropped here, as the NIC would,
  // and counted: to the stream it is a lost packet, a hole the sending
  // gateway fills from its cache, not one the hosts go back N for
  // (unless verify_icrc is off: then the NIC drops it).
  void ingress(std::span<const uint8_t> f, std::span<const uint8_t> ip, const aigw_xsk_meta& m,
               Clock::time_point now) {
    auto r = rdma::parse_roce(ip);
    auto* p = std::get_if<rdma::RocePacket>(&r);
    if (!p) {
      sh_->not_roce++;
      return send(m.egress_ifindex, f, to_host_);
    }
    if (sh_->verify_icrc && !rdma::icrc_ok(ip, *p)) {
      sh_->bad_icrc++;
      return;
    }
    rdma::Proxy<Pkt>::Out out;
    {
      std::lock_guard l(sh_->mu);
      FlowKey k = rdma::flow_of(ip, *p);
      auto it = sh_->deliveries.find(k);
      if (it == sh_->deliveries.end()) {
        if (sh_->deliveries.size() >= sh_->max_deliveries)
          sh_->deliveries.clear();  // bounded: the live streams' come back with their next packet
        it = sh_->deliveries.emplace(k, Delivery{}).first;
      }
      Delivery& d = it->second;
      d.ifindex = m.egress_ifindex;
      std::copy_n(f.begin(), d.macs.size(), d.macs.begin());
      // a copy only of what the stream holds: in order, the frame goes as it is
      out = sh_->proxy.ingress_lazy(
          ip, *p,
          [&] {
            return Pkt{{f.begin(), f.end()}, m.egress_ifindex, m.ip_off};
          },
          now, m.tenant);
    }
    if (out.first) send(m.egress_ifindex, f, to_host_);
    take(std::move(out));
  }

  // A peer gateway's NACK: the cached packets it names, again. With a
  // key, one without its MAC is refused before anything in it is read.
  void nack(std::span<const uint8_t> f, std::span<const uint8_t> ip, const aigw_xsk_meta& m) {
    std::optional<rdma::NackError> err;
    auto n = rdma::nack_of_packet(ip, &err, sh_->key);
    if (!n) {
      if (err) {
        bool auth = *err == rdma::NackError::unauthenticated || *err == rdma::NackError::bad_mac;
        (auth ? sh_->nacks_unauthenticated : sh_->bad_nacks)++;
        return;
      }
      return send(m.egress_ifindex, f, to_host_);  // UDP to that port, not a NACK
    }
    if (n->type == rdma::kMissType) {  // receiving side: holes that cannot fill
      rdma::Proxy<Pkt>::Out out;
      {
        std::lock_guard l(sh_->mu);
        out = sh_->proxy.on_miss(*n);
      }
      return take(std::move(out));
    }
    std::vector<Pkt> again;
    std::optional<rdma::Nack> miss;
    {
      std::lock_guard l(sh_->mu);
      for (const Pkt* c : sh_->proxy.on_nack(*n, &miss)) again.push_back(*c);
    }
    for (const Pkt& c : again) send(c.egress, c.bytes, to_wan_);
    if (miss) emit(*miss);
  }

  void take(rdma::Proxy<Pkt>::Out out) {
    for (const Pkt& d : out.deliver) send(d.egress, d.bytes, to_host_);
    for (const rdma::Nack& n : out.nacks) emit(n);
    for (const Pkt& r : out.resend) send(r.egress, r.bytes, to_wan_);
  }

  // Where the local host of a NACK or MISS sends from: the NACK's is the
  // stream's responder, to which the stream's packets are delivered; the
  // MISS's is the requester, to which the responder's ACKs are (their QP
  // is the requester's, so any QP of that address pair will do).
  std::optional<Delivery> delivery_of(const rdma::Nack& n) {
    std::lock_guard l(sh_->mu);
    auto& ds = sh_->deliveries;
    if (n.type != rdma::kMissType) {
      auto it = ds.find(FlowKey{n.family, n.src, n.dst, n.dqp});
      return it == ds.end() ? std::nullopt : std::optional{it->second};
    }
    for (const auto& [k, d] : ds)  // bounded (max_deliveries); a MISS is rare
      if (k.family == n.family && k.src == n.dst && k.dst == n.src) return d;
    return std::nullopt;
  }

  // A NACK (or MISS) enters the tunnel through the headend, as if the
  // local host of the stream had sent it from the customer port.
  void emit(const rdma::Nack& n) {
    auto found = delivery_of(n);
    if (!found) {
      sh_->nack_no_delivery++;
      return;
    }
    const Delivery& d = *found;
    auto ip = rdma::nack_packet(n, sh_->key);
    std::vector<uint8_t> frame(kEthLen + ip.size());
    std::copy_n(d.macs.begin() + 6, 6, frame.begin());  // to the port
    std::copy_n(d.macs.begin(), 6, frame.begin() + 6);  // from the host
    frame[12] = n.family == 4 ? 0x08 : 0x86;
    frame[13] = n.family == 4 ? 0x00 : 0xdd;
    std::copy(ip.begin(), ip.end(), frame.begin() + kEthLen);
    if (dp::xdp_inject(sh_->headend_fd, d.ifindex, frame)) sh_->nack_inject_failed++;
  }

  std::shared_ptr<Shared> sh_;
  std::vector<std::unique_ptr<dp::XskSocket>> socks_;
  std::vector<uint32_t> ifx_;
  bool ticks_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> tx_full_{0};
  std::atomic<uint64_t> failures_{0};
  OwnCounter to_host_, to_wan_;  // frames sent on to the hosts, to the WAN
  std::thread th_;
};

RdmaProxyModule::RdmaProxyModule(Host& host) : host_(host) {}

RdmaProxyModule::~RdmaProxyModule() { halt(); }

dp::RdmaSelection rdma_selection(const Config& c) {
  dp::RdmaSelection sel{};
  for (const auto& x : c.rdma_proxy.select) {
    auto t = aigw::tenant_id(c, x.tenant);
    if (!t) throw ApplyError(fmt::format("rdma_proxy.select: unknown tenant '{}'", x.tenant));
    uint32_t mask = (1u << AIGW_MAX_CLASSES) - 1;
    if (!x.service_class.empty()) {
      auto cls = aigw::class_id(c, x.service_class);
      if (!cls)
        throw ApplyError(fmt::format("rdma_proxy.select: unknown class '{}'", x.service_class));
      mask = 1u << *cls;
    }
    if (*t < AIGW_MAX_TENANTS) sel[*t] |= mask;
  }
  return sel;
}

void RdmaProxyModule::plan(const core::ApplyContext& ctx) {
  planned_ = rdma_selection(ctx.next);
  const auto& r = ctx.next.rdma_proxy;
  planned_key_.clear();
  if (!r.select.empty() && !r.key_file.empty())
    planned_key_ = load_key_file(
        r.key_file, fmt::format("rdma_proxy.key_file {} (line {})", r.key_file, r.line));
}

void RdmaProxyModule::commit(const core::ApplyContext& ctx) {
  if (!maps_) maps_.emplace(host_.datapath().loader());
  if (started_) {
    auto ports = ports_of(ctx.next);
    bool failed = !shared_ && !ctx.next.rdma_proxy.select.empty();  // retried at each apply
    bool rekeyed = shared_ && shared_->key != planned_key_;         // the file's content changed
    if (!(ctx.next.rdma_proxy == running_) || ports != ports_ || failed || rekeyed) {
      halt();
      run(ctx.next);
    }
  }
  if (planned_ && (started_ || ctx.next.rdma_proxy.select.empty()))
    maps_->select(shared_ ? *planned_ : dp::RdmaSelection{});
}

std::vector<RdmaProxyModule::Port> RdmaProxyModule::ports_of(const Config& c) const {
  std::vector<Port> out;
  for (const auto& i : c.interfaces) {
    auto slot = host_.datapath().slot_of(interface_key(i));
    auto link = host_.links().resolve(i.name);
    if (!slot || !link) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const Port& p) { return p.name == i.name; });
    if (it == out.end()) it = out.insert(out.end(), Port{i.name, link->ifindex, {}});
    it->slots.push_back(*slot);
  }
  return out;
}

// Sockets on every port for each queue, in the map, and their threads.
// A port that takes no AF_XDP socket leaves the proxy off (logged, shown
// by `aigwctl rdma show`) and the selection empty: its traffic keeps the
// fast path.
void RdmaProxyModule::run(const Config& c) {
  running_ = c.rdma_proxy;
  ports_ = ports_of(c);
  error_.clear();
  shared_.reset();  // counters count from the proxy's (re)start
  if (c.rdma_proxy.select.empty()) return;
  const auto& r = c.rdma_proxy;
  dp::XskSettings xs{r.frames, r.frame_size, r.ring, r.zero_copy};
  try {
    shared_ = std::make_shared<Shared>(r, host_.datapath().prog_fd(Prog::Headend), planned_key_);
    for (uint32_t q = 0; q < r.queues; q++) {
      std::vector<std::unique_ptr<dp::XskSocket>> socks;
      std::vector<uint32_t> ifx;
      for (const auto& p : ports_) {
        socks.push_back(std::make_unique<dp::XskSocket>(p.name, q, xs));
        ifx.push_back(static_cast<uint32_t>(p.ifindex));
        for (uint16_t slot : p.slots) maps_->set_socket(slot, q, socks.back()->fd());
      }
      workers_.push_back(std::make_unique<Worker>(shared_, std::move(socks), std::move(ifx), q));
    }
    host_.log().info("rdma_proxy: {} queue(s) on {} port(s), {} selection(s)", r.queues,
                     ports_.size(), r.select.size());
  } catch (const std::exception& e) {
    // Refusing the configuration would not make the ports take sockets:
    // the proxy stays off, its traffic on the fast path, and says why.
    error_ = e.what();
    host_.log().error("rdma_proxy: not started, its traffic keeps the fast path: {}", e.what());
    halt();
    shared_.reset();
    maps_->select(dp::RdmaSelection{});
  }
}

void RdmaProxyModule::halt() {
  workers_.clear();  // joins the threads, closes the sockets (they leave aigw_xsks)
  if (maps_)
    for (const auto& p : ports_)
      for (uint16_t slot : p.slots)
        for (uint32_t q = 0; q < AIGW_XSK_QUEUES; q++) maps_->clear_socket(slot, q);
}

void RdmaProxyModule::start() {
  started_ = true;
  if (!maps_) maps_.emplace(host_.datapath().loader());
  run(host_.running());
  if (planned_ && shared_) maps_->select(*planned_);
}

void RdmaProxyModule::stop() {
  started_ = false;
  if (maps_) maps_->select(dp::RdmaSelection{});
  halt();
  shared_.reset();
}

template <class R>
R RdmaProxyModule::sum(R (Worker::*counter)() const) const {
  R n{};
  for (const auto& w : workers_) n += ((*w).*counter)();
  return n;
}

namespace {

// A smoothed time in ms (null: none measured yet).
nlohmann::json ms_json(std::optional<Clock::duration> d) {
  return d ? nlohmann::json(ms_of(*d)) : nlohmann::json();
}

// One stream of `aigwctl rdma show`: reordered here (receiving side).
nlohmann::json receiving_json(const FlowKey& k, const rdma::ReorderQp<Pkt>& q,
                              const std::string& tenant) {
  nlohmann::json e = key_json(k);
  const auto& qc = q.counters();
  e["tenant"] = tenant;
  e["expected_psn"] = q.expected() ? nlohmann::json(*q.expected()) : nlohmann::json();
  e["held"] = q.held();
  e["holes"] = qc.holes;
  e["nacks"] = qc.nacks;
  e["given_up"] = qc.given_up;
  e["delivered"] = qc.delivered;
  e["max_depth"] = qc.max_depth;
  e["fill_ms"] = ms_json(q.fill_time());
  return e;
}

// One stream of `aigwctl rdma show`: cached here (sending side).
nlohmann::json sending_json(const FlowKey& k, const rdma::SendCache<Pkt>& sc,
                            const std::string& tenant) {
  nlohmann::json e = key_json(k);
  const auto& cc = sc.counters();
  e["tenant"] = tenant;
  e["cached_packets"] = sc.packets();
  e["cached_bytes"] = sc.bytes();
  e["cached_peak_bytes"] = cc.peak_bytes;
  e["resent"] = cc.hits;
  e["tail_probes"] = cc.probes;
  e["ack_ms"] = ms_json(sc.ack_time());
  e["misses"] = cc.misses;
  e["evicted"] = cc.evicted;
  return e;
}

}  // namespace

nlohmann::json RdmaProxyModule::show() const {
  nlohmann::json j = {{"running", !workers_.empty()},
                      {"queues", running_.queues},
                      {"ports", nlohmann::json::array()}};
  for (const auto& p : ports_) j["ports"].push_back(p.name);
  if (!error_.empty()) j["error"] = error_;
  if (!shared_) return j;
  const uint64_t failures = sum(&Worker::failures);
  const dp::XskKernelDrops drops = sum(&Worker::kernel_drops);
  std::map<uint16_t, std::string> names;
  for (const auto& t : host_.running().tenants) names[t.id] = t.name;
  auto tenant_name = [&](uint16_t id) -> std::string {
    auto it = names.find(id);
    return it != names.end() ? it->second : id ? std::to_string(id) : "unclassified";
  };
  std::lock_guard l(shared_->mu);
  auto& px = shared_->proxy;
  const auto& c = px.counters();
  j["counters"] = {{"nacks_sent", c.nacks_sent},
                   {"nacks_received", c.nacks_received},
                   {"nacks_stale", c.nacks_stale},
                   {"nacks_unknown", c.nacks_unknown},
                   {"resent", c.resent},
                   {"tail_probes", c.tail_probes},
                   {"acks_matched", c.acks_matched},
                   {"cache_misses", c.cache_misses},
                   {"holes", c.holes},
                   {"given_up", c.given_up},
                   {"unfillable", c.unfillable},
                   {"misses_sent", c.misses_sent},
                   {"misses_received", c.misses_received},
                   {"overflows", c.overflows},
                   {"to_host", sum(&Worker::to_host)},
                   {"to_wan", sum(&Worker::to_wan)},
                   {"tx_full", sum(&Worker::tx_full)},
                   {"bad_nacks", shared_->bad_nacks.load()},
                   {"bad_icrc", shared_->bad_icrc.load()},
                   {"nacks_unauthenticated", shared_->nacks_unauthenticated.load()},
                   {"no_port", shared_->no_port.load()},
                   {"nack_no_delivery", shared_->nack_no_delivery.load()},
                   {"nack_inject_failed", shared_->nack_inject_failed.load()},
                   {"xsk_no_frame", drops.no_frame},
                   {"xsk_rx_ring_full", drops.rx_ring_full},
                   {"xsk_invalid", drops.invalid},
                   {"streams_evicted", px.tx_evicted() + px.rx_evicted()},
                   {"worker_failures", failures},
                   {"streams_idled", c.idled}};
  nlohmann::json rx = nlohmann::json::array(), tx = nlohmann::json::array();
  px.for_each_rx([&](const FlowKey& k, const rdma::ReorderQp<Pkt>& q, uint16_t tenant) {
    rx.push_back(receiving_json(k, q, tenant_name(tenant)));
  });
  px.for_each_tx([&](const FlowKey& k, const rdma::SendCache<Pkt>& sc, uint16_t tenant) {
    tx.push_back(sending_json(k, sc, tenant_name(tenant)));
  });
  j["tenants"] = tenants_json(px, uint64_t{running_.tenant_memory_mb} << 20, tenant_name);
  j["receiving"] = std::move(rx);
  j["sending"] = std::move(tx);
  return j;
}

void RdmaProxyModule::register_commands(core::CommandTable& t) {
  t.add(cmd::kRdmaShow, core::Access::Read, [this](const nlohmann::json&) { return show(); });
}

void RdmaProxyModule::collect(telemetry::Snapshot& s) const {
  if (!shared_ || workers_.empty()) return;
  auto& f = s.rdma;
  f.running = true;
  const uint64_t tx_full = sum(&Worker::tx_full);
  const dp::XskKernelDrops drops = sum(&Worker::kernel_drops);
  f.xsk_no_frame = drops.no_frame;
  f.xsk_rx_ring_full = drops.rx_ring_full;
  f.xsk_invalid = drops.invalid;
  std::lock_guard l(shared_->mu);
  auto& px = shared_->proxy;
  const auto& c = px.counters();
  f.nacks_sent = c.nacks_sent;
  f.nacks_received = c.nacks_received;
  f.resent = c.resent;
  f.tail_probes = c.tail_probes;
  f.to_host = sum(&Worker::to_host);
  f.to_wan = sum(&Worker::to_wan);
  f.tx_full = tx_full;
  f.bad_icrc = shared_->bad_icrc.load();
  f.bad_nacks = shared_->bad_nacks.load();
  f.nacks_unauthenticated = shared_->nacks_unauthenticated.load();
  f.streams_evicted = px.tx_evicted() + px.rx_evicted();
  f.cache_misses = c.cache_misses;
  f.holes = c.holes;
  f.given_up = c.given_up;
  f.unfillable = c.unfillable;
  f.overflows = c.overflows;
  px.for_each_rx([&](const FlowKey&, const rdma::ReorderQp<Pkt>& q) {
    f.rx_streams++;
    f.reorder_depth += q.held();
    f.max_depth = std::max<uint64_t>(f.max_depth, q.counters().max_depth);
  });
  px.for_each_tx([&](const FlowKey&, const rdma::SendCache<Pkt>& sc) {
    f.tx_streams++;
    f.cache_packets += sc.packets();
    f.cache_bytes += sc.bytes();
  });
  for (const auto& [id, u] : px.tenant_use()) f.per_tenant[id] = {u.cached_bytes, u.held};
}

}  // namespace aigw::features
