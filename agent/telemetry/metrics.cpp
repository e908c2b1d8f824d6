#include "telemetry/metrics.hpp"

#include <aigw/abi.h>
#include <arpa/inet.h>
#include <civetweb.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "common/fd.hpp"

namespace aigw::telemetry {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// HTTP worker threads: a scrape is a few dozen map reads, two are plenty.
constexpr const char* kHttpThreads = "2";
// A client that stalls cannot hold a worker for longer than this.
constexpr const char* kRequestTimeoutMs = "10000";
// mg_check_feature() bit: built with USE_IPV6.
constexpr unsigned kCivetwebIpv6 = 8;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

MetricFamily gauge(std::string name, std::string help, double value) {
  MetricFamily f = family(std::move(name), std::move(help), MetricType::Gauge);
  add(f, {}, value);
  return f;
}

// Why `listen` cannot be bound, as the kernel says it ("Address already in
// use"), or "" when it can. Only used to explain a failed start: civetweb's
// own message does not tell.
std::string bind_error(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return "no port";
  std::string host = listen.substr(0, colon);
  int port = std::atoi(listen.c_str() + colon + 1);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a->sin6_addr) != 1)
      return "not an IPv6 address";
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) return "not an IPv4 address";
    len = sizeof *a;
  }
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return std::strerror(errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as civetweb does
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd.get(), 1) != 0)
    return std::strerror(errno);
  return "";
}

double as_double(uint64_t v) { return static_cast<double>(v); }

// The per-interface counters of struct aigw_if_stats, in ABI order.
struct IfCounter {
  const char* name;  // as in aigwctl stats and the ABI
  const char* what;  // completes "Packets ..." / "Bytes of packets ..."
  aigw_ctr Counters::*member;
};
constexpr IfCounter kIfCounters[] = {
    {"rx", "received by the XDP program on this interface", &Counters::rx},
    {"encap", "SRv6-encapsulated by the headend (H.Encaps/H.Encaps.Red) of this interface",
     &Counters::encap},
    {"decap", "decapsulated by the SRv6 endpoint of this interface", &Counters::decap},
    {"fwd", "received here and redirected out of an interface (XDP_REDIRECT)", &Counters::fwd},
    {"pass", "received here and handed to the kernel stack (XDP_PASS)", &Counters::pass},
    {"drop", "received here and dropped; aigw_drops_total has the reasons", &Counters::drop},
    {"tx", "sent back out of this interface (XDP_TX: ICMP errors from XDP)", &Counters::tx},
};

std::vector<ClientMetric::Label> interface_labels(const InterfaceFact& i) {
  std::vector<ClientMetric::Label> l{{"interface", i.name}};
  if (i.vlan) l.push_back({"vlan", std::to_string(*i.vlan)});
  return l;
}

// Frames redirected into each kernel port that the kernel did not send, by
// reason (one series per port: VLAN entries share their port's).
void xmit_family(const std::vector<InterfaceFact>& ifs, const Stats& st,
                 std::vector<MetricFamily>& out) {
  MetricFamily f = family("aigw_port_xmit_drops_total",
                          "Frames the XDP programs redirected into this port that the kernel "
                          "did not send, by reason (no_xdp: the port takes no XDP frames; "
                          "down: it or its veth peer is down; failed: other).",
                          MetricType::Counter);
  std::set<std::string> seen;
  for (const auto& i : ifs) {
    if (!i.ifindex || !seen.insert(i.name).second) continue;
    aigw_xmit_drops x{};
    if (auto it = st.xmit.find(static_cast<uint32_t>(i.ifindex)); it != st.xmit.end())
      x = it->second;
    const std::pair<const char*, uint64_t> by_reason[] = {
        {"no_xdp", x.no_xdp}, {"down", x.down}, {"failed", x.failed}};
    for (const auto& [reason, v] : by_reason)
      add(f, {{"interface", i.name}, {"reason", reason}}, as_double(v));
  }
  out.push_back(std::move(f));
}

// Label values of tenants and classes: the configured name, else "tenant-N"
// / "class-N" (ids with traffic but no name: removed from the configuration,
// counters still in the map). A made-up name never equals a configured one.
class IdNames {
 public:
  template <typename Map>
  IdNames(const Map& configured, const char* prefix) : prefix_(prefix) {
    for (const auto& [id, name] : configured) {
      names_[id] = name;
      taken_.insert(name);
    }
  }
  std::string operator()(unsigned id) const {
    auto it = names_.find(id);
    if (it != names_.end()) return it->second;
    std::string n = fmt::format("{}-{}", prefix_, id);
    while (taken_.count(n)) n += "_";
    return n;
  }

 private:
  const char* prefix_;
  std::map<unsigned, std::string> names_;
  std::set<std::string> taken_;
};

void add_sum(aigw_ctr& to, const aigw_ctr& v) {
  to.packets += v.packets;
  to.bytes += v.bytes;
}

bool any(const aigw_ctr& c) { return c.packets != 0 || c.bytes != 0; }

// aigw_policy_*, the flow table gauges and the IPFIX exporter's counters.
void policy_flow_families(const AccountingFacts& a, std::vector<MetricFamily>& out) {
  // Configured policies only: a slot without a name is free (its counters
  // are reset when it is reused).
  MetricFamily pb = family("aigw_policy_bytes_total",
                           "L3 bytes of customer packets steered into each SRv6 policy "
                           "(before encapsulation).",
                           MetricType::Counter);
  MetricFamily pp = family("aigw_policy_packets_total",
                           "Customer packets steered into each SRv6 policy.", MetricType::Counter);
  MetricFamily xb =
      family("aigw_policy_path_bytes_total",
             "L3 bytes steered into each path of a multipath SRv6 policy.", MetricType::Counter);
  MetricFamily xp = family("aigw_policy_path_packets_total",
                           "Customer packets steered into each path of a multipath SRv6 policy.",
                           MetricType::Counter);
  std::map<std::string, aigw_ctr> per_policy;  // a policy's paths summed
  for (const auto& [slot, name] : a.policies) {
    auto it = a.policy_stats.find(slot);
    aigw_ctr v = it == a.policy_stats.end() ? aigw_ctr{} : it->second;
    add_sum(per_policy[name], v);
    if (auto path = a.paths.find(slot); path != a.paths.end()) {
      std::string idx = std::to_string(path->second);
      add(xb, {{"policy", name}, {"path", idx}}, as_double(v.bytes));
      add(xp, {{"policy", name}, {"path", idx}}, as_double(v.packets));
    }
  }
  for (const auto& [name, v] : per_policy) {
    add(pb, {{"policy", name}}, as_double(v.bytes));
    add(pp, {{"policy", name}}, as_double(v.packets));
  }
  out.push_back(std::move(pb));
  out.push_back(std::move(pp));
  out.push_back(std::move(xb));
  out.push_back(std::move(xp));

  out.push_back(gauge("aigw_flows_active", "Flows in the datapath flow table (aigw_flows).",
                      as_double(a.flows_active)));
  out.push_back(gauge("aigw_flows_capacity",
                      "Size of the flow table; new flows beyond it are counted as "
                      "aigw_events_total{event=\"flow_table_full\"} and not tracked.",
                      as_double(a.flows_capacity)));
  if (a.ipfix) {
    MetricFamily r =
        family("aigw_ipfix_records_total", "IPFIX data records exported.", MetricType::Counter);
    add(r, {}, as_double(a.ipfix->records));
    out.push_back(std::move(r));
    MetricFamily m =
        family("aigw_ipfix_messages_total",
               "IPFIX messages exported (each sent to every collector).", MetricType::Counter);
    add(m, {}, as_double(a.ipfix->messages));
    out.push_back(std::move(m));
    MetricFamily e = family("aigw_ipfix_send_errors_total",
                            "IPFIX messages a collector's socket refused (collector unreachable, "
                            "buffer full): lost for that collector.",
                            MetricType::Counter);
    add(e, {}, as_double(a.ipfix->send_errors));
    out.push_back(std::move(e));
  }
}

// aigw_tenant_*, aigw_class_*, aigw_tenant_class_*; then policy_flow_families.
void accounting_families(const AccountingFacts& a, std::vector<MetricFamily>& out) {
  std::map<unsigned, std::string> tenant_names(a.tenants.begin(), a.tenants.end());
  tenant_names.try_emplace(AIGW_TENANT_NONE, "unclassified");
  IdNames tenant(tenant_names, "tenant");
  IdNames cls(a.classes, "class");
  // Sums per (dir, tenant) and (dir, class) from the usage array; every
  // configured tenant and class is shown (zeros included) so that rate()
  // has a series from the start.
  std::map<std::pair<unsigned, unsigned>, aigw_ctr> by_tenant, by_class;
  std::map<std::tuple<unsigned, unsigned, unsigned>, aigw_ctr> by_both;
  for (unsigned d = 0; d < AIGW_DIR_MAX; ++d) {
    for (const auto& [id, name] : tenant_names) by_tenant[{d, id}];
    for (const auto& [id, name] : a.classes) by_class[{d, id}];
  }
  for (unsigned d = 0; d < AIGW_DIR_MAX; ++d)
    for (unsigned t = 0; t < AIGW_MAX_TENANTS; ++t)
      for (unsigned c = 0; c < AIGW_MAX_CLASSES; ++c) {
        const size_t i = AIGW_USAGE_INDEX(d, t, c);
        if (i >= a.usage.size() || !any(a.usage[i])) continue;
        add_sum(by_tenant[{d, t}], a.usage[i]);
        add_sum(by_class[{d, c}], a.usage[i]);
        add_sum(by_both[{d, t, c}], a.usage[i]);
      }

  auto pair = [&](const char* base, const char* what, const char* label, const IdNames& names,
                  const std::map<std::pair<unsigned, unsigned>, aigw_ctr>& sums) {
    MetricFamily by = family(fmt::format("aigw_{}_bytes_total", base),
                             fmt::format("L3 bytes (IP header and payload of the customer "
                                         "packet, outside any tunnel) {}.",
                                         what),
                             MetricType::Counter);
    MetricFamily pk = family(fmt::format("aigw_{}_packets_total", base),
                             fmt::format("Packets {}.", what), MetricType::Counter);
    for (const auto& [key, v] : sums) {
      std::vector<ClientMetric::Label> l{{label, names(key.second)},
                                         {"direction", aigw_dir_name(key.first)}};
      add(by, l, as_double(v.bytes));
      add(pk, l, as_double(v.packets));
    }
    out.push_back(std::move(by));
    out.push_back(std::move(pk));
  };
  pair("tenant",
       "of each tenant by direction (out = customer to WAN, in = WAN to customer); tenant "
       "\"unclassified\" is traffic no rule gave a tenant",
       "tenant", tenant, by_tenant);
  pair("class", "of each service class by direction", "class", cls, by_class);

  MetricFamily tcb = family("aigw_tenant_class_bytes_total",
                            "L3 bytes per tenant and service class by direction (only "
                            "combinations that carried traffic are shown).",
                            MetricType::Counter);
  MetricFamily tcp = family("aigw_tenant_class_packets_total",
                            "Packets per tenant and service class by direction (only "
                            "combinations that carried traffic are shown).",
                            MetricType::Counter);
  for (const auto& [key, v] : by_both) {
    auto [d, t, c] = key;
    std::vector<ClientMetric::Label> l{
        {"tenant", tenant(t)}, {"class", cls(c)}, {"direction", aigw_dir_name(d)}};
    add(tcb, l, as_double(v.bytes));
    add(tcp, l, as_double(v.packets));
  }
  out.push_back(std::move(tcb));
  out.push_back(std::move(tcp));

  policy_flow_families(a, out);
}

// Elephants: present only while detection is on.
void elephant_families(const ElephantFacts& e, std::vector<MetricFamily>& out) {
  if (!e.enabled) return;
  MetricFamily n = family("aigw_elephants",
                          "Confirmed elephant flows, by the multipath policy that carries them "
                          "(\"\" for the others).",
                          MetricType::Gauge);
  for (const auto& [policy, count] : e.per_policy) add(n, {{"policy", policy}}, count);
  MetricFamily ev =
      family("aigw_elephant_events_total",
             "Flows that became (enter) or stopped being (leave) elephants.", MetricType::Counter);
  add(ev, {{"event", "enter"}}, as_double(e.entered));
  add(ev, {{"event", "leave"}}, as_double(e.left));
  MetricFamily load = family("aigw_policy_path_load_bps",
                             "Bits per second on each path of a multipath policy, averaged over "
                             "about the last second.",
                             MetricType::Gauge);
  MetricFamily cap =
      family("aigw_policy_path_capacity_bps",
             "Configured capacity of each path of a multipath policy.", MetricType::Gauge);
  MetricFamily w = family("aigw_policy_path_weight",
                          "Weight of each path of a multipath policy (its share of the mice).",
                          MetricType::Gauge);
  MetricFamily pe = family("aigw_policy_path_elephants",
                           "Elephants on each path of a multipath policy (placed there, or "
                           "hashed there when not placed).",
                           MetricType::Gauge);
  for (const auto& p : e.paths) {
    std::vector<ClientMetric::Label> l = {{"policy", p.policy}, {"path", std::to_string(p.path)}};
    add(load, l, p.load_bps);
    if (p.capacity_bps) add(cap, l, *p.capacity_bps);
    add(w, l, p.weight);
    add(pe, l, p.elephants);
  }
  for (auto* f : {&n, &ev, &load, &cap, &w, &pe}) out.push_back(std::move(*f));
}

// The RDMA proxy's packets: sent on, and lost before its sockets.
void rdma_packet_families(const RdmaFacts& r, std::vector<MetricFamily>& out) {
  MetricFamily pk = family("aigw_rdma_packets_total",
                           "Packets the RDMA proxy sent on, by where to; tx_full: dropped, no "
                           "free send frame; bad_icrc: from the WAN with a wrong ICRC, dropped "
                           "(a hole the sending gateway fills).",
                           MetricType::Counter);
  add(pk, {{"to", "host"}}, as_double(r.to_host));
  add(pk, {{"to", "wan"}}, as_double(r.to_wan));
  add(pk, {{"to", "tx_full"}}, as_double(r.tx_full));
  add(pk, {{"to", "bad_icrc"}}, as_double(r.bad_icrc));
  out.push_back(std::move(pk));
  MetricFamily xd = family("aigw_rdma_xsk_drops_total",
                           "Frames redirected to the RDMA proxy that the kernel dropped before "
                           "its AF_XDP sockets, by reason: no_frame (no receive frame free: the "
                           "proxy fell behind), rx_ring_full, invalid (descriptors). The proxy "
                           "never saw them: no NACK can bring them back.",
                           MetricType::Counter);
  add(xd, {{"reason", "no_frame"}}, as_double(r.xsk_no_frame));
  add(xd, {{"reason", "rx_ring_full"}}, as_double(r.xsk_rx_ring_full));
  add(xd, {{"reason", "invalid"}}, as_double(r.xsk_invalid));
  out.push_back(std::move(xd));
}

// The RDMA proxy's memory per tenant.
void rdma_tenant_families(const RdmaFacts& r, const std::map<uint16_t, std::string>& tenants,
                          std::vector<MetricFamily>& out) {
  std::map<unsigned, std::string> names(tenants.begin(), tenants.end());
  names.try_emplace(AIGW_TENANT_NONE, "unclassified");
  IdNames tenant(names, "tenant");
  MetricFamily tb = family("aigw_rdma_tenant_cache_bytes",
                           "Bytes the RDMA proxy's send cache holds now for the tenant's streams "
                           "(bounded by rdma_proxy.tenant_memory_mb).",
                           MetricType::Gauge);
  MetricFamily th = family("aigw_rdma_tenant_held_packets",
                           "Packets the RDMA proxy holds for reordering now for the tenant's "
                           "streams.",
                           MetricType::Gauge);
  for (const auto& [id, use] : r.per_tenant) {
    add(tb, {{"tenant", tenant(id)}}, as_double(use.first));
    add(th, {{"tenant", tenant(id)}}, as_double(use.second));
  }
  out.push_back(std::move(tb));
  out.push_back(std::move(th));
}

// The RDMA proxy: present only while it runs.
void rdma_families(const RdmaFacts& r, const std::map<uint16_t, std::string>& tenants,
                   std::vector<MetricFamily>& out) {
  if (!r.running) return;
  MetricFamily n = family("aigw_rdma_nacks_total",
                          "Selective NACKs the RDMA proxy sent (receiving side) and received "
                          "(sending side).",
                          MetricType::Counter);
  add(n, {{"direction", "sent"}}, as_double(r.nacks_sent));
  add(n, {{"direction", "received"}}, as_double(r.nacks_received));
  out.push_back(std::move(n));
  MetricFamily nr = family("aigw_rdma_nacks_refused_total",
                           "NACKs and MISSes the RDMA proxy refused, by reason: malformed; "
                           "unauthenticated (no MAC, or not rdma_proxy.key_file's).",
                           MetricType::Counter);
  add(nr, {{"reason", "malformed"}}, as_double(r.bad_nacks));
  add(nr, {{"reason", "unauthenticated"}}, as_double(r.nacks_unauthenticated));
  out.push_back(std::move(nr));
  MetricFamily re =
      family("aigw_rdma_retransmits_total",
             "Packets the RDMA proxy resent from its cache: asked for by a NACK, or its "
             "own tail loss probes.",
             MetricType::Counter);
  add(re, {{"cause", "nack"}}, as_double(r.resent));
  add(re, {{"cause", "tail_probe"}}, as_double(r.tail_probes));
  out.push_back(std::move(re));
  MetricFamily miss = family("aigw_rdma_cache_misses_total",
                             "PSNs a NACK asked for that the cache no longer (or never) held.",
                             MetricType::Counter);
  add(miss, {}, as_double(r.cache_misses));
  out.push_back(std::move(miss));
  MetricFamily holes = family("aigw_rdma_holes_total",
                              "PSN holes the receiving side saw (opened), and gave up on "
                              "(released to the hosts' go-back-N): after give_up_ms, for "
                              "room (overflow), or told by the sending gateway that it no "
                              "longer has them (not_cached).",
                              MetricType::Counter);
  add(holes, {{"outcome", "opened"}}, as_double(r.holes));
  add(holes, {{"outcome", "given_up"}}, as_double(r.given_up));
  add(holes, {{"outcome", "overflow"}}, as_double(r.overflows));
  add(holes, {{"outcome", "not_cached"}}, as_double(r.unfillable));
  out.push_back(std::move(holes));
  out.push_back(gauge("aigw_rdma_reorder_depth",
                      "Packets the RDMA proxy holds for reordering now, all streams.",
                      as_double(r.reorder_depth)));
  out.push_back(gauge("aigw_rdma_cache_bytes",
                      "Bytes the RDMA proxy's send cache holds now, all streams.",
                      as_double(r.cache_bytes)));
  MetricFamily st =
      family("aigw_rdma_streams", "RoCEv2 streams (QPs) the RDMA proxy tracks.", MetricType::Gauge);
  add(st, {{"side", "send"}}, as_double(r.tx_streams));
  add(st, {{"side", "receive"}}, as_double(r.rx_streams));
  out.push_back(std::move(st));
  rdma_packet_families(r, out);
  rdma_tenant_families(r, tenants, out);
}

void pause_families(const ShapingFacts& f, std::vector<MetricFamily>& out) {
  MetricFamily m = family("aigw_pause_messages_total",
                          "Pause/resume messages from peer gateways, by peer (\"\": not a "
                          "configured peer) and outcome (paused, refreshed, resumed, not_paused, "
                          "replayed, skewed, unknown_tenant, bad_mac, short...).",
                          MetricType::Counter);
  for (const auto& [k, n] : f.pause_messages)
    add(m, {{"peer", k.first}, {"outcome", k.second}}, as_double(n));
  MetricFamily p =
      family("aigw_tenant_pauses_total", "Times the tenant's queues were held by a peer's pause.",
             MetricType::Counter);
  for (const auto& [t, n] : f.tenant_pauses) add(p, {{"tenant", t}}, as_double(n));
  out.push_back(std::move(m));
  out.push_back(std::move(p));
}

// The sending half: pauses asked of the peers, PFC frames to the hosts.
void sender_families(const ShapingFacts& f, std::vector<MetricFamily>& out) {
  MetricFamily m = family("aigw_pause_sent_total",
                          "Pause/resume messages sent to peer gateways, by peer and kind (pause, "
                          "refresh, resume, error: not sent).",
                          MetricType::Counter);
  for (const auto& [k, n] : f.pause_sent)
    add(m, {{"peer", k.first}, {"kind", k.second}}, as_double(n));
  MetricFamily p = family("aigw_pfc_frames_sent_total",
                          "802.1Qbb PFC frames sent to the hosts, by customer port and kind "
                          "(pause, resume, error: not sent).",
                          MetricType::Counter);
  for (const auto& [k, n] : f.pfc_frames)
    add(p, {{"interface", k.first}, {"kind", k.second}}, as_double(n));
  MetricFamily asking = family("aigw_tenant_pausing",
                               "1 while the tenant's customer queue is past XOFF and this gateway "
                               "asks its peers to hold the tenant.",
                               MetricType::Gauge);
  MetricFamily pfc = family("aigw_tenant_pfc_paused",
                            "1 while this gateway pauses the tenant's priority on its hosts (PFC).",
                            MetricType::Gauge);
  MetricFamily episodes =
      family("aigw_tenant_pause_episodes_total",
             "Times the tenant's customer queue passed XOFF (pauses asked).", MetricType::Counter);
  MetricFamily pfc_episodes = family(
      "aigw_tenant_pfc_episodes_total",
      "Times the tenant's WAN queue passed its PFC XOFF (its hosts paused).", MetricType::Counter);
  MetricFamily xoff =
      family("aigw_tenant_xoff_bytes",
             "The XOFF threshold of the tenant's customer queue (README).", MetricType::Gauge);
  for (const auto& s : f.senders) {
    add(asking, {{"tenant", s.tenant}}, as_double(s.pausing));
    add(pfc, {{"tenant", s.tenant}}, as_double(s.pfc_on));
    add(episodes, {{"tenant", s.tenant}}, as_double(s.pause_episodes));
    add(pfc_episodes, {{"tenant", s.tenant}}, as_double(s.pfc_episodes));
    add(xoff, {{"tenant", s.tenant}}, as_double(s.xoff_bytes));
  }
  for (auto* x : {&m, &p, &asking, &pfc, &episodes, &pfc_episodes, &xoff})
    out.push_back(std::move(*x));
}

void shaping_families(const ShapingFacts& f, std::vector<MetricFamily>& out) {
  if (!f.pause_messages.empty() || !f.tenant_pauses.empty()) pause_families(f, out);
  if (!f.senders.empty() || !f.pause_sent.empty() || !f.pfc_frames.empty()) sender_families(f, out);
  if (f.queues.empty()) return;
  struct Col {
    const char* name;
    const char* help;
    MetricType type;
    uint64_t ShapingFacts::Queue::*member;
  };
  static const Col cols[] = {
      {"aigw_tenant_rate_bps",
       "The tenant's guaranteed rate on the port (WAN: towards the WAN; customer: decapsulated, "
       "towards the hosts) (bits/s).",
       MetricType::Gauge, &ShapingFacts::Queue::rate_bps},
      {"aigw_tenant_ceil_bps", "The most the tenant may borrow up to on the port (bits/s).",
       MetricType::Gauge, &ShapingFacts::Queue::ceil_bps},
      {"aigw_tenant_queue_sent_bytes_total",
       "Bytes the tenant's queue on the port sent (its HTB class, since it was made).",
       MetricType::Counter, &ShapingFacts::Queue::bytes},
      {"aigw_tenant_queue_drops_total", "Packets the tenant's queue on the port dropped (full).",
       MetricType::Counter, &ShapingFacts::Queue::drops},
      {"aigw_tenant_queue_bytes", "Bytes waiting in the tenant's queue on the port now.",
       MetricType::Gauge, &ShapingFacts::Queue::backlog_bytes},
      {"aigw_tenant_queue_packets", "Packets waiting in the tenant's queue on the port now.",
       MetricType::Gauge, &ShapingFacts::Queue::backlog_packets},
      {"aigw_tenant_paused", "1 while a peer gateway's pause holds the tenant's queue.",
       MetricType::Gauge, &ShapingFacts::Queue::paused},
  };
  for (const auto& c : cols) {
    MetricFamily m = family(c.name, c.help, c.type);
    for (const auto& q : f.queues)
      add(m, {{"tenant", q.tenant}, {"port", q.port}}, as_double(q.*c.member));
    out.push_back(std::move(m));
  }
}

}  // namespace

std::vector<MetricFamily> exporter_families(std::string_view version, uint64_t scrape_errors) {
  std::vector<MetricFamily> out;
  MetricFamily build =
      family("aigw_build_info", "aigwd build information; the value is 1.", MetricType::Gauge);
  add(build, {{"version", std::string(version)}}, 1);
  out.push_back(std::move(build));
  MetricFamily errors =
      family("aigw_scrape_errors_total",
             "Scrapes that could not read the datapath counters (they showed only aigw_build_info "
             "and this counter).",
             MetricType::Counter);
  add(errors, {}, as_double(scrape_errors));
  out.push_back(std::move(errors));
  return out;
}

std::vector<MetricFamily> snapshot_families(const Snapshot& s) {
  std::vector<MetricFamily> out;
  const ConfigFacts& c = s.config;
  out.push_back(gauge("aigw_interfaces",
                      "Configured interface entries (a VLAN entry counts as one).",
                      as_double(c.interfaces.size())));
  out.push_back(gauge("aigw_policies", "Configured SRv6 policies.", as_double(c.policies)));
  out.push_back(gauge("aigw_sids", "Configured local SIDs.", as_double(c.sids)));
  out.push_back(gauge("aigw_config_reload_success",
                      "1 when the last configuration load or reload succeeded, 0 when it was "
                      "refused (the previous configuration stays in force).",
                      c.reload_ok ? 1 : 0));
  const auto since_epoch = c.reload_time.time_since_epoch();
  out.push_back(gauge("aigw_config_reload_timestamp_seconds",
                      "Unix time of the last configuration load or reload attempt.",
                      std::chrono::duration<double>(since_epoch).count()));

  // Interfaces with counters in this snapshot, in configuration order.
  std::vector<std::pair<const InterfaceFact*, const Counters*>> ifs;
  for (const auto& i : c.interfaces) {
    if (!i.slot) continue;
    auto it = s.stats.by_slot.find(*i.slot);
    if (it != s.stats.by_slot.end()) ifs.emplace_back(&i, &it->second);
  }
  for (const auto& k : kIfCounters) {
    MetricFamily pk = family(fmt::format("aigw_interface_{}_packets_total", k.name),
                             fmt::format("Packets {}.", k.what), MetricType::Counter);
    MetricFamily by = family(fmt::format("aigw_interface_{}_bytes_total", k.name),
                             fmt::format("Bytes of packets {}.", k.what), MetricType::Counter);
    for (const auto& [fact, ctrs] : ifs) {
      const aigw_ctr& v = ctrs->*k.member;
      add(pk, interface_labels(*fact), as_double(v.packets));
      add(by, interface_labels(*fact), as_double(v.bytes));
    }
    out.push_back(std::move(pk));
    out.push_back(std::move(by));
  }

  MetricFamily drops = family("aigw_drops_total",
                              "Packets dropped by the XDP programs, by reason (every drop counts "
                              "under exactly one reason); the xmit_* reasons count frames the "
                              "programs redirected that the kernel then did not send.",
                              MetricType::Counter);
  MetricFamily drop_bytes =
      family("aigw_drop_bytes_total", "Bytes of packets dropped by the XDP programs, by reason.",
             MetricType::Counter);
  for (unsigned r = AIGW_DROP_NONE + 1; r < AIGW_DROP_MAX; ++r) {
    aigw_ctr v = r < s.stats.drops.size() ? s.stats.drops[r] : aigw_ctr{};
    add(drops, {{"reason", aigw_drop_reason_name(r)}}, as_double(v.packets));
    add(drop_bytes, {{"reason", aigw_drop_reason_name(r)}}, as_double(v.bytes));
  }
  out.push_back(std::move(drops));
  out.push_back(std::move(drop_bytes));

  MetricFamily events = family("aigw_events_total",
                               "Exceptional packets that were not dropped (ICMP sent from XDP, "
                               "handed to the kernel, MSS clamped...), by event.",
                               MetricType::Counter);
  for (unsigned e = AIGW_EV_NONE + 1; e < AIGW_EV_MAX; ++e) {
    aigw_ctr v = e < s.stats.events.size() ? s.stats.events[e] : aigw_ctr{};
    add(events, {{"event", aigw_event_name(e)}}, as_double(v.packets));
  }
  out.push_back(std::move(events));
  xmit_family(c.interfaces, s.stats, out);
  accounting_families(s.accounting, out);
  elephant_families(s.elephants, out);
  rdma_families(s.rdma, s.accounting.tenants, out);
  shaping_families(s.shaping, out);
  return out;
}

std::string to_text(const std::vector<MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

// Runs on prometheus-cpp's HTTP threads (one scrape at a time per endpoint).
class MetricsServer::Collector : public prometheus::Collectable {
 public:
  Collector(std::string version, SnapshotSource source)
      : version_(std::move(version)), source_(std::move(source)) {}

  std::vector<MetricFamily> Collect() const override {
    // Nothing may escape into civetweb's C worker threads.
    std::vector<MetricFamily> snap;
    try {
      snap = snapshot_families(source_());
    } catch (...) {
      snap.clear();
      errors_.fetch_add(1, std::memory_order_relaxed);
    }
    try {
      auto out = exporter_families(version_, errors_.load(std::memory_order_relaxed));
      out.insert(out.end(), std::make_move_iterator(snap.begin()),
                 std::make_move_iterator(snap.end()));
      return out;
    } catch (...) {
      return {};
    }
  }

 private:
  const std::string version_;
  const SnapshotSource source_;
  mutable std::atomic<uint64_t> errors_{0};
};

MetricsServer::MetricsServer(const std::string& listen, std::string version, SnapshotSource source)
    : collector_(std::make_shared<Collector>(std::move(version), std::move(source))) {
  if (!listen.empty() && listen.front() == '[' && mg_check_feature(kCivetwebIpv6) == 0)
    throw std::runtime_error(fmt::format(
        "agent.metrics_listen {}: the HTTP library aigwd uses (civetweb) was built without IPv6 "
        "(as Debian's is): listen on an IPv4 address, e.g. 127.0.0.1:9469",
        listen));
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", listen, "num_threads", kHttpThreads,
                                 "request_timeout_ms", kRequestTimeoutMs});
  } catch (const std::exception& e) {
    std::string why = bind_error(listen);
    throw std::runtime_error(fmt::format("agent.metrics_listen {}: cannot serve metrics: {}",
                                         listen, why.empty() ? e.what() : why));
  }
  exposer_->RegisterCollectable(collector_);
  auto ports = exposer_->GetListeningPorts();
  if (ports.empty())
    throw std::runtime_error(fmt::format("agent.metrics_listen {}: not listening", listen));
  port_ = ports.front();
  // listen is "HOST:PORT" or "[V6]:PORT": keep the host part as written.
  url_ = fmt::format("http://{}:{}/metrics", listen.substr(0, listen.rfind(':')), port_);
}

MetricsServer::~MetricsServer() {
  // Stops civetweb and joins its workers before the collector goes away.
  exposer_.reset();
}

}  // namespace aigw::telemetry
