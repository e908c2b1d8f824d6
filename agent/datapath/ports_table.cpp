// GlobalsTable, TxPorts and IfaceTable (tables.hpp).
#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "datapath/tables.hpp"

namespace aigw::dp {
namespace {

const LinkInfo& must_resolve(const core::ApplyContext& ctx, const std::string& name,
                             std::optional<LinkInfo>& holder) {
  holder = ctx.links.resolve(name);
  if (!holder) throw ApplyError(fmt::format("interface {} not found", name));
  return *holder;
}

aigw_iface_cfg encode_iface(const Interface& i, const LinkInfo& li, uint16_t slot) {
  aigw_iface_cfg cfg{};
  cfg.vrf = i.vrf;
  cfg.slot = slot;
  cfg.role = i.role == IfRole::Customer ? AIGW_ROLE_CUSTOMER : AIGW_ROLE_WAN;
  cfg.flags = i.mss_clamp ? AIGW_IF_F_MSS_CLAMP : 0;
  if (i.apn == ApnTrust::Trust) cfg.flags |= AIGW_IF_F_APN_TRUST;
  if (i.apn == ApnTrust::Strip) cfg.flags |= AIGW_IF_F_APN_STRIP;
  cfg.addr4 = li.addr4_be;
  std::memcpy(cfg.addr6, li.addr6.data(), 16);
  return cfg;
}

}  // namespace

// ------------------------------------------------------------------ globals

GlobalsTable::GlobalsTable(const Loader& l, const MapSizes& loaded)
    : fd_(l.map_fd("aigw_globals")), loaded_(loaded) {}

void GlobalsTable::plan(const core::ApplyContext& ctx) {
  if (!(ctx.next.datapath.map_sizes == loaded_))
    throw ApplyError("datapath.map_sizes changed: restart aigwd to resize the maps");
}

// The generation continues across restarts (flow entries cache decisions by it).
void GlobalsTable::read_back() {
  uint32_t zero = 0;
  aigw_globals g{};
  if (bpf_map_lookup_elem(fd_, &zero, &g) == 0) generation_ = g.gen;
}

void GlobalsTable::write(const DatapathSettings& dp) {
  aigw_globals g{};
  g.icmp_rate = dp.icmp_rate_limit;
  g.icmp_burst = dp.icmp_burst;
  g.nh_cache_ms = dp.nexthop_cache_ms;
  g.gen = generation_;
  uint32_t zero = 0;
  if (bpf_map_update_elem(fd_, &zero, &g, BPF_ANY) != 0)
    throw ApplyError(fmt::format("write datapath globals: {}", maps::errstr(errno)));
}

void GlobalsTable::bump() {
  uint32_t zero = 0;
  aigw_globals g{};
  if (bpf_map_lookup_elem(fd_, &zero, &g) != 0)
    throw ApplyError(fmt::format("read datapath globals: {}", maps::errstr(errno)));
  g.gen = ++generation_;
  if (bpf_map_update_elem(fd_, &zero, &g, BPF_ANY) != 0)
    throw ApplyError(fmt::format("write datapath globals: {}", maps::errstr(errno)));
}

void CacheGeneration::commit(const core::ApplyContext&) {
  armed_ = false;
  globals_.bump();
}

// An apply failed after planning: what it wrote may be memoised.
void CacheGeneration::abort() {
  if (!std::exchange(armed_, false)) return;
  try {
    globals_.bump();
  } catch (const ApplyError& e) {
    if (log_) log_->error("datapath caches may hold entries of a failed apply: {}", e.what());
  }
}

// ------------------------------------------------------------------ tx ports

TxPorts::TxPorts(const Loader& l)
    : fd_(l.map_fd("aigw_tx")), fd_xmit_(l.map_fd("aigw_xmit_drops")), ncpus_(l.ncpus()) {}

// Created once, zero; kept across restarts (the map is pinned), so the
// counters continue.
void TxPorts::ensure_xmit_entry(uint32_t ifindex) const {
  maps::Bytes zero(maps::percpu_value_size(sizeof(aigw_xmit_drops), ncpus_), 0);
  if (bpf_map_update_elem(fd_xmit_, &ifindex, zero.data(), BPF_NOEXIST) != 0 && errno != EEXIST)
    throw ApplyError(fmt::format("add {} to the transmit drop map: {}",
                                 ifname_of(static_cast<int>(ifindex)), maps::errstr(errno)));
}

void TxPorts::read_back() {
  maps::for_each_key(fd_, sizeof(uint32_t),
                     [&](const uint8_t* k) { tx_.insert(maps::from_bytes<uint32_t>(k)); });
}

void TxPorts::plan(const core::ApplyContext& ctx) {
  want_.clear();
  std::optional<LinkInfo> li;
  for (const auto& i : ctx.next.interfaces)
    want_.insert(static_cast<uint32_t>(must_resolve(ctx, i.name, li).ifindex));
}

void TxPorts::add(const core::ApplyContext&) {
  for (uint32_t ifindex : want_) {
    ensure_xmit_entry(ifindex);
    if (tx_.count(ifindex)) continue;
    if (bpf_map_update_elem(fd_, &ifindex, &ifindex, BPF_ANY) != 0)
      throw ApplyError(fmt::format("add {} to the tx port map: {}",
                                   ifname_of(static_cast<int>(ifindex)), maps::errstr(errno)));
    tx_.insert(ifindex);
  }
}

void TxPorts::remove(const core::ApplyContext&) {
  for (auto it = tx_.begin(); it != tx_.end();) {
    if (want_.count(*it)) {
      ++it;
      continue;
    }
    uint32_t k = *it;
    bpf_map_delete_elem(fd_, &k);
    bpf_map_delete_elem(fd_xmit_, &k);
    it = tx_.erase(it);
  }
}

// ------------------------------------------------------------------ interfaces

IfaceTable::IfaceTable(const Loader& l)
    : fd_(l.map_fd("aigw_ifaces")), fd_stats_(l.map_fd("aigw_if_stats")), ncpus_(l.ncpus()) {}

void IfaceTable::read_back() {
  ifaces_ = maps::dump(fd_, sizeof(aigw_iface_key), sizeof(aigw_iface_cfg));
  for (const auto& [k, v] : ifaces_) {
    auto key = maps::from_bytes<aigw_iface_key>(k.data());
    auto cfg = maps::from_bytes<aigw_iface_cfg>(v.data());
    std::string name = ifname_of(static_cast<int>(key.ifindex));
    if (key.vlan) name += fmt::format(" vlan {}", key.vlan);
    slots_[name] = cfg.slot;
  }
}

uint16_t IfaceTable::alloc_slot(const std::set<uint16_t>& taken) const {
  for (uint16_t s = 1; s < AIGW_MAX_IFACES; ++s)
    if (!taken.count(s)) return s;
  throw ApplyError(fmt::format("more than {} interfaces", AIGW_MAX_IFACES - 1));
}

void IfaceTable::plan(const core::ApplyContext& ctx) {
  want_.clear();
  want_slots_.clear();
  // A slot still held by an interface this apply removes is not handed out:
  // its entry lives until remove(), and its packets must not be counted as
  // the new interface's.
  std::set<uint16_t> taken;
  for (const auto& [key, slot] : slots_) taken.insert(slot);
  std::optional<LinkInfo> li;
  for (const auto& i : ctx.next.interfaces) {
    const LinkInfo& link = must_resolve(ctx, i.name, li);
    const std::string kname = interface_key(i);
    auto it = slots_.find(kname);
    const uint16_t slot = it != slots_.end() ? it->second : alloc_slot(taken);
    taken.insert(slot);
    want_slots_[kname] = slot;
    aigw_iface_key key{};
    key.ifindex = static_cast<uint32_t>(link.ifindex);
    key.vlan = i.vlan.value_or(0);
    want_[maps::to_bytes(key)] = maps::to_bytes(encode_iface(i, link, slot));
  }
}

void IfaceTable::add(const core::ApplyContext&) {
  for (const auto& [kname, slot] : want_slots_)
    if (!slots_.count(kname))
      maps::zero_percpu(fd_stats_, slot, sizeof(aigw_if_stats), ncpus_,
                        "counters of interface slot");
  maps::upsert(fd_, ifaces_, want_, "interface");
}

void IfaceTable::remove(const core::ApplyContext&) {
  maps::prune(fd_, ifaces_, want_, "interface");
}

void IfaceTable::commit(const core::ApplyContext&) { slots_ = want_slots_; }

std::optional<uint16_t> IfaceTable::slot_of(const std::string& key) const {
  auto it = slots_.find(key);
  if (it == slots_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint16_t> IfaceTable::planned_slot(const std::string& key) const {
  auto it = want_slots_.find(key);
  if (it == want_slots_.end()) return std::nullopt;
  return it->second;
}

}  // namespace aigw::dp
