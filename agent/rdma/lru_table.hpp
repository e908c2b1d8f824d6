// A bounded table of per-flow state: at most `max` entries; a new flow past
// that evicts the one used least recently (counted), so a flood of new
// queue pairs cannot grow the proxy's memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <unordered_map>
#include <utility>

namespace aigw::rdma {

template <class K, class V, class Hash>
class LruTable {
 public:
  using OnEvict = std::function<void(const K&, V&)>;
  explicit LruTable(size_t max, OnEvict on_evict = {})
      : max_(max ? max : 1), on_evict_(std::move(on_evict)) {}

  // The entry of k, made with make() if new; now the most recent.
  template <class Make>
  V& get(const K& k, Make&& make) {
    if (auto it = index_.find(k); it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->second;
    }
    if (index_.size() >= max_) {
      if (on_evict_) on_evict_(order_.back().first, order_.back().second);
      index_.erase(order_.back().first);
      order_.pop_back();
      evicted_++;
    }
    order_.emplace_front(k, make());
    index_.emplace(k, order_.begin());
    return order_.front().second;
  }

  // Remove the least recently used entries while idle(key, value) says so
  // (the rest were used later); on_evict is told. How many went.
  template <class Idle>
  size_t drop_idle(Idle&& idle) {
    size_t n = 0;
    while (!order_.empty() && idle(order_.back().first, order_.back().second)) {
      if (on_evict_) on_evict_(order_.back().first, order_.back().second);
      index_.erase(order_.back().first);
      order_.pop_back();
      n++;
    }
    return n;
  }

  V* find(const K& k) {
    auto it = index_.find(k);
    return it == index_.end() ? nullptr : &it->second->second;
  }

  template <class F>
  void for_each(F&& f) {
    for (auto& [k, v] : order_) f(k, v);
  }

  size_t size() const { return index_.size(); }
  uint64_t evicted() const { return evicted_; }

 private:
  size_t max_;
  OnEvict on_evict_;
  std::list<std::pair<K, V>> order_;  // most recent first
  std::unordered_map<K, typename std::list<std::pair<K, V>>::iterator, Hash> index_;
  uint64_t evicted_ = 0;
};

}  // namespace aigw::rdma
