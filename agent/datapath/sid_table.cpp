// SidTable (tables.hpp): the endpoint's local SIDs.
#include <fmt/format.h>

#include <cstring>

#include "datapath/encode.hpp"
#include "datapath/tables.hpp"

namespace aigw::dp {

SidTable::SidTable(const Loader& l) : fd_(l.map_fd("aigw_sids")) {}

void SidTable::read_back() {
  sids_ = maps::dump(fd_, sizeof(aigw_sid_key), sizeof(aigw_sid_entry));
}

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
    want_[maps::to_bytes(k)] = maps::to_bytes(encode_sid(s, oif, ++id));
  }
  if (want_.size() > ctx.next.datapath.map_sizes.sids)
    throw ApplyError("more SIDs than datapath.map_sizes.sids allows");
}

void SidTable::add(const core::ApplyContext&) { maps::upsert(fd_, sids_, want_, "SID"); }

void SidTable::remove(const core::ApplyContext&) { maps::prune(fd_, sids_, want_, "SID"); }

}  // namespace aigw::dp
