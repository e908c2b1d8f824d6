// SidTable (tables.hpp): the endpoint's local SIDs.
#include <fmt/format.h>

#include <cstring>

#include "datapath/encode.hpp"
#include "datapath/tables.hpp"

namespace aigw::dp {

namespace {

constexpr size_t kExact = 0, kLpm = 1;

// The SID's key in the map that holds it (abi.h: a /128 in the exact map).
std::pair<size_t, Bytes> sid_key(const Prefix& p) {
  if (p.len == 128) {
    aigw_sid_addr k{};
    std::memcpy(k.addr, p.b.data(), sizeof(k.addr));
    return {kExact, maps::to_bytes(k)};
  }
  aigw_sid_key k{};
  k.prefixlen = p.len;
  std::memcpy(k.addr, p.b.data(), sizeof(k.addr));
  return {kLpm, maps::to_bytes(k)};
}

}  // namespace

SidTable::SidTable(const Loader& l)
    : maps_{Map{l.map_fd("aigw_sid_exact"), {}, {}}, Map{l.map_fd("aigw_sids"), {}, {}}} {}

void SidTable::read_back() {
  maps_[kExact].have = maps::dump(maps_[kExact].fd, sizeof(aigw_sid_addr), sizeof(aigw_sid_entry));
  maps_[kLpm].have = maps::dump(maps_[kLpm].fd, sizeof(aigw_sid_key), sizeof(aigw_sid_entry));
}

void SidTable::plan(const core::ApplyContext& ctx) {
  for (auto& m : maps_) m.want.clear();
  uint32_t id = 0;
  for (const auto& s : ctx.next.sids) {
    auto [map, key] = sid_key(s.sid);
    uint32_t oif = 0;
    if (s.interface) {
      auto li = ctx.links.resolve(*s.interface);
      if (!li) throw ApplyError(fmt::format("interface {} not found", *s.interface));
      oif = static_cast<uint32_t>(li->ifindex);
    }
    maps_[map].want[key] = maps::to_bytes(encode_sid(s, oif, ++id));
  }
  if (ctx.next.sids.size() > ctx.next.datapath.map_sizes.sids)
    throw ApplyError("more SIDs than datapath.map_sizes.sids allows");
}

void SidTable::add(const core::ApplyContext&) {
  for (auto& m : maps_) maps::upsert(m.fd, m.have, m.want, "SID");
}

void SidTable::remove(const core::ApplyContext&) {
  for (auto& m : maps_) maps::prune(m.fd, m.have, m.want, "SID");
}

}  // namespace aigw::dp
