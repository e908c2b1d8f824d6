// aigw-dp-run: drives the real datapath (config parser + Datapath::apply +
// the loaded XDP programs) with BPF_PROG_TEST_RUN, for the datapath test
// suite (tests/datapath). It never attaches a program to an interface.
//
//   aigw-dp-run --config FILE --pin DIR
//
// Start-up: parses FILE with the real config parser, loads the datapath with
// its maps pinned under DIR, applies the configuration (interfaces resolved
// over rtnetlink in the current network namespace), then prints one line
//   {"ready":true,"slots":{"<interface key>":slot,...}}
// or {"error":"..."} and exits 1.
//
// Then one JSON request per stdin line, one JSON answer per stdout line:
//   {"prog":"headend"|"endpoint","ifindex":N,"pkt":"<hex>"}
//     -> {"verdict":"XDP_PASS",...,"retval":n,"out":"<hex>"}
//        one bpf_prog_test_run_opts (repeat 1) with ctx_in = xdp_md
//        {.ingress_ifindex = N}; the output buffer has room for any growth.
//   {"cmd":"stats"} -> {"drops":{"<reason>":packets,...},"events":{...},
//        "ifaces":{"<slot>":{"rx":p,"rx_bytes":b,...}},"slots":{...}}
//        (slot "0" = packets from interfaces without configuration)
//   {"cmd":"reset"} -> {"ok":true}   zeroes the counter maps (aigw_if_stats, aigw_hh,
//        aigw_drops, aigw_events, aigw_usage, aigw_pol_stats) and empties
//        aigw_flows and aigw_apn_usage
//
// Accounting (Datapath's read API; counters summed over CPUs; "dir" is
// "out" (customer -> WAN, headend) or "in" (WAN -> customer, endpoint)):
//   {"cmd":"flows"} -> {"flows":[{"src":"192.0.2.10","dst":"198.51.100.10",
//        "sport":1234,"dport":80 (host order, 0 = none),"proto":6,"family":4,
//        "dir":"out","ifslot":1,"vrf":0,"dqp":q (RoCEv2 destination QP, 0 =
//        none),"packets":p,"bytes":b (L3),
//        "first_ns":t,"last_ns":t,"rule_id":r (4294967295 = no rule matched:
//        the default),"policy_slot":s,"gen":g,"tenant":t,"cls":c,
//        "tcp_flags":f,"apn":"<hex, apn_len bytes>" ("" = none),"dscp":d,
//        "flags":f (AIGW_ACT_F_*)},...]}
//   {"cmd":"usage"} -> {"usage":[{"dir":"out","tenant":t,"cls":c,"packets":p,
//        "bytes":b},...]}  (non-zero aigw_usage entries only)
//   {"cmd":"apn_usage"} -> {"apn_usage":[{"dir":"out","app_group":g,
//        "packets":p,"bytes":b},...]}
//   {"cmd":"pol_stats"} -> {"pol_stats":[{"slot":s,"policy":"<name>",
//        "packets":p,"bytes":b},...]}  (slots with traffic only)
//   {"cmd":"flush_flows"} -> {"ok":true,"deleted":n}  empties aigw_flows (with
//        Datapath::read_flows + delete_flows)
//
// Reconfiguration and the classification banks:
//   {"cmd":"policy_slots"} -> {"max_entries":n,"valid":[{"slot":s,"id":i,
//        "nsids":k},...]}  the aigw_policies entries flagged valid, read from
//        the pinned map
//   {"cmd":"route_events"} -> {"changes":n,"gen":g}  reads the rtnetlink
//        notifications waiting (netlink/route_watch.hpp, opened at start),
//        and when n of them can move a next hop, invalidates the caches as
//        aigwd does; gen is aigw_globals.gen afterwards
//   {"cmd":"apply","config":"PATH"} -> {"ok":true,"apply_ms":t,"slots":{...}}
//        parses PATH and runs Datapath::apply (a reload); a bad file or a
//        refused apply gives {"error":...} and the running state stays
//   {"cmd":"cls_info"} -> {"active_bank":b,"meta":[{"nrules":n,"nwords":w,
//        "flows_on":f},{...}] (per bank),"gen":g (aigw_globals),
//        "entries":{"aigw_cls_src4":[bank0,bank1],...}}  read from the maps:
//        entries per bank of every hash/LPM classification map
//
// Classification in bulk (differential tests against a reference
// classifier):
//   {"cmd":"classify_batch","prog":"headend","iface":"NAME",
//    "frames_file":"PATH"[,"results_file":"PATH"]}
//   PATH holds one Ethernet frame a line as hex (blank lines skipped). First
//   aigw_flows is emptied; then each frame runs once through the headend
//   with ingress_ifindex = NAME's ifindex (an interface of the namespace the
//   runner is in, configured as a customer port for the frames to be
//   classified), and the one flow entry the frame created is read and
//   deleted. Needs flows.enabled (the default). Per frame, in file order:
//     {"verdict":"XDP_...","rule_id":r,"tenant":t,"cls":c,"dscp":d,
//      "policy_slot":s}          (rule_id 4294967295 = the default decision)
//     {"verdict":"XDP_...","flow":false}   no flow entry (not classified)
//     {"error":"..."}                      bad hex / test run refused
//   Answer: {"frames":n,"ms":elapsed,"results":[...]} or, with results_file,
//   the per-frame objects one a line in that file and
//   {"frames":n,"ms":elapsed,"results_file":"PATH"}. About 10 us a frame.
// TC programs and the loader's attach (the same Loader aigwd uses):
//   {"prog":"tc_customer_egress","ifindex":N,"pkt":"<hex>"}
//     -> {"verdict":"TC_ACT_OK",...}: any other program name of the loaded
//        objects runs by name; a TC program gets ctx_in = __sk_buff
//        {.ifindex = N} (the device the skb leaves by)
//   {"cmd":"tc_stats"} -> {"tc":{"<slot>":{"seen":p,"seen_bytes":b,"ip":..,
//        "bad":..,"flow_hit":..},...}}  (aigw_tc_stats, slots with packets)
//   {"cmd":"attach","ifname":"X","hook":"xdp"|"tc_ingress"|"tc_egress",
//    "prog":"NAME"[,"mode":"native"|"generic"]} -> {"ok":true}
//   {"cmd":"detach","ifname":"X","hook":"..."} -> {"ok":true}
//        attach refuses to replace a foreign program ({"error":...});
//        every attachment left is removed when the runner exits
// Elephants (abi.h "elephants"; the agent's module is not running here):
//   {"cmd":"hh_cfg","mult":m,"key_bytes":k} -> {"ok":true}  aigw_hh_cfg (mult
//        default 1: windows of 2^42 ns, about 73 minutes, so a test sees one
//        window; key_bytes default 1: every flow is named)
//   {"cmd":"hh_read"} -> {"slots":[{"half":h,"epoch":e,"bytes":b,"fp":f},...],
//        "keys":[{"fp":f,"slot":s,"epoch":e,"key":"<hex>"},...]}  every CPU's
//        non-empty sketch slots (a flow may appear on several CPUs) and the
//        names in aigw_hh_keys
//   {"cmd":"pin","key":"<hex flow key>","head":h,"target":t,"gap_ns":g
//    [,"keep":true (keep cur, last_ns, moves)]} writes aigw_path_pins, sets
//        npins and bumps the generation; {"cmd":"unpin","key":..} deletes;
//   {"cmd":"pins"} -> {"pins":[{"key","sport","head","target","cur","gap_ns",
//        "last_ns","moves","home"},...]}
//   {"cmd":"run_frames","prog":"headend","ifindex":N,"frames_file":PATH}
//        runs every frame of PATH ([u16 little-endian length][frame]...) once,
//        all on one CPU (as one NIC queue's frames; the runner stays on it)
//        -> {"frames":n,"ms":t,"prog_ns":d,"verdicts":{"XDP_REDIRECT":n,...}}
//        (prog_ns: the kernel's timing of the runs summed, syscalls excluded)
//   {"cmd":"flows"} entries also carry "key" (hex) and "pinned".
// RDMA proxy (abi.h "RDMA proxy"; aigwd's module is not running here, the
// runner does its parts with the agent's own code):
//   {"cmd":"rdma_select"} -> {"ok":true,"select":{"<tenant id>":classes,...}}
//        writes aigw_rdma_sel from the configuration's rdma_proxy.select as
//        the module plans it (features::rdma_selection)
//   {"cmd":"xsk_open","iface":"NAME"} -> {"ok":true,"slots":[s,...]}  an
//        AF_XDP socket of the proxy's kind (dp::XskSocket, copy mode) on
//        NAME queue 0, put in aigw_xsks for every configured entry of NAME
//   {"cmd":"xsk_close","iface":"NAME"} -> {"ok":true}  closes it (it leaves
//        aigw_xsks with it)
//   {"cmd":"xsk_read","iface":"NAME"} -> {"frames":[{"frame":"<hex>",
//        "kind":k,"egress":ifindex,"ip_off":o,"tenant":t},...],"rx":n,
//        "bad_meta":n,"kernel_drops":{"no_frame":n,"rx_ring_full":n,
//        "invalid":n}}  what the socket received since the last read; the
//        kernel's drops on the way in (XDP_STATISTICS), since it was opened
//   {"cmd":"xsk_send","iface":"NAME","frame":"<hex>","count":N} ->
//        {"queued":n,"tx":n,"tx_full":n}  the frame N times into the socket's
//        TX ring (XskSocket::send), then one XskSocket::flush, as a pass
//        of the proxy's loop ends; the counters since the socket was opened
//   {"prog":..,"ifindex":N,"pkt":..,"live":true[,"runs":R]} -> {"ok":true}
//        R (default 1) runs in live-frames mode (dp::xdp_inject, queue 0):
//        what the program decides is done (a redirect into a socket
//        delivers there)
// Any problem gives {"error":"..."}; the runner keeps reading. On EOF it
// removes the pins (Datapath::unpin_all) and exits 0.
// The ready line also carries "apply_ms": the time the first apply took.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/log.hpp"
#include "config/parse.hpp"
#include "datapath/datapath.hpp"
#include "datapath/elephant_maps.hpp"
#include "datapath/loader.hpp"
#include "datapath/map_io.hpp"
#include "datapath/rdma_maps.hpp"
#include "datapath/xsk.hpp"
#include "features/rdma_proxy.hpp"
#include "netlink/links.hpp"
#include "netlink/route_watch.hpp"
#include "telemetry/flows.hpp"

using nlohmann::json;

namespace {

void emit(const json& j) { std::cout << j.dump() << '\n' << std::flush; }

json error_json(const std::string& msg) { return json{{"error", msg}}; }

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; i++) {
    s.push_back(digits[p[i] >> 4]);
    s.push_back(digits[p[i] & 0xf]);
  }
  return s;
}

std::optional<std::vector<uint8_t>> from_hex(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.size() % 2) return std::nullopt;
  std::vector<uint8_t> out(s.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    int hi = val(s[2 * i]), lo = val(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

const char* verdict_name(uint32_t v) {
  switch (v) {
    case XDP_ABORTED:
      return "XDP_ABORTED";
    case XDP_DROP:
      return "XDP_DROP";
    case XDP_PASS:
      return "XDP_PASS";
    case XDP_TX:
      return "XDP_TX";
    case XDP_REDIRECT:
      return "XDP_REDIRECT";
    default:
      return "XDP_UNKNOWN";
  }
}

constexpr size_t kOutMax = 65536;

// The fd of a program by the name a request gives: "headend", "endpoint"
// or a program name of the loaded objects (throws when unknown).
int prog_fd_of(const aigw::Datapath& dp, const std::string& prog) {
  if (prog == "headend") return dp.prog_fd(aigw::Prog::Headend);
  if (prog == "endpoint") return dp.prog_fd(aigw::Prog::Endpoint);
  return dp.loader().prog_fd(prog);
}

bool is_tc_prog(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_PROG_TYPE_SCHED_CLS;
}

const char* tc_verdict_name(uint32_t v) {
  switch (static_cast<int>(v)) {
    case 0:
      return "TC_ACT_OK";
    case 2:
      return "TC_ACT_SHOT";
    case 7:
      return "TC_ACT_REDIRECT";
    default:
      return "TC_ACT_UNKNOWN";
  }
}

json run_packet(const aigw::Datapath& dp, const json& req) {
  if (!req.contains("prog") || !req["prog"].is_string()) return error_json("missing \"prog\"");
  if (!req.contains("pkt") || !req["pkt"].is_string()) return error_json("missing \"pkt\"");
  const std::string prog = req["prog"].get<std::string>();
  const int fd = prog_fd_of(dp, prog);
  uint32_t ifindex = 0;
  if (req.contains("ifindex")) {
    if (!req["ifindex"].is_number_unsigned())
      return error_json("\"ifindex\" must be an unsigned number");
    ifindex = req["ifindex"].get<uint32_t>();
  }
  auto pkt = from_hex(req["pkt"].get<std::string>());
  if (!pkt) return error_json("\"pkt\" is not a hex string");
  if (pkt->empty()) return error_json("empty packet");

  // The kernel refuses test input shorter than an Ethernet header (even
  // behind XDP metadata): such a frame gets an {"error"} answer.
  std::vector<uint8_t>& in = *pkt;
  if (req.value("live", false)) {
    int runs = req.value("runs", 1);
    for (int i = 0; i < std::clamp(runs, 1, 100000); i++)
      if (int e = aigw::dp::xdp_inject(fd, ifindex, in))
        return error_json(std::string("live run: ") + std::strerror(e));
    return json{{"ok", true}};
  }
  std::vector<uint8_t> out(kOutMax, 0);
  const bool tc = is_tc_prog(fd);
  xdp_md xdp_in{}, xdp_out{};
  xdp_in.data_end = static_cast<uint32_t>(in.size());
  xdp_in.ingress_ifindex = ifindex;
  __sk_buff skb_in{}, skb_out{};
  skb_in.ifindex = ifindex;

  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = in.data();
  opts.data_size_in = static_cast<uint32_t>(in.size());
  opts.data_out = out.data();
  opts.data_size_out = static_cast<uint32_t>(out.size());
  opts.ctx_in = tc ? static_cast<void*>(&skb_in) : static_cast<void*>(&xdp_in);
  opts.ctx_size_in = tc ? sizeof(skb_in) : sizeof(xdp_in);
  opts.ctx_out = tc ? static_cast<void*>(&skb_out) : static_cast<void*>(&xdp_out);
  opts.ctx_size_out = tc ? sizeof(skb_out) : sizeof(xdp_out);
  opts.repeat = 1;
  if (bpf_prog_test_run_opts(fd, &opts)) {
    int e = errno;
    return error_json(std::string("bpf_prog_test_run_opts: ") + std::strerror(e));
  }
  // XDP: data_size_out is the whole output starting at data_meta; ctx_out.data
  // is where the frame begins in it. TC: the frame starts at 0.
  size_t total = std::min<size_t>(opts.data_size_out, out.size());
  size_t start = tc ? 0 : std::min<size_t>(xdp_out.data, total);
  json r;
  r["verdict"] = tc ? tc_verdict_name(opts.retval) : verdict_name(opts.retval);
  r["retval"] = opts.retval;
  r["out"] = to_hex(out.data() + start, total - start);
  return r;
}

json tc_stats_json(const aigw::Datapath& dp) {
  const aigw::Loader& l = dp.loader();
  json tc = json::object();
  const int fd = l.map_fd("aigw_tc_stats");
  for (uint32_t slot = 0; slot < AIGW_MAX_IFACES; ++slot) {
    aigw_tc_stats s{};
    if (!aigw::maps::lookup_percpu_sum(fd, slot, l.ncpus(), s) || s.seen.packets == 0) continue;
    json j;
    for (auto [name, c] :
         {std::pair{"seen", s.seen}, {"ip", s.ip}, {"bad", s.bad}, {"flow_hit", s.flow_hit}}) {
      j[name] = c.packets;
      j[std::string(name) + "_bytes"] = c.bytes;
    }
    tc[std::to_string(slot)] = j;
  }
  return json{{"tc", tc}};
}

std::optional<aigw::Hook> hook_of(const std::string& h) {
  if (h == "xdp") return aigw::Hook::Xdp;
  if (h == "tc_ingress") return aigw::Hook::TcIngress;
  if (h == "tc_egress") return aigw::Hook::TcEgress;
  return std::nullopt;
}

json attach_cmd(aigw::Datapath& dp, const json& req, bool attach) {
  auto str = [&](const char* k) {
    return req.contains(k) && req[k].is_string() ? req[k].get<std::string>() : std::string();
  };
  auto hook = hook_of(str("hook"));
  if (!hook) return error_json("\"hook\" must be xdp, tc_ingress or tc_egress");
  const int ifindex = static_cast<int>(if_nametoindex(str("ifname").c_str()));
  if (ifindex == 0) return error_json("no interface '" + str("ifname") + "'");
  if (!attach) {
    dp.loader().detach(ifindex, *hook);
    return json{{"ok", true}};
  }
  auto mode = str("mode") == "generic" ? aigw::XdpMode::Generic : aigw::XdpMode::Native;
  dp.loader().attach(ifindex, *hook, str("prog"), mode);
  return json{{"ok", true}};
}

const char* kCounterNames[] = {"rx", "encap", "decap", "fwd", "pass", "drop", "tx"};

json slots_json(const aigw::Datapath& dp, const aigw::Config& cfg) {
  json s = json::object();
  for (const auto& i : cfg.interfaces) {
    std::string key = aigw::interface_key(i);  // "eth1" or "eth1 vlan 10"
    if (auto slot = dp.slot_of(key)) s[key] = *slot;
  }
  return s;
}

json stats_json(const aigw::Datapath& dp, const aigw::Config& cfg) {
  aigw::Stats st = dp.read_stats();  // slot 0 (unconfigured) included
  json drops = json::object(), events = json::object(), ifaces = json::object();
  for (unsigned r = 0; r < AIGW_DROP_MAX; r++)
    drops[aigw_drop_reason_name(r)] = r < st.drops.size() ? st.drops[r].packets : 0;
  for (unsigned e = 0; e < AIGW_EV_MAX; e++)
    events[aigw_event_name(e)] = e < st.events.size() ? st.events[e].packets : 0;
  for (const auto& [slot, c] : st.by_slot) {
    const aigw_ctr* ctrs[] = {&c.rx, &c.encap, &c.decap, &c.fwd, &c.pass, &c.drop, &c.tx};
    json o = json::object();
    for (size_t k = 0; k < std::size(kCounterNames); k++) {
      o[kCounterNames[k]] = ctrs[k]->packets;
      o[std::string(kCounterNames[k]) + "_bytes"] = ctrs[k]->bytes;
    }
    ifaces[std::to_string(slot)] = o;
  }
  return json{
      {"drops", drops}, {"events", events}, {"ifaces", ifaces}, {"slots", slots_json(dp, cfg)}};
}

// Zero one pinned per-CPU array map (every key below max_entries): one
// batch update where the kernel has it, else one update per key.
std::string zero_percpu_map(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return path + ": " + std::strerror(errno);
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  std::string err;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    err = path + ": bpf_obj_get_info_by_fd: " + std::strerror(errno);
  } else {
    int ncpu = libbpf_num_possible_cpus();
    size_t vsz = (info.value_size + 7) / 8 * 8 * static_cast<size_t>(ncpu > 0 ? ncpu : 1);
    std::vector<uint32_t> keys(info.max_entries);
    for (uint32_t k = 0; k < info.max_entries; k++) keys[k] = k;
    std::vector<uint8_t> zeros(vsz * info.max_entries, 0);
    uint32_t count = info.max_entries;
    if (bpf_map_update_batch(fd, keys.data(), zeros.data(), &count, nullptr) != 0 ||
        count != info.max_entries) {
      for (uint32_t k = 0; k < info.max_entries; k++) {
        if (bpf_map_update_elem(fd, &k, zeros.data(), BPF_ANY) != 0) {
          err = path + ": update: " + std::strerror(errno);
          break;
        }
      }
    }
  }
  ::close(fd);
  return err;
}

// Delete every entry of a pinned hash map; returns the count or an error.
std::variant<size_t, std::string> clear_hash_map(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return path + ": " + std::strerror(errno);
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    std::string e = path + ": bpf_obj_get_info_by_fd: " + std::strerror(errno);
    ::close(fd);
    return e;
  }
  std::vector<uint8_t> key(info.key_size);
  size_t n = 0;
  // Always restart from the first key: the one just deleted has no successor.
  while (bpf_map_get_next_key(fd, nullptr, key.data()) == 0) {
    if (bpf_map_delete_elem(fd, key.data()) != 0) {
      std::string e = path + ": delete: " + std::strerror(errno);
      ::close(fd);
      return e;
    }
    n++;
  }
  ::close(fd);
  return n;
}

json reset_stats(const std::string& pin) {
  for (const char* m :
       {"aigw_if_stats", "aigw_drops", "aigw_events", "aigw_usage", "aigw_pol_stats", "aigw_hh"}) {
    std::string err = zero_percpu_map(pin + "/" + m);
    if (!err.empty()) return error_json("reset: " + err);
  }
  for (const char* m : {"aigw_flows", "aigw_apn_usage"}) {
    auto r = clear_hash_map(pin + "/" + m);
    if (auto* e = std::get_if<std::string>(&r)) return error_json("reset: " + *e);
  }
  return json{{"ok", true}};
}

std::string addr_text(const uint8_t* a, uint8_t family) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, sizeof buf)) return "?";
  return buf;
}

json flow_json(const aigw::FlowEntry& e) {
  const aigw_flow_key& k = e.key;
  const aigw_flow& f = e.flow;
  return json{{"src", addr_text(k.src, k.family)},
              {"dst", addr_text(k.dst, k.family)},
              {"sport", ntohs(k.sport)},
              {"dport", ntohs(k.dport)},
              {"proto", k.proto},
              {"family", k.family},
              {"dir", aigw_dir_name(k.dir)},
              {"ifslot", k.ifslot},
              {"vrf", k.vrf},
              {"dqp", aigw::telemetry::flow_dqp(k)},
              {"packets", f.packets},
              {"bytes", f.bytes},
              {"first_ns", f.first_ns},
              {"last_ns", f.last_ns},
              {"rule_id", f.rule_id},
              {"policy_slot", f.policy_slot},
              {"gen", f.gen},
              {"tenant", f.tenant},
              {"cls", f.cls},
              {"tcp_flags", f.tcp_flags},
              {"apn", to_hex(f.apn, std::min<size_t>(f.apn_len, sizeof f.apn))},
              {"dscp", f.dscp},
              {"flags", f.flags},
              {"pinned", f.pinned},
              {"key", to_hex(reinterpret_cast<const uint8_t*>(&k), sizeof k)}};
}

// ---- Elephants (see "hh_cfg" at the top of the file).
std::optional<aigw_flow_key> key_of(const json& req) {
  if (!req.contains("key") || !req["key"].is_string()) return std::nullopt;
  auto b = from_hex(req["key"].get<std::string>());
  if (!b || b->size() != sizeof(aigw_flow_key)) return std::nullopt;
  aigw_flow_key k;
  std::memcpy(&k, b->data(), sizeof k);
  return k;
}

json hh_read(const aigw::dp::ElephantMaps& m) {
  json a = json::array();
  for (uint32_t half = 0; half < 2; ++half)
    for (const auto& s : m.read_half(half)) {
      if (!s.bytes) continue;
      a.push_back(json{{"half", half}, {"epoch", s.epoch}, {"bytes", s.bytes}, {"fp", s.fp}});
    }
  json k = json::array();
  for (const auto& [fp, v] : m.read_keys())
    k.push_back(json{{"fp", fp},
                     {"slot", v.slot},
                     {"epoch", v.epoch},
                     {"key", to_hex(reinterpret_cast<const uint8_t*>(&v.key), sizeof v.key)}});
  return json{{"slots", a}, {"keys", k}};
}

json pins_json(const aigw::dp::ElephantMaps& m) {
  json a = json::array();
  for (const auto& [k, p] : m.read_pins())
    a.push_back(json{{"key", to_hex(reinterpret_cast<const uint8_t*>(&k), sizeof k)},
                     {"sport", ntohs(k.sport)},
                     {"head", p.head},
                     {"target", p.target},
                     {"cur", p.cur},
                     {"gap_ns", p.gap_ns},
                     {"last_ns", p.last_ns},
                     {"moves", p.moves},
                     {"home", p.home}});
  return json{{"pins", a}};
}

// hh_cfg, hh_read, pin, unpin, pins; `mult` and `key_bytes` are in force.
json elephant_cmd(aigw::Datapath& dp, aigw::dp::ElephantMaps& m, uint64_t& mult,
                  uint32_t& key_bytes, const std::string& cmd, const json& req) {
  if (cmd == "hh_cfg") {
    mult = req.value("mult", uint64_t{1});
    key_bytes = req.value("key_bytes", 1u);
    m.set_cfg(mult, static_cast<uint32_t>(m.read_pins().size()), key_bytes);
    return json{{"ok", true}};
  }
  if (cmd == "hh_read") return hh_read(m);
  if (cmd == "pins") return pins_json(m);
  auto k = key_of(req);
  if (!k) return error_json("\"key\": the flow key, 48 bytes as hex");
  if (cmd == "pin") {
    aigw_path_pin p{};
    if (auto old = m.get_pin(*k); old && req.value("keep", false)) p = *old;
    p.head = req.value("head", 0u);
    p.target = req.value("target", 0u);
    p.gap_ns = req.value("gap_ns", 0u);
    m.put_pin(*k, p);
  } else {
    m.delete_pin(*k);
  }
  m.set_cfg(mult, static_cast<uint32_t>(m.read_pins().size()), key_bytes);
  if (cmd == "pin") dp.invalidate_caches();
  return json{{"ok", true}};
}

// Keeps the thread on the CPU it is on while alive, then restores its
// affinity: per-CPU state (the elephant sketch, caches) then sees a stream
// as one NIC queue's, not split wherever the scheduler moved the runner.
class StayOnCpu {
 public:
  StayOnCpu() {
    const int cpu = sched_getcpu();
    if (cpu < 0 || sched_getaffinity(0, sizeof old_, &old_) != 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pinned_ = sched_setaffinity(0, sizeof one, &one) == 0;
  }
  ~StayOnCpu() {
    if (pinned_) sched_setaffinity(0, sizeof old_, &old_);
  }
  StayOnCpu(const StayOnCpu&) = delete;
  StayOnCpu& operator=(const StayOnCpu&) = delete;

 private:
  cpu_set_t old_{};
  bool pinned_ = false;
};

// run_frames: FILE holds frames as [u16 length, little endian][bytes]...
json run_frames(const aigw::Datapath& dp, const json& req) {
  const int fd = prog_fd_of(dp, req.value("prog", std::string("headend")));
  std::ifstream in(req.value("frames_file", std::string()), std::ios::binary);
  if (!in) return error_json("run_frames: cannot open frames_file");
  const StayOnCpu stay;
  xdp_md ctx{};
  ctx.ingress_ifindex = req.value("ifindex", 0u);
  std::vector<uint8_t> pkt, out(kOutMax);
  std::map<std::string, uint64_t> verdicts;
  uint64_t n = 0, prog_ns = 0;
  auto t0 = std::chrono::steady_clock::now();
  uint8_t len_le[2];
  while (in.read(reinterpret_cast<char*>(len_le), 2)) {
    pkt.resize(len_le[0] | len_le[1] << 8);
    if (!in.read(reinterpret_cast<char*>(pkt.data()), static_cast<std::streamsize>(pkt.size())))
      return error_json("run_frames: truncated file");
    ctx.data_end = static_cast<uint32_t>(pkt.size());
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt.data(),
                .data_out = out.data(), .data_size_in = static_cast<uint32_t>(pkt.size()),
                .data_size_out = static_cast<uint32_t>(out.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof ctx, .repeat = 1);
    if (bpf_prog_test_run_opts(fd, &o)) return error_json(std::string("test run: ") + std::strerror(errno));
    ++verdicts[verdict_name(o.retval)];
    prog_ns += o.duration;  // the kernel's timing of the program run
    ++n;
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return json{{"frames", n}, {"ms", ms}, {"prog_ns", prog_ns}, {"verdicts", verdicts}};
}

json flows_json(const aigw::Datapath& dp) {
  json a = json::array();
  for (const auto& e : dp.read_flows()) a.push_back(flow_json(e));
  return json{{"flows", a}};
}

json usage_json(const aigw::Datapath& dp) {
  json a = json::array();
  std::vector<aigw_ctr> u = dp.read_usage();
  for (uint32_t dir = 0; dir < AIGW_DIR_MAX; dir++)
    for (uint32_t t = 0; t < AIGW_MAX_TENANTS; t++)
      for (uint32_t c = 0; c < AIGW_MAX_CLASSES; c++) {
        const aigw_ctr& x = u.at(AIGW_USAGE_INDEX(dir, t, c));
        if (!x.packets && !x.bytes) continue;
        a.push_back(json{{"dir", aigw_dir_name(dir)},
                         {"tenant", t},
                         {"cls", c},
                         {"packets", x.packets},
                         {"bytes", x.bytes}});
      }
  return json{{"usage", a}};
}

json apn_usage_json(const aigw::Datapath& dp) {
  json a = json::array();
  for (const auto& [k, x] : dp.read_apn_usage())
    a.push_back(json{{"dir", aigw_dir_name(k.first)},
                     {"app_group", k.second},
                     {"packets", x.packets},
                     {"bytes", x.bytes}});
  return json{{"apn_usage", a}};
}

json pol_stats_json(const aigw::Datapath& dp) {
  json a = json::array();
  for (const auto& [slot, x] : dp.read_policy_stats())
    a.push_back(json{{"slot", slot},
                     {"policy", dp.policy_at(slot)},
                     {"packets", x.packets},
                     {"bytes", x.bytes}});
  return json{{"pol_stats", a}};
}

// Through the agent's own read_flows/delete_flows (what flow export uses).
json flush_flows(aigw::Datapath& dp) {
  std::vector<aigw_flow_key> keys;
  for (const auto& e : dp.read_flows()) keys.push_back(e.key);
  return json{{"ok", true}, {"deleted", dp.delete_flows(keys)}};
}

// A pinned map of the loaded datapath, opened afresh (not the agent's fd).
std::unique_ptr<int, void (*)(int*)> open_pinned(const std::string& pin, const char* name) {
  int fd = bpf_obj_get((pin + "/" + name).c_str());
  if (fd < 0) throw std::runtime_error(std::string(name) + ": " + std::strerror(errno));
  return std::unique_ptr<int, void (*)(int*)>(new int(fd), [](int* f) {
    ::close(*f);
    delete f;
  });
}

// See "policy_slots" at the top of the file: the valid aigw_policies slots.
json policy_slots(const std::string& pin) {
  auto fd = open_pinned(pin, "aigw_policies");
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(*fd, &info, &len) != 0)
    return error_json(std::string("aigw_policies info: ") + std::strerror(errno));
  json a = json::array();
  for (uint32_t slot = 0; slot < info.max_entries; slot++) {
    aigw_policy v{};
    if (bpf_map_lookup_elem(*fd, &slot, &v) == 0 && (v.flags & AIGW_POL_F_VALID))
      a.push_back(json{{"slot", slot}, {"id", v.id}, {"nsids", v.nsids}});
  }
  return json{{"max_entries", info.max_entries}, {"valid", a}};
}

// See "route_events" at the top of the file: what aigwd's route-events
// module does when the netlink socket is readable.
json route_events(aigw::Datapath& dp, aigw::RouteWatch& rw, const std::string& pin) {
  std::size_t n = rw.drain();
  if (n) dp.invalidate_caches();
  auto fd = open_pinned(pin, "aigw_globals");
  uint32_t zero = 0;
  aigw_globals g{};
  if (bpf_map_lookup_elem(*fd, &zero, &g) != 0)
    return error_json(std::string("aigw_globals: ") + std::strerror(errno));
  return json{{"changes", n}, {"gen", g.gen}};
}

// See "cls_info" at the top of the file: what the pinned maps hold now.
json cls_info(const std::string& pin) {
  auto open_map = [&](const char* name) { return open_pinned(pin, name); };
  json r;
  uint32_t zero = 0, bank = 0;
  {
    auto fd = open_map("aigw_cls_active");
    if (bpf_map_lookup_elem(*fd, &zero, &bank) != 0)
      return error_json(std::string("aigw_cls_active: ") + std::strerror(errno));
    r["active_bank"] = bank;
  }
  {
    auto fd = open_map("aigw_cls_meta");
    json metas = json::array();
    for (uint32_t b = 0; b < AIGW_CLS_BANKS; b++) {
      aigw_cls_meta m{};
      if (bpf_map_lookup_elem(*fd, &b, &m) != 0)
        return error_json(std::string("aigw_cls_meta: ") + std::strerror(errno));
      metas.push_back(json{{"nrules", m.nrules}, {"nwords", m.nwords}, {"flows_on", m.flows_on}});
    }
    r["meta"] = metas;
  }
  {
    auto fd = open_map("aigw_globals");
    aigw_globals g{};
    if (bpf_map_lookup_elem(*fd, &zero, &g) == 0) r["gen"] = g.gen;
  }
  // Bank field: first u32 of the id/APN keys, second (big-endian) of the LPM keys.
  const std::pair<const char*, bool> maps[] = {{"aigw_cls_portbv", false}, {"aigw_cls_misc", false},
                                               {"aigw_cls_apn", false},    {"aigw_cls_src4", true},
                                               {"aigw_cls_dst4", true},    {"aigw_cls_src6", true},
                                               {"aigw_cls_dst6", true}};
  json entries = json::object();
  for (auto [name, lpm] : maps) {
    auto fd = open_map(name);
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(*fd, &info, &len) != 0)
      return error_json(std::string(name) + ": " + std::strerror(errno));
    std::vector<uint8_t> key(info.key_size), next(info.key_size);
    uint64_t count[AIGW_CLS_BANKS + 1] = {};
    bool have = false;
    while (bpf_map_get_next_key(*fd, have ? key.data() : nullptr, next.data()) == 0) {
      uint32_t b;
      std::memcpy(&b, next.data() + (lpm ? 4 : 0), 4);
      if (lpm) b = ntohl(b);
      count[b < AIGW_CLS_BANKS ? b : AIGW_CLS_BANKS]++;
      key = next;
      have = true;
    }
    json a = json::array();
    for (uint64_t c : count) a.push_back(c);  // [bank0, bank1, other]
    entries[name] = a;
  }
  r["entries"] = entries;
  return r;
}

// See "classify_batch" at the top of the file.
json classify_batch(const aigw::Datapath& dp, const std::string& pin, const json& req) {
  auto str = [&](const char* k) -> std::optional<std::string> {
    if (!req.contains(k) || !req[k].is_string()) return std::nullopt;
    return req[k].get<std::string>();
  };
  auto prog = str("prog"), iface = str("iface"), frames_file = str("frames_file");
  auto results_file = str("results_file");
  if (prog.value_or("headend") != "headend")
    return error_json("classify_batch runs the headend only (\"prog\":\"headend\")");
  if (!iface) return error_json("classify_batch: missing \"iface\"");
  if (!frames_file) return error_json("classify_batch: missing \"frames_file\"");
  unsigned ifindex = if_nametoindex(iface->c_str());
  if (!ifindex) return error_json("classify_batch: no interface " + *iface);
  std::ifstream in(*frames_file);
  if (!in) return error_json("classify_batch: cannot read " + *frames_file);
  std::ofstream out_file;
  if (results_file) {
    out_file.open(*results_file, std::ios::trunc);
    if (!out_file) return error_json("classify_batch: cannot write " + *results_file);
  }
  const std::string flows_path = pin + "/aigw_flows";
  int flows_fd = bpf_obj_get(flows_path.c_str());
  if (flows_fd < 0) return error_json(flows_path + ": " + std::strerror(errno));
  std::unique_ptr<int, void (*)(int*)> guard(&flows_fd, [](int* f) { ::close(*f); });
  // Start from an empty table, so the entry after a frame is that frame's.
  {
    auto r = clear_hash_map(flows_path);
    if (auto* e = std::get_if<std::string>(&r)) return error_json("classify_batch: " + *e);
  }

  const int prog_fd = dp.prog_fd(aigw::Prog::Headend);
  std::vector<uint8_t> out(kOutMax);
  json results = json::array();
  size_t frames = 0;
  auto t0 = std::chrono::steady_clock::now();
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    json r;
    auto pkt = from_hex(line);
    if (!pkt || pkt->empty()) {
      r = error_json("frame " + std::to_string(frames) + ": not a hex string");
    } else {
      xdp_md ctx_in{};
      ctx_in.data_end = static_cast<uint32_t>(pkt->size());
      ctx_in.ingress_ifindex = ifindex;
      LIBBPF_OPTS(bpf_test_run_opts, opts);
      opts.data_in = pkt->data();
      opts.data_size_in = static_cast<uint32_t>(pkt->size());
      opts.data_out = out.data();
      opts.data_size_out = static_cast<uint32_t>(out.size());
      opts.ctx_in = &ctx_in;
      opts.ctx_size_in = sizeof(ctx_in);
      opts.repeat = 1;
      if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        r = error_json("frame " + std::to_string(frames) +
                       ": bpf_prog_test_run_opts: " + std::strerror(errno));
      } else {
        r["verdict"] = verdict_name(opts.retval);
        aigw_flow_key key{};
        aigw_flow f{};
        if (bpf_map_get_next_key(flows_fd, nullptr, &key) == 0 &&
            bpf_map_lookup_elem(flows_fd, &key, &f) == 0) {
          r["rule_id"] = f.rule_id;
          r["tenant"] = f.tenant;
          r["cls"] = f.cls;
          r["dscp"] = f.dscp;
          r["policy_slot"] = f.policy_slot;
          // Normally the only entry; anything else left is removed as well.
          do bpf_map_delete_elem(flows_fd, &key);
          while (bpf_map_get_next_key(flows_fd, nullptr, &key) == 0);
        } else {
          r["flow"] = false;
        }
      }
    }
    frames++;
    if (results_file)
      out_file << r.dump() << '\n';
    else
      results.push_back(std::move(r));
  }
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  if (results_file) {
    out_file.flush();
    if (!out_file) return error_json("classify_batch: write error on " + *results_file);
    return json{{"frames", frames}, {"ms", ms}, {"results_file", *results_file}};
  }
  return json{{"frames", frames}, {"ms", ms}, {"results", results}};
}

// See "apply" at the top of the file. `cfg` becomes the new state only when
// the apply succeeded.
json apply_config(aigw::Datapath& dp, aigw::Config& cfg, const json& req) {
  if (!req.contains("config") || !req["config"].is_string())
    return error_json("apply: missing \"config\"");
  aigw::ParseResult r = aigw::load_config_file(req["config"].get<std::string>());
  if (auto* errs = std::get_if<std::vector<aigw::ConfigError>>(&r))
    return error_json("config: " + aigw::format_errors(*errs));
  aigw::Config next = std::get<aigw::Config>(std::move(r));
  aigw::NetlinkLinks links;
  auto t0 = std::chrono::steady_clock::now();
  dp.apply(next, links);  // ApplyError -> {"error"} in the caller
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  cfg = std::move(next);
  return json{{"ok", true}, {"apply_ms", ms}, {"slots", slots_json(dp, cfg)}};
}

int usage() {
  std::cerr << "usage: aigw-dp-run --config FILE --pin DIR\n";
  return 2;
}

}  // namespace

// ---- RDMA proxy: the selection, sockets, and what they received.
struct RdmaState {
  aigw::dp::RdmaMaps maps;
  std::map<std::string, std::unique_ptr<aigw::dp::XskSocket>> socks;
};

json xsk_open(const aigw::Datapath& dp, const aigw::Config& cfg, RdmaState& st,
              const std::string& iface) {
  std::vector<uint16_t> slots;
  for (const auto& i : cfg.interfaces)
    if (i.name == iface)
      if (auto slot = dp.slot_of(aigw::interface_key(i))) slots.push_back(*slot);
  if (slots.empty()) return error_json("no configured interface '" + iface + "'");
  st.socks.erase(iface);
  auto s = std::make_unique<aigw::dp::XskSocket>(iface, 0, aigw::dp::XskSettings{});
  for (uint16_t slot : slots) st.maps.set_socket(slot, 0, s->fd());
  st.socks[iface] = std::move(s);
  return json{{"ok", true}, {"slots", slots}};
}

json xsk_read(RdmaState& st, const std::string& iface) {
  auto it = st.socks.find(iface);
  if (it == st.socks.end()) return error_json("no socket open on '" + iface + "'");
  json frames = json::array();
  while (it->second->receive(64, [&](std::span<const uint8_t> f, const aigw_xsk_meta& m) {
    frames.push_back({{"frame", to_hex(f.data(), f.size())},
                      {"kind", m.kind},
                      {"egress", m.egress_ifindex},
                      {"ip_off", m.ip_off},
                      {"tenant", m.tenant}});
  })) {
  }
  const auto& c = it->second->counters();
  auto k = it->second->kernel_drops();
  return json{
      {"frames", frames},
      {"rx", c.rx},
      {"bad_meta", c.rx_bad_meta},
      {"kernel_drops",
       {{"no_frame", k.no_frame}, {"rx_ring_full", k.rx_ring_full}, {"invalid", k.invalid}}}};
}

json xsk_send(RdmaState& st, const std::string& iface, const json& req) {
  auto it = st.socks.find(iface);
  if (it == st.socks.end()) return error_json("no socket open on '" + iface + "'");
  if (!req.contains("frame") || !req["frame"].is_string() || !req.contains("count") ||
      !req["count"].is_number_unsigned())
    return error_json("xsk_send needs \"frame\" (hex) and \"count\"");
  auto frame = from_hex(req["frame"].get<std::string>());
  if (!frame) return error_json("frame: not hex");
  uint64_t n = req["count"].get<uint64_t>(), queued = 0;
  for (uint64_t i = 0; i < n && i < (1u << 20); i++) queued += it->second->send(*frame);
  it->second->flush();
  const auto& c = it->second->counters();
  return json{{"queued", queued}, {"tx", c.tx}, {"tx_full", c.tx_full}};
}

json rdma_cmd(const aigw::Datapath& dp, const aigw::Config& cfg, RdmaState& st,
              const std::string& cmd, const json& req) {
  std::string iface = req.contains("iface") && req["iface"].is_string()
                          ? req["iface"].get<std::string>()
                          : std::string();
  if (cmd == "rdma_select") {
    auto sel = aigw::features::rdma_selection(cfg);
    st.maps.select(sel);
    json j = json::object();
    for (size_t t = 0; t < sel.size(); t++)
      if (sel[t]) j[std::to_string(t)] = sel[t];
    return json{{"ok", true}, {"select", j}};
  }
  if (cmd == "xsk_open") return xsk_open(dp, cfg, st, iface);
  if (cmd == "xsk_send") return xsk_send(st, iface, req);
  if (cmd == "xsk_close") {
    st.socks.erase(iface);
    return json{{"ok", true}};
  }
  return xsk_read(st, iface);
}

int main(int argc, char** argv) {
  std::string config_path, pin;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if ((a == "--config" || a == "--pin") && i + 1 < argc) {
      (a == "--config" ? config_path : pin) = argv[++i];
    } else {
      return usage();
    }
  }
  if (config_path.empty() || pin.empty()) return usage();

  aigw::Config cfg;
  {
    aigw::ParseResult r = aigw::load_config_file(config_path);
    if (auto* errs = std::get_if<std::vector<aigw::ConfigError>>(&r)) {
      emit(error_json("config: " + aigw::format_errors(*errs)));
      return 1;
    }
    cfg = std::get<aigw::Config>(std::move(r));
  }

  // AIGW_DP_CPU=N: run on CPU N only, so that per-CPU state (the next-hop
  // cache) is the same from one request to the next.
  if (const char* cpu = std::getenv("AIGW_DP_CPU")) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(std::atoi(cpu), &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      emit(error_json(std::string("AIGW_DP_CPU: ") + std::strerror(errno)));
      return 1;
    }
  }
  // Watches the kernel's routes from before the first apply, as aigwd does.
  std::unique_ptr<aigw::RouteWatch> routes;
  try {
    routes = std::make_unique<aigw::RouteWatch>();
  } catch (const std::exception& e) {
    emit(error_json(std::string("route watch: ") + e.what()));
    return 1;
  }

  aigw::Logger log(aigw::LogLevel::Warn);
  std::unique_ptr<aigw::Datapath> dp;
  double apply_ms = 0;
  try {
    // AIGW_DP_KCONFIG: the programs' Kconfig instead of the kernel's (a test
    // of the fallback clock sets CONFIG_HZ=0).
    const char* kconfig = std::getenv("AIGW_DP_KCONFIG");
    dp = std::make_unique<aigw::Datapath>(cfg.datapath, pin, &log, kconfig ? kconfig : "");
    aigw::NetlinkLinks links;
    auto t0 = std::chrono::steady_clock::now();
    dp->apply(cfg, links);
    apply_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  } catch (const std::exception& e) {
    emit(error_json(std::string("datapath: ") + e.what()));
    dp.reset();
    aigw::Datapath::unpin_all(pin);
    return 1;
  }
  emit(json{{"ready", true}, {"slots", slots_json(*dp, cfg)}, {"apply_ms", apply_ms}});

  aigw::dp::ElephantMaps elephants(dp->loader());
  RdmaState rdma{aigw::dp::RdmaMaps(dp->loader()), {}};
  uint64_t hh_mult = 0;
  uint32_t hh_key_bytes = 1;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json answer;
    try {
      json req = json::parse(line);
      if (!req.is_object()) {
        answer = error_json("request must be a JSON object");
      } else if (req.contains("cmd")) {
        std::string cmd = req["cmd"].is_string() ? req["cmd"].get<std::string>() : "";
        if (cmd == "stats")
          answer = stats_json(*dp, cfg);
        else if (cmd == "reset")
          answer = reset_stats(pin);
        else if (cmd == "flows")
          answer = flows_json(*dp);
        else if (cmd == "usage")
          answer = usage_json(*dp);
        else if (cmd == "apn_usage")
          answer = apn_usage_json(*dp);
        else if (cmd == "pol_stats")
          answer = pol_stats_json(*dp);
        else if (cmd == "flush_flows")
          answer = flush_flows(*dp);
        else if (cmd == "classify_batch")
          answer = classify_batch(*dp, pin, req);
        else if (cmd == "cls_info")
          answer = cls_info(pin);
        else if (cmd == "policy_slots")
          answer = policy_slots(pin);
        else if (cmd == "route_events")
          answer = route_events(*dp, *routes, pin);
        else if (cmd == "apply")
          answer = apply_config(*dp, cfg, req);
        else if (cmd == "tc_stats")
          answer = tc_stats_json(*dp);
        else if (cmd == "attach" || cmd == "detach")
          answer = attach_cmd(*dp, req, cmd == "attach");
        else if (cmd == "run_frames")
          answer = run_frames(*dp, req);
        else if (cmd == "hh_cfg" || cmd == "hh_read" || cmd == "pin" || cmd == "unpin" ||
                 cmd == "pins")
          answer = elephant_cmd(*dp, elephants, hh_mult, hh_key_bytes, cmd, req);
        else if (cmd == "rdma_select" || cmd == "xsk_open" || cmd == "xsk_close" ||
                 cmd == "xsk_read" || cmd == "xsk_send")
          answer = rdma_cmd(*dp, cfg, rdma, cmd, req);
        else
          answer = error_json("unknown cmd '" + cmd +
                              "' (stats|reset|flows|usage|apn_usage|pol_stats|flush_flows|"
                              "classify_batch|cls_info|policy_slots|route_events|apply|tc_stats|"
                              "attach|detach|run_frames|hh_cfg|hh_read|pin|unpin|pins|rdma_select|"
                              "xsk_open|xsk_close|xsk_read|xsk_send)");
      } else {
        answer = run_packet(*dp, req);
      }
    } catch (const std::exception& e) {
      answer = error_json(e.what());
    }
    emit(answer);
  }

  rdma.socks.clear();
  dp->loader().detach_all();
  dp.reset();
  aigw::Datapath::unpin_all(pin);
  return 0;
}
