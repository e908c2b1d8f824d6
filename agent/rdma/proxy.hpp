// The proxy's logic for both gateways of a RoCEv2 stream, without I/O:
//   - sending side (egress: local requester -> WAN): every sequenced RC
//     packet is cached (SendCache) and forwarded as usual; the responder's
//     ACKs coming back free what they cover; a NACK from the peer gateway
//     returns the cached packets to send again;
//   - receiving side (ingress: WAN -> local responder): sequenced RC packets
//     go through the stream's ReorderQp; the proxy asks for holes with
//     NACKs (first at once, then on the timer) and releases what it holds
//     when a hole cannot be filled.
// Streams on each side live in bounded tables (least recently used out,
// counted). A tenant's streams share its memory budget (tenant_bytes, on
// each side): each stream may use an equal share of it, so one tenant's
// many streams cannot take what another's need, and the proxy's memory is
// bounded by the budget times the tenants (a stream whose share shrank as
// others joined trims at its next packet; what it holds ages out within
// cache_ms / give_up_ms anyway). T is the packet (bytes, a UMEM frame...):
// the caller keeps what the proxy returns by pointer alive until its next
// call.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "rdma/flow.hpp"
#include "rdma/lru_table.hpp"
#include "rdma/nack.hpp"
#include "rdma/reorder.hpp"
#include "rdma/roce.hpp"
#include "rdma/send_cache.hpp"

namespace aigw::rdma {

struct ProxyLimits {
  size_t max_tx_streams = 4096;  // streams cached (sending side)
  size_t max_rx_streams = 4096;  // streams reordered (receiving side)
  size_t max_resend = 1024;      // PSNs looked up for one NACK
  // A stream with no packet for this long is forgotten (its next packet
  // starts it afresh: a QP made again with a new PSN is not taken for an
  // old one's late packets).
  Clock::duration idle = std::chrono::seconds(1);
  ReorderLimits reorder;
  SendCacheLimits cache;
  // Per tenant and side: bytes cached (sending) or held (receiving, counted
  // in packets of the arriving packet's size), shared equally by the
  // tenant's streams; 0 = no tenant budget (the per-stream limits only).
  size_t tenant_bytes = 0;
};

struct ProxyCounters {
  uint64_t nacks_sent = 0;
  uint64_t nacks_received = 0;
  uint64_t nacks_stale = 0;    // a NACK older than one answered
  uint64_t nacks_unknown = 0;  // for a stream this gateway does not cache
  uint64_t resent = 0;
  uint64_t tail_probes = 0;     // a stream's newest packet sent again (SendCache::probe)
  uint64_t acks_matched = 0;    // ACKs that freed a stream's cache
  uint64_t acks_ambiguous = 0;  // ACKs no one stream of their address pair was told for
  uint64_t idled = 0;           // streams forgotten after `idle` without a packet
  // Totals over every stream, those forgotten included.
  uint64_t cache_misses = 0;  // PSNs NACKs asked for that the cache did not hold
  uint64_t holes = 0;         // holes opened (receiving side)
  uint64_t given_up = 0;      // holes released unfilled (timeout)
  uint64_t unfillable = 0;    // holes released: the sending gateway had them no more (MISS)
  uint64_t misses_sent = 0;   // MISS answers to NACKs (sending side)
  uint64_t misses_received = 0;  // MISS answers taken (receiving side)
  uint64_t overflows = 0;     // holes released for room (max_held / max_ahead)
};

template <class T>
class Proxy {
 public:
  // What the caller does next: hand `deliver` on to the local host in
  // order, send each of `nacks` to the stream's sending gateway, and each
  // of `resend` (tail loss probes, copies) towards the WAN again.
  struct Out {
    bool first = false;  // the packet given goes on at once, ahead of deliver (ingress_lazy)
    std::vector<T> deliver;
    std::vector<Nack> nacks;
    std::vector<T> resend;
  };

  explicit Proxy(ProxyLimits lim = {})
      : lim_(lim),
        tx_(lim.max_tx_streams,
            [this](const FlowKey& k, Tx& t) {
              forget_pair(k);
              tenants_[t.tenant].tx_streams--;
            }),
        rx_(lim.max_rx_streams,
            [this](const FlowKey&, Rx& r) { tenants_[r.tenant].rx_streams--; }) {}

  // A packet of `tenant` from a local host towards the WAN; forwarded by
  // the caller in any case. `copy` is what a resend sends.
  void egress(std::span<const uint8_t> ip, const RocePacket& p, T copy, Clock::time_point now,
              uint16_t tenant = 0) {
    if (!rc_sequenced(p.bth.opcode)) return;
    FlowKey k = flow_of(ip, p);
    Tx& t = tx_.get(k, [&] {
      pairs_[k.pair()].dqps.push_back(k.dqp);
      tenants_[tenant].tx_streams++;
      return Tx{SendCache<T>(lim_.cache), tenant};
    });
    t.seen = now;
    if (lim_.tenant_bytes)
      t.cache.set_max_bytes(std::min(lim_.cache.max_bytes, share(tenants_[t.tenant].tx_streams)));
    t.cache.put(p.bth.psn, std::move(copy), ip.size(), now);
  }

  // A packet of `tenant` from the WAN towards a local host.
  Out ingress(std::span<const uint8_t> ip, const RocePacket& p, T pkt, Clock::time_point now,
              uint16_t tenant = 0) {
    Out out = ingress_lazy(
        ip, p, [&] { return std::move(pkt); }, now, tenant);
    if (out.first) {
      out.deliver.insert(out.deliver.begin(), std::move(pkt));
      out.first = false;
    }
    return out;
  }

  // ingress() for a packet the caller can send on itself: make() gives the
  // packet to keep, called only when the stream holds it or it must follow
  // packets released ahead of it (ReorderQp::push_lazy). Else `first`: the
  // caller sends its packet on at once, then `deliver`.
  template <class Make>
  Out ingress_lazy(std::span<const uint8_t> ip, const RocePacket& p, Make&& make,
                   Clock::time_point now, uint16_t tenant = 0) {
    Out out;
    FlowKey k = flow_of(ip, p);
    if (p.bth.opcode == kOpRcAck || p.bth.opcode == kOpRcAtomicAck) ack(k, p.bth.psn, now);
    if (!rc_sequenced(p.bth.opcode)) {
      out.first = true;
      return out;
    }
    Rx& r = rx_.get(k, [&] {
      tenants_[tenant].rx_streams++;
      return Rx{ReorderQp<T>(lim_.reorder), tenant};
    });
    r.seen = now;
    if (lim_.tenant_bytes) {
      size_t n = share(tenants_[r.tenant].rx_streams) / std::max<size_t>(ip.size(), 64);
      r.q.set_max_held(static_cast<uint32_t>(std::min<size_t>(lim_.reorder.max_held, n)));
    }
    ReorderCounters before = r.q.counters();
    auto s = r.q.push_lazy(p.bth.psn, make, now);
    absorb(before, r.q.counters());
    out.first = s.first;
    out.deliver = std::move(s.deliver);
    if (s.nack) out.nacks.push_back(nack_of(k, r, {*s.fresh}));
    return out;
  }

  // A NACK from a receiving gateway: the cached packets it names, in order.
  // Into *miss (when given): the answer for what it names that is neither
  // cached nor acknowledged, for the caller to send back (a MISS).
  std::vector<const T*> on_nack(const Nack& n, std::optional<Nack>* miss = nullptr) {
    c_.nacks_received++;
    FlowKey k{n.family, n.src, n.dst, n.dqp};
    Tx* t = tx_.find(k);
    if (!t) {
      c_.nacks_unknown++;
      return {};
    }
    if (t->answered && static_cast<int32_t>(n.seq - t->last_seq) <= 0) {
      c_.nacks_stale++;
      return {};
    }
    t->answered = true;
    t->last_seq = n.seq;
    uint64_t misses = t->cache.counters().misses;
    std::vector<PsnRange> gone;
    auto got = t->cache.find(n.ranges, lim_.max_resend, miss ? &gone : nullptr);
    c_.resent += got.size();
    c_.cache_misses += t->cache.counters().misses - misses;
    if (!gone.empty()) {
      c_.misses_sent++;
      *miss = Nack{n.seq, n.family, n.src, n.dst, n.dqp, std::move(gone), kMissType};
    }
    return got;
  }

  // A MISS from the sending gateway: holes it cannot fill are released.
  Out on_miss(const Nack& n) {
    Out out;
    c_.misses_received++;
    Rx* r = rx_.find(FlowKey{n.family, n.src, n.dst, n.dqp});
    if (!r) return out;
    ReorderCounters before = r->q.counters();
    auto s = r->q.unfillable(n.ranges);
    absorb(before, r->q.counters());
    out.deliver = std::move(s.deliver);
    return out;
  }

  // Timers: NACKs again, holes given up, tails probed, cached packets aged out.
  Out tick(Clock::time_point now) {
    Out out;
    rx_.for_each([&](const FlowKey& k, Rx& r) {
      ReorderCounters before = r.q.counters();
      auto s = r.q.tick(now);
      absorb(before, r.q.counters());
      for (auto& x : s.deliver) out.deliver.push_back(std::move(x));
      if (s.nack) out.nacks.push_back(nack_of(k, r, std::move(s.due)));
    });
    tx_.for_each([&](const FlowKey&, Tx& t) {
      t.cache.expire(now);
      if (const T* p = t.cache.probe(now)) {
        c_.tail_probes++;
        out.resend.push_back(*p);
      }
    });
    // idle: nothing held (tick released it after give_up < idle) or cached
    c_.idled += rx_.drop_idle(
        [&](const FlowKey&, Rx& r) { return now - r.seen >= lim_.idle && r.q.held() == 0; });
    c_.idled += tx_.drop_idle([&](const FlowKey&, Tx& t) { return now - t.seen >= lim_.idle; });
    return out;
  }

  const ProxyCounters& counters() const { return c_; }
  // What each tenant with streams uses now: streams and bytes cached
  // (sending side), streams and packets held (receiving side).
  struct TenantUse {
    uint32_t tx_streams = 0, rx_streams = 0;
    uint64_t cached_bytes = 0, held = 0;
  };
  std::map<uint16_t, TenantUse> tenant_use() {
    std::map<uint16_t, TenantUse> out;
    tx_.for_each([&](const FlowKey&, Tx& t) {
      out[t.tenant].tx_streams++;
      out[t.tenant].cached_bytes += t.cache.bytes();
    });
    rx_.for_each([&](const FlowKey&, Rx& r) {
      out[r.tenant].rx_streams++;
      out[r.tenant].held += r.q.held();
    });
    return out;
  }
  // A stream's share of its tenant's budget on a side where the tenant
  // has `streams` (0: no tenant budget).
  size_t share(uint32_t streams) const {
    return lim_.tenant_bytes / std::max<uint32_t>(streams, 1);
  }
  uint64_t tx_evicted() const { return tx_.evicted(); }
  uint64_t rx_evicted() const { return rx_.evicted(); }
  // f(key, queue) or f(key, queue, tenant) for every stream of a side.
  template <class F>
  void for_each_rx(F&& f) {
    rx_.for_each([&](const FlowKey& k, Rx& r) { call(f, k, r.q, r.tenant); });
  }
  template <class F>
  void for_each_tx(F&& f) {
    tx_.for_each([&](const FlowKey& k, Tx& t) { call(f, k, t.cache, t.tenant); });
  }

 private:
  struct Tx {
    SendCache<T> cache;
    uint16_t tenant = 0;
    uint32_t last_seq = 0;
    bool answered = false;
    Clock::time_point seen{};
  };
  struct Rx {
    ReorderQp<T> q;
    uint16_t tenant = 0;
    uint32_t seq = 0;
    Clock::time_point seen{};
  };
  // The cached streams between two hosts, and which of them each of the
  // responder's ACKs is for, learned (an ACK names the requester's QP).
  struct Pair {
    std::vector<uint32_t> dqps;                            // the streams' (responder QPs)
    std::unordered_map<uint32_t, uint32_t> stream_of_ack;  // requester QP -> responder QP
  };
  static constexpr size_t kMaxAckScan = 64;  // streams of a pair tried for an unlearned ACK

  template <class F, class Q>
  static void call(F& f, const FlowKey& k, Q& q, uint16_t tenant) {
    if constexpr (std::is_invocable_v<F&, const FlowKey&, Q&, uint16_t>)
      f(k, q, tenant);
    else
      f(k, q);
  }

  void absorb(const ReorderCounters& a, const ReorderCounters& b) {
    c_.holes += b.holes - a.holes;
    c_.given_up += b.given_up - a.given_up;
    c_.unfillable += b.unfillable - a.unfillable;
    c_.overflows += b.overflows - a.overflows;
  }

  static_assert(ReorderQp<T>::kMaxAsk <= kNackMaxRanges, "a repeated NACK fits one message");
  Nack nack_of(const FlowKey& k, Rx& r, std::vector<PsnRange> ranges) {
    c_.nacks_sent++;
    return Nack{++r.seq, k.family, k.src, k.dst, k.dqp, std::move(ranges)};
  }

  // An ACK from the responder: RoCEv2 names the requester's QP in it, not
  // the stream's (the responder's). With one stream between the two hosts
  // the ACK is that stream's; with several, it is the one whose unacked
  // PSNs hold the ACK's PSN when only one does, and the requester's QP is
  // learned as that stream's. An ACK no stream can be told for is left
  // alone (counted; the caches age out).
  void ack(const FlowKey& k, uint32_t psn, Clock::time_point now) {
    FlowKey stream = k.reversed_pair();
    auto it = pairs_.find(stream);
    if (it == pairs_.end()) return;
    Tx* t = stream_of(it->second, stream, k.dqp, psn);
    if (!t) {
      c_.acks_ambiguous++;
      return;
    }
    t->cache.ack(psn, now);
    c_.acks_matched++;
  }

  Tx* stream_of(Pair& pr, FlowKey stream, uint32_t ack_qp, uint32_t psn) {
    if (pr.dqps.size() == 1) {
      stream.dqp = pr.dqps.front();
      return tx_.find(stream);
    }
    if (auto l = pr.stream_of_ack.find(ack_qp); l != pr.stream_of_ack.end()) {
      stream.dqp = l->second;
      if (Tx* t = tx_.find(stream)) return t;
      pr.stream_of_ack.erase(l);
    }
    Tx* found = nullptr;
    uint32_t dqp = 0;
    for (size_t i = 0; i < std::min(pr.dqps.size(), kMaxAckScan); i++) {
      stream.dqp = pr.dqps[i];
      Tx* t = tx_.find(stream);
      if (!t || !t->cache.unacked(psn)) continue;
      if (found) return nullptr;  // two streams at that PSN: no telling
      found = t;
      dqp = stream.dqp;
    }
    if (found) pr.stream_of_ack[ack_qp] = dqp;
    return found;
  }

  void forget_pair(const FlowKey& k) {
    auto it = pairs_.find(k.pair());
    if (it == pairs_.end()) return;
    Pair& pr = it->second;
    std::erase(pr.dqps, k.dqp);
    std::erase_if(pr.stream_of_ack, [&](const auto& e) { return e.second == k.dqp; });
    if (pr.dqps.empty()) pairs_.erase(it);
  }

  ProxyLimits lim_;
  LruTable<FlowKey, Tx, FlowKeyHash> tx_;
  LruTable<FlowKey, Rx, FlowKeyHash> rx_;
  std::unordered_map<FlowKey, Pair, FlowKeyHash> pairs_;  // cached streams per address pair
  struct Streams {
    uint32_t tx_streams = 0, rx_streams = 0;
  };
  std::unordered_map<uint16_t, Streams> tenants_;  // streams per tenant (for share())
  ProxyCounters c_;
};

}  // namespace aigw::rdma
