// Prometheus export (pull): an HTTP listener serving /metrics whose samples
// are built at scrape time from the kernel counters and the daemon's
// configuration facts. Nothing polls in the background.
//
// The formatting (Snapshot -> metric families -> text) is separate from where
// the snapshot comes from, so it is tested without BPF. Names follow the
// node_exporter / ebpf_exporter conventions: one prefix `aigw_`, base units,
// `_total` on counters only, bounded labels only (interface, vlan, reason,
// event, version, tenant, class, direction, policy): never an address, port
// or flow. Accounting series: tenants x 2 directions and classes x 2
// directions (every configured one), tenant x class x direction only where
// traffic was counted (at most 1024 x 16 x 2), one per configured policy.
//
// Per-interface counters are separate families per counter
// (aigw_interface_rx_packets_total, aigw_interface_fwd_bytes_total, ...),
// not one family with a `counter` label: the seven counters overlap (rx =
// fwd + pass + drop + tx; encap and decap are subsets of those), so a sum over
// such a label would mean nothing, and each family gets its own HELP text.
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datapath/types.hpp"

namespace prometheus {
class Exposer;
}

namespace aigw::telemetry {

// A configured interface entry and its counter slot in the datapath.
struct InterfaceFact {
  std::string name;              // kernel interface name
  std::optional<uint16_t> vlan;  // VLAN entry of a customer port
  std::optional<uint16_t> slot;  // counter slot (none: not programmed)
  int ifindex = 0;               // the kernel port (0: not found)
};

// The small facts about the running configuration that a scrape shows.
struct ConfigFacts {
  std::vector<InterfaceFact> interfaces;
  size_t policies = 0;
  size_t sids = 0;
  bool reload_ok = true;                                // last load/reload succeeded
  std::chrono::system_clock::time_point reload_time{};  // when it was attempted
};

// Accounting counters and the names that label them (bounded: tenants and
// classes come from the configuration, ids without a name are shown as
// "tenant-N" / "class-N" only if they have traffic).
struct AccountingFacts {
  std::vector<aigw_ctr> usage;                 // Datapath::read_usage()
  std::map<uint16_t, std::string> tenants;     // id -> name (0 = "unclassified")
  std::map<uint8_t, std::string> classes;      // id -> name (built-ins included)
  std::map<uint32_t, aigw_ctr> policy_stats;   // policy slot -> counters
  std::map<uint32_t, std::string> policies;    // policy slot (every path's) -> name
  std::map<uint32_t, uint32_t> paths;          // multipath policies: slot -> path index
  uint64_t flows_active = 0;                   // entries in aigw_flows
  uint64_t flows_capacity = 0;                 // its max_entries
  // IpfixExporter's counters (records_sent(), ...), when export is on.
  struct Ipfix {
    uint64_t records = 0, messages = 0, send_errors = 0;
  };
  std::optional<Ipfix> ipfix;
};

// Elephant flows (features/elephants.hpp): per multipath policy path, and
// the count per policy (flows of no multipath policy under "").
struct ElephantFacts {
  bool enabled = false;
  struct Path {
    std::string policy;
    uint32_t path = 0;
    uint32_t weight = 0;
    double load_bps = 0;  // over about the last second
    std::optional<double> capacity_bps;
    uint32_t elephants = 0;  // placed (pinned) on it, or hashed there when not placed
  };
  std::vector<Path> paths;
  std::map<std::string, uint32_t> per_policy;
  uint64_t entered = 0, left = 0;  // since the agent started
};

// Everything one scrape shows besides the exporter's own facts.
// The RDMA proxy (features/rdma_proxy.hpp): present while it runs.
struct RdmaFacts {
  bool running = false;
  uint64_t nacks_sent = 0, nacks_received = 0, resent = 0, tail_probes = 0, cache_misses = 0;
  uint64_t holes = 0, given_up = 0, overflows = 0, unfillable = 0, delivered = 0;
  uint64_t reorder_depth = 0;                   // packets held now, all streams
  uint64_t max_depth = 0;                       // most held by one stream at once
  uint64_t cache_packets = 0, cache_bytes = 0;  // cached now, all streams
  uint64_t rx_streams = 0, tx_streams = 0, streams_evicted = 0;
  uint64_t to_host = 0, to_wan = 0, tx_full = 0;
  uint64_t bad_icrc = 0;  // from the WAN with a wrong ICRC: dropped (a hole to fill)
  uint64_t bad_nacks = 0, nacks_unauthenticated = 0;  // NACKs and MISSes refused
  // Frames the XDP programs redirected to the proxy that the kernel
  // dropped before its sockets (XDP_STATISTICS), all sockets.
  uint64_t xsk_no_frame = 0, xsk_rx_ring_full = 0, xsk_invalid = 0;
  // Per tenant id: bytes its streams cache (sending side) and packets they
  // hold (receiving side), now.
  std::map<uint16_t, std::pair<uint64_t, uint64_t>> per_tenant;
};

// Per-tenant queues (features/shaping.hpp): one entry per shaped tenant
// and WAN port.
struct ShapingFacts {
  struct Queue {
    std::string tenant, port;
    uint64_t rate_bps = 0, ceil_bps = 0;
    uint64_t bytes = 0, packets = 0, drops = 0;  // since the class was made
    uint64_t backlog_bytes = 0, backlog_packets = 0;
    uint64_t paused = 0;  // 1: held by a peer's pause
  };
  std::vector<Queue> queues;
  // Pause/resume messages taken or refused, by peer ("" unknown source)
  // and outcome (paused, refreshed, resumed, bad_mac, replayed...).
  std::map<std::pair<std::string, std::string>, uint64_t> pause_messages;
  std::map<std::string, uint64_t> tenant_pauses;  // times the tenant was held, by tenant
  // The sending half: messages sent by (peer, pause|refresh|resume|error),
  // PFC frames by (interface, pause|resume|error), and per tenant.
  std::map<std::pair<std::string, std::string>, uint64_t> pause_sent;
  std::map<std::pair<std::string, std::string>, uint64_t> pfc_frames;
  struct Sender {
    std::string tenant;
    uint64_t pausing = 0, pfc_on = 0;  // 1 while asking the peers / pausing the hosts
    uint64_t pause_episodes = 0, pfc_episodes = 0;
    uint64_t xoff_bytes = 0;  // of its customer queue
  };
  std::vector<Sender> senders;
};

struct Snapshot {
  ConfigFacts config;
  Stats stats;  // as read by Datapath::read_stats() (per-CPU sums done)
  AccountingFacts accounting;
  ElephantFacts elephants;
  RdmaFacts rdma;
  ShapingFacts shaping;
};

// aigw_build_info and aigw_scrape_errors_total.
std::vector<prometheus::MetricFamily> exporter_families(std::string_view version,
                                                        uint64_t scrape_errors);
// The configuration gauges and the datapath counters of `s`. Interfaces
// without a slot, or whose slot has no counters in `s.stats`, are left out;
// every named drop reason and event is present (zeros included).
std::vector<prometheus::MetricFamily> snapshot_families(const Snapshot& s);
// Prometheus text exposition format 0.0.4.
std::string to_text(const std::vector<prometheus::MetricFamily>& families);

// Builds a Snapshot; called on an HTTP thread for every scrape, so it must be
// safe to call concurrently with the daemon's own work. May throw: the scrape
// then shows only the exporter families and aigw_scrape_errors_total grows.
using SnapshotSource = std::function<Snapshot()>;

// The /metrics listener. Construction starts it; destruction stops it and
// joins its threads, so no scrape (and no call of `source`) is running or
// will run once the destructor has returned.
class MetricsServer {
 public:
  // `listen` as validated by the config parser: "127.0.0.1:9469",
  // "[::1]:9469" (port 0 is accepted here: any free port). Throws std::runtime_error with the
  // address when it cannot listen (address in use, not local...).
  MetricsServer(const std::string& listen, std::string version, SnapshotSource source);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The port listened on (the kernel's choice when `listen` said port 0,
  // as tests do) and the URL scraped ("http://127.0.0.1:9469/metrics").
  int port() const { return port_; }
  const std::string& url() const { return url_; }

 private:
  class Collector;
  int port_ = 0;
  std::string url_;
  std::shared_ptr<Collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace aigw::telemetry
