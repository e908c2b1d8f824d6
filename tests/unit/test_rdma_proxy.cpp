// The proxy's two sides together (agent/rdma/proxy.hpp), in memory: a
// requester's stream through gateway A, a WAN with a fixed delay and seeded
// loss (data, NACKs and resends alike), gateway B, and a responder that
// counts every PSN it would reject as a sequence error. Plus the ways the
// proxy lets go: a peer that never answers, a flood of queue pairs, NACKs
// for PSNs never sent, stale NACKs, ACKs freeing the cache.
#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <random>
#include <vector>

#include "config/parse.hpp"
#include "config/serialize.hpp"
#include "features/rdma_proxy.hpp"
#include "rdma/proxy.hpp"

using namespace aigw::rdma;
using namespace std::chrono_literals;
using Pkt = std::vector<uint8_t>;

namespace {

// IPv4 / UDP 4791 / BTH / 64-byte payload / ICRC.
Pkt roce(uint8_t opcode, uint32_t dqp, uint32_t psn) {
  Pkt ip = {0x45, 0, 0,   0,  0,   0, 0x40, 0,    64,   17,   0, 0, 192, 0,
            2,    1, 198, 51, 100, 2, 0xc0, 0x00, 0x12, 0xb7, 0, 0, 0,   0};
  Pkt bth = {opcode, 0, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0, 0, 0};
  bth[5] = static_cast<uint8_t>(dqp >> 16);
  bth[6] = static_cast<uint8_t>(dqp >> 8);
  bth[7] = static_cast<uint8_t>(dqp);
  bth[9] = static_cast<uint8_t>(psn >> 16);
  bth[10] = static_cast<uint8_t>(psn >> 8);
  bth[11] = static_cast<uint8_t>(psn);
  ip.insert(ip.end(), bth.begin(), bth.end());
  ip.resize(ip.size() + 64 + kIcrcLen, 0xab);
  ip[2] = static_cast<uint8_t>(ip.size() >> 8);
  ip[3] = static_cast<uint8_t>(ip.size());
  ip[24] = static_cast<uint8_t>((ip.size() - 20) >> 8);
  ip[25] = static_cast<uint8_t>(ip.size() - 20);
  auto p = std::get<RocePacket>(parse_roce(ip));
  icrc_write(ip, p);
  return ip;
}

RocePacket parsed(const Pkt& ip) { return std::get<RocePacket>(parse_roce(ip)); }

// An ACK from the responder (198.51.100.2 -> 192.0.2.1) to the requester's
// QP, a number the stream's packets do not carry.
Pkt ack_to(uint32_t requester_qp, uint32_t psn) {
  Pkt ack = roce(kOpRcAck, requester_qp, psn);
  std::swap_ranges(ack.begin() + 12, ack.begin() + 16, ack.begin() + 16);
  return ack;
}

// A one-way link: fixed delay, seeded loss.
struct Link {
  Clock::duration delay;
  double loss;
  std::mt19937 rng;
  std::deque<std::pair<Clock::time_point, Pkt>> q;
  uint64_t lost = 0;
  void send(Pkt p, Clock::time_point now) {
    if (std::uniform_real_distribution<>(0, 1)(rng) < loss) {
      lost++;
      return;
    }
    q.emplace_back(now + delay, std::move(p));
  }
  template <class F>
  void arrive(Clock::time_point now, F&& f) {
    while (!q.empty() && q.front().first <= now) {
      Pkt p = std::move(q.front().second);
      q.pop_front();
      f(std::move(p));
    }
  }
};

// The responder: in order or a duplicate; anything else is the sequence
// error the proxy exists to prevent.
struct Responder {
  uint32_t expected;
  uint64_t received = 0, duplicates = 0, out_of_order = 0;
  void take(const Pkt& ip) {
    uint32_t psn = parsed(ip).bth.psn;
    int32_t d = psn_diff(psn, expected);
    if (d == 0) {
      received++;
      expected = psn_add(expected, 1);
    } else if (d < 0) {
      duplicates++;
    } else {
      out_of_order++;
    }
  }
};

struct Run {
  uint64_t received, out_of_order, lost, given_up, nacks, resent;
};

// n packets of one stream at one every 10 us over a link of `loss` with a
// 1 ms delay each way; NACKs go back as NACK messages (encoded and decoded).
Run transfer(uint32_t n, double loss, double nack_loss, uint32_t seed) {
  ProxyLimits lim;
  lim.reorder.nack_interval = 3ms;  // above the 2 ms round trip
  lim.reorder.give_up = 60ms;
  Proxy<Pkt> a(lim), b(lim);
  Link wan{1ms, loss, std::mt19937(seed)}, back{1ms, nack_loss, std::mt19937(seed + 1)};
  const uint32_t first = kPsnMask - n / 2;  // across the wrap
  Responder resp{first};
  auto t = Clock::time_point{} + 1s;
  auto to_b = [&](Pkt p) {
    auto out = b.ingress(p, parsed(p), p, t);
    for (auto& d : out.deliver) resp.take(d);
    for (auto& nk : out.nacks) back.send(encode(nk), t);
  };
  auto to_a = [&](Pkt m) {
    auto nk = decode_nack(m);
    REQUIRE(std::holds_alternative<Nack>(nk));
    for (const Pkt* p : a.on_nack(std::get<Nack>(nk))) wan.send(*p, t);
  };
  for (uint32_t i = 0; i < n || !wan.q.empty() || !back.q.empty() || resp.received < n; i++) {
    if (i < n) {
      Pkt p = roce(0x04, 0x123, psn_add(first, i));
      a.egress(p, parsed(p), p, t);
      wan.send(std::move(p), t);
    }
    wan.arrive(t, to_b);
    back.arrive(t, to_a);
    if (i % 10 == 0) {
      auto out = b.tick(t);
      for (auto& d : out.deliver) resp.take(d);
      for (auto& nk : out.nacks) back.send(encode(nk), t);
      a.tick(t);
    }
    t += 10us;
    if (i > n + 100'000) break;  // bounded: 1 s of simulated time after the last packet
  }
  uint64_t given_up = 0;
  b.for_each_rx(
      [&](const FlowKey&, const ReorderQp<Pkt>& q) { given_up += q.counters().given_up; });
  return {resp.received, resp.out_of_order,       wan.lost,
          given_up,      b.counters().nacks_sent, a.counters().resent};
}

}  // namespace

TEST_CASE("Proxy: 0.1%, 1% and 5% loss, the responder sees every PSN in order", "[rdma]") {
  // 5%: holes stay about 2-5 ms, ~500 packets at this rate: within max_held
  for (double loss : {0.001, 0.01, 0.05}) {
    auto r = transfer(20'000, loss, loss, 7);
    INFO("loss " << loss << ": lost " << r.lost << ", nacks " << r.nacks << ", resent "
                 << r.resent);
    CHECK(r.received == 20'000);
    CHECK(r.out_of_order == 0);
    CHECK(r.given_up == 0);
    CHECK(r.lost > 0);
    CHECK(r.resent >= r.lost - r.lost / 2);  // resends are lost too, and sent again
  }
}

TEST_CASE("Proxy: a peer that never answers: held packets are released, not kept", "[rdma]") {
  ProxyLimits lim;
  lim.reorder.give_up = 20ms;
  Proxy<Pkt> b(lim);
  auto t = Clock::time_point{} + 1s;
  std::vector<uint32_t> seen;
  auto take = [&](const Proxy<Pkt>::Out& o) {
    for (auto& d : o.deliver) seen.push_back(parsed(d).bth.psn);
  };
  for (uint32_t psn : {10u, 12u, 13u}) {
    Pkt p = roce(0x04, 9, psn);
    take(b.ingress(p, parsed(p), p, t));
  }
  CHECK(seen == std::vector<uint32_t>{10});
  uint32_t nacks = 0;
  for (int ms = 1; ms <= 25; ms++) {
    auto o = b.tick(t + std::chrono::milliseconds(ms));
    nacks += o.nacks.size();
    take(o);
  }
  CHECK(seen == std::vector<uint32_t>{10, 12, 13});
  CHECK(nacks >= 5);
  // the NACKs named the hole
  CHECK(b.counters().nacks_sent == nacks + 1);
}

TEST_CASE("Proxy: state is bounded under a flood of queue pairs", "[rdma]") {
  ProxyLimits lim;
  lim.max_tx_streams = 100;
  lim.max_rx_streams = 100;
  Proxy<Pkt> g(lim);
  auto t = Clock::time_point{} + 1s;
  for (uint32_t qp = 0; qp < 5000; qp++) {
    Pkt p = roce(0x04, qp, 1);
    g.egress(p, parsed(p), p, t);
    Pkt q = roce(0x04, qp, 5);
    g.ingress(q, parsed(q), q, t);
    Pkt r = roce(0x04, qp, 7);  // a hole: something held
    g.ingress(r, parsed(r), r, t);
  }
  CHECK(g.tx_evicted() == 4900);
  CHECK(g.rx_evicted() == 4900);
  size_t tx = 0, rx = 0;
  g.for_each_tx([&](const FlowKey&, const SendCache<Pkt>&) { tx++; });
  g.for_each_rx([&](const FlowKey&, const ReorderQp<Pkt>&) { rx++; });
  CHECK(tx == 100);
  CHECK(rx == 100);
}

TEST_CASE("Proxy: NACKs for unknown streams, PSNs never sent, stale NACKs", "[rdma]") {
  Proxy<Pkt> a;
  auto t = Clock::time_point{} + 1s;
  for (uint32_t psn = 100; psn < 110; psn++) {
    Pkt p = roce(0x04, 0x42, psn);
    a.egress(p, parsed(p), p, t);
  }
  FlowKey k = flow_of(roce(0x04, 0x42, 0), parsed(roce(0x04, 0x42, 0)));
  Nack n{1, k.family, k.src, k.dst, 0x43, {{100, 2}}};
  CHECK(a.on_nack(n).empty());
  CHECK(a.counters().nacks_unknown == 1);
  n.dqp = 0x42;
  n.ranges = {{5000, kPsnHalf - 1}, {105, 2}};
  CHECK(a.on_nack(n).empty());  // the first range alone uses the lookup bound
  n.seq = 2;
  n.ranges = {{105, 2}, {200, 3}};
  auto got = a.on_nack(n);
  REQUIRE(got.size() == 2);
  CHECK(parsed(*got[0]).bth.psn == 105);
  CHECK(parsed(*got[1]).bth.psn == 106);
  // an older NACK arriving late is not answered again
  n.seq = 1;
  CHECK(a.on_nack(n).empty());
  CHECK(a.counters().nacks_stale == 1);
}

TEST_CASE(
    "Proxy: a NACK for packets the cache never had is answered by a MISS, which releases "
    "the hole at once",
    "[rdma]") {
  ProxyLimits lim;
  lim.reorder.give_up = 50ms;
  Proxy<Pkt> a(lim), b(lim);
  auto t = Clock::time_point{} + 1s;
  // a caches 200, 202 and 203: 201 passed it unseen (lost before its socket)
  for (uint32_t psn : {200u, 202u, 203u}) {
    Pkt p = roce(0x04, 0x42, psn);
    a.egress(p, parsed(p), p, t);
  }
  // b gets 200, 202, 203: a hole at 201, NACKed
  Pkt p200 = roce(0x04, 0x42, 200), p202 = roce(0x04, 0x42, 202), p203 = roce(0x04, 0x42, 203);
  b.ingress(p200, parsed(p200), p200, t);
  auto out = b.ingress(p202, parsed(p202), p202, t);
  REQUIRE(out.nacks.size() == 1);
  b.ingress(p203, parsed(p203), p203, t);
  std::optional<Nack> miss;
  CHECK(a.on_nack(out.nacks[0], &miss).empty());
  REQUIRE(miss);
  CHECK(miss->type == kMissType);
  CHECK(miss->ranges == std::vector<PsnRange>{{201, 1}});
  CHECK(a.counters().misses_sent == 1);
  // through the wire and back
  auto m = std::get<Nack>(decode_nack(encode(*miss)));
  auto rel = b.on_miss(m);
  REQUIRE(rel.deliver.size() == 2);  // 202, 203 now, not after give_up
  CHECK(parsed(rel.deliver[0]).bth.psn == 202);
  CHECK(b.counters().unfillable == 1);
  CHECK(b.counters().misses_received == 1);
  CHECK(b.tick(t + 60ms).deliver.empty());  // nothing left to give up
  CHECK(b.counters().given_up == 0);
}

TEST_CASE("Proxy: the responder's ACKs free the cache of their stream", "[rdma]") {
  Proxy<Pkt> a;
  auto t = Clock::time_point{} + 1s;
  for (uint32_t psn = 0; psn < 10; psn++) {
    Pkt p = roce(0x04, 0x42, psn);
    a.egress(p, parsed(p), p, t);
  }
  size_t cached = 0;
  a.for_each_tx([&](const FlowKey&, const SendCache<Pkt>& c) { cached = c.packets(); });
  CHECK(cached == 10);
  Pkt ack = ack_to(0x777, 6);
  auto pa = parsed(ack);
  auto out = a.ingress(ack, pa, ack, t);
  CHECK(out.deliver.size() == 1);
  a.for_each_tx([&](const FlowKey&, const SendCache<Pkt>& c) { cached = c.packets(); });
  CHECK(cached == 3);
  CHECK(a.counters().acks_matched == 1);
  // a second stream between the same hosts: an ACK at a PSN neither has
  // unacknowledged is not told for either, left alone
  for (uint32_t psn = 100; psn < 110; psn++) {
    Pkt p = roce(0x04, 0x43, psn);
    a.egress(p, parsed(p), p, t);
  }
  a.ingress(ack, pa, ack, t);
  CHECK(a.counters().acks_ambiguous == 1);
  auto cached_of = [&](uint32_t qp) {
    size_t n = 0;
    a.for_each_tx(
        [&](const FlowKey& k, const SendCache<Pkt>& c) { n = k.dqp == qp ? c.packets() : n; });
    return n;
  };
  // the requester's QP 0x888 ACKs 104: only 0x43 has it unacked; learned,
  // its next ACK frees 0x43's cache even at a PSN both streams hold
  Pkt ack2 = ack_to(0x888, 104);
  a.ingress(ack2, parsed(ack2), ack2, t);
  CHECK(cached_of(0x43) == 5);
  CHECK(cached_of(0x42) == 3);
  for (uint32_t psn = 110; psn < 120; psn++) {  // 0x42 reaches PSNs 0x43 holds too
    Pkt p = roce(0x04, 0x42, psn);
    a.egress(p, parsed(p), p, t);
  }
  Pkt ack3 = ack_to(0x888, 107);
  a.ingress(ack3, parsed(ack3), ack3, t);
  CHECK(cached_of(0x43) == 2);
  CHECK(cached_of(0x42) == 13);
  CHECK(a.counters().acks_ambiguous == 1);
  // an ACK of an unlearned QP at a PSN both hold: no telling
  Pkt ack4 = ack_to(0x999, 108);
  a.ingress(ack4, parsed(ack4), ack4, t);
  CHECK(a.counters().acks_ambiguous == 2);
  CHECK(cached_of(0x43) == 2);
}

TEST_CASE("Proxy: a lost tail is probed, so the hosts never go back N", "[rdma]") {
  ProxyLimits lim;
  lim.reorder.nack_interval = 1ms;
  lim.cache.probe_min = 1ms;
  Proxy<Pkt> a(lim), b(lim);
  auto t = Clock::time_point{} + 1s;
  Responder resp{0};
  std::function<void(const Pkt&)> to_b = [&](const Pkt& p) {
    auto out = b.ingress(p, parsed(p), p, t);
    for (auto& d : out.deliver) resp.take(d);
    for (auto& nk : out.nacks)
      for (const Pkt* r : a.on_nack(nk)) to_b(*r);
  };
  // packets 0..9 go out; 0..6 arrive and are ACKed 2 ms later; 7..9, the
  // tail, are lost: B sees no hole, so no NACK
  for (uint32_t psn = 0; psn < 10; psn++) {
    Pkt p = roce(0x04, 0x42, psn);
    a.egress(p, parsed(p), p, t);
    if (psn < 7) to_b(p);
  }
  CHECK(b.counters().nacks_sent == 0);
  t += 2ms;
  Pkt ack = ack_to(0x777, 6);
  a.ingress(ack, parsed(ack), ack, t);
  CHECK(a.tick(t + 3ms).resend.empty());
  auto out = a.tick(t + 4ms);  // twice the 2 ms ACK time
  REQUIRE(out.resend.size() == 1);
  CHECK(parsed(out.resend[0]).bth.psn == 9);
  CHECK(a.counters().tail_probes == 1);
  // the probe opens the hole at B, whose NACK gets 7 and 8 resent
  to_b(out.resend[0]);
  CHECK(b.counters().nacks_sent == 1);
  CHECK(a.counters().resent == 2);
  CHECK((resp.received == 10 && resp.out_of_order == 0));
  // ACKed: nothing left to probe
  ack = ack_to(0x777, 9);
  a.ingress(ack, parsed(ack), ack, t + 5ms);
  CHECK(a.tick(t + 50ms).resend.empty());
}

TEST_CASE("Proxy: an idle stream is forgotten, so a QP made again starts afresh", "[rdma]") {
  ProxyLimits lim;
  lim.idle = 1s;
  Proxy<Pkt> b(lim);
  auto t = Clock::time_point{} + 1s;
  for (uint32_t psn = 1000; psn < 1010; psn++) {
    Pkt p = roce(0x04, 0x42, psn);
    b.ingress(p, parsed(p), p, t);
  }
  b.tick(t + 500ms);
  CHECK(b.counters().idled == 0);
  b.tick(t + 1s);
  CHECK(b.counters().idled == 1);
  // the same QP again from PSN 5: not 995 behind, a new stream whose gap
  // at 7 is held and NACKed
  Pkt p5 = roce(0x04, 0x42, 5), p7 = roce(0x04, 0x42, 7);
  CHECK(b.ingress(p5, parsed(p5), p5, t + 2s).deliver.size() == 1);
  auto out = b.ingress(p7, parsed(p7), p7, t + 2s);
  CHECK(out.deliver.empty());
  REQUIRE(out.nacks.size() == 1);
  CHECK(out.nacks[0].ranges == std::vector<PsnRange>{{6, 1}});
}

// ---------------------------------------------------------------- config

namespace {

std::variant<aigw::Config, std::vector<aigw::ConfigError>> rdma_cfg(const std::string& section) {
  return aigw::parse_config(
      "interfaces:\n  - {name: c0, role: customer}\n  - {name: w0, role: wan}\n"
      "tenants:\n  - {name: ai, id: 5}\n"
      "rdma_proxy:\n" +
          section,
      "t.yaml");
}

std::string rdma_err(const std::string& section) {
  auto r = rdma_cfg(section);
  REQUIRE(std::holds_alternative<std::vector<aigw::ConfigError>>(r));
  return std::get<std::vector<aigw::ConfigError>>(r).at(0).str();
}

}  // namespace

TEST_CASE("rdma_proxy: the configuration section", "[rdma][config]") {
  auto ok = rdma_cfg(
      "  select:\n    - {tenant: ai}\n    - {tenant: unclassified, class: training}\n"
      "  queues: 2\n  frames: 8192\n  ring: 1024\n  cache_ms: 40\n  nack_ms: 4\n"
      "  give_up_ms: 200\n  tenant_memory_mb: 64\n  cache_packets: 16384\n"
      "  verify_icrc: false\n  key_file: /etc/aigw/rdma-nack.key\n");
  REQUIRE(std::holds_alternative<aigw::Config>(ok));
  const auto& r = std::get<aigw::Config>(ok).rdma_proxy;
  REQUIRE(r.select.size() == 2);
  CHECK(r.select[0].tenant == "ai");
  CHECK(r.select[0].service_class.empty());
  CHECK(r.select[1].service_class == "training");
  CHECK((r.queues == 2 && r.frames == 8192 && r.ring == 1024 && r.cache_ms == 40 &&
         r.nack_ms == 4 && r.give_up_ms == 200 && r.tenant_memory_mb == 64 &&
         r.cache_packets == 16384 && !r.verify_icrc && r.key_file == "/etc/aigw/rdma-nack.key"));
  CHECK(aigw::features::rdma_limits(r).cache.max_packets == 16384);
  // round trip through the YAML the agent shows
  auto again = aigw::parse_config(aigw::to_yaml(std::get<aigw::Config>(ok)), "again.yaml");
  REQUIRE(std::holds_alternative<aigw::Config>(again));
  CHECK(std::get<aigw::Config>(again).rdma_proxy == r);
  // off by default
  auto off = rdma_cfg("  {}\n");
  REQUIRE(std::holds_alternative<aigw::Config>(off));
  CHECK(std::get<aigw::Config>(off).rdma_proxy.select.empty());
  CHECK(std::get<aigw::Config>(off).rdma_proxy.tenant_memory_mb == 256);

  // bad input: file:line, the field, why
  CHECK(rdma_err("  select: [{tenant: nobody}]\n") ==
        "t.yaml:7: rdma_proxy.select[0].tenant: unknown tenant 'nobody' (not in tenants[])");
  CHECK(rdma_err("  select: [{tenant: ai, class: gold}]\n").find("unknown class 'gold'") !=
        std::string::npos);
  CHECK(rdma_err("  frames: 5000\n").find("rdma_proxy.frames: 5000 is not a power of two") !=
        std::string::npos);
  CHECK(rdma_err("  queues: 17\n").find("rdma_proxy.queues") != std::string::npos);
  CHECK(rdma_err("  tenant_memory_mb: 0\n").find("rdma_proxy.tenant_memory_mb") !=
        std::string::npos);
  CHECK(rdma_err("  nack_ms: 50\n  give_up_ms: 50\n").find("not above nack_ms") !=
        std::string::npos);
  CHECK(rdma_err("  frames: 1024\n  ring: 1024\n").find("above half the frames") !=
        std::string::npos);
  CHECK(rdma_err("  cache_packets: 10\n").find("rdma_proxy.cache_packets") != std::string::npos);
  CHECK(rdma_err("  frame_size: 3000\n").find("expected 2048 or 4096") != std::string::npos);
  CHECK(rdma_err("  select: [{tenant: ai, qp: 3}]\n").find("qp") != std::string::npos);
  CHECK(rdma_err("  key_file: rdma.key\n").find("rdma_proxy.key_file") != std::string::npos);
}

TEST_CASE("Proxy: a tenant's streams share its memory budget; other tenants keep theirs",
          "[rdma]") {
  ProxyLimits lim;
  const size_t pkt = roce(0x04, 1, 0).size();
  lim.tenant_bytes = 40 * pkt;
  lim.cache.max_bytes = 1 << 20;
  lim.reorder.max_held = 1000;
  Proxy<Pkt> g(lim);
  auto t = Clock::time_point{} + 1s;
  // the sum over the tenant's streams, as the tables hold them
  auto cached = [&](uint16_t tenant) {
    size_t n = 0;
    g.for_each_tx([&](const FlowKey&, const SendCache<Pkt>& c, uint16_t tn) {
      if (tn == tenant) n += c.bytes();
    });
    CHECK(g.tenant_use()[tenant].cached_bytes == n);
    return n;
  };
  // tenant 7: four streams of 100 packets each; tenant 8: one stream of 30
  for (uint32_t psn = 0; psn < 100; psn++)
    for (uint32_t qp = 0x10; qp < 0x14; qp++) {
      Pkt p = roce(0x04, qp, psn);
      g.egress(p, parsed(p), p, t, 7);
    }
  for (uint32_t psn = 0; psn < 30; psn++) {
    Pkt p = roce(0x04, 0x20, psn);
    g.egress(p, parsed(p), p, t, 8);
  }
  CHECK(cached(7) == 40 * pkt);  // 10 packets a stream: a quarter each
  CHECK(cached(8) == 30 * pkt);  // under its own budget: all of it
  auto n = g.tenant_use();
  CHECK(n[7].tx_streams == 4);
  CHECK(n[8].tx_streams == 1);
  CHECK(g.share(4) == 10 * pkt);
  // the newest packets stay (a NACK asks for recent holes)
  FlowKey k = flow_of(roce(0x04, 0x10, 0), parsed(roce(0x04, 0x10, 0)));
  CHECK(g.on_nack(Nack{1, k.family, k.src, k.dst, 0x10, {{90, 10}}}).size() == 10);
  CHECK(g.on_nack(Nack{2, k.family, k.src, k.dst, 0x10, {{80, 10}}}).empty());

  // receiving side: two streams of tenant 7 with a hole each may hold
  // 20 packets apiece; the 21st releases what is held (counted)
  for (uint32_t qp = 0x30; qp < 0x32; qp++) {
    Pkt first = roce(0x04, qp, 0);
    g.ingress(first, parsed(first), first, t, 7);
  }
  size_t delivered = 0;
  for (uint32_t psn = 2; psn < 22; psn++) {
    Pkt p = roce(0x04, 0x30, psn);
    delivered += g.ingress(p, parsed(p), p, t, 7).deliver.size();
  }
  CHECK(delivered == 0);
  CHECK(g.counters().overflows == 0);
  Pkt p = roce(0x04, 0x30, 22);
  CHECK(g.ingress(p, parsed(p), p, t, 7).deliver.size() == 21);
  CHECK(g.counters().overflows == 1);
}
