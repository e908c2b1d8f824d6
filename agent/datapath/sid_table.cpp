// SidTable (tables.hpp): the endpoint's local SIDs.
#include <fmt/format.h>

#include <cstring>

#include "datapath/tables.hpp"

namespace aigw::dp {
namespace {

uint16_t behavior_id(Behavior b) {
  switch (b) {
    case Behavior::End:
      return AIGW_BEH_END;
    case Behavior::EndX:
      return AIGW_BEH_END_X;
    case Behavior::EndDX4:
      return AIGW_BEH_END_DX4;
    case Behavior::EndDX6:
      return AIGW_BEH_END_DX6;
    case Behavior::EndDT4:
      return AIGW_BEH_END_DT4;
    case Behavior::EndDT6:
      return AIGW_BEH_END_DT6;
    case Behavior::EndDT46:
      return AIGW_BEH_END_DT46;
  }
  return AIGW_BEH_NONE;
}

aigw_sid_entry encode_sid_entry(const Sid& s, uint32_t oif, uint32_t id) {
  aigw_sid_entry e{};
  e.id = id;
  e.behavior = behavior_id(s.behavior);
  e.table = s.table.value_or(254);
  e.oif = oif;
  if (s.nexthop) {
    if (const auto* v4 = std::get_if<Ip4>(&*s.nexthop))
      e.nh4 = v4->be();
    else
      std::memcpy(e.nh6, std::get<Ip6>(*s.nexthop).b.data(), 16);
  }
  return e;
}

}  // namespace

SidTable::SidTable(const Loader& l) : fd_(l.map_fd("aigw_sids")) {}

void SidTable::read_back() { sids_ = maps::dump(fd_, sizeof(aigw_sid_key), sizeof(aigw_sid_entry)); }

void SidTable::plan(const core::ApplyContext& ctx) {
  want_.clear();
  uint32_t id = 0;
  for (const auto& s : ctx.next.sids) {
    aigw_sid_key k{};
    k.prefixlen = s.sid.len;
    std::memcpy(k.addr, s.sid.b.data(), 16);
    uint32_t oif = 0;
    if (s.interface) {
      auto li = ctx.links.resolve(*s.interface);
      if (!li) throw ApplyError(fmt::format("interface {} not found", *s.interface));
      oif = static_cast<uint32_t>(li->ifindex);
    }
    want_[maps::to_bytes(k)] = maps::to_bytes(encode_sid_entry(s, oif, ++id));
  }
  if (want_.size() > ctx.next.datapath.map_sizes.sids)
    throw ApplyError("more SIDs than datapath.map_sizes.sids allows");
}

void SidTable::add(const core::ApplyContext&) { maps::upsert(fd_, sids_, want_, "SID"); }

void SidTable::remove(const core::ApplyContext&) { maps::prune(fd_, sids_, want_, "SID"); }

}  // namespace aigw::dp
