#include "datapath/datapath.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>

#include "common/fd.hpp"
#include "datapath/cls_encode.hpp"
#include "xdp_endpoint.skel.h"
#include "xdp_headend.skel.h"

namespace aigw {
namespace {

using Bytes = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;

// A released policy slot is not reused before this long: a packet that read
// the old slot number from the prefix map may still be reading the slot.
constexpr auto kSlotQuarantine = std::chrono::seconds(2);

constexpr const char* kMapNames[] = {
    "aigw_ifaces",      "aigw_pfx4",      "aigw_pfx6",     "aigw_policies",   "aigw_sids",
    "aigw_tx",          "aigw_if_stats",  "aigw_drops",    "aigw_events",     "aigw_globals",
    "aigw_icmp_bucket", "aigw_nh_cache",  "aigw_cls_meta", "aigw_cls_active", "aigw_cls_rules",
    "aigw_cls_iface",   "aigw_cls_proto", "aigw_cls_dscp", "aigw_cls_sport",  "aigw_cls_dport",
    "aigw_cls_portbv",  "aigw_cls_src4",  "aigw_cls_dst4", "aigw_cls_src6",   "aigw_cls_dst6",
    "aigw_cls_apn",     "aigw_cls_misc",  "aigw_flows",    "aigw_usage",      "aigw_apn_usage",
    "aigw_pol_stats"};

std::string errstr(int err) { return std::strerror(err < 0 ? -err : err); }

template <class T>
Bytes to_bytes(const T& v) {
  Bytes b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

struct HeadendDeleter {
  void operator()(xdp_headend* s) const { xdp_headend__destroy(s); }
};
struct EndpointDeleter {
  void operator()(xdp_endpoint* s) const { xdp_endpoint__destroy(s); }
};

// The fd of a map the programs must define; a BPF object built without it
// (an older bpf/) is a clear error rather than a crash.
bpf_map* find_map(bpf_object* obj, const char* name) {
  bpf_map* m = bpf_object__find_map_by_name(obj, name);
  if (!m) throw DatapathError(fmt::format("map {} is not in the BPF object", name));
  return m;
}

// libbpf returns -errno (and sets errno); the batch operations report
// "unsupported for this map type" in several ways.
bool batch_unsupported(int err) {
  err = err < 0 ? -err : err;
  return err == EINVAL || err == EOPNOTSUPP || err == 524 /* kernel ENOTSUPP */;
}

// Writes n entries (keys and values packed back to back): one
// BPF_MAP_UPDATE_BATCH where the map type has it, one update per entry where
// it does not or the batch failed (the per-entry loop names the failure;
// updates are idempotent, so restarting from the first entry is harmless).
void update_many(int fd, const void* keys, const void* vals, uint32_t n, size_t ksz, size_t vsz,
                 const char* what) {
  if (n == 0) return;
  uint32_t count = n;
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
  if (bpf_map_update_batch(fd, keys, vals, &count, &opts) == 0 && count == n) return;
  const auto* k = static_cast<const uint8_t*>(keys);
  const auto* v = static_cast<const uint8_t*>(vals);
  for (uint32_t i = 0; i < n; ++i)
    if (bpf_map_update_elem(fd, k + i * ksz, v + i * vsz, BPF_ANY) != 0)
      throw ApplyError(fmt::format("update {}: {}", what, errstr(errno)));
}

// Calls fn(key, value) for every entry of a map (value = vsz bytes: for
// per-CPU maps the per-CPU values back to back). BPF_MAP_LOOKUP_BATCH in
// chunks where the map type has it, get_next_key + lookup where not.
template <class Fn>
void for_each_entry(int fd, size_t ksz, size_t vsz, Fn&& fn) {
  uint32_t chunk = 1024;
  Bytes keys(ksz * chunk), vals(vsz * chunk);
  // The batch cursor: a u32 bucket for hash maps, a key for the others.
  Bytes in(std::max<size_t>(ksz, 8)), out(in.size());
  bool first = true;
  for (;;) {
    uint32_t count = chunk;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(fd, first ? nullptr : in.data(), out.data(), keys.data(),
                                   vals.data(), &count, &opts);
    if (err != 0 && err != -ENOENT) {
      if (err == -ENOSPC && count == 0 && chunk < (1u << 20)) {  // one hash bucket > chunk
        chunk *= 4;
        keys.resize(ksz * chunk);
        vals.resize(vsz * chunk);
        continue;
      }
      if (first && batch_unsupported(err)) break;  // fall back below
      throw DatapathError(fmt::format("batch lookup: {}", errstr(err)));
    }
    for (uint32_t i = 0; i < count; ++i) fn(keys.data() + i * ksz, vals.data() + i * vsz);
    if (err == -ENOENT) return;  // end of the map
    in.swap(out);
    first = false;
  }
  Bytes key(ksz), next(ksz), val(vsz);
  bool have_prev = false;
  while (bpf_map_get_next_key(fd, have_prev ? key.data() : nullptr, next.data()) == 0) {
    if (bpf_map_lookup_elem(fd, next.data(), val.data()) == 0) fn(next.data(), val.data());
    key = next;
    have_prev = true;
  }
}

void add_ctr(aigw_ctr& a, const aigw_ctr& b) {
  a.packets += b.packets;
  a.bytes += b.bytes;
}

// Sum of the per-CPU copies of one aigw_ctr (values back to back, each
// rounded up to 8 bytes, which aigw_ctr already is).
aigw_ctr sum_percpu(const uint8_t* v, int ncpus) {
  aigw_ctr s{};
  for (int c = 0; c < ncpus; ++c) {
    aigw_ctr x;
    std::memcpy(&x, v + c * sizeof(aigw_ctr), sizeof x);
    add_ctr(s, x);
  }
  return s;
}

std::string ifname_of(int ifindex) {
  char buf[IF_NAMESIZE] = {};
  return if_indextoname(ifindex, buf) ? std::string(buf) : fmt::format("if{}", ifindex);
}

}  // namespace

struct Datapath::Impl {
  DatapathSettings settings;
  std::string pin_path;
  const Logger* log = nullptr;
  std::unique_ptr<xdp_headend, HeadendDeleter> he;
  std::unique_ptr<xdp_endpoint, EndpointDeleter> ep;

  int fd_ifaces = -1, fd_pfx4 = -1, fd_pfx6 = -1, fd_policies = -1, fd_sids = -1, fd_tx = -1,
      fd_if_stats = -1, fd_drops = -1, fd_events = -1, fd_globals = -1;
  uint32_t max_policies = 0;
  int ncpus = 1;

  // ---- classification (double-banked, abi.h) and accounting maps.
  int fd_cls_meta = -1, fd_cls_active = -1, fd_cls_rules = -1, fd_cls_iface = -1, fd_cls_proto = -1,
      fd_cls_dscp = -1, fd_cls_sport = -1, fd_cls_dport = -1;
  int fd_flows = -1, fd_usage = -1, fd_apn_usage = -1, fd_pol_stats = -1;
  // The hash and LPM classification maps, with the keys each bank holds
  // (arrays have fixed per-bank ranges; these must be emptied by key).
  enum ClsHash { kPortbv, kMisc, kSrc4, kDst4, kSrc6, kDst6, kApn, kClsHashCount };
  struct ClsHashMap {
    ClsHashMap(const char* n, size_t k, bool l) : name(n), ksz(k), lpm(l) {}
    const char* name;
    size_t ksz;
    bool lpm;  // the bank is in the key's second u32 (big-endian), else in the first
    int fd = -1;
    uint32_t max_entries = 0;
    std::array<std::vector<Bytes>, AIGW_CLS_BANKS> keys;
  };
  std::array<ClsHashMap, kClsHashCount> cls_maps{{
      {"aigw_cls_portbv", sizeof(aigw_cls_id_key), false},
      {"aigw_cls_misc", sizeof(aigw_cls_id_key), false},
      {"aigw_cls_src4", sizeof(aigw_cls_pfx4_key), true},
      {"aigw_cls_dst4", sizeof(aigw_cls_pfx4_key), true},
      {"aigw_cls_src6", sizeof(aigw_cls_pfx6_key), true},
      {"aigw_cls_dst6", sizeof(aigw_cls_pfx6_key), true},
      {"aigw_cls_apn", sizeof(aigw_cls_apn_key), false},
  }};
  uint32_t cls_active = 0;   // bank packets use now
  bool cls_written = false;  // `cls` is what the active bank holds
  CompiledClassifier cls;    // the classifier in force

  // What the maps hold, as written (key bytes -> value bytes).
  std::map<Bytes, Bytes> ifaces, pfx4, pfx6, sids;
  std::set<uint32_t> tx;
  std::map<std::string, uint16_t> if_slots;  // interface key name -> counter slot
  struct PolicyState {
    uint32_t slot;
    Bytes value;  // encoded with id = slot
  };
  std::map<std::string, PolicyState> policies;
  std::map<uint32_t, Bytes> orphans;                 // valid slots found at start, not yet adopted
  std::map<uint32_t, Clock::time_point> quarantine;  // released slots, reusable after the time
  std::map<int, std::pair<IfRole, XdpMode>> attached;
  uint32_t generation = 0;

  void warn(const std::string& m) const {
    if (log) log->warn("{}", m);
  }

  void check_pins(bpf_object* obj);
  void load();
  void read_back();
  void expire_quarantine();
  uint32_t alloc_policy_slot(const std::set<uint32_t>& taken, std::optional<uint32_t> own);
  uint16_t alloc_if_slot(const std::set<uint16_t>& taken) const;
  void zero_if_slot(uint16_t slot) const;
  void sync(int fd, std::map<Bytes, Bytes>& cur, const std::map<Bytes, Bytes>& want,
            const char* what);
  void write_globals(const DatapathSettings& dp);
  void zero_pol_stats(uint32_t slot) const;
  void purge_cls_bank(uint32_t bank);
  void check_cls_room(const CompiledClassifier& c) const;
  void write_cls_bank(const CompiledClassifier& c, uint32_t bank);
  void install_classifier(CompiledClassifier c, const DatapathSettings& dp);
};

// A pinned map from an earlier run is reused (counters and entries survive a
// restart) unless its shape differs from what this build and config want;
// then the stale pin is removed and a fresh map is created.
void Datapath::Impl::check_pins(bpf_object* obj) {
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    std::string path = fmt::format("{}/{}", pin_path, bpf_map__name(m));
    Fd fd(bpf_obj_get(path.c_str()));
    if (fd.get() < 0) continue;
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) continue;
    if (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
        info.value_size != bpf_map__value_size(m) || info.max_entries != bpf_map__max_entries(m) ||
        (info.map_flags & ~BPF_F_RDONLY_PROG) != bpf_map__map_flags(m)) {
      warn(
          fmt::format("pinned map {} does not match this build/config (max_entries {} -> {}); "
                      "replacing it, its contents are lost",
                      path, info.max_entries, bpf_map__max_entries(m)));
      ::unlink(path.c_str());
    }
  }
}

// `ip netns exec` gives a process a fresh /sys without the bpffs mount. Mount
// one where the pin path expects it; its pins then live only as long as that
// mount namespace (run aigwd with `nsenter --net=...` to keep the host's).
static void ensure_bpffs(const std::string& pin_path, const Logger* log) {
  const std::string root = "/sys/fs/bpf";
  if (pin_path.rfind(root + "/", 0) != 0) return;
  struct statfs st {};
  if (::statfs(root.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC) return;
  if (::mount("bpf", root.c_str(), "bpf", 0, "mode=0700") != 0)
    throw DatapathError(
        fmt::format("{} is not a bpf filesystem and mounting one failed: {}", root, errstr(errno)));
  if (log)
    log->warn(
        "mounted a bpf filesystem on {} (none was visible): pinned maps will not outlive "
        "this mount namespace",
        root);
}

void Datapath::Impl::load() {
  ensure_bpffs(pin_path, log);
  std::error_code ec;
  std::filesystem::create_directories(pin_path, ec);
  if (ec)
    throw DatapathError(fmt::format("cannot create pin directory {}: {}", pin_path, ec.message()));

  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_path.c_str());
  he.reset(xdp_headend__open_opts(&opts));
  if (!he) throw DatapathError(fmt::format("open headend program: {}", errstr(errno)));
  ep.reset(xdp_endpoint__open_opts(&opts));
  if (!ep) throw DatapathError(fmt::format("open endpoint program: {}", errstr(errno)));

  const auto& ms = settings.map_sizes;
  // The headend object defines every map; the endpoint object shares them
  // (its copies only need the size where it has them).
  auto size_both = [&](const char* name, uint32_t n) {
    if (bpf_map__set_max_entries(find_map(he->obj, name), n) != 0)
      throw DatapathError(fmt::format("cannot size map {} to {}", name, n));
    if (bpf_map* m = bpf_object__find_map_by_name(ep->obj, name)) bpf_map__set_max_entries(m, n);
  };
  size_both("aigw_policies", ms.policies);
  size_both("aigw_nh_cache", ms.policies);
  size_both("aigw_pol_stats", ms.policies);
  size_both("aigw_pfx4", ms.prefixes4);
  size_both("aigw_pfx6", ms.prefixes6);
  size_both("aigw_sids", ms.sids);
  size_both("aigw_flows", ms.flows);
  for (const char* name : {"aigw_cls_src4", "aigw_cls_dst4", "aigw_cls_src6", "aigw_cls_dst6"})
    size_both(name, ms.class_prefixes);
  size_both("aigw_cls_portbv", ms.class_port_bitmaps);
  size_both("aigw_apn_usage", ms.apn_groups);

  check_pins(he->obj);
  // The kernel forces BPF_F_RDONLY_PROG on devmaps, so libbpf never finds a
  // pinned aigw_tx compatible with its spec: reuse and pin it by hand.
  bpf_map* tx = he->maps.aigw_tx;
  const std::string tx_pin = fmt::format("{}/{}", pin_path, bpf_map__name(tx));
  bpf_map__set_pin_path(tx, nullptr);
  Fd tx_old(bpf_obj_get(tx_pin.c_str()));
  if (tx_old.get() >= 0) {
    if (int err = bpf_map__reuse_fd(tx, tx_old.get()))
      throw DatapathError(fmt::format("reuse {}: {}", tx_pin, errstr(err)));
  }
  if (int err = xdp_headend__load(he.get()))
    throw DatapathError(
        fmt::format("load headend program: {} (see libbpf log above)", errstr(err)));
  if (tx_old.get() < 0) {
    if (int err = bpf_map__pin(tx, tx_pin.c_str()))
      throw DatapathError(fmt::format("pin {}: {}", tx_pin, errstr(err)));
  }
  // The endpoint object shares every map of the headend object.
  bpf_map* m;
  bpf_object__for_each_map(m, ep->obj) {
    if (std::string_view(bpf_map__name(m)).rfind("aigw_", 0) != 0) continue;  // .rodata etc.
    bpf_map* mine = bpf_object__find_map_by_name(he->obj, bpf_map__name(m));
    if (!mine)
      throw DatapathError(fmt::format("endpoint map {} unknown to headend", bpf_map__name(m)));
    bpf_map__set_pin_path(m, nullptr);
    if (int err = bpf_map__reuse_fd(m, bpf_map__fd(mine)))
      throw DatapathError(fmt::format("share map {}: {}", bpf_map__name(m), errstr(err)));
  }
  if (int err = xdp_endpoint__load(ep.get()))
    throw DatapathError(
        fmt::format("load endpoint program: {} (see libbpf log above)", errstr(err)));

  fd_ifaces = bpf_map__fd(he->maps.aigw_ifaces);
  fd_pfx4 = bpf_map__fd(he->maps.aigw_pfx4);
  fd_pfx6 = bpf_map__fd(he->maps.aigw_pfx6);
  fd_policies = bpf_map__fd(he->maps.aigw_policies);
  fd_sids = bpf_map__fd(he->maps.aigw_sids);
  fd_tx = bpf_map__fd(he->maps.aigw_tx);
  fd_if_stats = bpf_map__fd(he->maps.aigw_if_stats);
  fd_drops = bpf_map__fd(he->maps.aigw_drops);
  fd_events = bpf_map__fd(he->maps.aigw_events);
  fd_globals = bpf_map__fd(he->maps.aigw_globals);
  auto fd_of = [&](const char* name) { return bpf_map__fd(find_map(he->obj, name)); };
  fd_cls_meta = fd_of("aigw_cls_meta");
  fd_cls_active = fd_of("aigw_cls_active");
  fd_cls_rules = fd_of("aigw_cls_rules");
  fd_cls_iface = fd_of("aigw_cls_iface");
  fd_cls_proto = fd_of("aigw_cls_proto");
  fd_cls_dscp = fd_of("aigw_cls_dscp");
  fd_cls_sport = fd_of("aigw_cls_sport");
  fd_cls_dport = fd_of("aigw_cls_dport");
  fd_flows = fd_of("aigw_flows");
  fd_usage = fd_of("aigw_usage");
  fd_apn_usage = fd_of("aigw_apn_usage");
  fd_pol_stats = fd_of("aigw_pol_stats");
  for (auto& cm : cls_maps) {
    bpf_map* m = find_map(he->obj, cm.name);
    if (bpf_map__key_size(m) != cm.ksz)
      throw DatapathError(fmt::format("map {}: key size {} where abi.h says {}", cm.name,
                                      bpf_map__key_size(m), cm.ksz));
    cm.fd = bpf_map__fd(m);
    cm.max_entries = bpf_map__max_entries(m);
  }
  max_policies = ms.policies;
  ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) throw DatapathError("cannot count possible CPUs");
}

// Mirror what pinned maps already hold, so the first apply after a restart
// writes only differences and unchanged policies keep their slots.
void Datapath::Impl::read_back() {
  auto dump = [](int fd, size_t ksz, size_t vsz, std::map<Bytes, Bytes>& out) {
    Bytes key(ksz), next(ksz), val(vsz);
    void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
      if (bpf_map_lookup_elem(fd, next.data(), val.data()) == 0) out[next] = val;
      key = next;
      prev = key.data();
    }
  };
  dump(fd_ifaces, sizeof(aigw_iface_key), sizeof(aigw_iface_cfg), ifaces);
  dump(fd_pfx4, sizeof(aigw_pfx4_key), sizeof(uint32_t), pfx4);
  dump(fd_pfx6, sizeof(aigw_pfx6_key), sizeof(uint32_t), pfx6);
  dump(fd_sids, sizeof(aigw_sid_key), sizeof(aigw_sid_entry), sids);
  {
    uint32_t prev = 0, next = 0;
    bool first = true;
    while (bpf_map_get_next_key(fd_tx, first ? nullptr : &prev, &next) == 0) {
      tx.insert(next);
      prev = next;
      first = false;
    }
  }
  for (uint32_t slot = 1; slot < max_policies; ++slot) {
    aigw_policy v{};
    if (bpf_map_lookup_elem(fd_policies, &slot, &v) == 0 && (v.flags & AIGW_POL_F_VALID))
      orphans[slot] = to_bytes(v);
  }
  // The generation continues (flow entries cache decisions by it), the bank
  // in use stays, and the keys each classification bank holds are known so
  // that a bank can be emptied before it is refilled.
  {
    uint32_t zero = 0;
    aigw_globals g{};
    if (bpf_map_lookup_elem(fd_globals, &zero, &g) == 0) generation = g.gen;
    uint32_t bank = 0;
    if (bpf_map_lookup_elem(fd_cls_active, &zero, &bank) == 0 && bank < AIGW_CLS_BANKS)
      cls_active = bank;
  }
  for (auto& cm : cls_maps) {
    Bytes key(cm.ksz), next(cm.ksz);
    bool have_prev = false;
    while (bpf_map_get_next_key(cm.fd, have_prev ? key.data() : nullptr, next.data()) == 0) {
      uint32_t bank = cm.lpm ? cls::bank_of_pfx_key(next.data()) : cls::bank_of_id_key(next.data());
      // A key of no bank (corrupt) is filed under bank 0 so it is removed sometime.
      cm.keys[bank < AIGW_CLS_BANKS ? bank : 0].push_back(next);
      key = next;
      have_prev = true;
    }
  }
  // Interface counter slots follow the interface (by name) across restarts.
  for (const auto& [k, v] : ifaces) {
    aigw_iface_key key;
    aigw_iface_cfg cfg;
    std::memcpy(&key, k.data(), sizeof key);
    std::memcpy(&cfg, v.data(), sizeof cfg);
    std::string name = ifname_of(static_cast<int>(key.ifindex));
    if (key.vlan) name += fmt::format(" vlan {}", key.vlan);
    if_slots[name] = cfg.slot;
  }
}

// Released slots whose quarantine is over are invalidated (hygiene: nothing
// points at them) and become free.
void Datapath::Impl::expire_quarantine() {
  const aigw_policy empty{};
  auto now = Clock::now();
  for (auto it = quarantine.begin(); it != quarantine.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    uint32_t s = it->first;
    bpf_map_update_elem(fd_policies, &s, &empty, BPF_ANY);
    it = quarantine.erase(it);
  }
}

uint32_t Datapath::Impl::alloc_policy_slot(const std::set<uint32_t>& taken,
                                           std::optional<uint32_t> own) {
  // Slots of the policies in force are avoided: their prefixes still point
  // there until this apply moves them, so reusing one would steer a removed
  // policy's packets into another tunnel, or let a packet of a changed
  // policy read a half-written slot. Only when no other slot is free does a
  // changed policy get its own slot back (rewritten in place).
  std::set<uint32_t> running;
  for (const auto& [name, st] : policies) running.insert(st.slot);
  for (uint32_t s = 1; s < max_policies; ++s) {
    if (taken.count(s) || running.count(s) || orphans.count(s) || quarantine.count(s)) continue;
    return s;
  }
  if (own && !taken.count(*own)) return *own;
  // Orphans (valid slots left by a previous run) are not reused here: stale
  // prefixes may still point at them until this apply moves them.
  throw ApplyError(fmt::format("no free policy slot (map_sizes.policies = {})", max_policies));
}

uint16_t Datapath::Impl::alloc_if_slot(const std::set<uint16_t>& taken) const {
  for (uint16_t s = 1; s < AIGW_MAX_IFACES; ++s)
    if (!taken.count(s)) return s;
  throw ApplyError(fmt::format("more than {} interfaces", AIGW_MAX_IFACES - 1));
}

void Datapath::Impl::zero_if_slot(uint16_t slot) const {
  std::vector<aigw_if_stats> zero(ncpus);
  uint32_t key = slot;
  bpf_map_update_elem(fd_if_stats, &key, zero.data(), BPF_ANY);
}

void Datapath::Impl::sync(int fd, std::map<Bytes, Bytes>& cur, const std::map<Bytes, Bytes>& want,
                          const char* what) {
  for (const auto& [k, v] : want) {
    auto it = cur.find(k);
    if (it != cur.end() && it->second == v) continue;
    if (bpf_map_update_elem(fd, k.data(), v.data(), BPF_ANY) != 0)
      throw ApplyError(fmt::format("update {}: {}", what, errstr(errno)));
    cur[k] = v;
  }
  for (auto it = cur.begin(); it != cur.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    if (bpf_map_delete_elem(fd, it->first.data()) != 0 && errno != ENOENT)
      throw ApplyError(fmt::format("delete {}: {}", what, errstr(errno)));
    it = cur.erase(it);
  }
}

void Datapath::Impl::write_globals(const DatapathSettings& dp) {
  aigw_globals g{};
  g.icmp_rate = dp.icmp_rate_limit;
  g.icmp_burst = dp.icmp_burst;
  g.nh_cache_ms = dp.nexthop_cache_ms;
  g.gen = ++generation;  // invalidates the next-hop caches and flows' cached decisions
  uint32_t zero = 0;
  if (bpf_map_update_elem(fd_globals, &zero, &g, BPF_ANY) != 0)
    throw ApplyError(fmt::format("write datapath globals: {}", errstr(errno)));
}

// A fresh policy slot starts its counters at zero (a reused slot must not
// inherit the traffic of the policy that held it before).
void Datapath::Impl::zero_pol_stats(uint32_t slot) const {
  std::vector<aigw_ctr> zero(ncpus);
  if (bpf_map_update_elem(fd_pol_stats, &slot, zero.data(), BPF_ANY) != 0)
    throw ApplyError(fmt::format("zero counters of policy slot {}: {}", slot, errstr(errno)));
}

void Datapath::Impl::purge_cls_bank(uint32_t bank) {
  for (auto& cm : cls_maps) {
    for (const Bytes& k : cm.keys[bank])
      if (bpf_map_delete_elem(cm.fd, k.data()) != 0 && errno != ENOENT)
        throw ApplyError(fmt::format("delete from {}: {}", cm.name, errstr(errno)));
    cm.keys[bank].clear();
  }
}

// Both banks live in the hash/LPM maps while the new one is written: the
// new entries must fit beside the ones in force.
void Datapath::Impl::check_cls_room(const CompiledClassifier& c) const {
  const size_t want[kClsHashCount] = {c.port_bitmaps.size(), cls::kMiscCount, c.src4.size(),
                                      c.dst4.size(),         c.src6.size(),   c.dst6.size(),
                                      c.apn.size()};
  for (size_t i = 0; i < kClsHashCount; ++i) {
    const auto& cm = cls_maps[i];
    size_t in_force = cm.keys[cls_active].size();
    if (want[i] + in_force > cm.max_entries)
      throw ApplyError(
          fmt::format("classification needs {} entries in {} beside the {} in force; it holds {} "
                      "(datapath.map_sizes)",
                      want[i], cm.name, in_force, cm.max_entries));
  }
}

// Fills `bank` (not the one packets use) with `c`.
void Datapath::Impl::write_cls_bank(const CompiledClassifier& c, uint32_t bank) {
  purge_cls_bank(bank);  // what an interrupted apply or an earlier run left there

  const aigw_cls_meta meta = cls::encode_meta(c);
  if (bpf_map_update_elem(fd_cls_meta, &bank, &meta, BPF_ANY) != 0)
    throw ApplyError(fmt::format("write classification meta: {}", errstr(errno)));

  auto index_range = [&](uint32_t per_bank, uint32_t n) {
    std::vector<uint32_t> keys(n);
    for (uint32_t i = 0; i < n; ++i) keys[i] = cls::array_index(bank, per_bank, i);
    return keys;
  };
  {
    uint32_t n = std::min<uint32_t>(c.nrules, cls::kRulesPerBank);
    n = std::min<uint32_t>(n, static_cast<uint32_t>(c.actions.size()));
    auto keys = index_range(cls::kRulesPerBank, n);
    update_many(fd_cls_rules, keys.data(), c.actions.data(), n, sizeof(uint32_t),
                sizeof(aigw_cls_action), "classification rules");
  }
  // Every entry of the bank is written: a field value no rule names gets
  // the empty bitmap.
  auto bitmap_array = [&](int fd, uint32_t per_bank, const std::vector<ClsBitmap>& v,
                          const char* what) {
    auto keys = index_range(per_bank, per_bank);
    std::vector<aigw_cls_bitmap> vals(per_bank);
    for (uint32_t i = 0; i < per_bank && i < v.size(); ++i) vals[i] = v[i].to_abi();
    update_many(fd, keys.data(), vals.data(), per_bank, sizeof(uint32_t), sizeof(aigw_cls_bitmap),
                what);
  };
  bitmap_array(fd_cls_iface, cls::kIfacesPerBank, c.iface, "classification interfaces");
  bitmap_array(fd_cls_proto, cls::kProtosPerBank, c.proto, "classification protocols");
  bitmap_array(fd_cls_dscp, cls::kDscpsPerBank, c.dscp, "classification DSCPs");
  auto port_array = [&](int fd, const std::vector<uint32_t>& v, const char* what) {
    auto keys = index_range(cls::kPortsPerBank, cls::kPortsPerBank);
    std::vector<uint32_t> vals(cls::kPortsPerBank, 0);
    std::copy_n(v.begin(), std::min<size_t>(v.size(), vals.size()), vals.begin());
    update_many(fd, keys.data(), vals.data(), cls::kPortsPerBank, sizeof(uint32_t),
                sizeof(uint32_t), what);
  };
  port_array(fd_cls_sport, c.sport, "classification source ports");
  port_array(fd_cls_dport, c.dport, "classification destination ports");

  // Hash and LPM maps: keys are recorded before the write, so a failed
  // write is still removed by the next purge of this bank.
  auto hashed = [&](ClsHash which, std::vector<uint8_t>& keys,
                    const std::vector<aigw_cls_bitmap>& vals) {
    ClsHashMap& cm = cls_maps[which];
    const uint32_t n = static_cast<uint32_t>(vals.size());
    for (uint32_t i = 0; i < n; ++i)
      cm.keys[bank].emplace_back(keys.begin() + i * cm.ksz, keys.begin() + (i + 1) * cm.ksz);
    update_many(cm.fd, keys.data(), vals.data(), n, cm.ksz, sizeof(aigw_cls_bitmap), cm.name);
  };
  auto append = [](std::vector<uint8_t>& out, const auto& key) {
    const auto* p = reinterpret_cast<const uint8_t*>(&key);
    out.insert(out.end(), p, p + sizeof key);
  };
  {
    std::vector<uint8_t> keys;
    std::vector<aigw_cls_bitmap> vals;
    for (uint32_t id = 0; id < c.port_bitmaps.size(); ++id) {
      append(keys, cls::id_key(bank, id));
      vals.push_back(c.port_bitmaps[id].to_abi());
    }
    hashed(kPortbv, keys, vals);
  }
  {
    std::vector<uint8_t> keys;
    std::vector<aigw_cls_bitmap> vals;
    auto misc = cls::misc_bitmaps(c);
    for (uint32_t id = 0; id < misc.size(); ++id) {
      append(keys, cls::id_key(bank, id));
      vals.push_back(misc[id]->to_abi());
    }
    hashed(kMisc, keys, vals);
  }
  auto prefixes = [&](ClsHash which, const std::vector<ClsPrefixEntry>& v, bool v6) {
    std::vector<uint8_t> keys;
    std::vector<aigw_cls_bitmap> vals;
    for (const auto& e : v) {
      if (v6)
        append(keys, cls::pfx6_key(bank, e.prefix));
      else
        append(keys, cls::pfx4_key(bank, e.prefix));
      vals.push_back(e.bits.to_abi());
    }
    hashed(which, keys, vals);
  };
  prefixes(kSrc4, c.src4, false);
  prefixes(kDst4, c.dst4, false);
  prefixes(kSrc6, c.src6, true);
  prefixes(kDst6, c.dst6, true);
  {
    std::vector<uint8_t> keys;
    std::vector<aigw_cls_bitmap> vals;
    for (const auto& e : c.apn) {
      append(keys, cls::apn_key(bank, e));
      vals.push_back(e.bits.to_abi());
    }
    hashed(kApn, keys, vals);
  }
}

// Write the inactive bank, flip, bump the generation (flow entries recompute
// their cached decision), then empty the old bank's hash/LPM entries. A
// packet that read the old bank number just before the flip finishes within
// microseconds (XDP runs to completion); the deletes come after two syscalls.
void Datapath::Impl::install_classifier(CompiledClassifier c, const DatapathSettings& dp) {
  const uint32_t old = cls_active, bank = old ^ 1u;
  const auto t0 = Clock::now();
  write_cls_bank(c, bank);
  uint32_t zero = 0;
  if (bpf_map_update_elem(fd_cls_active, &zero, &bank, BPF_ANY) != 0)
    throw ApplyError(fmt::format("switch classification bank: {}", errstr(errno)));
  cls_active = bank;
  cls_written = true;
  cls = std::move(c);
  write_globals(dp);
  purge_cls_bank(old);
  if (log)
    log->info("classification: {} rules in bank {} ({} ms)", cls.nrules, bank,
              std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

Datapath::Datapath(const DatapathSettings& settings, const std::string& pin_path, const Logger* log)
    : impl_(std::make_unique<Impl>()) {
  impl_->settings = settings;
  impl_->pin_path = pin_path;
  impl_->log = log;
  impl_->load();
  impl_->read_back();
}

Datapath::~Datapath() = default;

int Datapath::prog_fd(Prog p) const {
  return p == Prog::Headend ? bpf_program__fd(impl_->he->progs.xdp_headend)
                            : bpf_program__fd(impl_->ep->progs.xdp_endpoint);
}

void Datapath::apply(const Config& next, const LinkResolver& links) {
  Impl& d = *impl_;
  if (!(next.datapath.map_sizes == d.settings.map_sizes))
    throw ApplyError("datapath.map_sizes changed: restart aigwd to resize the maps");
  d.expire_quarantine();

  // ---- 1. compute the wanted contents of every map; nothing is written yet.
  std::map<std::string, LinkInfo> resolved;
  auto link = [&](const std::string& name) -> const LinkInfo& {
    auto it = resolved.find(name);
    if (it != resolved.end()) return it->second;
    auto li = links.resolve(name);
    if (!li) throw ApplyError(fmt::format("interface {} not found", name));
    return resolved.emplace(name, *li).first->second;
  };

  std::map<Bytes, Bytes> want_ifaces;
  std::set<uint32_t> want_tx;
  std::map<std::string, uint16_t> want_slots;
  std::set<uint16_t> slots_taken;
  for (const auto& i : next.interfaces) {
    auto it = d.if_slots.find(interface_key(i));
    if (it != d.if_slots.end()) slots_taken.insert(it->second);
  }
  for (const auto& i : next.interfaces) {
    const LinkInfo& li = link(i.name);
    std::string kname = interface_key(i);
    uint16_t slot;
    if (auto it = d.if_slots.find(kname); it != d.if_slots.end()) {
      slot = it->second;
    } else {
      slot = d.alloc_if_slot(slots_taken);
      slots_taken.insert(slot);
    }
    want_slots[kname] = slot;
    aigw_iface_key key{};
    key.ifindex = static_cast<uint32_t>(li.ifindex);
    key.vlan = i.vlan.value_or(0);
    aigw_iface_cfg cfg{};
    cfg.vrf = i.vrf;
    cfg.slot = slot;
    cfg.role = i.role == IfRole::Customer ? AIGW_ROLE_CUSTOMER : AIGW_ROLE_WAN;
    cfg.flags = i.mss_clamp ? AIGW_IF_F_MSS_CLAMP : 0;
    if (i.apn == ApnTrust::Trust) cfg.flags |= AIGW_IF_F_APN_TRUST;
    if (i.apn == ApnTrust::Strip) cfg.flags |= AIGW_IF_F_APN_STRIP;
    cfg.addr4 = li.addr4_be;
    std::memcpy(cfg.addr6, li.addr6.data(), 16);
    want_ifaces[to_bytes(key)] = to_bytes(cfg);
    want_tx.insert(static_cast<uint32_t>(li.ifindex));
  }

  // Policies: unchanged ones keep their slot; new or changed ones get a
  // fresh slot that is written before any prefix points at it.
  std::map<std::string, Impl::PolicyState> want_pol;
  std::set<uint32_t> taken;
  std::vector<std::pair<uint32_t, Bytes>> slot_writes;
  std::set<uint32_t> adopted;
  std::set<uint32_t> zero_slots;  // aigw_pol_stats entries to clear before the slot is used
  for (const auto& p : next.policies) {
    auto it = d.policies.find(p.name);
    if (it != d.policies.end() &&
        to_bytes(encode_policy(p, next.datapath, it->second.slot)) == it->second.value) {
      want_pol[p.name] = it->second;
      taken.insert(it->second.slot);
    }
  }
  for (const auto& p : next.policies) {
    if (want_pol.count(p.name)) continue;
    // An identical policy left in the maps by a previous run keeps its slot.
    std::optional<uint32_t> slot;
    for (const auto& [s, bytes] : d.orphans) {
      if (!taken.count(s) && to_bytes(encode_policy(p, next.datapath, s)) == bytes) {
        slot = s;
        adopted.insert(s);
        break;
      }
    }
    bool fresh = !slot;
    if (!slot) {
      auto cur = d.policies.find(p.name);
      slot = d.alloc_policy_slot(
          taken, cur != d.policies.end() ? std::optional(cur->second.slot) : std::nullopt);
      // A slot new to this policy starts its counters at zero.
      if (cur == d.policies.end() || cur->second.slot != *slot) zero_slots.insert(*slot);
    }
    taken.insert(*slot);
    Bytes value = to_bytes(encode_policy(p, next.datapath, *slot));
    want_pol[p.name] = {*slot, value};
    if (fresh) slot_writes.emplace_back(*slot, value);
  }

  std::map<Bytes, Bytes> want_pfx4, want_pfx6;
  for (const auto& p : next.policies) {
    Bytes slot = to_bytes(want_pol[p.name].slot);
    for (const auto& pfx : p.prefixes) {
      if (pfx.v6) {
        aigw_pfx6_key k{};
        k.prefixlen = 32 + pfx.len;
        k.vrf_be = htonl(p.vrf);
        std::memcpy(k.addr, pfx.b.data(), 16);
        want_pfx6[to_bytes(k)] = slot;
      } else {
        aigw_pfx4_key k{};
        k.prefixlen = 32 + pfx.len;
        k.vrf_be = htonl(p.vrf);
        std::memcpy(k.addr, pfx.b.data(), 4);
        want_pfx4[to_bytes(k)] = slot;
      }
    }
  }
  if (want_pfx4.size() > next.datapath.map_sizes.prefixes4 ||
      want_pfx6.size() > next.datapath.map_sizes.prefixes6)
    throw ApplyError("more prefixes than datapath.map_sizes allows");

  std::map<Bytes, Bytes> want_sids;
  uint32_t sid_id = 0;
  for (const auto& s : next.sids) {
    aigw_sid_key k{};
    k.prefixlen = s.sid.len;
    std::memcpy(k.addr, s.sid.b.data(), 16);
    aigw_sid_entry e{};
    e.id = ++sid_id;
    switch (s.behavior) {
      case Behavior::End:
        e.behavior = AIGW_BEH_END;
        break;
      case Behavior::EndX:
        e.behavior = AIGW_BEH_END_X;
        break;
      case Behavior::EndDX4:
        e.behavior = AIGW_BEH_END_DX4;
        break;
      case Behavior::EndDX6:
        e.behavior = AIGW_BEH_END_DX6;
        break;
      case Behavior::EndDT4:
        e.behavior = AIGW_BEH_END_DT4;
        break;
      case Behavior::EndDT6:
        e.behavior = AIGW_BEH_END_DT6;
        break;
      case Behavior::EndDT46:
        e.behavior = AIGW_BEH_END_DT46;
        break;
    }
    e.table = s.table.value_or(254);
    if (s.interface) e.oif = static_cast<uint32_t>(link(*s.interface).ifindex);
    if (s.nexthop) {
      if (const auto* v4 = std::get_if<Ip4>(&*s.nexthop))
        e.nh4 = v4->be();
      else
        std::memcpy(e.nh6, std::get<Ip6>(*s.nexthop).b.data(), 16);
    }
    want_sids[to_bytes(k)] = to_bytes(e);
  }
  if (want_sids.size() > next.datapath.map_sizes.sids)
    throw ApplyError("more SIDs than datapath.map_sizes.sids allows");

  // Classification, compiled against the slots this apply assigns.
  ClsResolver resolver;
  resolver.iface_slot = [&](const std::string& key) -> std::optional<uint16_t> {
    auto it = want_slots.find(key);
    if (it == want_slots.end()) return std::nullopt;
    return it->second;
  };
  resolver.policy_slot = [&](const std::string& name) -> std::optional<uint32_t> {
    auto it = want_pol.find(name);
    if (it == want_pol.end()) return std::nullopt;
    return it->second.slot;
  };
  CompiledClassifier compiled;
  try {
    compiled = compile_classifier(next, resolver);
  } catch (const ClassifyError& e) {
    throw ApplyError(fmt::format("classification: {}", e.what()));
  }
  // A reload that leaves classification alone does not rewrite the banks.
  const bool cls_changed = !d.cls_written || !cls::same_classifier(compiled, d.cls);
  if (cls_changed) d.check_cls_room(compiled);

  // ---- 2. write: additions first, removals last, so that every packet sees
  // either the old or the new state of each object.
  try {
    d.write_globals(next.datapath);  // every apply invalidates the next-hop caches
    for (const auto& [kname, slot] : want_slots)
      if (!d.if_slots.count(kname)) d.zero_if_slot(slot);
    for (uint32_t ifindex : want_tx) {
      if (d.tx.count(ifindex)) continue;
      if (bpf_map_update_elem(d.fd_tx, &ifindex, &ifindex, BPF_ANY) != 0)
        throw ApplyError(
            fmt::format("add {} to the tx port map: {}", ifname_of(ifindex), errstr(errno)));
      d.tx.insert(ifindex);
    }
    for (const auto& [slot, value] : slot_writes) {
      if (zero_slots.count(slot)) d.zero_pol_stats(slot);
      if (bpf_map_update_elem(d.fd_policies, &slot, value.data(), BPF_ANY) != 0)
        throw ApplyError(fmt::format("write policy slot {}: {}", slot, errstr(errno)));
    }
    d.sync(d.fd_pfx4, d.pfx4, want_pfx4, "IPv4 prefix");
    d.sync(d.fd_pfx6, d.pfx6, want_pfx6, "IPv6 prefix");
    d.sync(d.fd_sids, d.sids, want_sids, "SID");
    d.sync(d.fd_ifaces, d.ifaces, want_ifaces, "interface");
    // After the policy slots and interfaces its rules name exist.
    if (cls_changed)
      d.install_classifier(std::move(compiled), next.datapath);
    else
      d.cls = std::move(compiled);  // same datapath content; display data may differ
    for (auto it = d.tx.begin(); it != d.tx.end();) {
      if (want_tx.count(*it)) {
        ++it;
        continue;
      }
      uint32_t k = *it;
      bpf_map_delete_elem(d.fd_tx, &k);
      it = d.tx.erase(it);
    }

  } catch (...) {
    // Slots written for this failed apply may already be referenced by
    // prefixes that were moved: keep them out of use for the quarantine.
    for (const auto& [slot, _] : slot_writes) {
      bool running = false;
      for (const auto& [n, st] : d.policies) running = running || st.slot == slot;
      if (!running) d.quarantine[slot] = Clock::now() + kSlotQuarantine;
    }
    throw;
  }

  // Release policy slots nothing points at any more.
  std::set<uint32_t> released;
  for (const auto& [name, st] : d.policies)
    if (!taken.count(st.slot)) released.insert(st.slot);
  for (const auto& [s, _] : d.orphans)
    if (!adopted.count(s) && !taken.count(s)) released.insert(s);
  // A packet that read the old slot number just before its prefix moved may
  // still be reading the slot: leave its contents until the quarantine ends.
  for (uint32_t s : released) d.quarantine[s] = Clock::now() + kSlotQuarantine;
  d.orphans.clear();
  d.policies = std::move(want_pol);
  d.if_slots = std::move(want_slots);
  d.settings = next.datapath;
}

void Datapath::attach(int ifindex, IfRole role, XdpMode mode) {
  Impl& d = *impl_;
  const int fd = prog_fd(role == IfRole::Customer ? Prog::Headend : Prog::Endpoint);
  const uint32_t mode_flag = mode == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  std::string name = ifname_of(ifindex);

  uint32_t cur_id = 0;
  bpf_xdp_query_id(ifindex, mode_flag, &cur_id);
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
  uint32_t flags = mode_flag;
  Fd old;
  if (cur_id) {
    // Replace atomically only a program of ours (an earlier aigwd); never a
    // foreign one.
    old = Fd(bpf_prog_get_fd_by_id(cur_id));
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (old.get() < 0 || bpf_obj_get_info_by_fd(old.get(), &info, &len) != 0)
      throw DatapathError(
          fmt::format("{}: cannot inspect attached XDP program id {}", name, cur_id));
    std::string pname = info.name;
    if (pname != "xdp_headend" && pname != "xdp_endpoint")
      throw DatapathError(
          fmt::format("{}: a foreign XDP program ({}, id {}) is attached; refusing to replace it",
                      name, pname.empty() ? "unnamed" : pname, cur_id));
    opts.old_prog_fd = old.get();
  } else {
    flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
  }
  if (int err = bpf_xdp_attach(ifindex, fd, flags, &opts))
    throw DatapathError(fmt::format("{}: attach {} XDP program: {}", name,
                                    mode == XdpMode::Native ? "native" : "generic", errstr(err)));
  d.attached[ifindex] = {role, mode};
}

void Datapath::detach(int ifindex) {
  Impl& d = *impl_;
  auto it = d.attached.find(ifindex);
  if (it == d.attached.end()) return;
  auto [role, mode] = it->second;
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
  opts.old_prog_fd = prog_fd(role == IfRole::Customer ? Prog::Headend : Prog::Endpoint);
  uint32_t flags = mode == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  bpf_xdp_detach(ifindex, flags, &opts);  // only removes our program
  d.attached.erase(it);
}

void Datapath::detach_all() {
  std::vector<int> all = attached();
  for (int i : all) detach(i);
}

std::vector<int> Datapath::attached() const {
  std::vector<int> v;
  for (const auto& [i, _] : impl_->attached) v.push_back(i);
  return v;
}

std::optional<std::pair<IfRole, XdpMode>> Datapath::attachment(int ifindex) const {
  auto it = impl_->attached.find(ifindex);
  if (it == impl_->attached.end()) return std::nullopt;
  return it->second;
}

Stats Datapath::read_stats() const {
  const Impl& d = *impl_;
  Stats s;
  std::vector<aigw_if_stats> per(d.ncpus);
  // Configured interfaces, and slot 0: frames of ports or VLANs aigw has no
  // entry for.
  std::set<uint16_t> slots = {AIGW_IF_SLOT_UNKNOWN};
  for (const auto& [name, slot] : d.if_slots) slots.insert(slot);
  for (uint16_t slot : slots) {
    uint32_t key = slot;
    if (bpf_map_lookup_elem(d.fd_if_stats, &key, per.data()) != 0) continue;
    Counters c;
    auto add = [](aigw_ctr& a, const aigw_ctr& b) {
      a.packets += b.packets;
      a.bytes += b.bytes;
    };
    for (const auto& p : per) {
      add(c.rx, p.rx);
      add(c.encap, p.encap);
      add(c.decap, p.decap);
      add(c.fwd, p.fwd);
      add(c.pass, p.pass);
      add(c.drop, p.drop);
      add(c.tx, p.tx);
    }
    s.by_slot[slot] = c;
  }
  auto read_ctrs = [&](int fd, unsigned n) {
    std::vector<aigw_ctr> out(n), cpu(d.ncpus);
    for (uint32_t k = 0; k < n; ++k) {
      if (bpf_map_lookup_elem(fd, &k, cpu.data()) != 0) continue;
      for (const auto& c : cpu) {
        out[k].packets += c.packets;
        out[k].bytes += c.bytes;
      }
    }
    return out;
  };
  s.drops = read_ctrs(d.fd_drops, AIGW_DROP_MAX);
  s.events = read_ctrs(d.fd_events, AIGW_EV_MAX);
  return s;
}

std::optional<uint16_t> Datapath::slot_of(const std::string& ifname) const {
  auto it = impl_->if_slots.find(ifname);
  if (it == impl_->if_slots.end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> Datapath::policy_slot(const std::string& name) const {
  auto it = impl_->policies.find(name);
  if (it == impl_->policies.end()) return std::nullopt;
  return it->second.slot;
}

std::vector<FlowEntry> Datapath::read_flows() const {
  std::vector<FlowEntry> out;
  for_each_entry(impl_->fd_flows, sizeof(aigw_flow_key), sizeof(aigw_flow),
                 [&](const uint8_t* k, const uint8_t* v) {
                   FlowEntry e;
                   std::memcpy(&e.key, k, sizeof e.key);
                   std::memcpy(&e.flow, v, sizeof e.flow);
                   out.push_back(e);
                 });
  return out;
}

size_t Datapath::delete_flows(const std::vector<aigw_flow_key>& keys) {
  size_t n = 0;
  for (const auto& k : keys)
    if (bpf_map_delete_elem(impl_->fd_flows, &k) == 0) ++n;  // gone already: not counted
  return n;
}

std::vector<aigw_ctr> Datapath::read_usage() const {
  const Impl& d = *impl_;
  std::vector<aigw_ctr> out(AIGW_USAGE_ENTRIES);
  for_each_entry(d.fd_usage, sizeof(uint32_t), sizeof(aigw_ctr) * d.ncpus,
                 [&](const uint8_t* k, const uint8_t* v) {
                   uint32_t idx;
                   std::memcpy(&idx, k, sizeof idx);
                   if (idx < out.size()) out[idx] = sum_percpu(v, d.ncpus);
                 });
  return out;
}

ApnUsage Datapath::read_apn_usage() const {
  const Impl& d = *impl_;
  ApnUsage out;
  for_each_entry(d.fd_apn_usage, sizeof(aigw_apn_usage_key), sizeof(aigw_ctr) * d.ncpus,
                 [&](const uint8_t* k, const uint8_t* v) {
                   aigw_apn_usage_key key;
                   std::memcpy(&key, k, sizeof key);
                   add_ctr(out[{key.dir, key.app_group}], sum_percpu(v, d.ncpus));
                 });
  return out;
}

std::map<uint32_t, aigw_ctr> Datapath::read_policy_stats() const {
  const Impl& d = *impl_;
  std::map<uint32_t, aigw_ctr> out;
  for_each_entry(d.fd_pol_stats, sizeof(uint32_t), sizeof(aigw_ctr) * d.ncpus,
                 [&](const uint8_t* k, const uint8_t* v) {
                   uint32_t slot;
                   std::memcpy(&slot, k, sizeof slot);
                   aigw_ctr c = sum_percpu(v, d.ncpus);
                   if (c.packets || c.bytes) out[slot] = c;
                 });
  return out;
}

std::string Datapath::policy_at(uint32_t slot) const {
  for (const auto& [name, st] : impl_->policies)
    if (st.slot == slot) return name;
  return {};
}

const CompiledClassifier& Datapath::classifier() const { return impl_->cls; }

void Datapath::unpin_all(const std::string& pin_path) {
  for (const char* m : kMapNames) ::unlink(fmt::format("{}/{}", pin_path, m).c_str());
  ::rmdir(pin_path.c_str());
}

}  // namespace aigw
