// Section backpressure: the peers this gateway takes pauses from.
#include <fmt/format.h>

#include "config/parse_util.hpp"

namespace aigw::parse_detail {
namespace {

constexpr size_t kMaxPeers = 64;
constexpr size_t kMaxKeyPath = 4095;

std::optional<PausePeer> read_peer(Sink& s, const YAML::Node& n, const std::string& path) {
  size_t before = s.count();
  if (!expect_object(s, n, path, "name, address, key_file, rtt_ms")) return std::nullopt;
  PausePeer p;
  p.line = line_of(n);
  MapReader m(s, n, path, {"name", "address", "key_file", "rtt_ms"});
  if (auto e = m.require("name"))
    if (auto v = read_name(s, *e)) p.name = *v;
  if (auto e = m.require("address")) {
    if (auto v = read_ip(s, *e)) {
      bool unicast = std::visit(
          [](const auto& a) {
            if constexpr (std::is_same_v<std::decay_t<decltype(a)>, Ip4>)
              return !a.is_zero() && !a.is_multicast() && !a.is_broadcast();
            else
              return !a.is_zero() && !a.is_multicast();
          },
          *v);
      if (!unicast) s.error(e->line(), e->field, "a peer's address is a unicast address");
      p.address = *v;
    }
  }
  if (auto e = m.require("key_file"))
    if (auto v = read_abs_path(s, *e, kMaxKeyPath)) p.key_file = *v;
  if (auto e = m.get("rtt_ms"))
    if (auto v = read_uint(s, *e, 1, 1000)) p.rtt_ms = static_cast<uint32_t>(*v);
  if (s.count() != before) return std::nullopt;
  return p;
}

}  // namespace

void parse_backpressure(Sink& s, const Entry& e, BackpressureSettings& b) {
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field, {"port", "max_pause_ms", "source", "peers"});
  if (auto g = m.get("port"))
    if (auto v = read_uint(s, *g, 1, 65535)) b.port = static_cast<uint16_t>(*v);
  if (auto g = m.get("max_pause_ms"))
    if (auto v = read_uint(s, *g, 10, 10'000)) b.max_pause_ms = static_cast<uint32_t>(*v);
  if (auto g = m.get("source"))
    if (auto v = read_ip(s, *g)) b.source = *v;
  auto peers = m.get("peers");
  if (!peers || peers->value.IsNull() || !expect_list(s, *peers, "peers (name, address, key_file)"))
    return;
  if (peers->value.size() > kMaxPeers) {
    s.error(peers->line(), peers->field,
            fmt::format("{} peers, at most {}", peers->value.size(), kMaxPeers));
    return;
  }
  for (size_t i = 0; i < peers->value.size(); i++) {
    std::string path = index(peers->field, i);
    auto p = read_peer(s, peers->value[i], path);
    if (!p) continue;
    for (const auto& q : b.peers) {
      if (q.name == p->name)
        s.error(p->line, join(path, "name"),
                fmt::format("peer '{}' is already defined at line {}", p->name, q.line));
      else if (q.address == p->address)
        s.error(p->line, join(path, "address"),
                fmt::format("address {} is peer '{}''s already (line {})", ip_str(p->address),
                            q.name, q.line));
    }
    b.peers.push_back(std::move(*p));
  }
}

}  // namespace aigw::parse_detail
