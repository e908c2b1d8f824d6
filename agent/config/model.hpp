// The configuration model: one state for the agent. The YAML file, aigwctl
// changes and `config show` all read and write this.
#pragma once

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
enum class Behavior { End, EndX, EndDX4, EndDX6, EndDT4, EndDT6, EndDT46 };

struct MapSizes {
  uint32_t policies = 1024;   // aigw_policies (slot 0 reserved)
  uint32_t prefixes4 = 16384; // aigw_pfx4
  uint32_t prefixes6 = 16384; // aigw_pfx6
  uint32_t sids = 1024;       // aigw_sids
  bool operator==(const MapSizes&) const = default;
};

struct AgentSettings {
  std::string socket = "/run/aigw/aigw.sock";
  uint32_t socket_mode = 0600;
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
  uint8_t hop_limit = 64;        // outer hop limit default for policies
  uint16_t tcp_mss_clamp = kMssAuto;
  uint32_t icmp_rate_limit = 1000;  // ICMP errors from XDP per second per CPU, 0 = unlimited
  uint32_t icmp_burst = 50;         // rate limiter bucket depth
  uint32_t nexthop_cache_ms = 20;   // headend next-hop cache validity, 0 = off
  bool operator==(const DatapathSettings&) const = default;
};

struct Interface {
  std::string name;
  IfRole role = IfRole::Customer;
  uint32_t vrf = 0;                       // customer: VRF for policy lookup
  std::optional<XdpMode> xdp_mode;        // overrides datapath.xdp_mode
  std::optional<uint16_t> vlan;           // match one 802.1Q VID on this port (customer)
  bool mss_clamp = true;                  // clamp SYNs entering tunnels here
  int line = 0;                           // where it was defined (0 = runtime)
  FieldLines lines;                       // per-field source lines (see FieldLines)
  bool operator==(const Interface& o) const {
    return name == o.name && role == o.role && vrf == o.vrf && xdp_mode == o.xdp_mode &&
           vlan == o.vlan && mss_clamp == o.mss_clamp;
  }
};

struct Policy {
  std::string name;
  uint32_t vrf = 0;
  std::vector<Prefix> prefixes;        // IPv4 and/or IPv6 destinations steered
  EncapMode mode = EncapMode::Encap;
  Ip6 source;                          // outer source address
  std::vector<Ip6> segments;           // in travel order: segments[0] is the first SID
  std::optional<uint8_t> hop_limit;    // outer hop limit (default datapath.hop_limit)
  std::optional<uint16_t> tcp_mss;     // overrides datapath.tcp_mss_clamp
  int line = 0;
  FieldLines lines;
  bool operator==(const Policy& o) const {
    return name == o.name && vrf == o.vrf && prefixes == o.prefixes && mode == o.mode &&
           source == o.source && segments == o.segments && hop_limit == o.hop_limit &&
           tcp_mss == o.tcp_mss;
  }
};

struct Sid {
  Prefix sid;                          // /128 exact SID or locator+function prefix
  Behavior behavior = Behavior::End;
  std::optional<uint32_t> table;       // End.DT4/DT6/DT46 (default 254 = main)
  std::optional<IpAddr> nexthop;       // End.X (v6), End.DX4 (v4), End.DX6 (v6)
  std::optional<std::string> interface;// End.X / End.DX*: egress interface
  int line = 0;
  FieldLines lines;
  bool operator==(const Sid& o) const {
    return sid == o.sid && behavior == o.behavior && table == o.table && nexthop == o.nexthop &&
           interface == o.interface;
  }
};

struct Config {
  AgentSettings agent;
  DatapathSettings datapath;
  std::vector<Interface> interfaces;
  std::vector<Policy> policies;  // names unique
  std::vector<Sid> sids;         // SID prefixes unique
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

// Behaviour groups.
bool is_dt(Behavior b);  // End.DT4, End.DT6, End.DT46: take `table`

// Default kernel routing table of End.DT* (RT_TABLE_MAIN).
inline constexpr uint32_t kDefaultTable = 254;

// Key identifying an interface entry: "eth1", or "eth1 vlan 10" for a VLAN
// entry (a space never occurs in a kernel interface name).
std::string interface_key(const Interface& i);

// tcp_mss / tcp_mss_clamp as written in YAML: "auto", "off" or the number.
std::string mss_to_string(uint16_t mss);

}  // namespace aigw
