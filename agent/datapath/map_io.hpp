// Map I/O written once: entry and key walks (batched where the map type has
// it), batched updates, per-CPU sums, and the diff-sync of a mirrored map.
// Every function takes a map fd and sizes; errors carry the map's role.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "datapath/types.hpp"

namespace aigw::maps {

using Bytes = std::vector<uint8_t>;

template <class T>
Bytes to_bytes(const T& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  Bytes b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

template <class T>
T from_bytes(const uint8_t* p) {
  static_assert(std::is_trivially_copyable_v<T>);
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::string errstr(int err);

using EntryFn = std::function<void(const uint8_t* key, const uint8_t* value)>;
using KeyFn = std::function<void(const uint8_t* key)>;

// Calls fn(key, value) for every entry (value = vsz bytes; for per-CPU maps
// the per-CPU values back to back, see percpu_value_size).
// BPF_MAP_LOOKUP_BATCH in chunks where the map type has it, else
// get_next_key + lookup.
void for_each_entry(int fd, size_t ksz, size_t vsz, const EntryFn& fn);
// Calls fn(key) for every key (get_next_key walk).
void for_each_key(int fd, size_t ksz, const KeyFn& fn);
// Every entry, as bytes.
std::map<Bytes, Bytes> dump(int fd, size_t ksz, size_t vsz);

// Writes n entries packed back to back: one BPF_MAP_UPDATE_BATCH where the
// map type has it, one update per entry where not (or if the batch failed).
// Throws ApplyError naming `what`.
void update_many(int fd, const void* keys, const void* vals, uint32_t n, size_t ksz, size_t vsz,
                 const char* what);

// The mirrored-map diff: `upsert` writes the entries of `want` that `cur`
// lacks or holds differently, `prune` deletes the entries of `cur` that
// `want` lacks. `cur` follows every successful write, so it stays what the
// map holds even when a later write fails.
void upsert(int fd, std::map<Bytes, Bytes>& cur, const std::map<Bytes, Bytes>& want,
            const char* what);
void prune(int fd, std::map<Bytes, Bytes>& cur, const std::map<Bytes, Bytes>& want,
           const char* what);

// Bytes one lookup of a per-CPU map returns: ncpus values, each rounded up
// to 8 bytes.
inline size_t percpu_value_size(size_t vsz, int ncpus) {
  return ((vsz + 7) / 8 * 8) * static_cast<size_t>(ncpus);
}

// Sum of the per-CPU copies of a counter struct made only of u64 lanes
// (aigw_ctr, aigw_if_stats): lane-wise addition.
template <class T>
T sum_percpu(const uint8_t* v, int ncpus) {
  static_assert(sizeof(T) % sizeof(uint64_t) == 0 && std::is_trivially_copyable_v<T>,
                "per-CPU counters are u64 lanes");
  constexpr size_t kLanes = sizeof(T) / sizeof(uint64_t);
  uint64_t acc[kLanes] = {};
  for (int c = 0; c < ncpus; ++c)
    for (size_t l = 0; l < kLanes; ++l) {
      uint64_t x;
      std::memcpy(&x, v + c * sizeof(T) + l * sizeof(uint64_t), sizeof x);
      acc[l] += x;
    }
  T out;
  std::memcpy(&out, acc, sizeof out);
  return out;
}

// Looks up `key` of a per-CPU map and sums over CPUs; false when absent.
bool lookup_raw(int fd, const void* key, void* value);

template <class T>
bool lookup_percpu_sum(int fd, uint32_t key, int ncpus, T& out) {
  std::vector<uint8_t> buf(percpu_value_size(sizeof(T), ncpus));
  if (!lookup_raw(fd, &key, buf.data())) return false;
  out = sum_percpu<T>(buf.data(), ncpus);
  return true;
}

// Writes zero to every CPU's copy of `key`.
void zero_percpu(int fd, uint32_t key, size_t vsz, int ncpus, const char* what);

// Sums of the per-CPU aigw_ctr array entries 0..n-1 (absent entries zero).
std::vector<aigw_ctr> read_percpu_ctrs(int fd, uint32_t n, int ncpus);

inline void add_ctr(aigw_ctr& a, const aigw_ctr& b) {
  a.packets += b.packets;
  a.bytes += b.bytes;
}

}  // namespace aigw::maps
