#include "packet_corpus.hpp"

#include <fmt/format.h>

#include "packet_build.hpp"

namespace aigw::fuzz {

namespace {

// tests/datapath/dptest.py's topology and SIDs.
const Mac kCust0 = mac("02:00:00:00:0c:00"), kCust1 = mac("02:00:00:00:0c:01");
const Mac kWan0 = mac("02:00:00:00:0a:00"), kHost = mac("02:00:00:00:0c:10");
const Mac kPeer = mac("02:00:00:00:00:02");
const Ip4 kHost4 = ip4("192.0.2.10");
const Ip6 kHost6 = ip6("2001:db8:1::10"), kPeer6 = ip6("fc00:b::1");
constexpr uint8_t kApnType = 0x13;
const Bytes kHostApn{0, 0, 0, 0x2a, 0, 0, 0, 7};

Bytes payload(size_t n, uint8_t fill = 'q') { return Bytes(n, fill); }

// One customer IP packet of each kind towards dst (IPv4 or IPv6).
struct L4Case {
  const char* name;
  uint8_t proto;
  uint16_t sport, dport;
  size_t len;
};
const L4Case kL4Cases[] = {{"udp", 17, 1111, 2222, 32},
                           {"tcp-syn-mss", 6, 40000, 5001, 0},
                           {"icmp", 1, 0, 0, 24},
                           {"udp-rdma", 17, 7001, 4791, 64},
                           {"tcp-data", 6, 40000, 443, 100}};

Bytes l4_for(const L4Case& c, std::span<const uint8_t> src, std::span<const uint8_t> dst, bool v6) {
  static const Bytes kMss{2, 4, 0x05, 0xb4, 4, 2, 1, 1};  // MSS 1460, SACK-permitted, NOPs
  if (c.proto == 17) return udp(src, dst, c.sport, c.dport, payload(c.len));
  if (c.proto == 6)
    return c.len ? tcp(src, dst, c.sport, c.dport, 0x18, {}, payload(c.len))
                 : tcp(src, dst, c.sport, c.dport, 0x02, kMss, {});
  if (v6) return icmp6_echo(Ip6{}, Ip6{}, payload(c.len));  // checksum fixed by the caller
  return icmp4_echo(payload(c.len));
}

Bytes customer4(const std::string& dst, const L4Case& c, const Ip4Opts& o = {}) {
  const Ip4 d = ip4(dst);
  const uint8_t proto = c.proto == 58 ? 1 : c.proto;
  return ipv4(kHost4, d, proto, l4_for(c, kHost4, d, false), o);
}

// ext: one extension header of type ext_type between the IPv6 header and L4.
Bytes customer6(const std::string& dst, const L4Case& c, uint8_t hlim = 64, Bytes ext = {},
                uint8_t tclass = 0, uint8_t ext_type = 0) {
  const Ip6 d = ip6(dst);
  const uint8_t proto = c.proto == 1 ? 58 : c.proto;
  Bytes l4 = l4_for(c, kHost6, d, true);
  if (proto == 58) set_l4_csum(l4, kHost6, d, 58);
  if (ext.empty()) return ipv6(kHost6, d, proto, l4, hlim, tclass);
  ext[0] = proto;  // the extension header chain's last Next Header
  return ipv6(kHost6, d, ext_type, cat({ext, l4}), hlim, tclass);
}

Bytes on_cust0(std::span<const uint8_t> l3, bool v6, int vlan = 0) {
  const uint16_t et = v6 ? 0x86DD : 0x0800;
  if (!vlan) return cat({eth(kCust0, kHost, et), l3});
  return cat({eth(kCust0, kHost, 0x8100), vlan_tag(static_cast<uint16_t>(vlan), et), l3});
}

Bytes on_cust1(std::span<const uint8_t> l3, bool v6) {
  return cat({eth(kCust1, kHost, 0x8100), vlan_tag(100, v6 ? 0x86DD : 0x0800), l3});
}

void headend_seeds(std::vector<Seed>& out) {
  // One destination per policy of packet_fuzz.yaml (and one with none).
  const std::pair<const char*, const char*> dsts[] = {
      {"198.51.100.21", "2001:db8:2:1::5"},  {"198.51.100.37", "2001:db8:2:2::5"},
      {"198.51.100.53", "2001:db8:2:3::5"},  {"198.51.100.69", "2001:db8:2:4::5"},
      {"198.51.100.85", "2001:db8:2:5::5"},  {"198.51.100.101", "2001:db8:2:6::5"},
      {"198.51.100.117", "2001:db8:2:7::5"}, {"198.51.100.133", "2001:db8:2:8::5"},
      {"198.51.100.149", "2001:db8:2:9::5"}, {"198.51.100.165", "2001:db8:2:a::5"},
      {"198.51.100.181", "2001:db8:2:b::5"}, {"198.51.100.197", "2001:db8:2:c::5"},
      {"198.51.100.213", "2001:db8:2:d::5"}, {"198.51.100.229", "2001:db8:2:e::5"},
      {"198.51.100.245", "2001:db8:2:f::5"}, {"198.51.100.17", "2001:db8:2:1::17"},
      {"203.0.113.5", "2001:db8:2:10::5"},   {"203.0.113.21", "2001:db8:2:11::5"},
      {"192.0.2.99", "2001:db8:99::5"},      {"198.51.100.7", "2001:db8:2:77::5"}};
  const auto apn_hbh = opts_header(0, apn_option(kApnType, kHostApn));
  const auto doh = opts_header(0, Bytes{1, 2, 0, 0});
  for (const auto& [d4, d6] : dsts) {
    for (const auto& c : kL4Cases) {
      out.push_back({fmt::format("v4-{}-{}", c.name, d4), Program::Headend, "cust0",
                     on_cust0(customer4(d4, c), false)});
      out.push_back({fmt::format("v6-{}-{}", c.name, d6), Program::Headend, "cust0",
                     on_cust0(customer6(d6, c), true)});
    }
    const L4Case& u = kL4Cases[0];
    out.push_back({fmt::format("v4-ttl1-{}", d4), Program::Headend, "cust0",
                   on_cust0(customer4(d4, u, Ip4Opts{.ttl = 1}), false)});
    out.push_back({fmt::format("v6-hlim1-{}", d6), Program::Headend, "cust0",
                   on_cust0(customer6(d6, u, 1), true)});
    out.push_back({fmt::format("v6-hbh-apn-{}", d6), Program::Headend, "cust0",
                   on_cust0(customer6(d6, u, 64, apn_hbh), true)});
    for (int vlan : {200, 300})
      out.push_back({fmt::format("v6-hbh-apn-vlan{}-{}", vlan, d6), Program::Headend, "cust0",
                     on_cust0(customer6(d6, u, 64, apn_hbh), true, vlan)});
    out.push_back({fmt::format("v4-vlan100-{}", d4), Program::Headend, "cust1",
                   on_cust1(customer4(d4, kL4Cases[1]), false)});
    out.push_back({fmt::format("v6-vlan100-{}", d6), Program::Headend, "cust1",
                   on_cust1(customer6(d6, kL4Cases[1]), true)});
  }
  const L4Case big{"udp-big", 17, 1111, 2222, 1420};
  out.push_back({"v4-big-df-mtu", Program::Headend, "cust0",
                 on_cust0(customer4("198.51.100.149", big), false)});
  out.push_back({"v4-big-nodf-mtu", Program::Headend, "cust0",
                 on_cust0(customer4("198.51.100.149", big, Ip4Opts{.df = false}), false)});
  out.push_back(
      {"v6-big-mtu", Program::Headend, "cust0", on_cust0(customer6("2001:db8:2:9::5", big), true)});
  out.push_back(
      {"v4-dscp10", Program::Headend, "cust0",
       on_cust0(customer4("198.51.100.21", kL4Cases[0], Ip4Opts{.tos = 10 << 2}), false)});
  out.push_back({"v6-dscp10", Program::Headend, "cust0",
                 on_cust0(customer6("2001:db8:2:1::5", kL4Cases[0], 64, {}, 10 << 2), true)});
  out.push_back({"v6-doh", Program::Headend, "cust0",
                 on_cust0(customer6("2001:db8:2:2::5", kL4Cases[0], 64, doh, 0, 60), true)});
  Bytes frag = frag_header(17, 0, true, 7);
  out.push_back({"v6-frag-first", Program::Headend, "cust0",
                 on_cust0(customer6("2001:db8:2:2::5", kL4Cases[0], 64, frag, 0, 44), true)});
  out.push_back(
      {"v4-frag-later", Program::Headend, "cust0",
       on_cust0(customer4("198.51.100.37", kL4Cases[0], Ip4Opts{.df = false, .frag = 0x2000 | 8}),
                false)});
}

// An SRv6 packet from the WAN peer to da: SRH (when segs is not empty)
// with Segments Left sl, then `inner` (next header nh), behind `pre`
// extension headers (their first byte is patched to chain).
Bytes wan_srv6(const std::string& da, const std::vector<std::string>& segs_wire, uint8_t sl,
               std::span<const uint8_t> inner, uint8_t nh, uint8_t hlim = 64,
               const Bytes& pre = {}) {
  Bytes ext;
  uint8_t first = nh;
  if (!segs_wire.empty()) {
    std::vector<Ip6> s;
    for (const auto& a : segs_wire) s.push_back(ip6(a));
    ext = srh(nh, s, sl, static_cast<uint8_t>(s.size() - 1));
    first = 43;
  }
  if (!pre.empty()) {
    Bytes p = pre;
    p[0] = first;
    ext = cat({p, ext});
    first = 0;
  }
  return cat({eth(kWan0, kPeer, 0x86DD), ipv6(kPeer6, ip6(da), first, cat({ext, inner}), hlim)});
}

void endpoint_seeds(std::vector<Seed>& out) {
  const Ip4 s4 = ip4("198.51.100.10"), d4 = ip4("203.0.113.9"), d4b = ip4("203.0.113.200");
  const Ip6 s6 = ip6("2001:db8:2::10"), d6 = ip6("2001:db8:3::9");
  const Bytes in4 = ipv4(s4, d4, 17, udp(s4, d4, 1, 2, payload(16)), Ip4Opts{.ttl = 40});
  const Bytes in4b = ipv4(s4, d4b, 6, tcp(s4, d4b, 3, 4, 0x02, {}, {}), Ip4Opts{.ttl = 40});
  const Bytes in6 = ipv6(s6, d6, 17, udp(s6, d6, 1, 2, payload(16)), 40);
  const Bytes apn = opts_header(0, apn_option(kApnType, Bytes{0, 0, 0, 0x2a, 0, 0, 0, 1}));
  const Bytes doh = opts_header(0, Bytes{1, 4, 0, 0, 0, 0});
  struct Sid {
    const char* name;
    const char* sid;
    bool v4, v6, decap;
  };
  const Sid sids[] = {{"end", "fc00:a::e", true, true, false},
                      {"endx", "fc00:a::e1", true, true, false},
                      {"dx4", "fc00:a::d4", true, false, true},
                      {"dx6", "fc00:a::d6", false, true, true},
                      {"dt4", "fc00:a::74", true, false, true},
                      {"dt6", "fc00:a::76", false, true, true},
                      {"dt46", "fc00:a::7446", true, true, true},
                      {"dx4-locator", "fc00:a:0:d4::1", true, false, true}};
  for (const auto& s : sids) {
    for (int v6 = 0; v6 < 2; v6++) {
      if (!(v6 ? s.v6 : s.v4)) continue;
      const Bytes& inner = v6 ? in6 : (s.decap ? in4 : in4b);
      const uint8_t nh = v6 ? 41 : 4;
      const std::string tag = fmt::format("{}-v{}", s.name, v6 ? 6 : 4);
      auto add = [&](const std::string& what, Bytes f) {
        out.push_back({tag + what, Program::Endpoint, "wan0", std::move(f)});
      };
      if (s.decap) {
        add("-srh", wan_srv6(s.sid, {s.sid, "fc00:b::1"}, 0, inner, nh));
        add("-nosrh", wan_srv6(s.sid, {}, 0, inner, nh));
        add("-apn-srh", wan_srv6(s.sid, {s.sid}, 0, inner, nh, 64, apn));
        add("-apn-nosrh", wan_srv6(s.sid, {}, 0, inner, nh, 64, apn));
        add("-doh", wan_srv6(s.sid, {s.sid}, 0, inner, nh, 64, doh));
      } else {
        // Next segment via wan1 (fc00:c::/48, MTU 1400) or wan0 (fc00:b::/48).
        add("-to-wan1", wan_srv6(s.sid, {"fc00:c::1", s.sid}, 1, inner, nh));
        add("-to-wan0", wan_srv6(s.sid, {"fc00:b::99", "fc00:c::1", s.sid}, 2, inner, nh));
        add("-apn", wan_srv6(s.sid, {"fc00:c::1", s.sid}, 1, inner, nh, 64, apn));
        add("-hlim1", wan_srv6(s.sid, {"fc00:c::1", s.sid}, 1, inner, nh, 1));
        add("-sl0-udp", wan_srv6(s.sid, {s.sid}, 0, udp(kPeer6, ip6(s.sid), 5, 6, payload(8)), 17));
        const Bytes big = ipv6(s6, d6, 17, udp(s6, d6, 1, 2, payload(1400)), 40);
        add("-big", wan_srv6(s.sid, {"fc00:c::1", s.sid}, 1, big, 41));
      }
    }
  }
  // Not for a local SID: handed to the kernel.
  out.push_back({"wan-transit", Program::Endpoint, "wan0", wan_srv6("fc00:b::5", {}, 0, in6, 41)});
  const Bytes end = wan_srv6("fc00:a::e", {"fc00:c::1", "fc00:a::e"}, 1, in6, 41);
  out.push_back(
      {"wan-vlan", Program::Endpoint, "wan0",
       cat({eth(kWan0, kPeer, 0x8100), vlan_tag(5, 0x86DD), std::span(end).subspan(14)})});
  out.push_back({"wan-v4", Program::Endpoint, "wan0", cat({eth(kWan0, kPeer, 0x0800), in4})});
}

}  // namespace

std::vector<Seed> packet_corpus() {
  std::vector<Seed> out;
  headend_seeds(out);
  endpoint_seeds(out);
  return out;
}

}  // namespace aigw::fuzz
