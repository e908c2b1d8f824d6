#include "features/flows.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "features/args.hpp"
#include "telemetry/metrics.hpp"
#include "telemetry/usage.hpp"

namespace aigw::features {

void FlowsModule::tick(TimePoint) {
  try {
    auto now_wall = std::chrono::system_clock::now();
    std::vector<telemetry::FlowReport> reports;
    if (host_.running().flows.enabled) {
      auto entries = host_.datapath().read_flows();
      auto t = tracker_.tick(entries, telemetry::monotonic_ns(), now_wall);
      if (!t.ended.empty()) host_.datapath().delete_flows(t.ended);
      reports = std::move(t.reports);
    } else if (tracker_.active()) {
      reports = tracker_.flush();
    }
    active_ = tracker_.active();
    ipfix_.export_reports(reports, now_wall);
  } catch (const std::exception& e) {
    host_.log().debug("flows: {}", e.what());
  }
}

void FlowsModule::collect(telemetry::Snapshot& s) const { s.accounting.flows_active = active_; }

// The tracker's reported counts are saved on a clean stop only and the file
// is removed once loaded: after a crash the first IPFIX report of a flow
// that outlived it repeats what was reported since the last clean stop (the
// usage records do not depend on this: they come from aigw_usage).
std::string FlowsModule::state_path() const {
  const auto& dir = host_.running().accounting.state_dir;
  return dir.empty() ? std::string() : dir + "/flows.json";
}

void FlowsModule::load() {
  const std::string path = state_path();
  if (path.empty()) return;
  std::ifstream f(path);
  if (!f) return;
  try {
    auto j = nlohmann::json::parse(f);
    if (j.at("owner").get<std::string>() == host_.running().agent.pin_path) {
      tracker_.load_state_json(j.at("tracker"));
      host_.log().info("flows: reported counts of {} flows loaded from {}",
                       j.at("tracker").at("flows").size(), path);
    }
  } catch (const std::exception& e) {
    host_.log().warn("flows: ignoring {}: {}", path, e.what());
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

void FlowsModule::save_state() {
  const std::string path = state_path();
  if (path.empty() || !host_.running().flows.enabled) return;
  try {
    nlohmann::json j = {{"owner", host_.running().agent.pin_path},
                        {"tracker", tracker_.state_json()}};
    telemetry::write_file_atomic(path, j.dump() + "\n");
  } catch (const std::exception& e) {
    host_.log().error("flows: cannot save {}: {}", path, e.what());
  }
}

void FlowsModule::register_commands(core::CommandTable& t) {
  t.add(cmd::kFlowTop, core::Access::Read,
        [this](const nlohmann::json& a) { return flows_json(a, true); });
  t.add(cmd::kFlowShow, core::Access::Read,
        [this](const nlohmann::json& a) { return flows_json(a, false); });
}

telemetry::FlowFilter FlowsModule::filter_of(const nlohmann::json& args) const {
  const auto& names = acct_.names();
  telemetry::FlowFilter f;
  auto prefix = [&](const char* k) -> std::optional<Prefix> {
    auto v = opt_str(args, k);
    if (!v) return std::nullopt;
    auto p = Prefix::parse(*v);
    if (auto* e = std::get_if<std::string>(&p)) throw ControlError(fmt::format("{}: {}", k, *e));
    return std::get<Prefix>(p);
  };
  if (auto t = opt_str(args, "tenant")) {
    f.tenant = names.tenant_id(*t);
    if (!f.tenant) throw ControlError(fmt::format("no tenant {}", *t));
  }
  if (auto c = opt_str(args, "class")) {
    f.cls = names.class_id(*c);
    if (!f.cls) throw ControlError(fmt::format("no service class {}", *c));
  }
  f.app_group = opt_num(args, "app_group", UINT64_MAX);
  f.src = prefix("src");
  f.dst = prefix("dst");
  if (auto p = opt_num(args, "proto", 255)) f.proto = static_cast<uint8_t>(*p);
  if (auto p = opt_num(args, "port", 65535)) f.port = static_cast<uint16_t>(*p);
  if (auto d = opt_str(args, "dir")) {
    if (*d != "in" && *d != "out") throw ControlError("argument 'dir' must be in or out");
    f.dir = *d == "in" ? AIGW_DIR_IN : AIGW_DIR_OUT;
  }
  return f;
}

nlohmann::json FlowsModule::view_json(const telemetry::FlowView& v,
                                      const std::map<uint16_t, std::string>& ifnames) const {
  const auto& names = acct_.names();
  const auto& k = v.key;
  const auto& fl = v.flow;
  auto wall = [](std::chrono::system_clock::time_point t) {
    return telemetry::rfc3339(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  };
  nlohmann::json j = {{"src", telemetry::flow_src(k)},
                      {"dst", telemetry::flow_dst(k)},
                      {"sport", ntohs(k.sport)},
                      {"dport", ntohs(k.dport)},
                      {"proto", k.proto},
                      {"family", k.family},
                      {"dir", aigw_dir_name(k.dir)},
                      {"interface", ifnames.count(k.ifslot) ? ifnames.at(k.ifslot) : "-"},
                      {"vrf", k.vrf},
                      {"tenant", names.tenant(fl.tenant)},
                      {"tenant_id", fl.tenant},
                      {"class", names.cls(fl.cls)},
                      {"class_id", fl.cls},
                      {"dscp", fl.dscp},
                      {"tcp_flags", fl.tcp_flags},
                      {"packets", fl.packets},
                      {"bytes", fl.bytes},
                      {"bps", v.bps},
                      {"pps", v.pps},
                      {"first_seen", wall(v.first_seen)},
                      {"last_seen", wall(v.last_seen)}};
  if (fl.apn_len && fl.apn_len <= AIGW_APN_MAX_ID_LEN) {
    j["apn"] = hex(fl.apn, fl.apn_len);
    if (auto g = telemetry::app_group_of(fl, host_.running().apn.app_group_bits))
      j["app_group"] = *g;
  }
  if (uint32_t qp = telemetry::flow_dqp(k)) j["dqp"] = qp;  // RoCEv2 queue pair
  if (fl.policy_slot) {
    auto pp = host_.datapath().path_at(fl.policy_slot);
    j["policy"] = pp ? pp->first : std::string{};
    if (pp && host_.datapath().policy_slots(pp->first).size() > 1)  // a multipath policy
      j["path"] = pp->second;
  }
  return j;
}

nlohmann::json FlowsModule::flows_json(const nlohmann::json& args, bool top) const {
  const Config& running = host_.running();
  const telemetry::FlowFilter f = filter_of(args);
  std::vector<telemetry::FlowView> views;
  const uint8_t agbits = running.apn.app_group_bits;
  for (const auto& v : tracker_.current())
    if (top || telemetry::flow_matches(v, f, agbits)) views.push_back(v);
  if (top) {
    auto order = telemetry::FlowOrder::Bytes;
    if (auto by = opt_str(args, "by")) {
      if (*by == "packets")
        order = telemetry::FlowOrder::Packets;
      else if (*by == "rate")
        order = telemetry::FlowOrder::Rate;
      else if (*by != "bytes")
        throw ControlError("argument 'by' must be bytes, packets or rate");
    }
    views = telemetry::top_flows(std::move(views), order, opt_num(args, "n", 1000000).value_or(20));
  } else {
    views = telemetry::top_flows(std::move(views), telemetry::FlowOrder::Bytes, 0);
  }
  std::map<uint16_t, std::string> ifnames;
  for (const auto& i : running.interfaces)
    if (auto slot = host_.datapath().slot_of(interface_key(i))) ifnames[*slot] = interface_key(i);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& v : views) list.push_back(view_json(v, ifnames));
  return {{"active", tracker_.active()},
          {"capacity", running.datapath.map_sizes.flows},
          {"enabled", running.flows.enabled},
          {"flows", std::move(list)}};
}

}  // namespace aigw::features
