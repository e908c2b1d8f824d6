// The configuration model: one state for the agent. The YAML file, aigwctl
// changes and `config show` all read and write this.
#pragma once

#include <aigw/abi.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"

namespace aigw {

// Source lines of individual fields of one object ("name", "prefixes[1]",
// "interface"...), recorded by the parser so that cross-object errors point at
// the right line. Not part of the object's value (ignored by operator==).
using FieldLines = std::map<std::string, int>;

enum class XdpMode { Native, Generic };
enum class IfRole { Customer, Wan };
enum class EncapMode { Encap, EncapRed };  // H.Encaps, H.Encaps.Red
// SRv6 endpoint behaviours: the values are the AIGW_BEH_* ids; names,
// attributes and encoding are rows of config/behaviors.hpp (a behaviour
// without a name here is still valid when it has a row).
enum class Behavior : uint16_t { End = 1, EndX, EndDX4, EndDX6, EndDT4, EndDT6, EndDT46 };
enum class ApnHeader { HopByHop, DestOpts };    // where the headend imposes the APN option
enum class ApnTrust { Trust, Rewrite, Strip };  // what a customer port does with hosts' APN IDs
enum class UsageFormat { JsonLines, Csv };

struct MapSizes {
  uint32_t policies = 1024;             // aigw_policies (slot 0 reserved)
  uint32_t prefixes4 = 16384;           // aigw_pfx4
  uint32_t prefixes6 = 16384;           // aigw_pfx6
  uint32_t sids = 1024;                 // aigw_sid_exact and aigw_sids, each
  uint32_t flows = 65536;               // aigw_flows (admission control when full)
  uint32_t class_prefixes = 32768;      // each aigw_cls_{src,dst}{4,6} (both banks)
  uint32_t class_port_bitmaps = 65536;  // aigw_cls_portbv (both banks, both fields)
  uint32_t apn_groups = 4096;           // aigw_apn_usage
  bool operator==(const MapSizes&) const = default;
};

struct AgentSettings {
  std::string socket = "/run/aigw/aigw.sock";
  uint32_t socket_mode = 0600;
  // Group of the socket file, as written (a name or a number; "" = unset),
  // and its gid, resolved when the file is read. When set, the group gets
  // read/write on the socket and peers other than uid 0 and the agent's own
  // uid may run only read commands.
  std::string socket_group;
  std::optional<uint32_t> socket_gid;
  std::string pin_path = "/sys/fs/bpf/aigw";
  std::string log_level = "info";  // debug|info|warn|error
  // Prometheus /metrics listener: "IPV4:PORT" or "[IPV6]:PORT"; "" = disabled
  // (written "off" in YAML).
  std::string metrics_listen = "127.0.0.1:9469";
  bool operator==(const AgentSettings&) const = default;
};

// tcp_mss_clamp: "auto" (0: from egress MTU), "off" (0xffff), or a number.
inline constexpr uint16_t kMssAuto = 0;
inline constexpr uint16_t kMssOff = 0xffff;

struct DatapathSettings {
  XdpMode xdp_mode = XdpMode::Native;
  MapSizes map_sizes;
  uint8_t hop_limit = 64;  // outer hop limit default for policies
  uint16_t tcp_mss_clamp = kMssAuto;
  uint32_t icmp_rate_limit = 1000;  // ICMP errors from XDP per second per CPU, 0 = unlimited
  uint32_t icmp_burst = 50;         // rate limiter bucket depth
  uint32_t nexthop_cache_ms = 20;   // headend next-hop cache validity, 0 = off
  bool operator==(const DatapathSettings&) const = default;
};

struct Interface {
  std::string name;
  IfRole role = IfRole::Customer;
  uint32_t vrf = 0;                  // customer: VRF for policy lookup
  std::optional<XdpMode> xdp_mode;   // overrides datapath.xdp_mode
  std::optional<uint16_t> vlan;      // match one 802.1Q VID on this port (customer)
  bool mss_clamp = true;             // clamp SYNs entering tunnels here
  ApnTrust apn = ApnTrust::Rewrite;  // customer: hosts' APN IDs (YAML key apn_trust)
  // What the link behind the port carries (bits/s), when less than the port
  // (a 10G port into a 1G circuit): the parent of the tenants' queues there.
  // 0: the port's own speed (/sys/class/net/NAME/speed).
  uint64_t speed_bps = 0;
  int line = 0;      // where it was defined (0 = runtime)
  FieldLines lines;  // per-field source lines (see FieldLines)
  bool operator==(const Interface& o) const {
    return name == o.name && role == o.role && vrf == o.vrf && xdp_mode == o.xdp_mode &&
           vlan == o.vlan && mss_clamp == o.mss_clamp && apn == o.apn && speed_bps == o.speed_bps;
  }
};

// One candidate segment list of a multipath policy (YAML paths[]).
inline constexpr uint32_t kMaxPathWeight = 1000;
inline constexpr uint64_t kMaxCapacityMbps = 10000000;  // 10 Tbit/s
struct PolicyPath {
  std::vector<Ip6> segments;              // in travel order, as Policy::segments
  uint32_t weight = 1;                    // share of the policy's flows, 1..kMaxPathWeight
  std::optional<uint64_t> capacity_mbps;  // for elephant placement; without an explicit
                                          // weight, the weight follows it
  bool operator==(const PolicyPath&) const = default;
};

struct Policy {
  std::string name;
  uint32_t vrf = 0;
  std::vector<Prefix> prefixes;  // IPv4 and/or IPv6 destinations steered
  EncapMode mode = EncapMode::Encap;
  Ip6 source;                        // outer source address
  std::vector<Ip6> segments;         // in travel order: segments[0] is the first SID;
                                     // with paths, the first path's (kept equal)
  std::vector<PolicyPath> paths;     // two or more candidate lists (YAML paths:), or
                                     // empty: one path, `segments`, weight 1
  std::optional<uint8_t> hop_limit;  // outer hop limit (default datapath.hop_limit)
  std::optional<uint16_t> tcp_mss;   // overrides datapath.tcp_mss_clamp
  int line = 0;
  FieldLines lines;
  bool operator==(const Policy& o) const {
    return name == o.name && vrf == o.vrf && prefixes == o.prefixes && mode == o.mode &&
           source == o.source && segments == o.segments && paths == o.paths &&
           hop_limit == o.hop_limit && tcp_mss == o.tcp_mss;
  }
};

struct Sid {
  Prefix sid;  // /128 exact SID or locator+function prefix
  Behavior behavior = Behavior::End;
  std::optional<uint32_t> table;         // End.DT4/DT6/DT46 (default 254 = main)
  std::optional<IpAddr> nexthop;         // End.X (v6), End.DX4 (v4), End.DX6 (v6)
  std::optional<std::string> interface;  // End.X / End.DX*: egress interface
  int line = 0;
  FieldLines lines;
  bool operator==(const Sid& o) const {
    return sid == o.sid && behavior == o.behavior && table == o.table && nexthop == o.nexthop &&
           interface == o.interface;
  }
};

// ------------------------------------------------------------ APN6, classification
// An APN ID: 4, 8 or 16 bytes (APN-ID-Type 1, 2, 3), network order. YAML:
// "0x0000000a00000001" (hex, 8/16/32 digits) or "APP:USER" with decimal or
// 0x group values split by apn.app_group_bits / user_group_bits.
struct ApnId {
  uint8_t len = 0;  // 0 = none
  std::array<uint8_t, 16> b{};
  bool operator==(const ApnId&) const = default;
};

struct ApnSettings {
  uint8_t option_type = 0x13;  // HBH/Dest option type (no IANA code point yet)
  ApnHeader header = ApnHeader::HopByHop;
  uint8_t id_bits = 64;          // 32 | 64 | 128: the APN ID template's length
  uint8_t app_group_bits = 32;   // leading bits = APP-Group-ID
  uint8_t user_group_bits = 32;  // next bits = USER-Group-ID (app + user <= id_bits)
  bool operator==(const ApnSettings&) const = default;
};

// A time window (UTC) in which a tenant has other rates
// (tenants[].schedule; config/schedule.hpp reads the clock against it).
struct ShapeWindow {
  uint8_t days = 0x7f;  // bit d: the window starts on day d (0 Monday .. 6 Sunday)
  uint32_t from_s = 0;  // seconds since 00:00 UTC
  uint32_t to_s = 0;    // <= from_s: ends on the next day
  uint64_t rate_bps = 0;
  uint64_t ceil_bps = 0;  // 0: = rate
  int line = 0;
  bool operator==(const ShapeWindow& o) const {
    return days == o.days && from_s == o.from_s && to_s == o.to_s && rate_bps == o.rate_bps &&
           ceil_bps == o.ceil_bps;
  }
};

struct Tenant {
  std::string name;
  uint16_t id = 0;  // 1..1023, stable across reloads (usage counters are kept by id)
  // Shaping (features/shaping.hpp): the tenant's queue on every WAN port.
  // rate_bps 0: not shaped (the XDP fast path).
  uint64_t rate_bps = 0;     // guaranteed
  uint64_t ceil_bps = 0;     // the most it may borrow up to (>= rate; 0: = rate)
  uint32_t burst_bytes = 0;  // sent at line speed at once (0: from the rate)
  // Other rates in time windows; outside them the rates above (none: the
  // fast path). Windows never overlap.
  std::vector<ShapeWindow> schedule;
  // The 802.1p priority of the tenant's traffic from the site's hosts: while
  // its WAN queue is above XOFF the gateway pauses that priority on the
  // customer ports with 802.1Qbb PFC frames (features/backpressure.hpp).
  std::optional<uint8_t> pfc_priority;
  int line = 0;
  FieldLines lines;
  bool operator==(const Tenant& o) const {
    return name == o.name && id == o.id && rate_bps == o.rate_bps && ceil_bps == o.ceil_bps &&
           burst_bytes == o.burst_bytes && schedule == o.schedule && pfc_priority == o.pfc_priority;
  }
};

// User-defined service class (built-ins: best-effort 0, training 1, inference 2,
// data-ingest 3, model-distribution 4, storage 5).
struct ServiceClass {
  std::string name;
  uint8_t id = 0;  // 6..15
  int line = 0;
  FieldLines lines;
  bool operator==(const ServiceClass& o) const { return name == o.name && id == o.id; }
};

struct PortRange {
  uint16_t lo = 0, hi = 65535;  // inclusive
  bool operator==(const PortRange&) const = default;
};

struct ApnMatch {
  ApnId value;  // compared as (packet & mask) == (value & mask); packet ID length must equal
  ApnId mask;   // same length as value; default all-ones
  bool operator==(const ApnMatch&) const = default;
};

// One classification rule. Matching: every condition given must hold (absent
// = any). Precedence: lower `priority` first, then file order; the first
// matching rule decides everything; what it leaves unset comes from
// classification.default. Rules are written from the customer side (src = the
// customer's host); WAN->customer traffic is matched with src/dst swapped.
struct ClassRule {
  std::string name;  // unique
  uint32_t priority = 100;
  // match
  std::optional<std::string> interface;   // interface_key() of a customer interface
  std::vector<Prefix> src, dst;           // any of; empty = any address (both families)
  std::optional<uint8_t> protocol;        // IP protocol number (YAML: tcp|udp|icmp|icmpv6|sctp|N)
  std::optional<PortRange> sport, dport;  // TCP/UDP/SCTP only
  std::optional<uint8_t> dscp;            // 0..63
  std::optional<ApnMatch> apn;
  // actions
  std::optional<std::string> tenant;         // Tenant::name
  std::optional<std::string> service_class;  // built-in or ServiceClass::name (YAML: class)
  std::optional<uint8_t> set_dscp;           // remark the customer packet's DSCP
  std::optional<std::string> policy;         // steer into this SRv6 policy (same VRF)
  std::optional<ApnId> set_apn;              // APN ID the headend imposes
  int line = 0;
  FieldLines lines;
  bool operator==(const ClassRule& o) const {
    return name == o.name && priority == o.priority && interface == o.interface && src == o.src &&
           dst == o.dst && protocol == o.protocol && sport == o.sport && dport == o.dport &&
           dscp == o.dscp && apn == o.apn && tenant == o.tenant &&
           service_class == o.service_class && set_dscp == o.set_dscp && policy == o.policy &&
           set_apn == o.set_apn;
  }
};

struct Classification {
  std::optional<std::string> default_tenant;  // none = "unclassified" (id 0)
  std::string default_class = "best-effort";
  std::optional<ApnId> default_apn;  // imposed when no rule sets one
  std::vector<ClassRule> rules;
  bool operator==(const Classification&) const = default;
};

struct FlowSettings {
  bool enabled = true;
  uint32_t idle_timeout_s = 15;    // flow ends after this long without packets
  uint32_t active_timeout_s = 60;  // long flows are reported (IPFIX) at least this often
  bool operator==(const FlowSettings&) const = default;
};

// Elephant flows (agent/features/elephants.hpp): detection in the datapath,
// confirmation over windows, placement on multipath policies' paths.
struct ElephantSettings {
  bool enabled = true;        // the datapath's sketch counts (a few ns per packet)
  uint32_t window_ms = 40;    // detection window, 10..1000
  uint64_t enter_mbps = 100;  // a window at or above this rate makes an elephant
  uint64_t leave_mbps = 50;   // <= enter; below it for hold_ms, a flow stops being one
  // For flows of a policy whose paths have capacities: shares of the policy's
  // capacity instead of enter/leave_mbps, in hundredths of a percent (0 = not set).
  uint32_t enter_pct_x100 = 0;
  uint32_t leave_pct_x100 = 0;  // <= enter; 0 with enter set: half of enter
  uint32_t hold_ms = 500;
  bool place = true;              // pin elephants of multipath policies to paths
  bool adapt_weights = true;      // paths with capacities: weights follow capacity less the
                                  // elephants' load
  uint32_t flowlet_gap_us = 500;  // idle time before a pinned flow moves (> the paths'
                                  // delay difference)
  bool operator==(const ElephantSettings&) const = default;
};

struct AccountingSettings {
  std::vector<uint32_t> periods_s = {60, 3600};   // aggregation periods (YAML "1m", "1h", "30s")
  uint32_t sample_interval_s = 1;                 // rate samples for peak / p95
  std::string usage_dir = "/var/lib/aigw/usage";  // usage records; "" = off
  UsageFormat usage_format = UsageFormat::JsonLines;
  std::string state_dir = "/var/lib/aigw/state";  // last-read counters (restart safety)
  uint32_t retention_s = 30 * 86400;              // usage files older than this go; 0 = keep
  bool operator==(const AccountingSettings&) const = default;
};

struct IpfixSettings {
  std::vector<std::string> collectors;  // "ADDR:PORT" / "[V6]:PORT" (UDP); empty = off
  uint32_t observation_domain = 1;
  uint32_t template_refresh_s = 60;  // templates re-sent this often (UDP)
  uint32_t enterprise = 32473;       // PEN of the tenant/APN elements (RFC 5612 documentation PEN)
  bool operator==(const IpfixSettings&) const = default;
};

// The RDMA proxy (agent/features/rdma_proxy.hpp): RoCEv2 of the selected
// tenants and classes goes through the agent's AF_XDP sockets, which cache
// it (sending side) and reorder it with selective NACKs (receiving side).
struct RdmaSelect {
  std::string tenant;
  std::string service_class;  // "" = every class of the tenant
  int line = 0;
  bool operator==(const RdmaSelect& o) const {
    return tenant == o.tenant && service_class == o.service_class;
  }
};

struct RdmaProxySettings {
  std::vector<RdmaSelect> select;  // empty: the proxy is off
  uint32_t queues = 1;             // receive queues per port served (0..queues-1), a thread each
  uint32_t frames = 4096;          // UMEM frames per socket (a power of two)
  uint32_t frame_size = 4096;      // 2048 | 4096
  uint32_t ring = 2048;            // ring descriptors (a power of two)
  bool zero_copy = false;
  uint32_t cache_ms = 20;           // sending side: how long a packet stays for resends (~2 RTT;
                                    // longer when ACKs take longer: SendCache::keep)
  uint64_t cache_bytes = 4u << 20;  // sending side: per stream
  uint32_t cache_packets = 8192;    // sending side: packets per stream (>= the hosts' window)
  uint32_t nack_ms = 2;             // receiving side: NACK again while a hole stays
  uint32_t give_up_ms = 50;         // receiving side: a hole older than this is released
  uint32_t max_held = 4096;         // receiving side: packets held per stream
  uint32_t max_streams = 4096;      // streams per side (least recently used out)
  uint32_t tenant_memory_mb = 256;  // per tenant and side, shared by its streams
  bool verify_icrc = true;          // receiving side: drop (and refill) a wrong ICRC
  std::string key_file;             // the gateways' shared NACK key ("" = NACKs without a MAC)
  int line = 0;
  bool operator==(const RdmaProxySettings& o) const {
    return select == o.select && queues == o.queues && frames == o.frames &&
           frame_size == o.frame_size && ring == o.ring && zero_copy == o.zero_copy &&
           cache_ms == o.cache_ms && cache_bytes == o.cache_bytes &&
           cache_packets == o.cache_packets && nack_ms == o.nack_ms && give_up_ms == o.give_up_ms &&
           max_held == o.max_held && max_streams == o.max_streams &&
           tenant_memory_mb == o.tenant_memory_mb && verify_icrc == o.verify_icrc &&
           key_file == o.key_file;
  }
};

// Pause/resume between gateways (features/backpressure.hpp): the peers
// this gateway takes pauses from, each with its HMAC-SHA256 key.
struct PausePeer {
  std::string name;
  IpAddr address;        // its underlay address: the source of its messages
  std::string key_file;  // 32..128 hex digits (read when the configuration is applied)
  uint32_t rtt_ms = 10;  // round trip to it: the feedback delay of the XOFF/XON thresholds
  int line = 0;
  bool operator==(const PausePeer& o) const {
    return name == o.name && address == o.address && key_file == o.key_file && rtt_ms == o.rtt_ms;
  }
};

struct BackpressureSettings {
  uint16_t port = 4792;          // UDP, on every address
  uint32_t max_pause_ms = 200;   // a pause ends this long after its last refresh
  std::optional<IpAddr> source;  // the address pauses are sent from (else the route's)
  std::vector<PausePeer> peers;  // empty: no listener, no pauses sent
  bool operator==(const BackpressureSettings&) const = default;
};

struct Config {
  AgentSettings agent;
  DatapathSettings datapath;
  std::vector<Interface> interfaces;
  std::vector<Policy> policies;  // names unique
  std::vector<Sid> sids;         // SID prefixes unique
  ApnSettings apn;
  std::vector<Tenant> tenants;        // names and ids unique
  std::vector<ServiceClass> classes;  // user-defined; names and ids unique
  Classification classification;
  FlowSettings flows;
  ElephantSettings elephants;
  AccountingSettings accounting;
  IpfixSettings ipfix;
  RdmaProxySettings rdma_proxy;
  BackpressureSettings backpressure;
  bool operator==(const Config&) const = default;  // ignores source lines
};

// Display names as used in YAML and by aigwctl.
const char* to_string(XdpMode m);
const char* to_string(IfRole r);
const char* to_string(EncapMode m);
const char* to_string(Behavior b);
std::optional<Behavior> behavior_from_string(std::string_view s);
std::optional<XdpMode> xdp_mode_from_string(std::string_view s);
std::optional<IfRole> if_role_from_string(std::string_view s);
std::optional<EncapMode> encap_mode_from_string(std::string_view s);
const char* to_string(ApnHeader h);
const char* to_string(ApnTrust t);
std::optional<ApnTrust> apn_trust_from_string(std::string_view s);
std::optional<ApnHeader> apn_header_from_string(std::string_view s);

const char* to_string(UsageFormat f);  // "jsonl", "csv"
// APN ID as "0x" + hex digits; "" when len == 0.
std::string apn_id_str(const ApnId& id);
// IP protocol as written in YAML: "tcp", "udp", "icmp", "icmpv6", "sctp" or the number.
std::string protocol_str(uint8_t p);
// "80" or "1000-2000".
std::string port_range_str(const PortRange& r);
// Seconds as written in YAML: "1h", "5m" or "30s" (the largest whole unit).
std::string duration_str(uint32_t seconds);

// Behaviours that take `table` (End.DT4, End.DT6, End.DT46; see behaviors.hpp).
bool is_dt(Behavior b);

// Default kernel routing table of End.DT* (RT_TABLE_MAIN).
inline constexpr uint32_t kDefaultTable = AIGW_RT_TABLE_MAIN;

// Key identifying an interface entry: "eth1", or "eth1 vlan 10" for a VLAN
// entry (a space never occurs in a kernel interface name).
std::string interface_key(const Interface& i);

// tcp_mss / tcp_mss_clamp as written in YAML: "auto", "off" or the number.
std::string mss_to_string(uint16_t mss);

}  // namespace aigw
