#include "datapath/map_io.hpp"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace aigw::maps {
namespace {

// libbpf returns -errno (and sets errno); the batch operations report
// "unsupported for this map type" in several ways.
bool batch_unsupported(int err) {
  err = err < 0 ? -err : err;
  return err == EINVAL || err == EOPNOTSUPP || err == 524 /* kernel ENOTSUPP */;
}

// The batched walk; false when the map type has no batch lookup.
bool for_each_batched(int fd, size_t ksz, size_t vsz, const EntryFn& fn) {
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
      if (first && batch_unsupported(err)) return false;
      throw DatapathError(fmt::format("batch lookup: {}", errstr(err)));
    }
    for (uint32_t i = 0; i < count; ++i) fn(keys.data() + i * ksz, vals.data() + i * vsz);
    if (err == -ENOENT) return true;  // end of the map
    in.swap(out);
    first = false;
  }
}

}  // namespace

std::string errstr(int err) { return std::strerror(err < 0 ? -err : err); }

bool lookup_raw(int fd, const void* key, void* value) {
  return bpf_map_lookup_elem(fd, key, value) == 0;
}

void for_each_key(int fd, size_t ksz, const KeyFn& fn) {
  Bytes key(ksz), next(ksz);
  bool have_prev = false;
  while (bpf_map_get_next_key(fd, have_prev ? key.data() : nullptr, next.data()) == 0) {
    fn(next.data());
    key = next;
    have_prev = true;
  }
}

void for_each_entry(int fd, size_t ksz, size_t vsz, const EntryFn& fn) {
  if (for_each_batched(fd, ksz, vsz, fn)) return;
  Bytes val(vsz);
  for_each_key(fd, ksz, [&](const uint8_t* k) {
    if (bpf_map_lookup_elem(fd, k, val.data()) == 0) fn(k, val.data());
  });
}

std::map<Bytes, Bytes> dump(int fd, size_t ksz, size_t vsz) {
  std::map<Bytes, Bytes> out;
  Bytes val(vsz);
  // Key walk, not batched: also for the LPM tries that have no batch ops.
  for_each_key(fd, ksz, [&](const uint8_t* k) {
    if (bpf_map_lookup_elem(fd, k, val.data()) == 0) out[Bytes(k, k + ksz)] = val;
  });
  return out;
}

// Updates are idempotent, so restarting from the first entry after a failed
// batch is harmless; the per-entry loop names the failure.
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

void upsert(int fd, std::map<Bytes, Bytes>& cur, const std::map<Bytes, Bytes>& want,
            const char* what) {
  for (const auto& [k, v] : want) {
    auto it = cur.find(k);
    if (it != cur.end() && it->second == v) continue;
    if (bpf_map_update_elem(fd, k.data(), v.data(), BPF_ANY) != 0)
      throw ApplyError(fmt::format("update {}: {}", what, errstr(errno)));
    cur[k] = v;
  }
}

void prune(int fd, std::map<Bytes, Bytes>& cur, const std::map<Bytes, Bytes>& want,
           const char* what) {
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

void zero_percpu(int fd, uint32_t key, size_t vsz, int ncpus, const char* what) {
  Bytes zero(percpu_value_size(vsz, ncpus), 0);
  if (bpf_map_update_elem(fd, &key, zero.data(), BPF_ANY) != 0)
    throw ApplyError(fmt::format("zero {} {}: {}", what, key, errstr(errno)));
}

std::vector<aigw_ctr> read_percpu_ctrs(int fd, uint32_t n, int ncpus) {
  std::vector<aigw_ctr> out(n);
  for (uint32_t k = 0; k < n; ++k) lookup_percpu_sum(fd, k, ncpus, out[k]);
  return out;
}

}  // namespace aigw::maps
