// The module framework (core/): the three-step apply over modules, abort on
// failure, the command table; and the per-CPU summing of map_io.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/module_set.hpp"
#include "datapath/map_io.hpp"

namespace {

using aigw::Config;
using aigw::core::ApplyContext;

class NoLinks : public aigw::LinkResolver {
 public:
  std::optional<aigw::LinkInfo> resolve(const std::string&) const override { return {}; }
};

// Records every step it is asked to take into a shared journal.
class Probe : public aigw::core::Module {
 public:
  Probe(std::string name, std::vector<std::string>& journal, std::string fail_at = "")
      : name_(std::move(name)), journal_(journal), fail_at_(std::move(fail_at)) {}
  std::string_view name() const override { return name_; }
  void plan(const ApplyContext&) override { step("plan"); }
  void add(const ApplyContext&) override { step("add"); }
  void remove(const ApplyContext&) override { step("remove"); }
  void commit(const ApplyContext&) override { step("commit"); }
  void abort() override { journal_.push_back(name_ + ".abort"); }

 private:
  void step(const std::string& s) {
    journal_.push_back(name_ + "." + s);
    if (s == fail_at_) throw std::runtime_error(name_ + " refuses at " + s);
  }
  std::string name_;
  std::vector<std::string>& journal_;
  std::string fail_at_;
};

}  // namespace

TEST_CASE("modules: plan all, add all, remove all in reverse, then commit") {
  std::vector<std::string> j;
  Probe a("a", j), b("b", j), c("c", j);
  aigw::core::ModuleSet set;
  set.add(a);
  set.add(b);
  set.add(c);
  Config cfg;
  NoLinks links;
  set.apply(ApplyContext{cfg, cfg, links, false});
  CHECK(j == std::vector<std::string>{"a.plan", "b.plan", "c.plan", "a.add", "b.add", "c.add",
                                      "c.remove", "b.remove", "a.remove", "a.commit", "b.commit",
                                      "c.commit"});
}

TEST_CASE("modules: a refused plan writes nothing and aborts every module") {
  std::vector<std::string> j;
  Probe a("a", j), b("b", j, "plan"), c("c", j);
  aigw::core::ModuleSet set;
  set.add(a);
  set.add(b);
  set.add(c);
  Config cfg;
  NoLinks links;
  CHECK_THROWS_WITH(set.apply(ApplyContext{cfg, cfg, links, false}), "b refuses at plan");
  CHECK(j == std::vector<std::string>{"a.plan", "b.plan", "a.abort", "b.abort", "c.abort"});
}

TEST_CASE("modules: a failed add aborts every module and commits none") {
  std::vector<std::string> j;
  Probe a("a", j), b("b", j, "add");
  aigw::core::ModuleSet set;
  set.add(a);
  set.add(b);
  Config cfg;
  NoLinks links;
  CHECK_THROWS(set.apply(ApplyContext{cfg, cfg, links, false}));
  CHECK(j == std::vector<std::string>{"a.plan", "b.plan", "a.add", "b.add", "a.abort", "b.abort"});
}

TEST_CASE("commands: one handler per name, with its access") {
  aigw::core::CommandTable t;
  t.add("x.show", aigw::core::Access::Read, [](const nlohmann::json&) { return 1; });
  t.add("x.set", aigw::core::Access::Write, [](const nlohmann::json&) { return 2; });
  REQUIRE(t.find("x.show"));
  CHECK(t.find("x.show")->handler(nullptr) == 1);
  CHECK(t.find("x.set")->access == aigw::core::Access::Write);
  CHECK(t.find("x.del") == nullptr);
  CHECK_THROWS_AS(t.add("x.show", aigw::core::Access::Read, {}), std::logic_error);
}

TEST_CASE("map_io: per-CPU counters are summed lane by lane") {
  aigw_if_stats cpus[3] = {};
  for (int c = 0; c < 3; ++c) {
    cpus[c].rx = {uint64_t(10 + c), uint64_t(1000 * (c + 1))};
    cpus[c].tx = {uint64_t(c), 7};
  }
  auto s = aigw::maps::sum_percpu<aigw_if_stats>(reinterpret_cast<const uint8_t*>(cpus), 3);
  CHECK(s.rx.packets == 33);
  CHECK(s.rx.bytes == 6000);
  CHECK(s.tx.packets == 3);
  CHECK(s.tx.bytes == 21);
  CHECK(s.drop.packets == 0);
  CHECK(aigw::maps::percpu_value_size(sizeof(aigw_ctr), 4) == 64);
  CHECK(aigw::maps::percpu_value_size(12, 2) == 32);  // rounded up to 8 bytes per CPU
}
