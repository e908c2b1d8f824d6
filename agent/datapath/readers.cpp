// The Datapath's counter and flow readers (datapath.hpp), over map_io.
#include <bpf/bpf.h>

#include <set>

#include "datapath/datapath.hpp"
#include "datapath/loader.hpp"
#include "datapath/map_io.hpp"

namespace aigw {

namespace {

Counters counters_of(const aigw_if_stats& p) {
  return Counters{p.rx, p.encap, p.decap, p.fwd, p.pass, p.drop, p.tx};
}

}  // namespace

Stats Datapath::read_stats() const {
  const Loader& l = loader();
  Stats s;
  // Configured interfaces, and slot 0: frames of ports or VLANs aigw has no
  // entry for.
  std::set<uint16_t> slots = {AIGW_IF_SLOT_UNKNOWN};
  const int fd = l.map_fd("aigw_if_stats");
  for (const auto& [name, slot] : interface_slots()) slots.insert(slot);
  for (uint16_t slot : slots) {
    aigw_if_stats sum{};
    if (maps::lookup_percpu_sum(fd, slot, l.ncpus(), sum)) s.by_slot[slot] = counters_of(sum);
  }
  s.drops = maps::read_percpu_ctrs(l.map_fd("aigw_drops"), AIGW_DROP_MAX, l.ncpus());
  s.events = maps::read_percpu_ctrs(l.map_fd("aigw_events"), AIGW_EV_MAX, l.ncpus());
  s.xmit = read_xmit_drops();
  return s;
}

std::map<uint32_t, aigw_xmit_drops> Datapath::read_xmit_drops() const {
  const Loader& l = loader();
  std::map<uint32_t, aigw_xmit_drops> out;
  maps::for_each_entry(l.map_fd("aigw_xmit_drops"), sizeof(uint32_t),
                       maps::percpu_value_size(sizeof(aigw_xmit_drops), l.ncpus()),
                       [&](const uint8_t* k, const uint8_t* v) {
                         out[maps::from_bytes<uint32_t>(k)] =
                             maps::sum_percpu<aigw_xmit_drops>(v, l.ncpus());
                       });
  return out;
}

std::vector<FlowEntry> Datapath::read_flows() const {
  std::vector<FlowEntry> out;
  maps::for_each_entry(
      loader().map_fd("aigw_flows"), sizeof(aigw_flow_key), sizeof(aigw_flow),
      [&](const uint8_t* k, const uint8_t* v) {
        out.push_back({maps::from_bytes<aigw_flow_key>(k), maps::from_bytes<aigw_flow>(v)});
      });
  return out;
}

size_t Datapath::delete_flows(const std::vector<aigw_flow_key>& keys) {
  const int fd = loader().map_fd("aigw_flows");
  size_t n = 0;
  for (const auto& k : keys)
    if (bpf_map_delete_elem(fd, &k) == 0) ++n;  // gone already: not counted
  return n;
}

std::vector<aigw_ctr> Datapath::read_usage() const {
  const Loader& l = loader();
  std::vector<aigw_ctr> out(AIGW_USAGE_ENTRIES);
  maps::for_each_entry(l.map_fd("aigw_usage"), sizeof(uint32_t),
                       maps::percpu_value_size(sizeof(aigw_ctr), l.ncpus()),
                       [&](const uint8_t* k, const uint8_t* v) {
                         auto idx = maps::from_bytes<uint32_t>(k);
                         if (idx < out.size()) out[idx] = maps::sum_percpu<aigw_ctr>(v, l.ncpus());
                       });
  return out;
}

ApnUsage Datapath::read_apn_usage() const {
  const Loader& l = loader();
  ApnUsage out;
  maps::for_each_entry(
      l.map_fd("aigw_apn_usage"), sizeof(aigw_apn_usage_key),
      maps::percpu_value_size(sizeof(aigw_ctr), l.ncpus()),
      [&](const uint8_t* k, const uint8_t* v) {
        auto key = maps::from_bytes<aigw_apn_usage_key>(k);
        maps::add_ctr(out[{key.dir, key.app_group}], maps::sum_percpu<aigw_ctr>(v, l.ncpus()));
      });
  return out;
}

std::map<uint32_t, aigw_ctr> Datapath::read_policy_stats() const {
  const Loader& l = loader();
  std::map<uint32_t, aigw_ctr> out;
  maps::for_each_entry(l.map_fd("aigw_pol_stats"), sizeof(uint32_t),
                       maps::percpu_value_size(sizeof(aigw_ctr), l.ncpus()),
                       [&](const uint8_t* k, const uint8_t* v) {
                         auto c = maps::sum_percpu<aigw_ctr>(v, l.ncpus());
                         if (c.packets || c.bytes) out[maps::from_bytes<uint32_t>(k)] = c;
                       });
  return out;
}

}  // namespace aigw
