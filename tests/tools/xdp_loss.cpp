// aigw-xdp-loss: the WAN impairment stage's loss (xdp_loss.bpf.c) on an
// interface of the current network namespace. Only ever run it inside a
// namespace a test created.
//
//   aigw-xdp-loss attach DEV --loss FRACTION [--seed N]   attach (stays after exit;
//                [--drop-from N --drop-count K]            gone with the namespace);
//                                                          also lose the RoCEv2
//                                                          datagrams N..N+K-1 seen
//                [--mode drop|corrupt]                     corrupt: pass them with
//                                                          a wrong ICRC instead
//   aigw-xdp-loss stats DEV                  {"seen":N,"dropped":N,"corrupted":N}
//   aigw-xdp-loss detach DEV
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "xdp_loss.skel.h"

namespace {

[[noreturn]] void fail(const std::string& s) { throw std::runtime_error(s); }

struct Skel {
  xdp_loss* s = nullptr;
  ~Skel() { xdp_loss__destroy(s); }
};

struct Drop {
  uint64_t from = 0, count = 0;
  bool corrupt = false;
};

int attach(int ifindex, double loss, uint64_t seed, Drop drop) {
  if (!(loss >= 0 && loss <= 1)) fail("--loss is a fraction, 0..1");
  Skel k;
  k.s = xdp_loss__open();
  if (!k.s) fail("open xdp_loss");
  k.s->bss->loss = static_cast<uint32_t>(std::min(loss * 4294967296.0, 4294967295.0));
  k.s->bss->seed = seed;
  k.s->bss->drop_from = drop.from;
  k.s->bss->drop_count = drop.count;
  k.s->bss->corrupt = drop.corrupt;
  if (xdp_loss__load(k.s)) fail("load xdp_loss");
  int err = bpf_xdp_attach(ifindex, bpf_program__fd(k.s->progs.xdp_loss),
                           XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
  if (err) fail(fmt::format("attach: {}", strerror(-err)));
  return 0;
}

int stats(int ifindex) {
  uint32_t prog_id = 0;
  if (bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &prog_id) || !prog_id) fail("no XDP program");
  int fd = bpf_prog_get_fd_by_id(prog_id);
  if (fd < 0) fail("program fd");
  bpf_prog_info info{};
  uint32_t map_ids[4] = {};
  info.nr_map_ids = 4;
  info.map_ids = reinterpret_cast<uint64_t>(map_ids);
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len)) fail("program info");
  for (uint32_t i = 0; i < info.nr_map_ids && i < 4; i++) {
    int mfd = bpf_map_get_fd_by_id(map_ids[i]);
    bpf_map_info mi{};
    uint32_t mlen = sizeof(mi);
    if (mfd < 0 || bpf_obj_get_info_by_fd(mfd, &mi, &mlen)) continue;
    if (std::string(mi.name).find(".bss") == std::string::npos) continue;
    std::remove_pointer_t<decltype(xdp_loss::bss)> bss{};
    uint32_t zero = 0;
    if (bpf_map_lookup_elem(mfd, &zero, &bss)) fail("read .bss");
    fmt::print("{{\"seen\":{},\"dropped\":{},\"corrupted\":{}}}\n", bss.seen, bss.dropped,
               bss.corrupted);
    return 0;
  }
  fail("no .bss map");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 3)
      fail(
          "usage: aigw-xdp-loss attach|stats|detach DEV [--loss F] [--seed N] [--drop-from N "
          "--drop-count K] [--mode drop|corrupt]");
    std::string cmd = argv[1];
    int ifindex = static_cast<int>(if_nametoindex(argv[2]));
    if (!ifindex) fail(fmt::format("no interface {}", argv[2]));
    double loss = 0;
    uint64_t seed = 1;
    Drop drop;
    for (int i = 3; i + 1 < argc; i += 2) {
      std::string a = argv[i];
      if (a == "--loss")
        loss = std::stod(argv[i + 1]);
      else if (a == "--seed")
        seed = std::stoull(argv[i + 1]);
      else if (a == "--drop-from")
        drop.from = std::stoull(argv[i + 1]);
      else if (a == "--drop-count")
        drop.count = std::stoull(argv[i + 1]);
      else if (a == "--mode" &&
               (std::string(argv[i + 1]) == "drop" || std::string(argv[i + 1]) == "corrupt"))
        drop.corrupt = std::string(argv[i + 1]) == "corrupt";
      else
        fail("unknown option " + a);
    }
    if (cmd == "attach") return attach(ifindex, loss, seed, drop);
    if (cmd == "stats") return stats(ifindex);
    if (cmd == "detach") return bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr) ? 1 : 0;
    fail("unknown command " + cmd);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aigw-xdp-loss: %s\n", e.what());
    return 2;
  }
}
