#include "packet_mutate.hpp"

#include <algorithm>

#include "packet_build.hpp"

namespace aigw::fuzz {

namespace {

constexpr size_t kEth = 14;

bool is_ext(uint8_t nh) { return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51; }

size_t ext_len(const Bytes& f, size_t p, uint8_t nh) {
  if (nh == 44) return 8;
  if (nh == 51) return (static_cast<size_t>(f[p + 1]) + 2) * 4;
  return (static_cast<size_t>(f[p + 1]) + 1) * 8;
}

void walk_ip(const Bytes& f, size_t o, int depth, Layout& l);

void walk_l4(const Bytes& f, size_t p, uint8_t proto, int depth, Layout& l) {
  l.boundaries.push_back(p);
  if ((proto == 4 || proto == 41) && depth < 3) return walk_ip(f, p, depth + 1, l);
  if (proto == 17 && p + 8 <= f.size()) l.field16.push_back(p + 4);
  if (proto == 6 && p + 20 <= f.size()) {
    l.field8.push_back(p + 12);                           // data offset
    l.field8.push_back(p + 13);                           // flags
    if (p + 24 <= f.size()) l.field8.push_back(p + 21);   // first option's length (MSS)
    if (p + 24 <= f.size()) l.field16.push_back(p + 22);  // MSS value
  }
  if ((proto == 1 || proto == 58) && p + 4 <= f.size()) l.field8.push_back(p);
}

void walk_ip6(const Bytes& f, size_t o, int depth, Layout& l) {
  if (o + 40 > f.size()) return;
  l.ip6.push_back(o);
  l.field16.push_back(o + 4);
  l.field8.push_back(o + 7);
  uint8_t nh = f[o + 6];
  size_t nh_at = o + 6, p = o + 40;
  for (int n = 0; n < 12 && is_ext(nh); n++) {
    l.chain.emplace_back(nh_at, p);
    l.boundaries.push_back(p);
    if (p + 8 > f.size()) return;
    l.field8.push_back(p + 1);
    if (nh == 43) {
      l.field8.push_back(p + 2);
      l.field8.push_back(p + 3);
      l.field8.push_back(p + 4);
    }
    if (nh == 44) l.field16.push_back(p + 2);
    if (nh == 0 || nh == 60) {
      l.field8.push_back(p + 2);  // first option type
      l.field8.push_back(p + 3);  // its length
    }
    const size_t len = ext_len(f, p, nh);
    nh_at = p;
    nh = f[p];
    p += len;
  }
  l.chain.emplace_back(nh_at, p);
  if (p <= f.size()) walk_l4(f, p, nh, depth, l);
}

void walk_ip4(const Bytes& f, size_t o, int depth, Layout& l) {
  if (o + 20 > f.size()) return;
  l.ip4.push_back(o);
  l.field8.push_back(o);      // version/IHL
  l.field8.push_back(o + 1);  // TOS
  l.field16.push_back(o + 2);
  l.field16.push_back(o + 6);
  l.field8.push_back(o + 8);
  l.field8.push_back(o + 9);
  const size_t ihl = static_cast<size_t>(f[o] & 0xf) * 4;
  if (ihl < 20 || o + ihl > f.size()) return;
  walk_l4(f, o + ihl, f[o + 9], depth, l);
}

void walk_ip(const Bytes& f, size_t o, int depth, Layout& l) {
  if (o >= f.size()) return;
  if (f[o] >> 4 == 6) walk_ip6(f, o, depth, l);
  if (f[o] >> 4 == 4) walk_ip4(f, o, depth, l);
}

// One extension header to insert (its Next Header byte set by the caller).
Bytes random_ext(Rng& rng, uint8_t& type) {
  static const Bytes kApn64{0, 0, 0, 0x2a, 0, 0, 0, 7};
  switch (rng.below(6)) {
    case 0:
      type = 0;
      return opts_header(0, apn_option(0x13, kApn64));
    case 1:
      type = static_cast<uint8_t>(rng.one_in(2) ? 0 : 60);
      return opts_header(0, Bytes{1, static_cast<uint8_t>(rng.below(12)), 0, 0, 0, 0, 0, 0});
    case 2:
      type = 44;
      return frag_header(0, static_cast<uint16_t>(rng.below(3)), rng.one_in(2), 9);
    case 3: {
      type = 43;
      static const char* kSegs[] = {"fc00:a::e", "fc00:a::d4", "fc00:a::76",
                                    "fc00:c::1", "fc00:b::1",  "fc00:a::7446"};
      std::vector<Ip6> segs;
      const size_t n = 1 + rng.below(3);
      for (size_t i = 0; i < n; i++) segs.push_back(ip6(kSegs[rng.below(std::size(kSegs))]));
      return srh(0, segs, static_cast<uint8_t>(rng.below(n + 1)), static_cast<uint8_t>(n - 1));
    }
    case 4: {  // an options header of random length with random content
      type = static_cast<uint8_t>(rng.one_in(2) ? 0 : 60);
      Bytes b((1 + rng.below(4)) * 8);
      for (auto& c : b) c = static_cast<uint8_t>(rng.next());
      b[1] = static_cast<uint8_t>(b.size() / 8 - 1);
      return b;
    }
    default:
      type = static_cast<uint8_t>(rng.next());
      return Bytes(8, 0);
  }
}

uint8_t interesting8(Rng& rng) {
  static const uint8_t kV[] = {0, 0xff, 0x7f, 0x80, 1, 2, 4, 0x3f, 0x40, 0x10};
  return kV[rng.below(std::size(kV))];
}

uint16_t interesting16(Rng& rng) {
  static const uint16_t kV[] = {0, 0xffff, 0x7fff, 0x8000, 1, 8, 20, 40, 0xffd8, 0xffe7, 1500};
  return kV[rng.below(std::size(kV))];
}

}  // namespace

Layout layout_of(const Bytes& f) {
  Layout l;
  if (f.size() < kEth) return l;
  size_t off = 12;
  uint16_t et = get16(f, off);
  for (int n = 0; n < 2 && (et == 0x8100 || et == 0x88a8) && off + 6 <= f.size(); n++) {
    l.field16.push_back(off + 2);
    off += 4;
    et = get16(f, off);
  }
  l.field16.push_back(off);
  if (et == 0x86DD || et == 0x0800) walk_ip(f, off + 2, 0, l);
  return l;
}

void fix_lengths(Bytes& f) {
  const Layout l = layout_of(f);
  for (auto it = l.ip6.rbegin(); it != l.ip6.rend(); ++it)
    put16(f, *it + 4, static_cast<uint16_t>(std::min<size_t>(f.size() - *it - 40, 0xffff)));
  for (auto it = l.ip4.rbegin(); it != l.ip4.rend(); ++it)
    put16(f, *it + 2, static_cast<uint16_t>(std::min<size_t>(f.size() - *it, 0xffff)));
  fix_ipv4_checksums(f);
}

void fix_ipv4_checksums(Bytes& f) {
  for (size_t o : layout_of(f).ip4) {
    const size_t ihl = static_cast<size_t>(f[o] & 0xf) * 4;
    if (ihl < 20 || o + ihl > f.size()) continue;
    put16(f, o + 10, 0);
    put16(f, o + 10, csum_fold(csum_add(0, std::span(f).subspan(o, ihl))));
  }
}

const char* Mutator::one(Bytes& f, const Bytes& donor, Rng& rng, bool& structural) const {
  const Layout l = layout_of(f);
  const size_t n = f.size();
  switch (rng.below(12)) {
    case 0: {
      const size_t bits = 1 + rng.below(4);
      for (size_t i = 0; i < bits; i++) f[rng.below(n)] ^= static_cast<uint8_t>(1u << rng.below(8));
      return "bitflip";
    }
    case 1:
      f[kEth + rng.below(n - kEth)] = interesting8(rng);
      return "byte-interesting";
    case 2:
      if (l.field8.empty()) return "none";
      f[rng.pick(l.field8)] = rng.one_in(2) ? interesting8(rng) : static_cast<uint8_t>(rng.next());
      return "field8";
    case 3: {
      if (l.field16.empty()) return "none";
      const size_t at = rng.pick(l.field16);
      const int delta = static_cast<int>(rng.below(33)) - 16;
      put16(f, at,
            rng.one_in(2) ? interesting16(rng) : static_cast<uint16_t>(get16(f, at) + delta));
      return "field16";
    }
    case 4:
      f.resize(kEth + rng.below(n - kEth));
      structural = true;
      return "truncate";
    case 5: {
      const size_t add = 1 + rng.below(rng.one_in(4) ? 512 : 16);
      for (size_t i = 0; i < add && f.size() < max_len_; i++)
        f.push_back(rng.one_in(2) ? 0 : static_cast<uint8_t>(rng.next()));
      structural = true;
      return "extend";
    }
    case 6: {
      const Layout d = layout_of(donor);
      if (l.boundaries.empty() || d.boundaries.empty()) return "none";
      const size_t cut = rng.pick(l.boundaries), from = rng.pick(d.boundaries);
      if (cut > f.size() || from > donor.size()) return "none";
      f.resize(cut);
      f.insert(f.end(), donor.begin() + static_cast<long>(from), donor.end());
      structural = true;
      return "splice";
    }
    case 7: {
      if (l.chain.empty()) return "none";
      const auto [nh_at, at] = rng.pick(l.chain);
      if (at > f.size()) return "none";
      uint8_t type = 0;
      Bytes ext = random_ext(rng, type);
      ext[0] = f[nh_at];
      f[nh_at] = type;
      f.insert(f.begin() + static_cast<long>(at), ext.begin(), ext.end());
      structural = true;
      return "insert-ext";
    }
    case 8: {
      const size_t a = kEth + rng.below(n - kEth), len = 1 + rng.below(std::min<size_t>(16, n - a));
      f.erase(f.begin() + static_cast<long>(a), f.begin() + static_cast<long>(a + len));
      structural = true;
      return "delete";
    }
    case 9: {
      const size_t a = kEth + rng.below(n - kEth), len = 1 + rng.below(std::min<size_t>(24, n - a));
      Bytes copy(f.begin() + static_cast<long>(a), f.begin() + static_cast<long>(a + len));
      f.insert(f.begin() + static_cast<long>(rng.below(f.size() - kEth) + kEth), copy.begin(),
               copy.end());
      structural = true;
      return "duplicate";
    }
    case 10:
      f[rng.below(n)] = static_cast<uint8_t>(rng.next());
      return "byte-random";
    default: {
      if (l.chain.empty()) return "none";
      f[rng.pick(l.chain).first] =
          rng.pick(std::vector<uint8_t>{0, 4, 6, 17, 41, 43, 44, 58, 59, 60, 51, 1});
      return "next-header";
    }
  }
}

std::string Mutator::mutate(Bytes& f, const Bytes& donor, Rng& rng) const {
  std::string names;
  bool structural = false;
  const size_t count = 1 + rng.below(rng.one_in(3) ? 4 : 1);
  for (size_t i = 0; i < count && f.size() > kEth; i++) {
    if (!names.empty()) names += '+';
    names += one(f, donor, rng, structural);
  }
  if (f.size() > max_len_) f.resize(max_len_);
  // Half the structural changes get consistent lengths, so they reach past
  // the length checks; most frames get valid IPv4 header checksums, so a
  // checksum check does not stop every mutation.
  if (structural && rng.one_in(2)) {
    fix_lengths(f);
    names += "+fix-lengths";
  } else if (!rng.one_in(4)) {
    fix_ipv4_checksums(f);
  }
  return names;
}

}  // namespace aigw::fuzz
