#include "features/ports.hpp"

#include <fmt/format.h>

#include <fstream>
#include <set>

#include "config/diff.hpp"
#include "features/args.hpp"
#include "netlink/xdp_features.hpp"

namespace aigw::features {

// One program per kernel interface: a port with VLAN entries is one
// attachment, so its entries must agree on role and mode.
void PortsModule::plan(const core::ApplyContext& ctx) {
  want_.clear();
  names_.clear();
  for (const auto& i : ctx.next.interfaces) {
    auto li = ctx.links.resolve(i.name);
    if (!li) throw std::runtime_error(fmt::format("interface {} not found", i.name));
    XdpMode mode = i.xdp_mode.value_or(ctx.next.datapath.xdp_mode);
    auto [it, fresh] = want_.emplace(li->ifindex, std::make_pair(i.role, mode));
    if (!fresh && it->second != std::make_pair(i.role, mode))
      throw std::runtime_error(fmt::format(
          "interface {}: VLAN entries of one port must share role and xdp_mode", i.name));
    names_[li->ifindex] = i.name;
  }
}

// Changed role or mode re-attaches (atomic replace of our own program).
void PortsModule::add(const core::ApplyContext&) {
  Datapath& dp = host_.datapath();
  const Logger& log = host_.log();
  for (const auto& [ifindex, rm] : want_) {
    const auto& [role, mode] = rm;
    auto now = dp.attachment(ifindex);
    if (now == rm) continue;
    if (mode == XdpMode::Generic)
      log.warn("{}: attaching in generic (skb) XDP mode: for testing, not for production speed",
               names_[ifindex]);
    // Native and generic XDP cannot be attached at once: switching modes
    // detaches first (a short gap in which the kernel forwards alone).
    if (now && now->second != mode) dp.detach(ifindex);
    dp.attach(ifindex, role, mode);
    log.info("{}: {} program attached ({} mode)", names_[ifindex],
             role == IfRole::Customer ? "headend" : "endpoint", to_string(mode));
  }
}

void PortsModule::remove(const core::ApplyContext&) {
  Datapath& dp = host_.datapath();
  for (int ifindex : dp.attached())
    if (!want_.count(ifindex)) {
      dp.detach(ifindex);
      host_.log().info("detached from ifindex {}", ifindex);
    }
}

void PortsModule::commit(const core::ApplyContext& ctx) {
  facts_.clear();
  for (const auto& i : ctx.next.interfaces) {
    auto li = ctx.links.resolve(i.name);
    facts_.push_back(
        {i.name, i.vlan, host_.datapath().slot_of(interface_key(i)), li ? li->ifindex : 0});
  }
  if (!ctx.initial) {
    ConfigDiff d = diff(ctx.running, ctx.next);
    if (d.added_interfaces.empty() && d.changed_interfaces.empty()) return;
  }
  check_forwarding(ctx.next);
  check_redirect_targets();
}

// A port that takes no redirected frames loses everything aigw forwards to
// it, after the program counted it as forwarded: say so with the fix.
void PortsModule::check_redirect_targets() const {
  for (const auto& [ifindex, name] : names_) {
    auto f = xdp_features(ifindex);
    if (!f || (*f & kXdpActNdoXmit)) continue;  // unknown (kernel < 6.3), or fine
    host_.log().warn(
        "{}: the kernel takes no XDP_REDIRECT frames into this port now (no ndo_xdp_xmit): "
        "what aigw forwards to it is lost (counted as xmit_no_xdp). On a veth, attach an XDP "
        "program to its peer (aigw's xdp_pass will do) or turn GRO on there "
        "(ethtool -K PEER gro on)",
        name);
  }
}

// Transmit drops grow silently in the kernel: a warning when they do, at
// most once a minute per port. A failed read is said once, never thrown
// out of the agent's loop.
void PortsModule::tick(TimePoint now) {
  std::map<uint32_t, aigw_xmit_drops> all;
  try {
    all = host_.datapath().read_xmit_drops();
  } catch (const std::exception& e) {
    if (!xmit_read_failed_) host_.log().warn("reading the transmit drop counters: {}", e.what());
    xmit_read_failed_ = true;
    return;
  }
  for (const auto& [ifindex, x] : all) {
    const uint64_t total = x.no_xdp + x.down + x.failed;
    XmitWatch& w = xmit_seen_[ifindex];
    const bool grew = w.total && total > *w.total;
    if (w.total && !(grew && now - w.warned >= std::chrono::minutes(1))) continue;
    if (grew) {
      host_.log().warn(
          "{}: {} redirected frames were not sent since the last report (xmit_no_xdp {}, "
          "xmit_down {}, xmit_failed {} in all)",
          ifname_of(static_cast<int>(ifindex)), total - *w.total, x.no_xdp, x.down, x.failed);
      w.warned = now;
    }
    w.total = total;
  }
}

// The XDP FIB lookups run on the ingress port and fail (the packet is
// dropped or handed to the kernel) where the kernel would not forward: say
// so once, at start and after each change, rather than per packet.
void PortsModule::check_forwarding(const Config& c) const {
  auto sysctl_is_one = [](const std::string& path) {
    std::ifstream f(path);
    std::string v;
    return f && std::getline(f, v) && v == "1";
  };
  const Logger& log = host_.log();
  std::set<std::string> seen;
  for (const auto& i : c.interfaces) {
    if (!seen.insert(i.name).second) continue;
    if (!sysctl_is_one(fmt::format("/proc/sys/net/ipv6/conf/{}/forwarding", i.name)))
      log.warn(
          "{}: IPv6 forwarding is off (net.ipv6.conf.{}.forwarding): the {} program's "
          "IPv6 route lookups will fail",
          i.name, i.name, i.role == IfRole::Customer ? "headend" : "endpoint");
    if (i.role == IfRole::Wan &&
        !sysctl_is_one(fmt::format("/proc/sys/net/ipv4/conf/{}/forwarding", i.name)))
      log.warn(
          "{}: IPv4 forwarding is off (net.ipv4.conf.{}.forwarding): decapsulated IPv4 "
          "(End.DX4/DT4/DT46) cannot be forwarded from XDP",
          i.name, i.name);
  }
}

void PortsModule::register_commands(core::CommandTable& t) {
  t.add(cmd::kInterfaceShow, core::Access::Read,
        [this](const nlohmann::json&) { return interfaces(); });
  t.add(cmd::kStatsShow, core::Access::Read, [this](const nlohmann::json&) { return stats(); });
}

void PortsModule::collect(telemetry::Snapshot& s) const {
  s.config.interfaces = facts_;
  s.stats = host_.datapath().read_stats();
}

nlohmann::json PortsModule::interfaces() const {
  const Config& running = host_.running();
  const Datapath& dp = host_.datapath();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& i : running.interfaces) {
    auto li = host_.links().resolve(i.name);
    nlohmann::json j = {{"name", i.name},
                        {"ifindex", li ? li->ifindex : 0},
                        {"role", to_string(i.role)},
                        {"vrf", i.vrf},
                        {"xdp_mode", to_string(i.xdp_mode.value_or(running.datapath.xdp_mode))},
                        {"attached", li && dp.attached_in_kernel(li->ifindex)},
                        {"mtu", li ? li->mtu : 0},
                        {"slot", dp.slot_of(interface_key(i)).value_or(0)}};
    if (i.vlan) j["vlan"] = *i.vlan;
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json PortsModule::stats() const {
  const Datapath& dp = host_.datapath();
  Stats s = dp.read_stats();
  nlohmann::json ifs = nlohmann::json::array();
  for (const auto& i : host_.running().interfaces) {
    auto slot = dp.slot_of(interface_key(i));
    if (!slot) continue;
    Counters c{};
    if (auto it = s.by_slot.find(*slot); it != s.by_slot.end()) c = it->second;
    ifs.push_back({{"name", interface_key(i)},
                   {"slot", *slot},
                   {"rx", ctr_json(c.rx)},
                   {"encap", ctr_json(c.encap)},
                   {"decap", ctr_json(c.decap)},
                   {"fwd", ctr_json(c.fwd)},
                   {"pass", ctr_json(c.pass)},
                   {"drop", ctr_json(c.drop)},
                   {"tx", ctr_json(c.tx)}});
  }
  nlohmann::json ports = nlohmann::json::array();
  std::set<std::string> seen;  // VLAN entries share their port
  for (const auto& f : facts_) {
    if (!f.ifindex || !seen.insert(f.name).second) continue;
    aigw_xmit_drops x{};
    if (auto it = s.xmit.find(static_cast<uint32_t>(f.ifindex)); it != s.xmit.end()) x = it->second;
    ports.push_back({{"name", f.name},
                     {"ifindex", f.ifindex},
                     {"xmit_no_xdp", x.no_xdp},
                     {"xmit_down", x.down},
                     {"xmit_failed", x.failed}});
  }
  nlohmann::json drops = nlohmann::json::array(), events = nlohmann::json::array();
  for (unsigned r = 1; r < s.drops.size(); ++r)
    drops.push_back({{"reason", aigw_drop_reason_name(r)},
                     {"packets", s.drops[r].packets},
                     {"bytes", s.drops[r].bytes}});
  for (unsigned e = 1; e < s.events.size(); ++e)
    events.push_back({{"event", aigw_event_name(e)},
                      {"packets", s.events[e].packets},
                      {"bytes", s.events[e].bytes}});
  return {{"interfaces", ifs}, {"ports", ports}, {"drops", drops}, {"events", events}};
}

}  // namespace aigw::features
