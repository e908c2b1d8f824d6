#include "telemetry/flows.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace aigw::telemetry {
namespace {

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpRst = 0x04;

IpAddr addr_of(const uint8_t* a, uint8_t family) {
  if (family == 6) {
    Ip6 ip;
    std::memcpy(ip.b.data(), a, 16);
    return ip;
  }
  Ip4 ip;
  std::memcpy(ip.b.data(), a, 4);
  return ip;
}

}  // namespace

bool FlowKeyLess::operator()(const aigw_flow_key& a, const aigw_flow_key& b) const {
  return std::memcmp(&a, &b, sizeof a) < 0;
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

FlowTick FlowTracker::tick(const std::vector<FlowEntry>& entries, uint64_t now_mono_ns,
                           std::chrono::system_clock::time_point now_wall) {
  using std::chrono::nanoseconds;
  auto wall = [&](uint64_t ns) {
    // A datapath time may be a little after now_mono_ns (read after it).
    int64_t ago = static_cast<int64_t>(now_mono_ns) - static_cast<int64_t>(ns);
    return now_wall -
           std::chrono::duration_cast<std::chrono::system_clock::duration>(nanoseconds(ago));
  };
  const uint64_t idle_ns = uint64_t{s_.idle_timeout_s} * 1'000'000'000ull;
  const uint64_t active_ns = uint64_t{s_.active_timeout_s} * 1'000'000'000ull;
  FlowTick out;
  std::map<aigw_flow_key, Seen, FlowKeyLess> next;
  view_.clear();
  for (const auto& e : entries) {
    const aigw_flow& f = e.flow;
    Seen st;
    auto it = seen_.find(e.key);
    if (it != seen_.end() && it->second.first_ns == f.first_ns &&
        f.packets >= it->second.rep_packets) {
      st = it->second;
    } else {
      // New flow (or the key came back as a new entry): counts from zero;
      // the first active-timeout report is due active_timeout after it began.
      st.first_ns = f.first_ns;
      st.last_report_ns = f.first_ns;
    }
    st.key = e.key;
    st.first_wall = wall(f.first_ns);
    st.last_wall = wall(f.last_ns);
    const uint64_t idle = now_mono_ns > f.last_ns ? now_mono_ns - f.last_ns : 0;
    FlowEnd end = FlowEnd::None;
    if (idle > idle_ns)
      end = FlowEnd::Idle;
    else if (e.key.proto == IPPROTO_TCP && (f.tcp_flags & (kTcpFin | kTcpRst)) &&
             idle >= kTcpEndIdleNs)
      end = FlowEnd::TcpEnd;
    const bool due = now_mono_ns >= st.last_report_ns + active_ns;
    if (end != FlowEnd::None || due) {
      FlowReport r;
      r.key = e.key;
      r.flow = f;
      r.delta_packets = f.packets - st.rep_packets;
      r.delta_bytes = f.bytes >= st.rep_bytes ? f.bytes - st.rep_bytes : f.bytes;
      r.first_seen = st.first_wall;
      r.last_seen = st.last_wall;
      r.end = end;
      out.reports.push_back(r);
      st.rep_packets = f.packets;
      st.rep_bytes = f.bytes;
      st.last_report_ns = now_mono_ns;
    }
    if (end != FlowEnd::None) {
      out.ended.push_back(e.key);
      continue;  // forgotten: the daemon deletes the entry
    }
    FlowView v{e.key, f, 0, 0, st.first_wall, st.last_wall};
    if (st.prev_tick_ns && now_mono_ns > st.prev_tick_ns && f.packets >= st.prev_packets &&
        f.bytes >= st.prev_bytes) {
      double secs = static_cast<double>(now_mono_ns - st.prev_tick_ns) / 1e9;
      v.bps = static_cast<double>(f.bytes - st.prev_bytes) * 8.0 / secs;
      v.pps = static_cast<double>(f.packets - st.prev_packets) / secs;
    }
    st.prev_tick_ns = now_mono_ns;
    st.prev_packets = f.packets;
    st.prev_bytes = f.bytes;
    st.last = f;
    view_.push_back(v);
    next[e.key] = st;
  }
  // Flows no longer in the map (deleted elsewhere, map recreated) are
  // forgotten: there is nothing left to read of them.
  seen_ = std::move(next);
  return out;
}

std::vector<FlowReport> FlowTracker::flush() {
  std::vector<FlowReport> out;
  for (const auto& [k, st] : seen_) {
    if (st.last.packets == st.rep_packets && st.last.bytes == st.rep_bytes) continue;
    FlowReport r;
    r.key = k;
    r.flow = st.last;
    r.delta_packets = st.last.packets - st.rep_packets;
    r.delta_bytes = st.last.bytes - st.rep_bytes;
    r.first_seen = st.first_wall;
    r.last_seen = st.last_wall;
    r.end = FlowEnd::ForcedEnd;
    out.push_back(r);
  }
  seen_.clear();
  view_.clear();
  return out;
}

nlohmann::json FlowTracker::state_json() const {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [k, st] : seen_) {
    const auto* b = reinterpret_cast<const uint8_t*>(&k);
    std::string hex;
    for (size_t i = 0; i < sizeof k; ++i) hex += fmt::format("{:02x}", b[i]);
    a.push_back({hex, st.first_ns, st.rep_packets, st.rep_bytes, st.last_report_ns});
  }
  return {{"version", 1}, {"flows", std::move(a)}};
}

void FlowTracker::load_state_json(const nlohmann::json& j) {
  if (j.at("version").get<int>() != 1) throw std::invalid_argument("flow state version");
  std::map<aigw_flow_key, Seen, FlowKeyLess> seen;
  for (const auto& e : j.at("flows")) {
    const auto hex = e.at(0).get<std::string>();
    aigw_flow_key k{};
    if (hex.size() != 2 * sizeof k) throw std::invalid_argument("flow key length");
    auto* b = reinterpret_cast<uint8_t*>(&k);
    for (size_t i = 0; i < sizeof k; ++i) {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, v, 16);
      if (ec != std::errc() || p != hex.data() + 2 * i + 2) throw std::invalid_argument("flow key");
      b[i] = static_cast<uint8_t>(v);
    }
    Seen st;
    st.key = k;
    st.first_ns = e.at(1).get<uint64_t>();
    st.rep_packets = e.at(2).get<uint64_t>();
    st.rep_bytes = e.at(3).get<uint64_t>();
    st.last_report_ns = e.at(4).get<uint64_t>();
    st.last.packets = st.rep_packets;
    st.last.bytes = st.rep_bytes;
    seen[k] = st;
  }
  seen_ = std::move(seen);
}

std::optional<uint64_t> app_group_of(const aigw_flow& f, uint8_t bits) {
  if (f.apn_len == 0 || bits == 0 || bits > 64 || bits > f.apn_len * 8) return std::nullopt;
  uint64_t v = 0;
  for (unsigned i = 0; i < 8 && i < f.apn_len; ++i) v = (v << 8) | f.apn[i];
  unsigned have = std::min<unsigned>(8, f.apn_len) * 8;
  return v >> (have - bits);
}

bool flow_matches(const FlowView& v, const FlowFilter& f, uint8_t app_group_bits) {
  const auto& k = v.key;
  if (f.tenant && v.flow.tenant != *f.tenant) return false;
  if (f.cls && v.flow.cls != *f.cls) return false;
  if (f.app_group && app_group_of(v.flow, app_group_bits) != f.app_group) return false;
  if (f.src && !f.src->contains(addr_of(k.src, k.family))) return false;
  if (f.dst && !f.dst->contains(addr_of(k.dst, k.family))) return false;
  if (f.proto && k.proto != *f.proto) return false;
  if (f.port && ntohs(k.sport) != *f.port && ntohs(k.dport) != *f.port) return false;
  if (f.dir && k.dir != *f.dir) return false;
  return true;
}

std::vector<FlowView> top_flows(std::vector<FlowView> flows, FlowOrder order, size_t n) {
  auto metric = [order](const FlowView& v) -> double {
    switch (order) {
      case FlowOrder::Packets:
        return static_cast<double>(v.flow.packets);
      case FlowOrder::Rate:
        return v.bps;
      case FlowOrder::Bytes:
        break;
    }
    return static_cast<double>(v.flow.bytes);
  };
  std::stable_sort(flows.begin(), flows.end(),
                   [&](const FlowView& a, const FlowView& b) { return metric(a) > metric(b); });
  if (n && flows.size() > n) flows.resize(n);
  return flows;
}

std::string flow_src(const aigw_flow_key& k) { return ip_str(addr_of(k.src, k.family)); }
std::string flow_dst(const aigw_flow_key& k) { return ip_str(addr_of(k.dst, k.family)); }

}  // namespace aigw::telemetry
