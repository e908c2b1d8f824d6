// aigwd: the aigw agent. Loads the XDP programs, applies the configuration,
// serves the control socket; SIGHUP reloads, SIGTERM stops (the programs
// stay attached: `aigwd --detach` removes them).
#include <aigw/abi.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <net/if.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>
#include <utility>  // before boost/asio with GCC 12

#include "aigwd/daemon.hpp"
#include "common/version.hpp"
#include "config/parse.hpp"
#include "datapath/datapath.hpp"
#include "netlink/htb.hpp"

namespace {

// `--check`: every configured interface must exist in this network
// namespace (file:line of its name).
std::vector<aigw::ConfigError> missing_interfaces(const aigw::Config& cfg,
                                                  const std::string& path) {
  std::vector<aigw::ConfigError> out;
  for (size_t k = 0; k < cfg.interfaces.size(); ++k) {
    const auto& i = cfg.interfaces[k];
    if (::if_nametoindex(i.name.c_str()) != 0) continue;
    auto it = i.lines.find("name");
    out.push_back({path, it != i.lines.end() ? it->second : i.line,
                   fmt::format("interfaces[{}].name", k),
                   fmt::format("interface '{}' does not exist (in this network namespace)", i.name)});
  }
  return out;
}

// `--detach`: the shaping queues go with the programs (only our HTB).
void remove_queues(const aigw::Config& cfg) {
  try {
    aigw::nl::Htb htb;
    for (const auto& i : cfg.interfaces)
      if (int ifx = static_cast<int>(::if_nametoindex(i.name.c_str()));
          ifx && i.role == aigw::IfRole::Wan)
        htb.remove_root(ifx, AIGW_SHAPE_MAJOR);
  } catch (const std::exception& e) {
    fmt::print(stderr, "--detach: shaping queues: {}\n", e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/aigw/aigw.yaml";
  bool check_only = false, unpin = false, detach = false, show_version = false;
  CLI::App app{"aigwd: AI-compute WAN gateway agent (XDP SRv6 datapath)"};
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check", check_only, "validate the configuration file and exit");
  app.add_flag("--unpin", unpin,
               "remove the pinned maps of this configuration's pin_path and exit "
               "(counters and entries are lost; detach first)");
  app.add_flag("--detach", detach,
               "remove aigw's XDP programs from this configuration's interfaces and exit "
               "(they stay attached when aigwd stops; refused while aigwd runs)");
  app.add_flag("-V,--version", show_version, "print the version and exit");
  CLI11_PARSE(app, argc, argv);
  if (show_version) {
    fmt::print("aigwd {}\n", aigw::version());
    return 0;
  }

  aigw::Logger log;
  log.set_journal(aigw::is_journal_stream(2));
  auto loaded = aigw::load_config_file(config_path);
  if (auto* errs = std::get_if<std::vector<aigw::ConfigError>>(&loaded)) {
    for (const auto& e : *errs) fmt::print(stderr, "{}\n", e.str());
    return 1;
  }
  aigw::Config cfg = std::get<aigw::Config>(std::move(loaded));
  if (check_only) {
    // The file is valid; the interfaces it names must also exist here.
    auto missing = missing_interfaces(cfg, config_path);
    for (const auto& e : missing) fmt::print(stderr, "{}\n", e.str());
    if (!missing.empty()) return 1;
    if (auto old = aigw::kernel_too_old(aigw::kernel_release()))
      fmt::print(stderr, "{}: warning: {}\n", config_path, *old);
    fmt::print("{}: OK\n", config_path);
    return 0;
  }
  std::vector<std::string> ifnames;
  for (const auto& i : cfg.interfaces) ifnames.push_back(i.name);
  if (detach) {
    try {
      auto done = aigw::Datapath::detach_ports(cfg.agent.pin_path, ifnames);
      fmt::print("detached from {} port(s){}{}\n", done.size(), done.empty() ? "" : ": ",
                 fmt::join(done, ", "));
      remove_queues(cfg);
    } catch (const std::exception& e) {
      log.error("--detach: {}", e.what());
      return 1;
    }
    return 0;
  }
  if (unpin) {
    try {
      aigw::Datapath::unpin_all(cfg.agent.pin_path, ifnames);
    } catch (const std::exception& e) {
      log.error("--unpin: {}", e.what());
      return 1;
    }
    return 0;
  }
  if (auto l = aigw::log_level_from_string(cfg.agent.log_level)) log.set_level(*l);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    aigw::Daemon d(config_path, std::move(cfg), log);
    d.start();
    d.run();
  } catch (const std::exception& e) {
    log.error("{}", e.what());
    return 1;
  }
  return 0;
}
