// The sending gateway's copy of one queue pair's packets, in PSN order, for
// as long as the receiving gateway may ask for them again: until an ACK of
// the responder covers them, until they are older than `keep` (about twice
// the WAN round trip) or twice the measured time from a packet to its ACK
// when that is longer (at most kMaxKeep x keep), or until the queue pair's
// byte budget needs their room (oldest first). The measured time counts
// the queues on the way: a host's window larger than the path holds waits
// in the slowest hop, and a NACK sent after such a wait must still find
// its packet. A resend is the packet as it was first sent, byte for
// byte, so its ICRC stays valid. T is the packet (bytes, a UMEM frame...).
//
// A loss the receiving gateway cannot see: the stream's last packets (the
// end of a message, or of the requester's window) lost with nothing after
// them to open a hole, so no NACK comes and the requester waits for its
// retransmission timeout to go back N. The cache probes such a tail as TCP
// does (RFC 8985's tail loss probe): when packets stay unacknowledged with
// neither a new packet nor ACK progress for the probe timeout (twice the
// smoothed time from a packet to its ACK, within [probe_min, keep / 2]),
// it sends the newest
// again. Lost, the resend fills its hole (or opens one the peer NACKs); not
// lost, the responder takes it as a duplicate and ACKs again. At most
// kMaxProbes per quiet spell, each after twice the wait of the one before,
// and only once an ACK has been matched (the ACKs pass this gateway).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "rdma/clock.hpp"
#include "rdma/psn.hpp"

namespace aigw::rdma {

struct SendCacheLimits {
  size_t max_bytes = 4u << 20;  // per queue pair
  size_t max_packets = 8192;
  Clock::duration keep = std::chrono::milliseconds(20);
  Clock::duration probe_min = std::chrono::milliseconds(1);  // tail loss probe, at the soonest
};

struct SendCacheCounters {
  uint64_t cached = 0;
  uint64_t acked = 0;         // freed by an ACK
  uint64_t expired = 0;       // freed by age
  uint64_t evicted = 0;       // freed for room (the budget)
  uint64_t host_resends = 0;  // a PSN not after the newest cached: the host went back N
  uint64_t hits = 0;          // asked for and found
  uint64_t misses = 0;        // asked for, not (or no longer) cached
  uint64_t probes = 0;        // tail loss probes sent
  size_t peak_bytes = 0;      // the most bytes cached at once (after eviction)
};

template <class T>
class SendCache {
 public:
  explicit SendCache(SendCacheLimits lim = {}) : lim_(lim) {}

  // A packet forwarded towards the WAN. Packets the host sends again (its
  // go-back-N) are not cached twice: the first copy is the one a NACK
  // gets, and a new stream after the newest PSN starts where it left off.
  void put(uint32_t psn, T pkt, size_t bytes, Clock::time_point now) {
    psn &= kPsnMask;
    if (!q_.empty() && psn_diff(psn, q_.back().psn) <= 0) {
      c_.host_resends++;
      return;
    }
    q_.push_back({psn, std::move(pkt), bytes, now});
    bytes_ += bytes;
    quiet(now);
    c_.cached++;
    while (!q_.empty() && (bytes_ > lim_.max_bytes || q_.size() > lim_.max_packets)) {
      c_.evicted++;
      pop();
    }
    c_.peak_bytes = std::max(c_.peak_bytes, bytes_);
  }

  // The responder acknowledged everything up to and including psn.
  void ack(uint32_t psn, Clock::time_point now) {
    std::optional<Clock::time_point> sent;  // of the newest freed, when sent once only
    bool freed = false;
    while (!q_.empty() && psn_diff(q_.front().psn, psn & kPsnMask) <= 0) {
      sent = q_.front().resent ? std::nullopt : std::optional{q_.front().at};
      freed = true;
      c_.acked++;
      pop();
    }
    if (!acked_through_ || psn_diff(psn & kPsnMask, *acked_through_) > 0)
      acked_through_ = psn & kPsnMask;  // (also when what it covers was evicted)
    if (!freed) return;  // no progress: a repeated ACK
    if (sent) sample(now - *sent);
    quiet(now);
  }

  // The newest packet again, when the tail loss probe is due (see above).
  const T* probe(Clock::time_point now) {
    if (q_.empty() || !srtt_ || probes_ >= kMaxProbes) return nullptr;
    if (now - quiet_since_ < probe_timeout() * (1 << probes_)) return nullptr;
    probes_++;
    quiet_since_ = now;
    c_.probes++;
    q_.back().resent = true;
    return &q_.back().pkt;
  }

  // How long packets stay unacknowledged, with nothing sent or acknowledged,
  // before the first probe.
  Clock::duration probe_timeout() const {
    if (!srtt_) return lim_.keep / 2;
    return std::clamp<Clock::duration>(2 * *srtt_, lim_.probe_min,
                                       std::max(lim_.probe_min, lim_.keep / 2));
  }
  // The smoothed time from a packet to the ACK covering it (none measured).
  std::optional<Clock::duration> ack_time() const { return srtt_; }

  // How long a packet stays unacknowledged before it is dropped.
  Clock::duration keep() const {
    if (!srtt_) return lim_.keep;
    return std::clamp<Clock::duration>(2 * *srtt_, lim_.keep, kMaxKeep * lim_.keep);
  }

  void expire(Clock::time_point now) {
    const Clock::duration keep_for = keep();
    while (!q_.empty() && now - q_.front().at >= keep_for) {
      c_.expired++;
      pop();
    }
  }

  // The cached packet of psn, or null.
  const T* find(uint32_t psn) {
    psn &= kPsnMask;
    auto at = locate(psn);
    bool hit = at != q_.end() && at->psn == psn;
    (hit ? c_.hits : c_.misses)++;
    if (hit) at->resent = true;  // its ACK no longer times one trip (Karn)
    return hit ? &at->pkt : nullptr;
  }

  // The cached packets of the ranges, in order, looking at no more than
  // max_psns PSNs in all (a NACK may name PSNs never sent); misses counted.
  // Into *missed (when given), as ranges: the misses the responder has not
  // acknowledged (an ACK covered the others: they arrived, the NACK was
  // late).
  std::vector<const T*> find(const std::vector<PsnRange>& ranges, size_t max_psns,
                             std::vector<PsnRange>* missed = nullptr) {
    std::vector<const T*> out;
    size_t looked = 0;
    for (const auto& r : ranges)
      for (uint32_t i = 0; i < r.count && looked < max_psns; i++, looked++) {
        uint32_t psn = psn_add(r.first, i);
        if (const T* p = find(psn))
          out.push_back(p);
        else if (missed && !acked(psn))
          add_psn(*missed, psn);
      }
    return out;
  }

  // Whether an ACK has covered psn (a PSN at most half the space behind
  // the last one acknowledged).
  bool acked(uint32_t psn) const {
    return acked_through_ && psn_diff(psn & kPsnMask, *acked_through_) <= 0;
  }

  // Whether psn is cached and not yet acknowledged.
  bool unacked(uint32_t psn) const {
    psn &= kPsnMask;
    return !q_.empty() && psn_diff(psn, q_.front().psn) >= 0 && psn_diff(psn, q_.back().psn) <= 0;
  }

  size_t packets() const { return q_.size(); }
  size_t bytes() const { return bytes_; }
  // The byte budget from the next put on (a share of a budget that changes).
  void set_max_bytes(size_t n) { lim_.max_bytes = n; }
  const SendCacheCounters& counters() const { return c_; }

 private:
  struct Entry {
    uint32_t psn;
    T pkt;
    size_t bytes;
    Clock::time_point at;
    bool resent = false;
  };
  static constexpr uint32_t kMaxProbes = 2;
  static constexpr int kMaxKeep = 8;  // keep() at most this many times lim_.keep

  void quiet(Clock::time_point now) {
    quiet_since_ = now;
    probes_ = 0;
  }

  // RFC 6298's smoothing (alpha 1/8).
  void sample(Clock::duration r) { srtt_ = srtt_ ? (7 * *srtt_ + r) / 8 : r; }

  // Where psn is or would be. The cached PSNs are in order and most often
  // consecutive: psn's distance from the oldest is its index; else a
  // binary search (the host skipped or resent PSNs).
  typename std::deque<Entry>::iterator locate(uint32_t psn) {
    if (q_.empty()) return q_.end();
    int32_t i = psn_diff(psn, q_.front().psn);
    if (i < 0) return q_.begin();
    if (static_cast<size_t>(i) < q_.size() && q_[static_cast<size_t>(i)].psn == psn)
      return q_.begin() + i;
    return std::lower_bound(q_.begin(), q_.end(), psn, [this](const Entry& e, uint32_t p) {
      return psn_diff(e.psn, q_.front().psn) < psn_diff(p, q_.front().psn);
    });
  }

  // psn onto the last range of out when it follows it, else a new range.
  static void add_psn(std::vector<PsnRange>& out, uint32_t psn) {
    if (!out.empty() && psn_add(out.back().first, out.back().count) == psn)
      out.back().count++;
    else
      out.push_back({psn, 1});
  }

  void pop() {
    bytes_ -= q_.front().bytes;
    q_.pop_front();
  }

  SendCacheLimits lim_;
  std::deque<Entry> q_;  // PSN order: only PSNs after the newest are added
  size_t bytes_ = 0;
  SendCacheCounters c_;
  std::optional<Clock::duration> srtt_;
  Clock::time_point quiet_since_{};  // the last packet put, ACK progress or probe
  uint32_t probes_ = 0;              // since quiet_since_'s put or ACK
  std::optional<uint32_t> acked_through_;  // the last PSN an ACK covered
};

}  // namespace aigw::rdma
