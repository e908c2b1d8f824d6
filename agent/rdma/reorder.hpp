// The receiving gateway's view of one queue pair: the PSN the responder
// expects next, and the packets that arrived past a hole, held in order
// until the hole fills (from the sending gateway's cache, asked for by a
// selective NACK) or is given up.
//
// What reaches the responder is always in PSN order, except in the cases
// where the gateway steps aside and lets the hosts' own go-back-N recover:
//   - a packet behind the expected PSN (a host's retransmission, or a PSN
//     jump of half the space or more) passes at once: the responder takes it
//     as a duplicate, never as a sequence error;
//   - a hole older than give_up, more than max_held packets held, or a PSN
//     more than max_ahead ahead: everything held is released in order (the
//     responder sees the gap, NAKs, and the requester goes back N).
// So no packet is held longer than give_up, and the held state is bounded.
// T is the packet (bytes, a UMEM frame...), moved through.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "rdma/clock.hpp"
#include "rdma/psn.hpp"

namespace aigw::rdma {

struct ReorderLimits {
  // Packets held per queue pair: at least the stream's packets in a round
  // trip and a NACK interval (a hole lasts that long when its resend is
  // not lost), else a hole overflows it and the hosts go back N.
  uint32_t max_held = 4096;
  uint32_t max_ahead = 1u << 16;  // a PSN further ahead than this is a resync, never held
  // Re-send while a hole stays: after this, or after the holes' measured
  // fill time (smoothed, plus its variation) when that is longer, so a
  // NACK does not ask again for resends on their way; at most half of
  // give_up, so a lost resend is asked for again in time. Not TCP's RTO
  // (four times the variation): a resend asked twice costs one duplicate
  // the responder ACKs, a lost resend costs the wait, during which the
  // responder acknowledges nothing past the hole and the requester's
  // window runs out.
  Clock::duration nack_interval = std::chrono::milliseconds(2);
  Clock::duration give_up = std::chrono::milliseconds(50);       // a hole older than this
};

struct ReorderCounters {
  uint64_t delivered = 0;   // packets handed on in order
  uint64_t late = 0;        // behind the expected PSN: passed on (duplicates to the responder)
  uint64_t duplicates = 0;  // a second copy of a held packet: dropped
  uint64_t holes = 0;       // holes opened
  uint64_t filled = 0;      // holes closed by the packets arriving
  uint64_t nacks = 0;       // NACKs asked for (first and repeated)
  uint64_t given_up = 0;    // holes released after give_up
  uint64_t unfillable = 0;  // released when the sending gateway said a hole's PSNs are gone
  uint64_t overflows = 0;   // released because max_held was reached
  uint64_t resyncs = 0;     // released because a PSN jumped more than max_ahead
  uint32_t max_depth = 0;   // most packets held at once
};

template <class T>
class ReorderQp {
 public:
  // At most this many holes in one repeated NACK (a NACK's ranges).
  static constexpr size_t kMaxAsk = 32;

  // What to do now: hand `deliver` on, in this order; if `nack`, send a
  // NACK listing `fresh` when set (a packet opened that one hole: the
  // others were asked for already and may be on their way), else `due`
  // (the timer's: the holes whose last NACK is a repeat interval old).
  struct Step {
    bool first = false;  // the packet pushed goes on at once, ahead of deliver (push_lazy)
    std::vector<T> deliver;
    bool nack = false;
    std::optional<PsnRange> fresh;
    std::vector<PsnRange> due;
  };

  explicit ReorderQp(ReorderLimits lim = {}) : lim_(lim) {}

  Step push(uint32_t psn, T pkt, Clock::time_point now) {
    Step s = push_lazy(
        psn, [&] { return std::move(pkt); }, now);
    if (s.first) {
      s.deliver.insert(s.deliver.begin(), std::move(pkt));
      s.first = false;
    }
    return s;
  }

  // push() for a packet the caller can send on itself: make() gives the
  // packet to keep, called only when it is held or must follow packets
  // released ahead of it. Else the step says `first`: the caller sends its
  // packet on at once, then `deliver` (the common case, an expected packet
  // with nothing held, takes no copy).
  template <class Make>
  Step push_lazy(uint32_t psn, Make&& make, Clock::time_point now) {
    Step s;
    psn &= kPsnMask;
    if (!expected_) expected_ = psn;
    int32_t d = psn_diff(psn, *expected_);
    if (d < 0) {
      c_.late++;
      pass(s);
    } else if (d == 0) {
      filled(psn, now);
      expected_ = psn_add(psn, 1);
      pass(s);
      drain(s, now);
    } else if (static_cast<uint32_t>(d) > lim_.max_ahead) {
      c_.resyncs++;
      release(s);
      expected_ = psn_add(psn, 1);
      deliver(s, make());
    } else {
      hold(s, psn, make(), now);
    }
    return s;
  }

  // Timers: NACK again the holes asked for a repeat interval ago (each
  // hole by its own last NACK: one that opened a moment ago is not asked
  // again with an older one, its resend may be on its way), or give the
  // holes up.
  Step tick(Clock::time_point now) {
    Step s;
    if (held_.empty()) return s;
    if (now - hole_since_ >= lim_.give_up) {
      c_.given_up++;
      release(s);
      return s;
    }
    // Every open hole was asked for when it opened: nothing is due (and
    // held_ is not walked) until one of those NACKs is an interval old.
    const auto wait = renack_after();
    if (std::none_of(asked_.begin(), asked_.end(),
                     [&](const Asked& a) { return now - a.at >= wait; }))
      return s;
    for (const PsnRange& h : holes(kMaxAsk))
      if (!asked_within(h.first, now)) s.due.push_back(h);
    if (s.due.empty()) return s;
    s.nack = true;
    c_.nacks++;
    for (const PsnRange& h : s.due) note_ask(h, now);
    return s;
  }

  // The sending gateway holds none of `gone` (its answer to a NACK): when
  // one of them is still missing here, no resend will fill that hole, so
  // everything held goes on now (the responder sees the hole and the hosts
  // go back N) rather than after give_up. PSNs that arrived meanwhile, or
  // a hole opened since, are not affected.
  Step unfillable(const std::vector<PsnRange>& gone) {
    Step s;
    if (held_.empty()) return s;
    for (const PsnRange& h : holes(kMaxAsk))
      for (const PsnRange& g : gone)
        if (overlap(h, g)) {
          c_.unfillable++;
          release(s);
          return s;
        }
    return s;
  }

  // How long a NACK is given before it is sent again.
  Clock::duration renack_after() const {
    if (!srtt_) return lim_.nack_interval;
    return std::clamp<Clock::duration>(*srtt_ + rttvar_, lim_.nack_interval,
                                       std::max(lim_.nack_interval, lim_.give_up / 2));
  }
  // The smoothed time from a hole's NACK to its fill (none measured yet).
  std::optional<Clock::duration> fill_time() const { return srtt_; }

  // The missing PSNs between the expected one and the last held, at most
  // `max` ranges, in order.
  std::vector<PsnRange> holes(size_t max) const {
    std::vector<PsnRange> out;
    if (!expected_) return out;
    uint32_t next = *expected_;
    for (const auto& [psn, pkt] : held_) {
      if (out.size() >= max) break;
      int32_t gap = psn_diff(psn, next);
      if (gap > 0) out.push_back({next, static_cast<uint32_t>(gap)});
      next = psn_add(psn, 1);
    }
    return out;
  }

  std::optional<uint32_t> expected() const { return expected_; }
  size_t held() const { return held_.size(); }
  // The most packets held from now on (a share of a budget that changes).
  void set_max_held(uint32_t n) { lim_.max_held = std::max<uint32_t>(n, 1); }
  const ReorderCounters& counters() const { return c_; }
  // The next time tick() has something to do (none while nothing is held).
  std::optional<Clock::time_point> deadline() const {
    if (held_.empty()) return std::nullopt;
    Clock::time_point d = hole_since_ + lim_.give_up;
    for (const PsnRange& h : holes(kMaxAsk)) {
      const Asked* a = last_ask(h.first);
      d = std::min(d, a ? a->at + renack_after() : Clock::time_point{});
    }
    return d;
  }

 private:
  static bool overlap(const PsnRange& a, const PsnRange& b) {
    int32_t d = psn_diff(b.first, a.first);
    return d >= 0 ? static_cast<uint32_t>(d) < a.count : static_cast<uint32_t>(-d) < b.count;
  }

  void deliver(Step& s, T&& pkt) {
    c_.delivered++;
    s.deliver.push_back(std::move(pkt));
  }
  void pass(Step& s) {
    c_.delivered++;
    s.first = true;
  }

  // A hole asked for (a NACK names it now), and when.
  struct Asked {
    uint32_t first, count;
    Clock::time_point at;     // the last NACK naming it
    Clock::time_point since;  // the first
  };

  // The last NACK naming psn (none: never asked, or filled since).
  const Asked* last_ask(uint32_t psn) const {
    const Asked* out = nullptr;
    for (const Asked& a : asked_)
      if (psn_diff(psn, a.first) >= 0 && psn_diff(psn, a.first) < static_cast<int32_t>(a.count) &&
          (!out || a.at > out->at))
        out = &a;
    return out;
  }
  bool asked_within(uint32_t psn, Clock::time_point now) const {
    const Asked* a = last_ask(psn);
    return a && now - a->at < renack_after();
  }

  // Records a NACK of h, forgetting the asks it replaces and those of
  // holes filled since (bounded: an entry per hole).
  void note_ask(const PsnRange& h, Clock::time_point now) {
    Clock::time_point since = now;
    std::erase_if(asked_, [&](const Asked& a) {
      bool covers = psn_diff(h.first, a.first) >= 0 &&
                    psn_diff(h.first, a.first) < static_cast<int32_t>(a.count);
      if (covers) since = std::min(since, a.since);
      return covers || filled_since(a);
    });
    asked_.push_back({h.first, h.count, now, since});
  }

  // Everything the ask named has been handed on.
  bool filled_since(const Asked& a) const {
    return psn_diff(psn_add(a.first, a.count), *expected_) <= 0;
  }

  // A missing PSN arrived: the time since the first NACK naming it is a
  // sample of the fill time when that hole was asked once (Karn's rule: a
  // fill after a repeat may answer either NACK). Until a first sample,
  // though, the repeat interval is nack_interval, which may be shorter than
  // the round trip, so every hole would be asked twice and none ever
  // measured: the first sample is taken from the first NACK whatever came
  // after (too long only if that NACK's resend was lost).
  void filled(uint32_t psn, Clock::time_point now) {
    const Asked* a = last_ask(psn);
    if (a && (!srtt_ || a->at == a->since)) sample(now - a->since);
  }

  // Hand on what became contiguous; a hole that stays is new from now.
  void drain(Step& s, Clock::time_point now) {
    if (held_.empty()) return;
    size_t n = 0;
    while (n < held_.size() && held_[n].first == *expected_) {
      deliver(s, std::move(held_[n].second));
      expected_ = psn_add(*expected_, 1);
      n++;
    }
    held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(n));
    if (held_.empty()) {
      c_.filled++;
      asked_.clear();
    } else if (n) {
      // The holes left were asked for when they opened; each is asked
      // again a repeat interval after its own NACK.
      hole_since_ = now;
      std::erase_if(asked_, [&](const Asked& a) { return filled_since(a); });
    }
  }

  // A hole's fill time, NACKed once at its opening (RFC 6298's smoothing).
  void sample(Clock::duration r) {
    if (!srtt_) {
      srtt_ = r;
      rttvar_ = r / 2;
      return;
    }
    Clock::duration diff = *srtt_ > r ? *srtt_ - r : r - *srtt_;
    rttvar_ = (3 * rttvar_ + diff) / 4;
    srtt_ = (7 * *srtt_ + r) / 8;
  }

  void hold(Step& s, uint32_t psn, T&& pkt, Clock::time_point now) {
    auto at = std::lower_bound(held_.begin(), held_.end(), psn, [this](const auto& e, uint32_t p) {
      return psn_diff(e.first, *expected_) < psn_diff(p, *expected_);
    });
    if (at != held_.end() && at->first == psn) {
      c_.duplicates++;
      return;
    }
    uint32_t from = held_.empty() ? *expected_ : psn_add(held_.back().first, 1);
    bool opens = psn_diff(psn, from) > 0;  // past the last held (or the expected) + 1
    bool first = held_.empty();
    held_.insert(at, {psn, std::move(pkt)});
    c_.max_depth = std::max(c_.max_depth, static_cast<uint32_t>(held_.size()));
    if (first) hole_since_ = now;
    filled(psn, now);
    if (opens) {
      c_.holes++;
      c_.nacks++;
      s.nack = true;
      s.fresh = PsnRange{from, static_cast<uint32_t>(psn_diff(psn, from))};
      note_ask(*s.fresh, now);
    }
    if (held_.size() > lim_.max_held) {
      c_.overflows++;
      release(s);
    }
  }

  // Everything held, in order; the responder will see the holes.
  void release(Step& s) {
    for (auto& [psn, pkt] : held_) {
      deliver(s, std::move(pkt));
      expected_ = psn_add(psn, 1);
    }
    held_.clear();
    asked_.clear();
  }

  ReorderLimits lim_;
  std::optional<uint32_t> expected_;
  std::vector<std::pair<uint32_t, T>> held_;  // by distance from expected_
  Clock::time_point hole_since_{};
  std::vector<Asked> asked_;
  std::optional<Clock::duration> srtt_;
  Clock::duration rttvar_{};
  ReorderCounters c_;
};

}  // namespace aigw::rdma
