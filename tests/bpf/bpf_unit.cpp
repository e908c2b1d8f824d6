// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// BPF unit tests: runs every program of the unit test objects (unit_tests.h
// compiled for XDP and for TC) through BPF_PROG_TEST_RUN on a zeroed packet;
// a program returns 0 or the line of its failed check. Then the first TC
// program, tc_customer_egress, on skbs, sharing the XDP headend's maps as
// one loader would. Needs root; attaches nothing, pins nothing.
#include <aigw/abi.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "bpf_unit_tc.skel.h"
#include "bpf_unit_xdp.skel.h"
#include "tc_customer_egress.skel.h"
#include "xdp_headend.skel.h"

namespace {

constexpr size_t kPktLen = 512;  // UT_PKT_LEN in unit.h
int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what);
  if (!ok) ++failures;
}

// Tests never pin: maps are private to this process.
void no_pins(bpf_object* obj) {
  bpf_map* m;
  bpf_object__for_each_map(m, obj) bpf_map__set_pin_path(m, nullptr);
}

int run(int prog_fd, std::vector<unsigned char> pkt, unsigned* retval) {
  std::vector<unsigned char> out(pkt.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = pkt.data();
  opts.data_size_in = static_cast<__u32>(pkt.size());
  opts.data_out = out.data();
  opts.data_size_out = static_cast<__u32>(out.size());
  opts.repeat = 1;
  int err = bpf_prog_test_run_opts(prog_fd, &opts);
  *retval = opts.retval;
  if (err) std::fprintf(stderr, "test run of %zu bytes: error %d\n", pkt.size(), err);
  return err;
}

void run_unit_object(bpf_object* obj, const char* flavour) {
  bpf_program* p;
  bpf_object__for_each_program(p, obj) {
    unsigned ret = 0;
    int err = run(bpf_program__fd(p), std::vector<unsigned char>(kPktLen), &ret);
    char what[160];
    if (err)
      std::snprintf(what, sizeof what, "%s %s: test run error %d", flavour, bpf_program__name(p),
                    err);
    else if (ret)
      std::snprintf(what, sizeof what, "%s %s: check at unit_tests.h:%u", flavour,
                    bpf_program__name(p), ret);
    else
      std::snprintf(what, sizeof what, "%s %s", flavour, bpf_program__name(p));
    check(!err && ret == 0, what);
  }
}

template <class Skel, class Open, class Load, class Destroy>
void unit_object(const char* flavour, Open open, Load load, Destroy destroy) {
  Skel* s = open();
  if (!s) return check(false, flavour);
  no_pins(s->obj);
  if (load(s)) {
    check(false, "load unit test object");
  } else {
    run_unit_object(s->obj, flavour);
  }
  destroy(s);
}

aigw_tc_stats tc_stats_sum(int fd, __u32 slot) {
  int ncpu = libbpf_num_possible_cpus();
  std::vector<aigw_tc_stats> v(ncpu > 0 ? ncpu : 1);
  aigw_tc_stats sum{};
  if (bpf_map_lookup_elem(fd, &slot, v.data())) return sum;
  for (const auto& s : v) {
    sum.seen.packets += s.seen.packets;
    sum.ip.packets += s.ip.packets;
    sum.bad.packets += s.bad.packets;
    sum.flow_hit.packets += s.flow_hit.packets;
    sum.seen.bytes += s.seen.bytes;
  }
  return sum;
}

// Ethernet + IPv4 + UDP 10.0.0.1:1000 -> 10.0.0.2:dport.
std::vector<unsigned char> udp4(uint16_t dport) {
  std::vector<unsigned char> p(14 + 20 + 8 + 18, 0);
  p[0] = 0x02, p[6] = 0x02, p[12] = 0x08, p[13] = 0x00;
  unsigned char* ip = &p[14];
  ip[0] = 0x45, ip[3] = 20 + 8 + 18, ip[8] = 64, ip[9] = 17;
  ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
  unsigned char* udp = ip + 20;
  udp[0] = 1000 >> 8, udp[1] = 1000 & 0xff, udp[2] = dport >> 8, udp[3] = dport & 0xff;
  udp[5] = 8 + 18;
  return p;
}

// Every pinned map of the objects is listed in abi.h (AIGW_MAPS for the XDP
// objects, AIGW_MAPS_TC for the TC-only ones): the list the agent pins by.
bool listed(std::string_view name, bool tc) {
#define AIGW_X_(n, doc) \
  if (name == #n) return true;
  AIGW_MAPS(AIGW_X_)
  if (tc) {
    AIGW_MAPS_TC(AIGW_X_)
  }
#undef AIGW_X_
  return false;
}

void maps_listed(bpf_object* obj, bool tc, const char* what) {
  bpf_map* m;
  bool ok = true;
  bpf_object__for_each_map(m, obj) {
    // Pinned maps are those with a pin path before no_pins() clears it.
    if (bpf_map__pin_path(m) && !listed(bpf_map__name(m), tc)) {
      std::printf("  %s: map %s is pinned but not in abi.h\n", what, bpf_map__name(m));
      ok = false;
    }
  }
  check(ok, what);
}

// The TC program with the XDP headend's maps (reused by fd, as the loader
// will): the definitions must match, and what the TC program reads is what
// the XDP side wrote.
void tc_customer_egress_test() {
  xdp_headend* he = xdp_headend__open();
  tc_customer_egress* tc = tc_customer_egress__open();
  if (!he || !tc) return check(false, "tc: open objects");
  maps_listed(he->obj, false, "abi: every pinned map of xdp_headend is in AIGW_MAPS");
  maps_listed(tc->obj, true, "abi: every pinned map of tc_customer_egress is in AIGW_MAPS(_TC)");
  no_pins(he->obj);
  no_pins(tc->obj);
  bool shared = xdp_headend__load(he) == 0;
  bpf_map* m;
  bpf_object__for_each_map(m, tc->obj) {
    std::string_view name = bpf_map__name(m);
    if (name.rfind("aigw_", 0) != 0 || name == "aigw_tc_stats") continue;
    bpf_map* mine = bpf_object__find_map_by_name(he->obj, bpf_map__name(m));
    shared = shared && mine && bpf_map__reuse_fd(m, bpf_map__fd(mine)) == 0;
  }
  check(shared, "tc: every aigw_ map of tc_customer_egress reuses the headend's");
  bool loaded = shared && tc_customer_egress__load(tc) == 0;
  check(loaded, "tc: tc_customer_egress loads");
  if (!loaded) {
    tc_customer_egress__destroy(tc);
    xdp_headend__destroy(he);
    return;
  }
  // lo (the test run's device, ifindex 1) as customer port slot 7, VRF 3;
  // flows on in bank 0; one flow in aigw_flows as the endpoint keys it.
  aigw_iface_key ik{};
  ik.ifindex = 1;
  aigw_iface_cfg cfg{};
  cfg.vrf = 3, cfg.slot = 7, cfg.role = AIGW_ROLE_CUSTOMER;
  aigw_cls_meta meta{};
  meta.flows_on = 1;
  __u32 zero = 0;
  aigw_flow_key fk{};
  fk.src[0] = 10, fk.src[3] = 1, fk.dst[0] = 10, fk.dst[3] = 2;
  fk.sport = htons(1000), fk.dport = htons(2000), fk.proto = 17, fk.family = 4;
  fk.dir = AIGW_DIR_IN, fk.ifslot = 7, fk.vrf = 3;
  aigw_flow f{};
  bool setup = bpf_map_update_elem(bpf_map__fd(he->maps.aigw_ifaces), &ik, &cfg, 0) == 0 &&
               bpf_map_update_elem(bpf_map__fd(he->maps.aigw_cls_meta), &zero, &meta, 0) == 0 &&
               bpf_map_update_elem(bpf_map__fd(he->maps.aigw_flows), &fk, &f, 0) == 0;
  check(setup, "tc: program the shared maps");

  int fd = bpf_program__fd(tc->progs.tc_customer_egress);
  int st = bpf_map__fd(tc->maps.aigw_tc_stats);
  unsigned ret = 99;
  std::vector<unsigned char> arp(60, 0);
  arp[12] = 0x08, arp[13] = 0x06;
  std::vector<unsigned char> bad = udp4(2000);
  bad[14] = 0x44;  // IHL 4: shorter than an IPv4 header
  bool ran = run(fd, udp4(2000), &ret) == 0 && ret == TC_ACT_OK;    // the flow
  ran = ran && run(fd, udp4(2001), &ret) == 0 && ret == TC_ACT_OK;  // another one
  ran = ran && run(fd, bad, &ret) == 0 && ret == TC_ACT_OK;         // malformed
  ran = ran && run(fd, arp, &ret) == 0 && ret == TC_ACT_OK;         // not IP
  check(ran, "tc: every packet gets TC_ACT_OK");
  aigw_tc_stats s = tc_stats_sum(st, 7);
  std::printf("tc slot 7: seen %llu/%llu ip %llu bad %llu flow_hit %llu\n",
              (unsigned long long)s.seen.packets, (unsigned long long)s.seen.bytes,
              (unsigned long long)s.ip.packets, (unsigned long long)s.bad.packets,
              (unsigned long long)s.flow_hit.packets);
  check(s.seen.packets == 4 && s.seen.bytes == 4 * 60, "tc: seen 4 packets, their bytes");
  check(s.ip.packets == 2, "tc: ip 2");
  check(s.bad.packets == 1, "tc: bad 1 (IPv4 with IHL 4)");
  check(s.flow_hit.packets == 1, "tc: flow_hit 1 (the flow in aigw_flows)");
  aigw_tc_stats none = tc_stats_sum(st, 0);
  check(none.seen.packets == 0, "tc: nothing in slot 0 (the port is known)");
  tc_customer_egress__destroy(tc);
  xdp_headend__destroy(he);
}

}  // namespace

int main() {
  if (geteuid() != 0) {
    std::fprintf(stderr, "bpf_unit: needs root (BPF_PROG_TEST_RUN)\n");
    return 77;
  }
  libbpf_set_print([](libbpf_print_level l, const char* f, va_list a) {
    return l == LIBBPF_WARN ? std::vfprintf(stderr, f, a) : 0;
  });
  unit_object<bpf_unit_xdp>("xdp", bpf_unit_xdp__open, bpf_unit_xdp__load, bpf_unit_xdp__destroy);
  unit_object<bpf_unit_tc>("tc", bpf_unit_tc__open, bpf_unit_tc__load, bpf_unit_tc__destroy);
  tc_customer_egress_test();
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
  return failures ? 1 : 0;
}
