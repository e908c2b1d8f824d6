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
//   {"cmd":"reset"} -> {"ok":true}   zeroes the counter maps
// Any problem gives {"error":"..."}; the runner keeps reading. On EOF it
// removes the pins (Datapath::unpin_all) and exits 0.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "config/parse.hpp"
#include "datapath/datapath.hpp"
#include "netlink/links.hpp"

using nlohmann::json;

namespace {

void emit(const json& j) {
  std::cout << j.dump() << '\n' << std::flush;
}

json error_json(const std::string& msg) {
  return json{{"error", msg}};
}

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
    case XDP_ABORTED: return "XDP_ABORTED";
    case XDP_DROP: return "XDP_DROP";
    case XDP_PASS: return "XDP_PASS";
    case XDP_TX: return "XDP_TX";
    case XDP_REDIRECT: return "XDP_REDIRECT";
    default: return "XDP_UNKNOWN";
  }
}

constexpr size_t kOutMax = 65536;

json run_packet(const aigw::Datapath& dp, const json& req) {
  if (!req.contains("prog") || !req["prog"].is_string()) return error_json("missing \"prog\"");
  if (!req.contains("pkt") || !req["pkt"].is_string()) return error_json("missing \"pkt\"");
  const std::string prog = req["prog"].get<std::string>();
  aigw::Prog p;
  if (prog == "headend")
    p = aigw::Prog::Headend;
  else if (prog == "endpoint")
    p = aigw::Prog::Endpoint;
  else
    return error_json("unknown prog '" + prog + "' (headend|endpoint)");
  uint32_t ifindex = 0;
  if (req.contains("ifindex")) {
    if (!req["ifindex"].is_number_unsigned()) return error_json("\"ifindex\" must be an unsigned number");
    ifindex = req["ifindex"].get<uint32_t>();
  }
  auto pkt = from_hex(req["pkt"].get<std::string>());
  if (!pkt) return error_json("\"pkt\" is not a hex string");
  if (pkt->empty()) return error_json("empty packet");

  // The kernel refuses test input shorter than an Ethernet header (even
  // behind XDP metadata): such a frame gets an {"error"} answer.
  std::vector<uint8_t>& in = *pkt;
  std::vector<uint8_t> out(kOutMax, 0);

  xdp_md ctx_in{};
  ctx_in.data_end = static_cast<uint32_t>(in.size());
  ctx_in.ingress_ifindex = ifindex;
  xdp_md ctx_out{};

  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = in.data();
  opts.data_size_in = static_cast<uint32_t>(in.size());
  opts.data_out = out.data();
  opts.data_size_out = static_cast<uint32_t>(out.size());
  opts.ctx_in = &ctx_in;
  opts.ctx_size_in = sizeof(ctx_in);
  opts.ctx_out = &ctx_out;
  opts.ctx_size_out = sizeof(ctx_out);
  opts.repeat = 1;

  int fd = dp.prog_fd(p);
  if (fd < 0) return error_json("no program fd for " + prog);
  int err = bpf_prog_test_run_opts(fd, &opts);
  if (err) {
    int e = errno;
    return error_json(std::string("bpf_prog_test_run_opts: ") + std::strerror(e));
  }
  // data_size_out is the whole output starting at data_meta; ctx_out.data is
  // where the frame begins in it.
  size_t total = std::min<size_t>(opts.data_size_out, out.size());
  size_t start = std::min<size_t>(ctx_out.data, total);
  json r;
  r["verdict"] = verdict_name(opts.retval);
  r["retval"] = opts.retval;
  r["out"] = to_hex(out.data() + start, total - start);
  return r;
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
  return json{{"drops", drops}, {"events", events}, {"ifaces", ifaces}, {"slots", slots_json(dp, cfg)}};
}

// Zero one pinned per-CPU array map (every key below max_entries).
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
    size_t vsz = (info.value_size + 7) / 8 * 8;
    std::vector<uint8_t> zeros(vsz * static_cast<size_t>(ncpu > 0 ? ncpu : 1), 0);
    for (uint32_t k = 0; k < info.max_entries; k++) {
      if (bpf_map_update_elem(fd, &k, zeros.data(), BPF_ANY) != 0) {
        err = path + ": update: " + std::strerror(errno);
        break;
      }
    }
  }
  ::close(fd);
  return err;
}

json reset_stats(const std::string& pin) {
  for (const char* m : {"aigw_if_stats", "aigw_drops", "aigw_events"}) {
    std::string err = zero_percpu_map(pin + "/" + m);
    if (!err.empty()) return error_json("reset: " + err);
  }
  return json{{"ok", true}};
}

int usage() {
  std::cerr << "usage: aigw-dp-run --config FILE --pin DIR\n";
  return 2;
}

}  // namespace

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

  aigw::Logger log(aigw::LogLevel::Warn);
  std::unique_ptr<aigw::Datapath> dp;
  try {
    dp = std::make_unique<aigw::Datapath>(cfg.datapath, pin, &log);
    aigw::NetlinkLinks links;
    dp->apply(cfg, links);
  } catch (const std::exception& e) {
    emit(error_json(std::string("datapath: ") + e.what()));
    dp.reset();
    aigw::Datapath::unpin_all(pin);
    return 1;
  }
  emit(json{{"ready", true}, {"slots", slots_json(*dp, cfg)}});

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
        else
          answer = error_json("unknown cmd '" + cmd + "' (stats|reset)");
      } else {
        answer = run_packet(*dp, req);
      }
    } catch (const std::exception& e) {
      answer = error_json(e.what());
    }
    emit(answer);
  }

  dp.reset();
  aigw::Datapath::unpin_all(pin);
  return 0;
}
