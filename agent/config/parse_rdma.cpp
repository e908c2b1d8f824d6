// Section rdma_proxy.
#include <fmt/format.h>

#include "config/parse_util.hpp"

namespace aigw::parse_detail {

namespace {

void parse_rdma_select(Sink& s, const Entry& e, std::vector<RdmaSelect>& out) {
  if (e.value.IsNull() || !expect_list(s, e, "{tenant: NAME, class: NAME} entries")) return;
  for (size_t i = 0; i < e.value.size(); ++i) {
    std::string path = index(e.field, i);
    const YAML::Node& n = e.value[i];
    if (!expect_object(s, n, path, "tenant, class")) continue;
    MapReader m(s, n, path, {"tenant", "class"});
    RdmaSelect x;
    x.line = line_of(n);
    auto t = m.require("tenant");
    if (!t) continue;
    auto name = read_name(s, *t);
    if (!name) continue;
    x.tenant = *name;
    if (auto c = m.get("class")) {
      auto cn = read_name(s, *c);
      if (!cn) continue;
      x.service_class = *cn;
    }
    out.push_back(std::move(x));
  }
}

bool power_of_two(uint64_t x) { return x && !(x & (x - 1)); }

}  // namespace

void parse_rdma_proxy(Sink& s, const Entry& e, RdmaProxySettings& x) {
  x.line = e.line();
  if (!expect_map_or_empty(s, e) || e.value.IsNull()) return;
  MapReader m(s, e.value, e.field,
              {"select", "queues", "frames", "frame_size", "ring", "zero_copy", "cache_ms",
               "cache_bytes", "cache_packets", "nack_ms", "give_up_ms", "max_held", "max_streams",
               "tenant_memory_mb", "verify_icrc", "key_file"});
  if (auto g = m.get("select")) parse_rdma_select(s, *g, x.select);
  auto num = [&](const char* key, uint64_t lo, uint64_t hi, auto& out, bool pow2 = false) {
    auto g = m.get(key);
    if (!g) return;
    auto v = read_uint(s, *g, lo, hi);
    if (!v) return;
    if (pow2 && !power_of_two(*v)) {
      s.error(g->line(), g->field, fmt::format("{} is not a power of two", *v));
      return;
    }
    out = static_cast<std::decay_t<decltype(out)>>(*v);
  };
  num("queues", 1, AIGW_XSK_QUEUES, x.queues);
  num("frames", 64, 1u << 20, x.frames, true);
  num("ring", 64, 1u << 16, x.ring, true);
  num("cache_ms", 1, 10000, x.cache_ms);
  num("cache_bytes", 1u << 16, uint64_t{1} << 32, x.cache_bytes);
  num("cache_packets", 64, 1u << 22, x.cache_packets);
  num("nack_ms", 1, 1000, x.nack_ms);
  num("give_up_ms", 1, 10000, x.give_up_ms);
  num("max_held", 16, 1u << 20, x.max_held);
  num("max_streams", 1, 1u << 20, x.max_streams);
  num("tenant_memory_mb", 1, 1u << 20, x.tenant_memory_mb);
  if (auto g = m.get("frame_size")) {
    if (auto v = read_uint(s, *g, 2048, 4096)) {
      if (*v != 2048 && *v != 4096)
        s.error(g->line(), g->field, fmt::format("expected 2048 or 4096, got {}", *v));
      else
        x.frame_size = static_cast<uint32_t>(*v);
    }
  }
  if (auto g = m.get("zero_copy")) {
    if (auto v = read_bool(s, *g)) x.zero_copy = *v;
  }
  if (auto g = m.get("verify_icrc")) {
    if (auto v = read_bool(s, *g)) x.verify_icrc = *v;
  }
  if (auto g = m.get("key_file")) {
    if (auto v = read_abs_path(s, *g, 4095)) x.key_file = *v;
  }
  if (x.give_up_ms <= x.nack_ms)
    s.error(e.line(), join(e.field, "give_up_ms"),
            fmt::format("{} is not above nack_ms ({}): a hole must be asked for before it is "
                        "given up",
                        x.give_up_ms, x.nack_ms));
  if (x.ring > x.frames / 2)
    s.error(e.line(), join(e.field, "ring"),
            fmt::format("{} is above half the frames ({}): the rings could not be filled", x.ring,
                        x.frames / 2));
}

}  // namespace aigw::parse_detail
