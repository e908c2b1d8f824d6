#include "features/shaping.hpp"

#include <aigw/abi.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "config/rate.hpp"
#include "config/schedule.hpp"
#include "control/protocol.hpp"
#include "datapath/loader.hpp"
#include "datapath/shape_map.hpp"
#include "features/args.hpp"
#include "features/queue_watch.hpp"
#include "netlink/htb.hpp"
#include "telemetry/metrics.hpp"

namespace aigw::features {
namespace {

constexpr const char* kTcProg = "tc_customer_ingress";

const Tenant* tenant_by_id(const Config& c, uint16_t id) {
  for (const auto& t : c.tenants)
    if (t.id == id) return &t;
  return nullptr;
}

nl::HtbRate htb_rate(const ShapingModule::Shape& s) {
  nl::HtbRate r;
  r.rate_bps = s.rate_bps;
  r.ceil_bps = s.ceil_bps;
  r.burst_bytes = s.burst_bytes;
  return r;
}

// A held class: 1600 B buckets, so at most one frame goes at once.
nl::HtbRate held_htb_rate(uint64_t rate_bps) {
  uint64_t r = ShapingModule::held_rate(rate_bps);
  return nl::HtbRate{r, r, 1600, 1600};
}

bool has_port(const std::vector<ShapingModule::Port>& ports, int ifindex) {
  return std::any_of(ports.begin(), ports.end(),
                     [&](const auto& p) { return p.ifindex == ifindex; });
}

std::string rate_or_none(uint64_t bps) { return bps ? rate_str(bps) : "none"; }

uint32_t week_now() { return week_second(std::chrono::system_clock::now()); }

bool any_schedule(const Config& c) {
  return std::any_of(c.tenants.begin(), c.tenants.end(),
                     [](const Tenant& t) { return !t.schedule.empty(); });
}

// The window of the tenant in force now, or null.
const ShapeWindow* window_now(const Tenant& t, uint32_t ws) {
  int w = active_window(t.schedule, ws);
  return w < 0 ? nullptr : &t.schedule[static_cast<size_t>(w)];
}

}  // namespace

uint64_t port_speed_bps(const std::string& ifname) {
  std::ifstream f("/sys/class/net/" + ifname + "/speed");
  long long mbit = 0;
  if (!(f >> mbit) || mbit <= 0) return 0;  // unknown (down, virtual without a speed...)
  return static_cast<uint64_t>(mbit) * 1'000'000;
}

ShapingModule::ShapingModule(Host& host) : host_(host) {}
ShapingModule::~ShapingModule() = default;

nl::Htb& ShapingModule::htb() {
  if (!htb_) htb_ = std::make_unique<nl::Htb>();
  return *htb_;
}

dp::ShapeMap& ShapingModule::map() {
  if (!map_) map_ = std::make_unique<dp::ShapeMap>(host_.datapath().loader());
  return *map_;
}

// Made with the first shaped tenant: no thread while none is.
QueueWatch& ShapingModule::watch() {
  if (!watch_) watch_ = std::make_unique<QueueWatch>(map());
  return *watch_;
}

std::vector<int> ShapingModule::wan_ifindexes() const {
  std::vector<int> out;
  for (const auto& p : applied_.wan) out.push_back(p.ifindex);
  return out;
}

std::map<uint16_t, ShapingModule::Shape> ShapingModule::shapes_at(const Config& c,
                                                                  uint32_t ws) const {
  std::map<uint16_t, Shape> out;
  for (const auto& t : c.tenants) {
    Shape sh{t.rate_bps, std::max(t.ceil_bps, t.rate_bps), t.burst_bytes};
    if (const ShapeWindow* w = window_now(t, ws)) {
      auto h = held_.find(t.id);
      if (h == held_.end() || !(h->second == *w))
        sh = Shape{w->rate_bps, std::max(w->ceil_bps, w->rate_bps), t.burst_bytes};
    }
    if (sh.rate_bps) out[t.id] = sh;
  }
  return out;
}

void ShapingModule::add_ports(const core::ApplyContext& ctx, State& s) const {
  for (const auto& i : ctx.next.interfaces) {
    auto link = ctx.links.resolve(i.name);
    if (!link) throw ApplyError(fmt::format("shaping: interface {} not found", i.name));
    auto& ports = i.role == IfRole::Customer ? s.customers : s.wan;
    if (!has_port(ports, link->ifindex))
      ports.push_back(
          Port{i.name, link->ifindex, i.speed_bps ? i.speed_bps : port_speed_bps(i.name)});
    s.tc.insert(link->ifindex);
  }
}

ShapingModule::State ShapingModule::state_of(const core::ApplyContext& ctx) const {
  State s;
  s.tenants = shapes_at(ctx.next, week_now());
  if (!s.tenants.empty()) add_ports(ctx, s);  // else no queues: the fast path only
  return s;
}

// What the parser cannot know: the ports' speeds, for the rates in force
// and those of every window. (A runtime change through `tenant set` is
// checked here too, field by field.)
void ShapingModule::check(const Config& c, const State& s, const std::vector<Port>& wan) const {
  auto one = [&](const std::string& who, const Shape& sh) {
    if (sh.rate_bps < kMinTenantRate || sh.ceil_bps > kMaxTenantRate)
      throw ApplyError(fmt::format("{}: rate {} ceil {} outside {}..{}", who, rate_str(sh.rate_bps),
                                   rate_str(sh.ceil_bps), rate_str(kMinTenantRate),
                                   rate_str(kMaxTenantRate)));
    for (const auto& p : wan)
      if (p.speed_bps && sh.ceil_bps > p.speed_bps)
        throw ApplyError(fmt::format("{}: {} {} is above the speed of WAN port {} ({})", who,
                                     sh.ceil_bps > sh.rate_bps ? "ceil" : "rate",
                                     rate_str(sh.ceil_bps), p.name, rate_str(p.speed_bps)));
  };
  for (const auto& [id, sh] : s.tenants) {
    const Tenant* t = tenant_by_id(c, id);
    one(fmt::format("tenant '{}'", t ? t->name : std::to_string(id)), sh);
  }
  for (const auto& t : c.tenants)
    for (const auto& w : t.schedule)
      one(fmt::format("tenant '{}' window {}", t.name, window_str(w)),
          Shape{w.rate_bps, std::max(w.ceil_bps, w.rate_bps), t.burst_bytes});
  if ((!s.tenants.empty() || any_schedule(c)) && wan.empty())
    throw ApplyError("shaping: tenants have rates but no interface has role wan");
}

void ShapingModule::plan(const core::ApplyContext& ctx) {
  State s = state_of(ctx);
  State ports;
  if (any_schedule(ctx.next)) add_ports(ctx, ports);
  check(ctx.next, s, s.wan.empty() ? ports.wan : s.wan);
  // A reload that changes the tenants ends the holds of `tenant set`.
  clear_holds_ = !in_set_ && ctx.next.tenants != ctx.running.tenants;
  planned_ = std::move(s);
}

void ShapingModule::add(const core::ApplyContext& ctx) {
  if (!planned_) return;
  if (ctx.initial) forget_earlier(ctx, *planned_);
  queues_up(*planned_);
}

// The maps are pinned and the queues stay while no agent runs: what an
// earlier agent shaped and this configuration does not goes back to the
// fast path (its map entries and its class), and our HTB leaves the
// ports when no tenant is shaped. (Its TC filter, left attached, passes
// everything without the XDP programs' metadata.)
void ShapingModule::forget_earlier(const core::ApplyContext& ctx, const State& next) {
  for (uint16_t id = 1; id < AIGW_MAX_TENANTS; id++)
    if (!next.tenants.count(id)) map().set(id, 0);  // before the watch: nothing shaped yet
  for (const auto& i : ctx.next.interfaces) {
    auto link = ctx.links.resolve(i.name);
    if (!link) continue;
    if (next.tenants.empty()) {
      htb().remove_root(link->ifindex, AIGW_SHAPE_MAJOR);
      continue;
    }
    for (const auto& [minor, st] : htb().all_class_stats(link->ifindex, AIGW_SHAPE_MAJOR))
      if (minor != AIGW_SHAPE_PARENT && !next.tenants.count(minor))
        htb().remove_class(link->ifindex, AIGW_SHAPE_MAJOR, minor);
  }
}

void ShapingModule::remove(const core::ApplyContext&) {
  if (planned_) queues_down(*planned_);
}

void ShapingModule::commit(const core::ApplyContext&) {
  if (clear_holds_) {
    std::lock_guard l(hold_mu_);
    held_.clear();
  }
  clear_holds_ = false;
  planned_.reset();
}

// A window starts or ends: the running configuration is applied again (as
// a reload with no change), which reads the clock. A hold of `tenant set`
// ends with its window.
void ShapingModule::tick(TimePoint) {
  const Config& c = host_.running();
  if (!any_schedule(c) && held_.empty()) return;
  uint32_t ws = week_now();
  {
    std::lock_guard l(hold_mu_);
    std::erase_if(held_, [&](const auto& h) {
      const Tenant* t = tenant_by_id(c, h.first);
      const ShapeWindow* w = t ? window_now(*t, ws) : nullptr;
      return !w || !(*w == h.second);
    });
  }
  auto want = shapes_at(c, ws);
  if (want == applied_.tenants) {
    schedule_failed_.reset();
    return;
  }
  auto shape_of = [](const std::map<uint16_t, Shape>& m, uint16_t id) {
    auto it = m.find(id);
    return it == m.end() ? Shape{} : it->second;
  };
  for (const auto& t : c.tenants) {
    Shape now = shape_of(want, t.id);
    if (now == shape_of(applied_.tenants, t.id)) continue;
    const ShapeWindow* w = window_now(t, ws);
    host_.log().info(
        "tenant {}: {}: rate {} ceil {}", t.name,
        w ? fmt::format("window {}", window_str(*w)) : std::string("outside its windows"),
        rate_or_none(now.rate_bps), rate_or_none(now.ceil_bps));
  }
  try {
    host_.commit(c, "schedule");
    schedule_failed_.reset();
  } catch (const std::exception& e) {
    if (schedule_failed_ != want) host_.log().error("schedule: cannot apply: {}", e.what());
    schedule_failed_ = want;
  }
}

// Make before break: the TC program on the ports, then the queues, then
// the map entries that send packets to them.
void ShapingModule::queues_up(const State& next) {
  auto& loader = host_.datapath().loader();
  for (int ifx : next.tc)
    if (!applied_.tc.count(ifx)) {
      loader.attach(ifx, Hook::TcIngress, kTcProg);
      applied_.tc.insert(ifx);
    }
  ports_up(next.wan, applied_.wan, next.tenants, true);
  ports_up(next.customers, applied_.customers, next.tenants, false);
  if (!next.tenants.empty()) watch().set_ports(wan_ifindexes());
  for (const auto& [id, sh] : next.tenants) {
    watch().shape(id, AIGW_SHAPE_PRIORITY(id), sh.rate_bps);
    applied_.tenants[id] = sh;
  }
  publish_holdable();
}

// Our HTB on each port of `next` and the tenants' classes in it, written
// when new or changed (with the holds of pause/resume on the WAN ports).
void ShapingModule::ports_up(const std::vector<Port>& next, std::vector<Port>& applied,
                             const std::map<uint16_t, Shape>& tenants, bool holds) {
  for (const auto& p : next) {
    bool fresh = !has_port(applied, p.ifindex);
    uint64_t link = p.speed_bps ? p.speed_bps : kMaxTenantRate;
    htb().ensure_root(p.ifindex, AIGW_SHAPE_MAJOR, AIGW_SHAPE_PARENT, link);
    for (const auto& [id, sh] : tenants) {
      auto was = applied_.tenants.find(id);
      if (!fresh && was != applied_.tenants.end() && was->second == sh) continue;
      if (holds)
        write_class(htb(), p.ifindex, id, sh);
      else
        htb().set_class(p.ifindex, AIGW_SHAPE_MAJOR, id, AIGW_SHAPE_PARENT, htb_rate(sh));
    }
    if (fresh) applied.push_back(p);
  }
}

void ShapingModule::ports_down(const std::vector<Port>& next, std::vector<Port>& applied) {
  std::erase_if(applied, [&](const Port& p) {
    if (has_port(next, p.ifindex)) return false;
    htb().remove_root(p.ifindex, AIGW_SHAPE_MAJOR);
    return true;
  });
}

void ShapingModule::write_class(nl::Htb& htb, int ifindex, uint16_t id, const Shape& sh) {
  std::lock_guard l(hold_mu_);
  nl::HtbRate r = htb_rate(sh);
  if (holding_.count(id)) r = held_htb_rate(sh.rate_bps);
  htb.set_class(ifindex, AIGW_SHAPE_MAJOR, id, AIGW_SHAPE_PARENT, r);
}

// What hold() may hold: the tenants shaped now, on the ports they are on.
void ShapingModule::publish_holdable() {
  std::lock_guard l(hold_mu_);
  holdable_ = applied_.tenants;
  hold_ports_ = wan_ifindexes();
  wan_ports_ = applied_.wan;
  rx_ports_ = applied_.customers;
  std::erase_if(holding_, [&](uint16_t id) { return !holdable_.count(id); });
}

ShapingModule::Queues ShapingModule::queues() const {
  std::lock_guard l(hold_mu_);
  return Queues{holdable_, wan_ports_, rx_ports_};
}

bool ShapingModule::hold(uint16_t tenant, bool on) {
  std::lock_guard l(hold_mu_);
  auto sh = holdable_.find(tenant);
  if (sh == holdable_.end()) return false;
  if (on == (holding_.count(tenant) > 0)) return true;
  if (on) {
    holding_.insert(tenant);
    pauses_[tenant]++;
  } else {
    holding_.erase(tenant);
  }
  if (!hold_htb_) hold_htb_ = std::make_unique<nl::Htb>();
  nl::HtbRate r = on ? held_htb_rate(sh->second.rate_bps) : htb_rate(sh->second);
  for (int ifx : hold_ports_)
    hold_htb_->set_class(ifx, AIGW_SHAPE_MAJOR, tenant, AIGW_SHAPE_PARENT, r);
  return true;
}

uint64_t ShapingModule::held_rate(uint64_t rate_bps) {
  return std::max<uint64_t>(rate_bps / 1000, 1'000'000);
}

bool ShapingModule::holdable(uint16_t tenant) const {
  std::lock_guard l(hold_mu_);
  return holdable_.count(tenant) > 0;
}

bool ShapingModule::held(uint16_t tenant) const {
  std::lock_guard l(hold_mu_);
  return holding_.count(tenant) > 0;
}

// Break after: map entries first (their packets take the fast path
// again), then the queues, then the TC program.
void ShapingModule::queues_down(const State& next) {
  {
    std::lock_guard l(hold_mu_);  // no hold writes a class removed below
    std::erase_if(holdable_, [&](const auto& h) { return !next.tenants.count(h.first); });
    std::erase_if(holding_, [&](uint16_t id) { return !next.tenants.count(id); });
  }
  for (auto it = applied_.tenants.begin(); it != applied_.tenants.end();) {
    if (next.tenants.count(it->first)) {
      ++it;
      continue;
    }
    watch().unshape(it->first);
    for (const auto* ports : {&applied_.wan, &applied_.customers})
      for (const auto& p : *ports) htb().remove_class(p.ifindex, AIGW_SHAPE_MAJOR, it->first);
    it = applied_.tenants.erase(it);
  }
  ports_down(next.wan, applied_.wan);
  ports_down(next.customers, applied_.customers);
  if (watch_) watch_->set_ports(wan_ifindexes());
  publish_holdable();
  auto& loader = host_.datapath().loader();
  std::erase_if(applied_.tc, [&](int ifx) {
    if (next.tc.count(ifx)) return false;
    loader.detach(ifx, Hook::TcIngress);
    return true;
  });
}

// Each tenant's windows and the one in force ("held": rates from `tenant
// set` until it ends); a tenant unshaped now gets an entry without queues.
void ShapingModule::add_schedules(const Config& c, nlohmann::json& out) const {
  uint32_t ws = week_now();
  for (const auto& t : c.tenants) {
    if (t.schedule.empty()) continue;
    auto e = std::find_if(out.begin(), out.end(),
                          [&](const nlohmann::json& x) { return x["id"].get<uint16_t>() == t.id; });
    if (e == out.end()) {
      out.push_back(nlohmann::json{{"name", t.name}, {"id", t.id}});
      e = std::prev(out.end());
    }
    for (const auto& w : t.schedule) (*e)["schedule"].push_back(window_str(w));
    if (const ShapeWindow* w = window_now(t, ws)) {
      (*e)["window"] = window_str(*w);
      std::lock_guard l(hold_mu_);  // a scrape's thread too
      auto h = held_.find(t.id);
      (*e)["held"] = h != held_.end() && h->second == *w;
    }
  }
}

nlohmann::json ShapingModule::show(nl::Htb& htb) const {
  nlohmann::json out = nlohmann::json::array();
  const Config& c = host_.running();
  auto marks = watch_ ? watch_->states() : std::map<uint16_t, QueueWatch::TenantState>{};
  for (const auto& [id, sh] : applied_.tenants) {
    const Tenant* t = tenant_by_id(c, id);
    nlohmann::json e = {{"name", t ? t->name : std::to_string(id)},
                        {"id", id},
                        {"rate", rate_str(sh.rate_bps)},
                        {"ceil", rate_str(sh.ceil_bps)},
                        {"rate_bps", sh.rate_bps},
                        {"ceil_bps", sh.ceil_bps},
                        {"burst", sh.burst_bytes}};
    nlohmann::json ports = nlohmann::json::array();
    auto sides = {std::pair{"wan", &applied_.wan}, std::pair{"customer", &applied_.customers}};
    for (const auto& [side, list] : sides)
      for (const auto& p : *list) {
        nlohmann::json q = {{"port", p.name},
                            {"side", side},
                            {"class", fmt::format("{:x}:{:x}", AIGW_SHAPE_MAJOR, id)}};
        if (auto st = htb.class_stats(p.ifindex, AIGW_SHAPE_MAJOR, id)) {
          q["bytes"] = st->bytes;
          q["packets"] = st->packets;
          q["drops"] = st->drops;
          q["overlimits"] = st->overlimits;
          q["backlog_bytes"] = st->backlog_bytes;
          q["backlog_packets"] = st->qlen;
        }
        ports.push_back(std::move(q));
      }
    e["queues"] = std::move(ports);
    e["paused"] = held(id);
    {
      std::lock_guard l(hold_mu_);
      auto n = pauses_.find(id);
      e["pauses"] = n == pauses_.end() ? 0 : n->second;
    }
    if (auto st = marks.find(id); st != marks.end()) {
      e["ecn_mark_bytes"] = st->second.mark_bytes;
      e["ecn_marking"] = st->second.marking;
      e["ecn_episodes"] = st->second.episodes;
      e["deepest_bytes"] = st->second.deepest_bytes;
    }
    out.push_back(std::move(e));
  }
  add_schedules(c, out);
  return out;
}

// tenant set NAME rate R|off [ceil C] [burst B]: the running configuration
// with the tenant's new rates, applied as a reload is.
nlohmann::json ShapingModule::set(const nlohmann::json& args) {
  std::string name = arg_str(args, "name");
  Config next = host_.running();
  auto t = std::find_if(next.tenants.begin(), next.tenants.end(),
                        [&](const Tenant& x) { return x.name == name; });
  if (t == next.tenants.end()) throw ControlError(fmt::format("no tenant named {}", name));
  auto rate_arg = [&](const char* key) -> std::optional<uint64_t> {
    auto v = opt_str(args, key);
    if (!v) return std::nullopt;
    if (*v == "off" || *v == "none") return 0;
    std::string why;
    auto r = parse_rate(*v, &why);
    if (!r) throw ControlError(fmt::format("{}: {}", key, why));
    return r;
  };
  auto rate = rate_arg("rate"), ceil = rate_arg("ceil");
  auto burst = opt_num(args, "burst", 64u << 20);
  if (!rate && !ceil && !burst) throw ControlError("nothing to set: give rate, ceil or burst");
  if (rate) t->rate_bps = *rate;
  if (ceil) t->ceil_bps = *ceil;
  if (burst) t->burst_bytes = static_cast<uint32_t>(*burst);
  if (rate && *rate == 0) t->ceil_bps = t->burst_bytes = 0;  // off: the fast path
  if (t->rate_bps && t->ceil_bps && t->ceil_bps < t->rate_bps)
    throw ControlError(
        fmt::format("ceil {} is below the rate {}", rate_str(t->ceil_bps), rate_str(t->rate_bps)));
  if (!t->rate_bps && (t->ceil_bps || t->burst_bytes))
    throw ControlError(fmt::format("tenant {} has no rate: ceil and burst need one", name));
  // Inside one of the tenant's windows the new rates hold until it ends.
  auto saved = held_;
  const ShapeWindow* w = window_now(*t, week_now());
  if (w) {
    std::lock_guard l(hold_mu_);
    held_[t->id] = *w;
  }
  auto t0 = std::chrono::steady_clock::now();
  in_set_ = true;
  try {
    host_.commit(next, "<aigwctl>");
  } catch (...) {
    in_set_ = false;
    std::lock_guard l(hold_mu_);
    held_ = std::move(saved);
    throw;
  }
  in_set_ = false;
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::string until = w ? fmt::format("; until its window {} ends", window_str(*w)) : "";
  return {{"summary", fmt::format("tenant {}: rate {} ceil {} (applied in {:.1f} ms{})", name,
                                  rate_or_none(t->rate_bps), rate_or_none(t->ceil_bps), ms, until)},
          {"applied_ms", ms}};
}

void ShapingModule::register_commands(core::CommandTable& t) {
  t.add(cmd::kTenantQueues, core::Access::Read,
        [this](const nlohmann::json&) { return show(htb()); });
  t.add(cmd::kTenantSet, core::Access::Write, [this](const nlohmann::json& a) { return set(a); });
}

// On a scrape's thread: a netlink socket of its own.
void ShapingModule::collect(telemetry::Snapshot& s) const {
  if (applied_.tenants.empty()) return;
  nl::Htb htb;
  for (const auto& q : show(htb)) {
    if (!q.contains("queues")) continue;  // scheduled, not shaped now
    telemetry::ShapingFacts::Queue f;
    f.tenant = q["name"].get<std::string>();
    s.shaping.tenant_pauses[f.tenant] = q.value("pauses", uint64_t{0});
    f.rate_bps = q["rate_bps"].get<uint64_t>();
    f.ceil_bps = q["ceil_bps"].get<uint64_t>();
    for (const auto& p : q["queues"]) {
      f.port = p["port"].get<std::string>();
      f.bytes = p.value("bytes", uint64_t{0});
      f.packets = p.value("packets", uint64_t{0});
      f.drops = p.value("drops", uint64_t{0});
      f.backlog_bytes = p.value("backlog_bytes", uint64_t{0});
      f.backlog_packets = p.value("backlog_packets", uint64_t{0});
      f.paused = q.value("paused", false) ? 1 : 0;
      s.shaping.queues.push_back(f);
    }
  }
}

}  // namespace aigw::features
