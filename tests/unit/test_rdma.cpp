// The RoCEv2 proxy's protocol logic (agent/rdma): 24-bit PSN arithmetic
// across the wrap, the receiving gateway's reorder buffer (in-order
// delivery, NACKs, and every way it lets go), the sending gateway's cache
// (ACKs, age, budget, resends) and the gateway-to-gateway NACK message
// (round trip and every malformed form); the folded CRC-32 against zlib's.
// The ICRC is checked against scapy's by tests/tools/test_roce_icrc.py.
#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "rdma/crc32.hpp"
#include "rdma/nack.hpp"
#include "rdma/nack_packet.hpp"
#include "rdma/psn.hpp"
#include "rdma/reorder.hpp"
#include "rdma/roce.hpp"
#include "rdma/send_cache.hpp"

using namespace aigw::rdma;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t kTop = kPsnMask;  // the last PSN before the wrap

// PSNs of what a step delivered (the packets are their PSNs).
std::vector<uint32_t> psns(const ReorderQp<uint32_t>::Step& s) { return s.deliver; }

}  // namespace

TEST_CASE("PSN arithmetic wraps at 2^24", "[rdma]") {
  CHECK(psn_add(kTop, 1) == 0);
  CHECK(psn_add(0, -1) == kTop);
  CHECK(psn_diff(0, kTop) == 1);
  CHECK(psn_diff(kTop, 0) == -1);
  CHECK(psn_diff(5, 5) == 0);
  CHECK(psn_before(kTop, 2));
  CHECK_FALSE(psn_before(2, kTop));
  // half the space ahead counts as behind
  CHECK(psn_diff(kPsnHalf, 0) == -static_cast<int32_t>(kPsnHalf));
  CHECK(psn_diff(kPsnHalf - 1, 0) == static_cast<int32_t>(kPsnHalf - 1));
  PsnRange r{kTop - 1, 4};
  CHECK(r.last() == 1);
  CHECK(r.contains(kTop));
  CHECK(r.contains(0));
  CHECK(r.contains(1));
  CHECK_FALSE(r.contains(2));
  CHECK_FALSE(r.contains(kTop - 2));
}

TEST_CASE("Reorder: in order passes straight through, across the wrap", "[rdma]") {
  ReorderQp<uint32_t> q;
  auto t = Clock::now();
  for (uint32_t i = 0; i < 6; i++) {
    uint32_t p = psn_add(kTop - 2, i);
    auto s = q.push(p, p, t);
    CHECK(psns(s) == std::vector<uint32_t>{p});
    CHECK_FALSE(s.nack);
  }
  CHECK(q.expected() == 3u);
  CHECK(q.held() == 0);
  CHECK(q.counters().delivered == 6);
}

TEST_CASE("Reorder: a hole is held, NACKed, and filled in order", "[rdma]") {
  ReorderQp<uint32_t> q;
  auto t = Clock::now();
  q.push(kTop - 1, kTop - 1, t);
  // kTop and 0 lost; 1 and 2 arrive
  auto s = q.push(1, 1, t);
  CHECK(s.deliver.empty());
  CHECK(s.nack);
  CHECK(s.fresh == PsnRange{kTop, 2});
  CHECK(q.holes(8) == std::vector<PsnRange>{{kTop, 2}});
  s = q.push(2, 2, t);
  CHECK(s.deliver.empty());
  CHECK_FALSE(s.nack);  // no new hole
  // a second hole further on
  s = q.push(5, 5, t);
  CHECK(s.nack);
  CHECK(s.fresh == PsnRange{3, 2});  // only the new hole: the first was asked for
  CHECK(q.holes(8) == std::vector<PsnRange>{{kTop, 2}, {3, 2}});
  CHECK(q.holes(1) == std::vector<PsnRange>{{kTop, 2}});
  // a held packet again: dropped, not delivered twice
  s = q.push(2, 2, t);
  CHECK(s.deliver.empty());
  CHECK(q.counters().duplicates == 1);
  // the first hole fills (out of order itself)
  s = q.push(0, 0, t);
  CHECK(s.deliver.empty());
  s = q.push(kTop, kTop, t + 1ms);
  CHECK(psns(s) == std::vector<uint32_t>{kTop, 0, 1, 2});
  CHECK(q.expected() == 3u);
  CHECK(q.holes(8) == std::vector<PsnRange>{{3, 2}});
  s = q.push(3, 3, t);
  s = q.push(4, 4, t);
  CHECK(psns(s) == std::vector<uint32_t>{4, 5});
  CHECK(q.held() == 0);
  CHECK(q.counters().holes == 2);
  CHECK(q.counters().filled == 1);
  CHECK(q.counters().max_depth == 4);  // 1, 2, 5 and 0
}

TEST_CASE("Reorder: NACK repeated while the hole stays, then given up", "[rdma]") {
  ReorderLimits lim;
  lim.nack_interval = 2ms;
  lim.give_up = 10ms;
  ReorderQp<uint32_t> q(lim);
  auto t = Clock::now();
  q.push(10, 10, t);
  CHECK(q.push(12, 12, t).nack);
  CHECK(q.push(13, 13, t).deliver.empty());
  CHECK(q.deadline() == t + 2ms);
  CHECK_FALSE(q.tick(t + 1ms).nack);
  CHECK(q.tick(t + 2ms).nack);
  CHECK_FALSE(q.tick(t + 3ms).nack);
  CHECK(q.tick(t + 4ms).nack);
  auto s = q.tick(t + 10ms);
  // released in order with the hole left for the hosts' go-back-N
  CHECK(psns(s) == std::vector<uint32_t>{12, 13});
  CHECK(q.expected() == 14u);
  CHECK(q.held() == 0);
  CHECK(q.deadline() == std::nullopt);
  CHECK(q.counters().given_up == 1);
  // the requester goes back to 11: passed on, the responder takes the
  // repeats as duplicates
  CHECK(psns(q.push(11, 11, t + 11ms)) == std::vector<uint32_t>{11});
  CHECK(psns(q.push(12, 12, t + 11ms)) == std::vector<uint32_t>{12});
  CHECK(q.counters().late == 2);
  CHECK(psns(q.push(14, 14, t + 11ms)) == std::vector<uint32_t>{14});
}

TEST_CASE("Reorder: the repeat NACK waits for the measured fill time", "[rdma]") {
  ReorderLimits lim;
  lim.nack_interval = 2ms;
  lim.give_up = 100ms;
  ReorderQp<uint32_t> q(lim);
  auto t = Clock::now();
  q.push(0, 0, t);
  CHECK(q.renack_after() == 2ms);  // nothing measured: the configured interval
  // holes filled 10 ms after their NACK (a 10 ms round trip)
  for (uint32_t i = 0; i < 8; i++) {
    auto at = t + std::chrono::milliseconds(20 * i);
    CHECK(q.push(2 * i + 2, 0, at).nack);
    CHECK(q.push(2 * i + 1, 0, at + 10ms).deliver.size() == 2);
  }
  REQUIRE(q.fill_time());
  CHECK(*q.fill_time() == 10ms);
  CHECK(q.renack_after() >= 10ms);
  CHECK(q.renack_after() <= 50ms);  // at most half of give_up
  // a hole whose resend is slow: not asked for again every 2 ms
  auto at = t + 200ms;
  CHECK(q.push(18, 0, at).nack);
  CHECK_FALSE(q.tick(at + 2ms).nack);
  CHECK_FALSE(q.tick(at + 9ms).nack);
  // its resend lost: asked for again after the fill time, before give_up
  CHECK(q.tick(at + q.renack_after()).nack);
  // filled after the repeat: no sample (which NACK did it answer?)
  auto before = *q.fill_time();
  CHECK(q.push(17, 0, at + 80ms).deliver.size() == 2);
  CHECK(*q.fill_time() == before);
  CHECK(q.counters().given_up == 0);
}

TEST_CASE("Reorder: the fill time is learnt though every hole is asked twice", "[rdma]") {
  // nack_interval below the round trip (3 ms against 10 ms): each hole is
  // asked again before its resend is back; the fill time is still measured
  // (the first sample from the first hole's first NACK, though it was
  // asked twice), and the repeats then wait for it.
  ReorderLimits lim;
  lim.nack_interval = 3ms;
  lim.give_up = 100ms;
  ReorderQp<uint32_t> q(lim);
  auto t = Clock::now();
  q.push(0, 0, t);
  CHECK(q.push(2, 2, t).nack);
  CHECK(q.push(4, 4, t + 1ms).nack);  // a second hole while the first waits
  CHECK(q.tick(t + 3ms).due == std::vector<PsnRange>{{1, 1}});
  CHECK(q.tick(t + 4ms).due == std::vector<PsnRange>{{3, 1}});
  CHECK(q.push(1, 1, t + 10ms).deliver.size() == 2);
  REQUIRE(q.fill_time());
  CHECK(*q.fill_time() == 10ms);
  CHECK(q.renack_after() >= 10ms);
  CHECK(q.push(3, 3, t + 11ms).deliver.size() == 2);
  // a new hole: not asked again before the learnt fill time
  CHECK(q.push(6, 6, t + 20ms).nack);
  CHECK_FALSE(q.tick(t + 29ms).nack);
  CHECK(q.counters().given_up == 0);
}

TEST_CASE("Reorder: a hole left when another fills is asked again an interval later", "[rdma]") {
  ReorderLimits lim;
  lim.nack_interval = 3ms;
  lim.give_up = 100ms;
  ReorderQp<uint32_t> q(lim);
  auto t = Clock::now();
  q.push(0, 0, t);
  CHECK(q.push(2, 2, t).nack);             // hole 1 (the first: starts the timer)
  CHECK(q.push(4, 4, t + 2ms).nack);       // hole 3, asked for at its opening
  CHECK(q.push(1, 1, t + 2500us).deliver.size() == 2);  // hole 1 filled
  // hole 3's NACK went at t+2ms: no repeat at t+3ms (the filled hole's
  // timer), but one interval (now from the 2.5 ms fill time) after its own
  const auto asked = t + 2ms;
  CHECK(q.renack_after() >= 3ms);
  CHECK_FALSE(q.tick(t + 3ms).nack);
  CHECK(q.deadline() == asked + q.renack_after());
  CHECK_FALSE(q.tick(asked + q.renack_after() - 1us).nack);
  auto s = q.tick(asked + q.renack_after());
  CHECK(s.nack);
  CHECK(s.due == std::vector<PsnRange>{{3, 1}});
}

TEST_CASE("Reorder: a repeated NACK names only the holes asked an interval ago", "[rdma]") {
  // A long round trip with steady loss: holes open while others wait for
  // their resends; asking again for a hole whose NACK has just gone would
  // only bring its resend twice.
  ReorderLimits lim;
  lim.nack_interval = 10ms;
  lim.give_up = 100ms;
  ReorderQp<uint32_t> q(lim);
  auto t = Clock::now();
  q.push(0, 0, t);
  CHECK(q.push(2, 2, t).fresh == PsnRange{1, 1});        // hole A at t
  CHECK(q.push(5, 5, t + 5ms).fresh == PsnRange{3, 2});  // hole B at t+5ms
  CHECK_FALSE(q.tick(t + 9ms).nack);
  auto s = q.tick(t + 10ms);
  CHECK(s.due == std::vector<PsnRange>{{1, 1}});  // A only: B was asked 5 ms ago
  CHECK_FALSE(q.tick(t + 12ms).nack);
  s = q.tick(t + 15ms);
  CHECK(s.due == std::vector<PsnRange>{{3, 2}});  // B only
  s = q.tick(t + 20ms);
  CHECK(s.due == std::vector<PsnRange>{{1, 1}});
  // A fills (21 ms after its first NACK: the fill time learnt), then half
  // of B: what is left of B was asked with it, at t+15ms
  CHECK(psns(q.push(1, 1, t + 21ms)) == std::vector<uint32_t>{1, 2});
  CHECK(psns(q.push(3, 3, t + 30ms)) == std::vector<uint32_t>{3});
  const auto again = t + 15ms + q.renack_after();
  CHECK_FALSE(q.tick(again - 1us).nack);
  CHECK(q.tick(again).due == std::vector<PsnRange>{{4, 1}});
  CHECK(q.counters().nacks == 6);
}

TEST_CASE("Reorder: the held state is bounded", "[rdma]") {
  ReorderLimits lim;
  lim.max_held = 4;
  lim.max_ahead = 100;
  ReorderQp<uint32_t> q(lim);
  auto t = Clock::now();
  q.push(0, 0, t);
  for (uint32_t p = 2; p <= 5; p++) CHECK(q.push(p, p, t).deliver.empty());
  auto s = q.push(6, 6, t);  // a fifth: everything goes
  CHECK(psns(s) == std::vector<uint32_t>{2, 3, 4, 5, 6});
  CHECK(q.counters().overflows == 1);
  CHECK(q.expected() == 7u);
  // a jump beyond max_ahead: a resync, nothing held
  q.push(9, 9, t);
  s = q.push(500, 500, t);
  CHECK(psns(s) == std::vector<uint32_t>{9, 500});
  CHECK(q.expected() == 501u);
  CHECK(q.counters().resyncs == 1);
  // a jump of half the space or more is behind: passed on, state unchanged
  s = q.push(psn_add(501, kPsnHalf), 1, t);
  CHECK(s.deliver.size() == 1);
  CHECK(q.expected() == 501u);
}

TEST_CASE("Send cache: ACKs, age and budget free entries; NACKed PSNs found", "[rdma]") {
  SendCacheLimits lim;
  lim.max_bytes = 10'000;
  lim.keep = 20ms;
  SendCache<std::string> c(lim);
  auto t = Clock::now();
  for (uint32_t i = 0; i < 6; i++) {
    uint32_t p = psn_add(kTop - 2, i);
    c.put(p, std::to_string(p), 1000, t + std::chrono::milliseconds(i));
  }
  CHECK(c.packets() == 6);
  REQUIRE(c.find(0) != nullptr);
  CHECK(*c.find(0) == "0");
  CHECK(c.find(7) == nullptr);
  auto got = c.find({{kTop, 2}, {2, 5}}, 100);
  REQUIRE(got.size() == 3);
  CHECK(*got[0] == std::to_string(kTop));
  CHECK(*got[1] == "0");
  CHECK(*got[2] == "2");
  // a host resend (go-back-N) is not cached again
  c.put(1, "again", 1000, t);
  CHECK(c.counters().host_resends == 1);
  CHECK(*c.find(1) == "1");
  // an ACK of kTop frees kTop-2..kTop
  c.ack(kTop, t + 5ms);
  CHECK(c.packets() == 3);
  CHECK(c.find(kTop) == nullptr);
  // age
  c.expire(t + 21ms);  // entries put at t+3ms.. stay until t+23ms
  CHECK(c.packets() == 3);
  c.expire(t + 24ms);
  CHECK(c.packets() == 1);
  CHECK(c.counters().expired == 2);
  // budget: the oldest go first
  for (uint32_t p = 3; p < 20; p++) c.put(p, "x", 1000, t + 30ms);
  CHECK(c.bytes() <= 10'000);
  CHECK(c.packets() == 10);
  CHECK(c.find(10) != nullptr);
  CHECK(c.find(9) == nullptr);
  CHECK(c.counters().evicted == 8);
  // the peak is what stayed after eviction: never above the budget
  CHECK(c.counters().peak_bytes == 10'000);
  // a NACK naming 2^23 PSNs never sent costs at most its bound
  auto before = c.counters().misses;
  CHECK(c.find({{1000, kPsnHalf - 1}}, 64).empty());
  CHECK(c.counters().misses - before == 64);
}

TEST_CASE("Reorder: push_lazy copies a packet only when it is held or follows a release",
          "[rdma]") {
  ReorderLimits lim;
  lim.max_ahead = 100;
  ReorderQp<uint32_t> q(lim);
  auto t = Clock::now();
  int made = 0;
  auto push = [&](uint32_t psn) {
    return q.push_lazy(
        psn, [&] { return made++, psn; }, t);
  };
  auto s = push(10);  // expected, nothing held: goes first, no copy
  CHECK(s.first);
  CHECK(s.deliver.empty());
  CHECK(push(9).first);  // late: passed on as it is
  s = push(12);          // a hole at 11: 12 is held, a copy
  CHECK(!s.first);
  CHECK(s.nack);
  CHECK(made == 1);
  s = push(11);  // fills it: 11 first, then the held 12
  CHECK(s.first);
  CHECK(s.deliver == std::vector<uint32_t>{12});
  CHECK(made == 1);
  push(14);       // held (hole at 13)
  s = push(500);  // a resync: 14 released, then 500, which must follow it
  CHECK(!s.first);
  CHECK(s.deliver == std::vector<uint32_t>{14, 500});
  CHECK(made == 3);
  CHECK(q.counters().delivered == 6);
}

TEST_CASE("Reorder: a MISS for an open hole releases what is held, for a filled one nothing",
          "[rdma]") {
  ReorderQp<uint32_t> q;
  auto t = Clock::now();
  q.push(10, 10, t);
  q.push(12, 12, t);                               // hole at 11
  q.push(15, 15, t);                               // holes at 13..14
  CHECK(q.unfillable({{20, 5}}).deliver.empty());  // names no hole
  CHECK(q.unfillable({{5, 6}}).deliver.empty());   // 5..10: delivered already
  CHECK(q.held() == 2);
  auto s = q.unfillable({{14, 1}});  // the later hole cannot fill: no waiting for it
  CHECK(s.deliver == std::vector<uint32_t>{12, 15});
  CHECK(q.held() == 0);
  CHECK(q.expected() == 16u);
  CHECK(q.counters().unfillable == 1);
  CHECK(q.counters().given_up == 0);
  // across the wrap
  ReorderQp<uint32_t> w;
  w.push(kTop - 1, 0, t);
  w.push(1, 1, t);                                       // holes kTop, 0
  CHECK(w.unfillable({{kTop - 5, 5}}).deliver.empty());  // kTop-5..kTop-1
  CHECK(w.unfillable({{kTop - 5, 7}}).deliver.size() == 1);
}

TEST_CASE("Send cache: misses an ACK covered are not reported, the others are, as ranges",
          "[rdma]") {
  SendCache<std::string> c;
  auto t = Clock::now();
  for (uint32_t p = 100; p < 110; p++) c.put(p, std::to_string(p), 100, t);
  c.ack(103, t + 1ms);  // 100..103 freed: delivered
  std::vector<PsnRange> gone;
  auto got = c.find({{101, 5}, {120, 2}}, 100, &gone);  // 101..105, 120..121
  CHECK(got.size() == 2);                               // 104, 105
  CHECK(gone == std::vector<PsnRange>{{120, 2}});
  gone.clear();
  c.find({{96, 2}, {98, 1}}, 100, &gone);  // before the ACK: nothing to report
  CHECK(gone.empty());
}

TEST_CASE("Send cache: PSNs the host skipped, across the wrap, are found or missed exactly",
          "[rdma]") {
  SendCache<std::string> c;
  auto t = Clock::now();
  // kTop-1, kTop, 2, 3, 9: an index by distance from the oldest is wrong
  // after the first skip, so the lookup must not trust it
  const std::vector<uint32_t> sent{kTop - 1, kTop, 2, 3, 9};
  for (uint32_t p : sent) c.put(p, std::to_string(p), 100, t);
  for (uint32_t p : sent) {
    REQUIRE(c.find(p) != nullptr);
    CHECK(*c.find(p) == std::to_string(p));
  }
  for (uint32_t p : {kTop - 2, 0u, 1u, 4u, 5u, 8u, 10u}) CHECK(c.find(p) == nullptr);
  auto got = c.find({{kTop, 4}, {8, 3}}, 100);  // kTop, 0, 1, 2; 8, 9, 10
  REQUIRE(got.size() == 3);
  CHECK(*got[0] == std::to_string(kTop));
  CHECK(*got[1] == "2");
  CHECK(*got[2] == "9");
}

TEST_CASE("Send cache: packets stay twice the measured ACK time when it is longer than keep",
          "[rdma]") {
  SendCacheLimits lim;
  lim.keep = 20ms;
  SendCache<std::string> c(lim);
  auto t = Clock::now();
  CHECK(c.keep() == 20ms);  // nothing measured yet
  for (uint32_t p = 0; p < 3; p++) c.put(p, std::to_string(p), 100, t);
  c.ack(0, t + 30ms);  // queues on the way: 30 ms to an ACK
  CHECK(c.keep() == 60ms);
  c.expire(t + 50ms);  // older than keep, younger than twice the ACK time
  CHECK(c.packets() == 2);
  REQUIRE(c.find(1) != nullptr);
  c.expire(t + 60ms);
  CHECK(c.packets() == 0);
  CHECK(c.counters().expired == 2);
  // bounded: at most 8 times keep, however long the ACKs take
  c.put(10, "10", 100, t + 100ms);
  c.ack(10, t + 2100ms);
  CHECK(c.keep() == 160ms);
}

TEST_CASE("Send cache: a tail with no ACK is probed, twice at most, after the ACK time", "[rdma]") {
  SendCacheLimits lim;
  lim.keep = 40ms;
  lim.probe_min = 1ms;
  SendCache<std::string> c(lim);
  auto t = Clock::now();
  for (uint32_t p = 0; p < 4; p++) c.put(p, std::to_string(p), 100, t);
  // no ACK matched yet: the ACKs may not pass here, nothing is probed
  CHECK(c.probe(t + 30ms) == nullptr);
  // ACKs 3 ms after the packets: the probe timeout is twice that
  c.ack(1, t + 3ms);
  REQUIRE(c.ack_time());
  CHECK(*c.ack_time() == 3ms);
  CHECK(c.probe_timeout() == 6ms);
  CHECK(c.probe(t + 8ms) == nullptr);  // 5 ms since the ACK's progress
  const std::string* p = c.probe(t + 9ms);
  REQUIRE(p != nullptr);
  CHECK(*p == "3");  // the newest
  // the second after twice the wait, then no more until progress
  CHECK(c.probe(t + 20ms) == nullptr);
  REQUIRE(c.probe(t + 21ms) != nullptr);
  CHECK(c.probe(t + 39ms) == nullptr);
  CHECK(c.counters().probes == 2);
  // a new packet starts a new quiet spell; the probed one's ACK times
  // nothing (Karn): the ACK time stays as measured
  c.put(4, "4", 100, t + 25ms);
  c.ack(3, t + 26ms);
  CHECK(*c.ack_time() == 3ms);
  CHECK(c.probe(t + 31ms) == nullptr);
  CHECK(*c.probe(t + 32ms) == "4");
  // within [probe_min, keep / 2]
  c.put(5, "5", 100, t + 40ms);
  c.ack(5, t + 140ms);
  CHECK(c.probe_timeout() == 20ms);
  CHECK(c.packets() == 0);
  CHECK(c.probe(t + 300ms) == nullptr);  // nothing unacknowledged
}

TEST_CASE("NACK message: round trip", "[rdma]") {
  Nack n;
  n.seq = 0x01020304;
  n.family = 4;
  n.src = {192, 0, 2, 1};
  n.dst = {198, 51, 100, 7};
  n.dqp = 0xabcdef;
  n.ranges = {{kTop, 3}, {100, 1}};
  auto b = encode(n);
  CHECK(b.size() == kNackHeaderLen + 2 * kNackRangeLen);
  auto d = decode_nack(b);
  REQUIRE(std::holds_alternative<Nack>(d));
  CHECK(std::get<Nack>(d) == n);
  // a MISS (the sending gateway's answer) is the same message, type 2
  n.type = kMissType;
  auto miss = encode(n);
  CHECK(miss[3] == 2);
  CHECK(std::get<Nack>(decode_nack(miss)) == n);
  n.type = kNackType;
  // more ranges than a message holds: the first kNackMaxRanges go
  n.ranges.assign(40, PsnRange{1, 1});
  auto big = encode(n);
  CHECK(big.size() == kNackMaxLen - kNackMacLen);
  CHECK(std::get<Nack>(decode_nack(big)).ranges.size() == kNackMaxRanges);
}

TEST_CASE("NACK message: with a key, a MAC; only the key's is taken", "[rdma]") {
  const std::vector<uint8_t> key(32, 0x5a), other(32, 0xa5);
  Nack n;
  n.seq = 7;
  n.dqp = 0x42;
  n.src[15] = 1;
  n.dst[15] = 2;
  n.ranges = {{10, 2}, {20, 1}};
  auto b = encode(n, key);
  CHECK(b.size() == kNackHeaderLen + 2 * kNackRangeLen + kNackMacLen);
  CHECK(b[2] == kNackVersionMac);
  auto d = decode_nack(b, key);
  REQUIRE(std::holds_alternative<Nack>(d));
  CHECK(std::get<Nack>(d) == n);
  auto err = [](const std::variant<Nack, NackError>& v) {
    return std::holds_alternative<NackError>(v) ? name(std::get<NackError>(v)) : "taken";
  };
  CHECK(err(decode_nack(b, other)) == "bad_mac");
  CHECK(err(decode_nack(b)) == "unauthenticated");               // a MAC, but no key here
  CHECK(err(decode_nack(encode(n), key)) == "unauthenticated");  // no MAC, a key here
  // any byte changed, the MAC's or the message's, and it is refused
  for (size_t i = 0; i < b.size(); i++) {
    if (i == 2) continue;  // the version: unauthenticated (above)
    auto t = b;
    t[i] ^= 0x01;
    CHECK(err(decode_nack(t, key)) != "taken");
  }
  auto cut = b;
  cut.resize(kNackHeaderLen + 4);  // shorter than a header and a MAC
  CHECK(err(decode_nack(cut, key)) == "truncated");
  cut = b;
  cut.pop_back();  // a byte of the MAC missing
  CHECK(err(decode_nack(cut, key)) == "bad_mac");
  // the MAC is checked before the fields: a forged message with bad
  // ranges is refused for its MAC, not parsed
  auto forged = encode(n);
  forged[2] = kNackVersionMac;
  forged[9] = 0;
  forged.resize(forged.size() + kNackMacLen);
  CHECK(err(decode_nack(forged, key)) == "bad_mac");
}

TEST_CASE("NACK message: every malformed form has its named error", "[rdma]") {
  Nack n;
  n.dqp = 7;
  n.ranges = {{5, 2}};
  const auto good = encode(n);
  auto err = [](std::vector<uint8_t> b) {
    auto d = decode_nack(b);
    REQUIRE(std::holds_alternative<NackError>(d));
    return std::string(name(std::get<NackError>(d)));
  };
  CHECK(err({}) == "truncated");
  CHECK(err(std::vector<uint8_t>(good.begin(), good.end() - 1)) == "truncated");
  auto b = good;
  b.push_back(0);
  CHECK(err(b) == "bad_ranges");
  b = good;
  b[0] ^= 1;
  CHECK(err(b) == "bad_magic");
  b = good;
  b[2] = 3;
  CHECK(err(b) == "bad_version");
  b = good;
  b[3] = 9;
  CHECK(err(b) == "bad_type");
  b = good;
  b[8] = 5;
  CHECK(err(b) == "bad_family");
  b = good;
  b[9] = 0;
  CHECK(err(b) == "bad_ranges");
  b = good;
  b[9] = kNackMaxRanges + 1;
  CHECK(err(b) == "bad_ranges");
  b = good;
  b[12] = 1;  // QP over 24 bits
  CHECK(err(b) == "bad_range");
  b = good;
  b[kNackHeaderLen] = 1;  // first PSN over 24 bits
  CHECK(err(b) == "bad_range");
  b = good;
  for (int i = 4; i < 8; i++) b[kNackHeaderLen + i] = 0;  // count 0
  CHECK(err(b) == "bad_range");
  b = good;
  b[kNackHeaderLen + 5] = 0x80;  // count 2^23
  CHECK(err(b) == "bad_range");
}

TEST_CASE("RoCEv2 parse: headers found, malformed packets named", "[rdma]") {
  // IPv4 / UDP 4791 / BTH (RC SEND only, dqp 0x000102, psn 0x0a0b0c) / 4 bytes / ICRC
  std::vector<uint8_t> ip = {
      0x45, 0x00, 0x00, 0x30, 0,    0,    0x40, 0,    64,   17,   0,    0,    192, 0, 2,
      1,    198,  51,   100,  2,    0x12, 0x34, 0x12, 0xb7, 0x00, 0x1c, 0,    0,  // UDP, len 28
      0x04, 0x40, 0xff, 0xff, 0xc0, 0x00, 0x01, 0x02, 0x80, 0x0a, 0x0b, 0x0c,     // BTH
      1,    2,    3,    4,    0,    0,    0,    0};
  auto r = parse_roce(ip);
  REQUIRE(std::holds_alternative<RocePacket>(r));
  auto p = std::get<RocePacket>(r);
  CHECK(p.family == 4);
  CHECK(p.bth_off == 28);
  CHECK(p.icrc_off == 44);
  CHECK(p.bth.opcode == 4);
  CHECK(p.bth.migreq);
  CHECK(p.bth.fecn);
  CHECK(p.bth.becn);
  CHECK(p.bth.dqp == 0x000102);
  CHECK(p.bth.ackreq);
  CHECK(p.bth.psn == 0x0a0b0c);
  CHECK(rc_sequenced(p.bth.opcode));
  CHECK_FALSE(rc_sequenced(kOpRcAck));
  CHECK_FALSE(rc_sequenced(kOpCnp));
  // the ICRC ignores what routers change, not what they do not
  icrc_write(ip, p);
  CHECK(icrc_ok(ip, p));
  auto routed = ip;
  routed[1] = 0xb8;   // DSCP/ECN
  routed[8] = 3;      // TTL
  routed[11] = 0x55;  // checksum
  routed[26] = 0x99;  // UDP checksum
  routed[32] = 0x00;  // FECN/BECN
  CHECK(icrc_ok(routed, p));
  auto bad = ip;
  bad[41] ^= 1;  // payload
  CHECK_FALSE(icrc_ok(bad, p));
  bad = ip;
  bad[37] ^= 1;  // PSN
  CHECK_FALSE(icrc_ok(bad, p));
  // Ethernet padding after the IP length is not part of it
  auto padded = ip;
  padded.resize(60, 0);
  REQUIRE(std::holds_alternative<RocePacket>(parse_roce(padded)));
  CHECK(icrc_ok(padded, std::get<RocePacket>(parse_roce(padded))));

  auto err = [](std::vector<uint8_t> b) {
    auto d = parse_roce(b);
    REQUIRE(std::holds_alternative<RoceError>(d));
    return std::string(name(std::get<RoceError>(d)));
  };
  CHECK(err({}) == "truncated");
  CHECK(err(std::vector<uint8_t>(ip.begin(), ip.begin() + 40)) == "truncated");
  auto b = ip;
  b[0] = 0x55;
  CHECK(err(b) == "not_ip");
  b = ip;
  b[6] = 0x20;  // more fragments
  CHECK(err(b) == "ip_options");
  b = ip;
  b[9] = 6;
  CHECK(err(b) == "not_udp");
  b = ip;
  b[23] = 0xb8;  // port 4792
  CHECK(err(b) == "not_roce");
  b = ip;
  b[25] = 0x1b;
  CHECK(err(b) == "bad_udp_length");
  b = ip;
  b[29] = 0x41;  // transport header version 1
  CHECK(err(b) == "bad_version");
  // a UDP datagram too short for a BTH and an ICRC
  std::vector<uint8_t> shortp(ip.begin(), ip.begin() + 28 + 12);
  shortp[3] = 40;
  shortp[25] = 20;
  CHECK(err(shortp) == "truncated");
}

TEST_CASE("NACK packet: from the responder to the requester, read back", "[rdma]") {
  for (uint8_t fam : {4, 6}) {
    Nack n;
    n.family = fam;
    n.src = {0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    n.dst = {0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    if (fam == 4) {
      n.src = {192, 0, 2, 1};
      n.dst = {198, 51, 100, 2};
    }
    n.dqp = 0x21;
    n.seq = 9;
    n.ranges = {{100, 3}};
    auto ip = nack_packet(n);
    size_t off = fam == 4 ? 12 : 8, len = fam == 4 ? 4 : 16;
    // from the stream's destination to its source
    CHECK(std::equal(ip.begin() + off, ip.begin() + off + len, n.dst.begin()));
    CHECK(std::equal(ip.begin() + off + len, ip.begin() + off + 2 * len, n.src.begin()));
    if (fam == 4) {  // a valid IPv4 header checksum: the sum folds to 0xffff
      uint32_t s = 0;
      for (size_t i = 0; i < 20; i += 2) s += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
      while (s >> 16) s = (s & 0xffff) + (s >> 16);
      CHECK(s == 0xffff);
    }
    std::optional<NackError> err;
    auto back = nack_of_packet(ip, &err);
    REQUIRE(back);
    CHECK(*back == n);
    CHECK_FALSE(err);
    {  // a MISS goes along the stream: from its source to its destination
      Nack m = n;
      m.type = kMissType;
      auto mp = nack_packet(m);
      CHECK(std::equal(mp.begin() + off, mp.begin() + off + len, n.src.begin()));
      CHECK(std::equal(mp.begin() + off + len, mp.begin() + off + 2 * len, n.dst.begin()));
      auto mb = nack_of_packet(mp, &err);
      REQUIRE(mb);
      CHECK(*mb == m);
    }
    // a datagram to the NACK port that is not a NACK: named, not taken
    size_t msg = (fam == 4 ? 20 : 40) + 8;
    ip[msg] ^= 0xff;
    CHECK_FALSE(nack_of_packet(ip, &err));
    REQUIRE(err);
    CHECK(name(*err) == "bad_magic");
  }
  // a RoCEv2 packet is not a NACK
  std::optional<NackError> err;
  std::vector<uint8_t> v4(60, 0);
  v4[0] = 0x45, v4[3] = 60, v4[9] = 17, v4[22] = 0x12, v4[23] = 0xb7;
  CHECK_FALSE(nack_of_packet(v4, &err));
  CHECK_FALSE(err);
}

TEST_CASE("CRC-32: the folded path equals zlib's for every length, offset and register", "[rdma]") {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> b(9300);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  int checked = 0;
  for (size_t n = 0; n <= 9216; n += n < 300 ? 1 : 61)
    for (size_t off : {0, 1, 13})
      for (uint32_t crc : {0u, 0xffffffffu, 0x5a5aa5a5u}) {
        std::span<const uint8_t> s(b.data() + off, n);
        REQUIRE(crc32_feed(crc, s) == crc32_feed_zlib(crc, s));
        checked++;
      }
  CHECK(checked > 3000);
  // the ICRC's own check value: CRC-32 of "123456789" (inverted in and out)
  const std::string nine = "123456789";
  std::span<const uint8_t> ns(reinterpret_cast<const uint8_t*>(nine.data()), nine.size());
  CHECK(~crc32_feed(0xffffffffu, ns) == 0xcbf43926u);
}
