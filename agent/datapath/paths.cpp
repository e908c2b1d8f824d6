// Multipath policies: the Maglev bucket table (paths.hpp).
#include "datapath/paths.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>

namespace aigw {
namespace {

constexpr uint8_t kFree = 0xff;

// splitmix64's finaliser: the two permutation parameters from one id.
uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Walker {
  uint32_t offset, skip, next = 0;
  uint64_t credit = 0;
  // The next bucket of this path's permutation that is still free.
  uint32_t claim(std::vector<uint8_t>& table) {
    const auto m = static_cast<uint32_t>(table.size());
    uint32_t b;
    do {
      b = static_cast<uint32_t>((offset + static_cast<uint64_t>(next) * skip) % m);
      ++next;
    } while (table[b] != kFree);
    return b;
  }
};

void check(const std::vector<PolicyPath>& paths) {
  if (paths.empty() || paths.size() > AIGW_MAX_PATHS)
    throw std::invalid_argument(
        fmt::format("{} paths: a policy has 1..{}", paths.size(), AIGW_MAX_PATHS));
  std::set<uint64_t> ids;
  for (const auto& p : paths) {
    if (p.weight == 0) throw std::invalid_argument("a path of weight 0");
    if (!ids.insert(path_id(p.segments)).second)
      throw std::invalid_argument("two paths with the same segment list");
  }
}

}  // namespace

uint64_t path_id(const std::vector<Ip6>& segments) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (const auto& s : segments)
    for (uint8_t byte : s.b) h = (h ^ byte) * 0x100000001b3ULL;
  return h;
}

std::vector<uint8_t> maglev_table(const std::vector<PolicyPath>& paths, uint32_t buckets) {
  check(paths);
  if (buckets < 2) throw std::invalid_argument("a table of fewer than 2 buckets");
  std::vector<uint64_t> ids;
  for (const auto& p : paths) ids.push_back(path_id(p.segments));
  // Walk in id order: the table does not depend on the order of the config.
  std::vector<size_t> order(paths.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  std::vector<Walker> w;
  uint32_t wmax = 0;
  for (size_t i : order) {
    uint64_t id = ids[i];
    w.push_back({static_cast<uint32_t>(mix64(id) % buckets),
                 static_cast<uint32_t>(mix64(id ^ 0x9e3779b97f4a7c15ULL) % (buckets - 1) + 1)});
    wmax = std::max(wmax, paths[i].weight);
  }
  std::vector<uint8_t> table(buckets, kFree);
  uint32_t filled = 0;
  while (filled < buckets) {
    for (size_t k = 0; k < order.size() && filled < buckets; ++k) {
      w[k].credit += paths[order[k]].weight;
      while (w[k].credit >= wmax && filled < buckets) {
        w[k].credit -= wmax;
        table[w[k].claim(table)] = static_cast<uint8_t>(order[k]);
        ++filled;
      }
    }
  }
  return table;
}

aigw_path_group encode_path_group(const Policy& p, const std::vector<uint32_t>& slots) {
  if (p.paths.size() < 2 || slots.size() != p.paths.size())
    throw std::invalid_argument(
        fmt::format("policy {}: a path group needs a slot per path and "
                    "two or more paths",
                    p.name));
  aigw_path_group g{};
  g.npaths = static_cast<uint32_t>(p.paths.size());
  for (size_t i = 0; i < slots.size(); ++i) g.slot[i] = slots[i];
  auto table = maglev_table(p.paths);
  std::copy(table.begin(), table.end(), g.bucket);
  return g;
}

}  // namespace aigw
