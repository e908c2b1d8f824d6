// Plain data the datapath hands out and takes in: interface facts, counter
// snapshots, flow entries, errors. No libbpf here, so telemetry and the
// netlink layer can use these types without linking the datapath.
#pragma once

#include <aigw/abi.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace aigw {

struct DatapathError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A change the apply step could not make; the maps keep their previous
// contents for that object.
struct ApplyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the datapath needs to know about a kernel interface.
struct LinkInfo {
  int ifindex = 0;
  uint32_t mtu = 0;
  uint32_t addr4_be = 0;            // first IPv4 address (network order), 0 = none
  std::array<uint8_t, 16> addr6{};  // first global IPv6 address, zero = none
};

// Resolves interface names in the agent's network namespace.
class LinkResolver {
 public:
  virtual ~LinkResolver() = default;
  virtual std::optional<LinkInfo> resolve(const std::string& ifname) const = 0;
};

// Caches one resolution per name for the duration of one apply, so that
// every table of that apply sees the same interface facts.
class CachingResolver : public LinkResolver {
 public:
  explicit CachingResolver(const LinkResolver& inner) : inner_(inner) {}
  std::optional<LinkInfo> resolve(const std::string& ifname) const override {
    auto it = cache_.find(ifname);
    if (it == cache_.end()) it = cache_.emplace(ifname, inner_.resolve(ifname)).first;
    return it->second;
  }

 private:
  const LinkResolver& inner_;
  mutable std::map<std::string, std::optional<LinkInfo>> cache_;
};

// The kernel's name of an interface ("ifN" when it has none).
std::string ifname_of(int ifindex);

// The programs aigw loads: XDP headend (customer ports), XDP endpoint (WAN
// ports).
enum class Prog { Headend, Endpoint };

// Counters summed over CPUs.
struct Counters {
  aigw_ctr rx{}, encap{}, decap{}, fwd{}, pass{}, drop{}, tx{};
};

// One entry of aigw_flows.
struct FlowEntry {
  aigw_flow_key key{};
  aigw_flow flow{};
};

// (direction, APN app-group) -> counters.
using ApnUsage = std::map<std::pair<uint8_t, uint64_t>, aigw_ctr>;

struct Stats {
  std::map<uint16_t, Counters> by_slot;  // counter slot -> counters (slot 0: unconfigured)
  std::vector<aigw_ctr> drops;           // indexed by enum aigw_drop_reason
  std::vector<aigw_ctr> events;          // indexed by enum aigw_event
  std::map<uint32_t, aigw_xmit_drops> xmit;  // egress ifindex -> frames it did not send
};

}  // namespace aigw
