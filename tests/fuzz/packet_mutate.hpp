// Mutations of Ethernet frames for the packet fuzzer. A lenient walk of the
// frame (Layout) finds header boundaries and the length/structure fields,
// so that mutations hit what parsers read: lengths, counts, Next Header
// chains, as well as random bytes.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_util.hpp"

namespace aigw::fuzz {

struct Layout {
  std::vector<size_t> boundaries;  // offsets where a header begins (L3, ext, L4, inner L3)
  std::vector<size_t> field16;     // 16-bit length/offset fields
  std::vector<size_t> field8;      // 8-bit structural fields (IHL, Hdr Ext Len, SL, LE...)
  std::vector<size_t> ip4, ip6;    // offsets of the IP headers, outermost first
  // (offset of a Next Header byte, offset where the header it names begins)
  std::vector<std::pair<size_t, size_t>> chain;
};

// Best effort: stops where the frame stops making sense.
Layout layout_of(const Bytes& frame);

// Every IP header's length made to reach the end of the frame (innermost
// first) and the IPv4 header checksums recomputed.
void fix_lengths(Bytes& frame);
void fix_ipv4_checksums(Bytes& frame);

class Mutator {
 public:
  explicit Mutator(size_t max_len) : max_len_(max_len) {}
  // 1-4 stacked mutations of `frame` (`donor` feeds header splicing);
  // returns their names joined by '+'.
  std::string mutate(Bytes& frame, const Bytes& donor, Rng& rng) const;

 private:
  const char* one(Bytes& f, const Bytes& donor, Rng& rng, bool& structural) const;
  size_t max_len_;
};

}  // namespace aigw::fuzz
