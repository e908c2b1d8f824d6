#include "datapath/datapath.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <net/if.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/lock.hpp"
#include "core/module_set.hpp"
#include "datapath/loader.hpp"
#include "datapath/tables.hpp"
#include "tc_customer_egress.skel.h"
#include "tc_customer_ingress.skel.h"
#include "tp_xmit.skel.h"
#include "xdp_endpoint.skel.h"
#include "xdp_headend.skel.h"

namespace aigw {
namespace {

constexpr const char* kHeadend = "xdp_headend";
constexpr const char* kEndpoint = "xdp_endpoint";
constexpr const char* kShapeTc = "tc_customer_ingress";

// The transmit tracepoints (tp_xmit) count only this network namespace.
constexpr const char* kTracers[] = {"aigw_redirect_err", "aigw_devmap_xmit"};

uint32_t netns_inode() {
  struct stat st {};
  if (::stat("/proc/self/ns/net", &st) != 0)
    throw DatapathError(fmt::format("stat /proc/self/ns/net: {}", std::strerror(errno)));
  return static_cast<uint32_t>(st.st_ino);
}

// Every BPF object aigw loads, XDP, TC and tracing; the first that has a map
// defines it. The TC program (tc_customer_egress: slow-path counters of
// customer ports in aigw_tc_stats) is loaded with the others; nothing in the
// configuration attaches it yet (Loader::attach can, at TC egress).
// tc_customer_ingress, the shaped path's second half, is attached to the
// customer ports by the shaping module while a tenant is shaped.
std::vector<ObjectSpec> objects() {
  const uint32_t ino = netns_inode();
  return {
      object_spec("headend", xdp_headend__open_opts, xdp_headend__load, xdp_headend__destroy),
      object_spec("endpoint", xdp_endpoint__open_opts, xdp_endpoint__load, xdp_endpoint__destroy),
      object_spec("tc_customer_egress", tc_customer_egress__open_opts, tc_customer_egress__load,
                  tc_customer_egress__destroy),
      object_spec("tc_customer_ingress", tc_customer_ingress__open_opts, tc_customer_ingress__load,
                  tc_customer_ingress__destroy),
      object_spec<tp_xmit>("tp_xmit", tp_xmit__open_opts, tp_xmit__load, tp_xmit__destroy,
                           [ino](tp_xmit* s) { s->rodata->netns_ino = ino; })};
}

// The one table of configurable map sizes.
std::map<std::string, uint32_t> map_sizes(const MapSizes& ms) {
  return {{"aigw_policies", ms.policies},
          {"aigw_path_groups", ms.policies},
          {"aigw_nh_cache", ms.policies},
          {"aigw_pol_stats", ms.policies},
          {"aigw_pfx4", ms.prefixes4},
          {"aigw_pfx6", ms.prefixes6},
          {"aigw_sid_exact", ms.sids},
          {"aigw_sids", ms.sids},
          {"aigw_flows", ms.flows},
          {"aigw_cls_src4", ms.class_prefixes},
          {"aigw_cls_dst4", ms.class_prefixes},
          {"aigw_cls_src6", ms.class_prefixes},
          {"aigw_cls_dst6", ms.class_prefixes},
          {"aigw_cls_portbv", ms.class_port_bitmaps},
          {"aigw_apn_usage", ms.apn_groups}};
}

const char* prog_of(IfRole role) { return role == IfRole::Customer ? kHeadend : kEndpoint; }

}  // namespace

struct Datapath::Impl {
  Impl(const DatapathSettings& s, const std::string& pin_path, const Logger* log,
       const std::string& kconfig)
      : loader(Loader::Options{pin_path, map_sizes(s.map_sizes), log, kconfig}, objects()),
        globals(loader, s.map_sizes),
        tx(loader),
        ifaces(loader),
        policies(loader, log),
        sids(loader),
        cls(loader, globals, ifaces, policies, log),
        generation(globals, log) {
    for (core::Module* m : list()) set.add(*m);
    attach_tracers(log);
  }
  // Transmit-drop counting is worth a warning, not a refusal to forward.
  void attach_tracers(const Logger* log) {
    try {
      for (const char* t : kTracers) loader.attach_tracing(t);
    } catch (const DatapathError& e) {
      if (log) log->warn("transmit drops after XDP_REDIRECT are not counted: {}", e.what());
    }
  }
  std::vector<core::Module*> list() {
    return {&globals, &tx, &policies, &sids, &ifaces, &cls, &generation};
  }

  Loader loader;
  dp::GlobalsTable globals;
  dp::TxPorts tx;
  dp::IfaceTable ifaces;
  dp::PolicyTable policies;
  dp::SidTable sids;
  dp::ClassifierTable cls;
  dp::CacheGeneration generation;
  core::ModuleSet set;
};

Datapath::Datapath(const DatapathSettings& settings, const std::string& pin_path, const Logger* log,
                   const std::string& kconfig)
    : impl_(std::make_unique<Impl>(settings, pin_path, log, kconfig)) {
  // Mirror what pinned maps already hold, so the first apply after a
  // restart writes only differences and unchanged policies keep their slots.
  impl_->globals.read_back();
  impl_->tx.read_back();
  impl_->ifaces.read_back();
  impl_->policies.read_back();
  impl_->sids.read_back();
  impl_->cls.read_back();
}

Datapath::~Datapath() = default;

Loader& Datapath::loader() const { return impl_->loader; }

int Datapath::prog_fd(Prog p) const {
  return impl_->loader.prog_fd(p == Prog::Headend ? kHeadend : kEndpoint);
}

std::vector<core::Module*> Datapath::modules() const { return impl_->list(); }

void Datapath::invalidate_caches() { impl_->globals.bump(); }

void Datapath::apply(const Config& next, const LinkResolver& links) {
  CachingResolver cached(links);
  impl_->set.apply(core::ApplyContext{next, next, cached, false});
}

void Datapath::attach(int ifindex, IfRole role, XdpMode mode) {
  impl_->loader.attach(ifindex, Hook::Xdp, prog_of(role), mode);
}

void Datapath::detach(int ifindex) { impl_->loader.detach(ifindex, Hook::Xdp); }

void Datapath::detach_all() { impl_->loader.detach_all(); }

void Datapath::detach_fresh() { impl_->loader.detach_fresh(); }

std::vector<int> Datapath::adopt_attached() {
  std::vector<int> all;
  if (auto* ni = ::if_nameindex()) {
    for (auto* p = ni; p->if_index; ++p) all.push_back(static_cast<int>(p->if_index));
    ::if_freenameindex(ni);
  }
  return impl_->loader.adopt_xdp(all);
}

std::vector<std::string> Datapath::attached_by_name(const std::vector<std::string>& ifnames) {
  std::vector<std::string> on;
  for (const auto& n : ifnames) {
    int ifindex = static_cast<int>(::if_nametoindex(n.c_str()));
    auto prog = ifindex ? Loader::xdp_prog_name(ifindex) : std::nullopt;
    if (prog && (*prog == kHeadend || *prog == kEndpoint)) on.push_back(n);
  }
  return on;
}

std::vector<std::string> Datapath::detach_ports(const std::string& pin_path,
                                                const std::vector<std::string>& ifnames) {
  // Not while an agent runs: it would attach them again, or miss them. (No
  // pin directory: no agent has run with it.)
  std::optional<ExclusiveLock> lock;
  std::error_code ec;
  if (std::filesystem::is_directory(pin_path, ec))
    lock.emplace(pin_path, fmt::format("the datapath pinned at {}", pin_path));
  std::vector<std::string> done;
  for (const auto& n : ifnames) {
    int ifindex = static_cast<int>(::if_nametoindex(n.c_str()));
    if (!ifindex) continue;
    if (Loader::detach_xdp_named(ifindex, {kHeadend, kEndpoint})) done.push_back(n);
    Loader::detach_tc_named(ifindex, Hook::TcIngress, {kShapeTc});  // the shaped path's
  }
  return done;
}

std::vector<int> Datapath::attached() const {
  std::vector<int> v;
  for (const auto& [ifindex, hook] : impl_->loader.attachments())
    if (hook == Hook::Xdp) v.push_back(ifindex);
  return v;
}

bool Datapath::attached_in_kernel(int ifindex) const {
  return impl_->loader.in_kernel(ifindex, Hook::Xdp);
}

std::optional<std::pair<IfRole, XdpMode>> Datapath::attachment(int ifindex) const {
  auto a = impl_->loader.attached(ifindex, Hook::Xdp);
  if (!a || impl_->loader.adopted(ifindex)) return std::nullopt;  // to be replaced
  return std::make_pair(a->prog == kHeadend ? IfRole::Customer : IfRole::Wan, a->mode);
}

std::optional<uint16_t> Datapath::slot_of(const std::string& ifname) const {
  return impl_->ifaces.slot_of(ifname);
}

const std::map<std::string, uint16_t>& Datapath::interface_slots() const {
  return impl_->ifaces.slots();
}

std::optional<uint32_t> Datapath::policy_slot(const std::string& name) const {
  return impl_->policies.slot_of(name);
}

std::string Datapath::policy_at(uint32_t slot) const { return impl_->policies.policy_at(slot); }

std::optional<std::pair<std::string, uint32_t>> Datapath::path_at(uint32_t slot) const {
  return impl_->policies.path_at(slot);
}

std::vector<uint32_t> Datapath::policy_slots(const std::string& name) const {
  return impl_->policies.slots_of(name);
}

void Datapath::set_path_weights(const Policy& policy, const std::vector<uint32_t>& weights) {
  impl_->policies.set_weights(policy, weights);
}

const CompiledClassifier& Datapath::classifier() const { return impl_->cls.in_force(); }

void Datapath::unpin_all(const std::string& pin_path, const std::vector<std::string>& ifnames) {
  Loader::unpin_all(pin_path, [&] {
    if (auto on = attached_by_name(ifnames); !on.empty())
      throw DatapathError(
          fmt::format("aigw programs are still attached to {}: run `aigwd --detach` first",
                      fmt::join(on, ", ")));
  });
}

}  // namespace aigw
