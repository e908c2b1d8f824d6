#include "bench_common.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bench_abi.h"
#include "bench_xdp.skel.h"

namespace bench {

namespace {
std::string errstr(int e) { return std::strerror(e < 0 ? -e : e); }

uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t csum_add(uint32_t sum, const uint8_t* p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  return sum;
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
}  // namespace

SinkCounters SinkCounters::operator-(const SinkCounters& o) const {
  SinkCounters r;
  r.frames = frames - o.frames;
  r.bytes = bytes - o.bytes;
  r.len_ok = len_ok - o.len_ok;
  r.srv6 = srv6 - o.srv6;
  r.srv6_dst_ok = srv6_dst_ok - o.srv6_dst_ok;
  r.ipv6_no_srh = ipv6_no_srh - o.ipv6_no_srh;
  r.restored = restored - o.restored;
  r.restore_failed = restore_failed - o.restore_failed;
  return r;
}

BenchXdp::BenchXdp() {
  skel_ = bench_xdp__open_and_load();
  if (!skel_) throw Error("bench_xdp: open/load failed: " + errstr(errno));
}

BenchXdp::~BenchXdp() {
  detach_all();
  bench_xdp__destroy(skel_);
}

int BenchXdp::prog_fd(BenchProg p) const {
  switch (p) {
    case BenchProg::Drop: return bpf_program__fd(skel_->progs.bench_drop);
    case BenchProg::Pass: return bpf_program__fd(skel_->progs.bench_pass);
    case BenchProg::Redirect: return bpf_program__fd(skel_->progs.bench_redirect);
    case BenchProg::Encap: return bpf_program__fd(skel_->progs.bench_encap);
    case BenchProg::Sink: return bpf_program__fd(skel_->progs.bench_sink);
    case BenchProg::Vary: return bpf_program__fd(skel_->progs.bench_vary);
  }
  return -1;
}

void BenchXdp::set_redirect(int ifindex) {
  uint32_t k = static_cast<uint32_t>(ifindex);
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.bench_tx), &k, &k, BPF_ANY))
    throw Error("bench_tx: add ifindex " + std::to_string(ifindex) + ": " + errstr(errno));
  skel_->bss->bench_cfg.redirect_ifindex = k;
}

void BenchXdp::set_sink_pass(bool pass) { skel_->bss->bench_cfg.sink_pass = pass ? 1 : 0; }
void BenchXdp::set_expect_len(uint32_t len) { skel_->bss->bench_cfg.expect_len = len; }

void BenchXdp::set_expect_dst(const std::array<uint8_t, 16>* dst) {
  auto& c = skel_->bss->bench_cfg;
  if (dst) std::memcpy(c.expect_dst, dst->data(), 16);
  c.expect_dst_set = dst ? 1 : 0;
}

void BenchXdp::set_encap(const uint8_t* hdr, uint32_t len, bool has_srh) {
  if (len < 40 || len > BENCH_ENCAP_MAX || len % 8) throw Error("encap template length out of range");
  bench_encap e{};
  e.encap_len = len;
  e.has_srh = has_srh ? 1 : 0;
  std::memcpy(e.hdr, hdr, len);
  uint32_t k = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.bench_encap_tmpl), &k, &e, BPF_ANY))
    throw Error("bench_encap_tmpl: " + errstr(errno));
}

void BenchXdp::set_next(int prog_fd) {
  uint32_t k = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.bench_next), &k, &prog_fd, BPF_ANY))
    throw Error("bench_next: " + errstr(errno));
}

void BenchXdp::set_restore(const std::vector<uint8_t>& frame) {
  if (frame.size() > BENCH_ORIG_MAX) throw Error("restore frame longer than BENCH_ORIG_MAX");
  bench_orig o{};
  o.len = static_cast<uint32_t>(frame.size());
  if (!frame.empty()) std::memcpy(o.data, frame.data(), frame.size());
  uint32_t k = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.bench_orig), &k, &o, BPF_ANY))
    throw Error("bench_orig: " + errstr(errno));
}

int BenchXdp::sink_counters_fd() const { return bpf_map__fd(skel_->maps.bench_sink_ctr); }

SinkCounters BenchXdp::read_sink() const { return read_sink_fd(sink_counters_fd()); }

SinkCounters read_sink_fd(int fd) {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu < 1) throw Error("libbpf_num_possible_cpus failed");
  std::vector<bench_sink_ctr> per(static_cast<size_t>(ncpu));
  uint32_t k = 0;
  if (bpf_map_lookup_elem(fd, &k, per.data())) throw Error("bench_sink_ctr: " + errstr(errno));
  SinkCounters s;
  for (const auto& c : per) {
    s.frames += c.frames;
    s.bytes += c.bytes;
    s.len_ok += c.len_ok;
    s.srv6 += c.srv6;
    s.srv6_dst_ok += c.srv6_dst_ok;
    s.ipv6_no_srh += c.ipv6_no_srh;
    s.restored += c.restored;
    s.restore_failed += c.restore_failed;
  }
  return s;
}

void BenchXdp::attach(int ifindex, BenchProg p) {
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
  int fd = prog_fd(p);
  int err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, &opts);
  if (err) throw Error("XDP attach to ifindex " + std::to_string(ifindex) + ": " + errstr(err));
  attached_.emplace_back(ifindex, fd);
}

void BenchXdp::detach_all() {
  for (auto [ifindex, fd] : attached_) {
    // Only our own program (REPLACE with the expected old program).
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
    opts.old_prog_fd = fd;
    bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE, &opts);
  }
  attached_.clear();
}

int ifindex_of(const std::string& name) {
  unsigned i = if_nametoindex(name.c_str());
  if (!i) throw Error("interface " + name + ": " + errstr(errno));
  return static_cast<int>(i);
}

std::array<uint8_t, 6> mac_of(const std::string& name) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw Error("socket: " + errstr(errno));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  int rc = ::ioctl(s, SIOCGIFHWADDR, &ifr);
  int e = errno;
  ::close(s);
  if (rc) throw Error("SIOCGIFHWADDR " + name + ": " + errstr(e));
  std::array<uint8_t, 6> m{};
  std::memcpy(m.data(), ifr.ifr_hwaddr.sa_data, 6);
  return m;
}

std::array<uint8_t, 16> ip6(const std::string& s) {
  std::array<uint8_t, 16> a{};
  if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) throw Error("bad IPv6 address " + s);
  return a;
}

uint32_t ip4_be(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw Error("bad IPv4 address " + s);
  return a.s_addr;
}

std::vector<uint8_t> eth_frame(const Eth& eth, uint16_t ethertype, const std::vector<uint8_t>& l3) {
  std::vector<uint8_t> f(14);
  std::memcpy(f.data(), eth.dst.data(), 6);
  std::memcpy(f.data() + 6, eth.src.data(), 6);
  put16(f.data() + 12, ethertype);
  f.insert(f.end(), l3.begin(), l3.end());
  return f;
}

std::vector<uint8_t> udp4_packet(const std::string& src, const std::string& dst, uint8_t ttl,
                                 size_t payload) {
  const size_t ulen = 8 + payload, tot = 20 + ulen;
  std::vector<uint8_t> p(tot, 0);
  uint8_t* ip = p.data();
  ip[0] = 0x45;
  put16(ip + 2, static_cast<uint16_t>(tot));
  put16(ip + 4, 0x1234);
  put16(ip + 6, 0x4000);  // DF
  ip[8] = ttl;
  ip[9] = 17;
  uint32_t s = ip4_be(src), d = ip4_be(dst);
  std::memcpy(ip + 12, &s, 4);
  std::memcpy(ip + 16, &d, 4);
  put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
  uint8_t* u = ip + 20;
  put16(u, 9);  // discard
  put16(u + 2, 9);
  put16(u + 4, static_cast<uint16_t>(ulen));
  for (size_t i = 0; i < payload; i++) u[8 + i] = static_cast<uint8_t>(0xa0 + i);
  uint32_t sum = csum_add(0, ip + 12, 8);
  sum += 17 + static_cast<uint32_t>(ulen);
  sum = csum_add(sum, u, ulen);
  uint16_t c = csum_fold(sum);
  put16(u + 6, c ? c : 0xffff);
  return p;
}

std::vector<uint8_t> udp6_packet(const std::string& src, const std::string& dst, uint8_t hlim,
                                 size_t payload) {
  const size_t ulen = 8 + payload;
  std::vector<uint8_t> p(40 + ulen, 0);
  uint8_t* ip = p.data();
  ip[0] = 0x60;
  put16(ip + 4, static_cast<uint16_t>(ulen));
  ip[6] = 17;
  ip[7] = hlim;
  auto s = ip6(src), d = ip6(dst);
  std::memcpy(ip + 8, s.data(), 16);
  std::memcpy(ip + 24, d.data(), 16);
  uint8_t* u = ip + 40;
  put16(u, 9);
  put16(u + 2, 9);
  put16(u + 4, static_cast<uint16_t>(ulen));
  for (size_t i = 0; i < payload; i++) u[8 + i] = static_cast<uint8_t>(0xb0 + i);
  uint32_t sum = csum_add(0, ip + 8, 32);
  sum += 17 + static_cast<uint32_t>(ulen);
  sum = csum_add(sum, u, ulen);
  uint16_t c = csum_fold(sum);
  put16(u + 6, c ? c : 0xffff);
  return p;
}

std::vector<uint8_t> udp4_frame(const Eth& eth, const std::string& src, const std::string& dst,
                                uint8_t ttl, size_t payload) {
  return eth_frame(eth, 0x0800, udp4_packet(src, dst, ttl, payload));
}

std::vector<uint8_t> srv6_frame(const Eth& eth, const std::string& src, const std::string& dst,
                                const std::vector<std::string>& seglist, uint8_t segments_left,
                                const std::vector<uint8_t>& inner) {
  const bool v4 = !inner.empty() && (inner[0] >> 4) == 4;
  const uint8_t inner_nh = v4 ? 4 : 41;
  const size_t srh_len = seglist.empty() ? 0 : 8 + 16 * seglist.size();
  std::vector<uint8_t> l3(40 + srh_len, 0);
  uint8_t* ip = l3.data();
  ip[0] = 0x60;
  put16(ip + 4, static_cast<uint16_t>(srh_len + inner.size()));
  ip[6] = seglist.empty() ? inner_nh : 43;
  ip[7] = 64;
  auto s = ip6(src), d = ip6(dst);
  std::memcpy(ip + 8, s.data(), 16);
  std::memcpy(ip + 24, d.data(), 16);
  if (!seglist.empty()) {
    uint8_t* srh = ip + 40;
    srh[0] = inner_nh;
    srh[1] = static_cast<uint8_t>(srh_len / 8 - 1);
    srh[2] = 4;
    srh[3] = segments_left;
    srh[4] = static_cast<uint8_t>(seglist.size() - 1);
    for (size_t i = 0; i < seglist.size(); i++) {
      auto a = ip6(seglist[i]);
      std::memcpy(srh + 8 + 16 * i, a.data(), 16);
    }
  }
  l3.insert(l3.end(), inner.begin(), inner.end());
  return eth_frame(eth, 0x86DD, l3);
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 0xf]);
  }
  return s;
}

void pin_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set))
    throw Error("sched_setaffinity(" + std::to_string(cpu) + "): " + errstr(errno));
}

}  // namespace bench
