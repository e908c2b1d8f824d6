// Temp files a killed agent left behind (issue 8 K3): removed when their
// writer is gone, kept while it lives.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <filesystem>
#include <fstream>

#include "telemetry/usage.hpp"

namespace fs = std::filesystem;

namespace {

pid_t dead_pid() {
  pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, nullptr, 0);
  return p;
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

}  // namespace

TEST_CASE("stale temp files of a gone writer are removed, others kept", "[accounting]") {
  fs::path dir = fs::temp_directory_path() / fmt::format("aigwt-tmpfiles-{}", getpid());
  fs::create_directories(dir);
  const pid_t gone = dead_pid();
  touch(dir / fmt::format("accounting.json.tmp.{}", gone));
  touch(dir / fmt::format("usage-1m-20261202T0900Z.jsonl.tmp.{}", gone));
  touch(dir / fmt::format("accounting.json.tmp.{}", getpid()));  // a live writer: us
  touch(dir / "accounting.json");
  touch(dir / "notes.tmp.x1");
  CHECK(aigw::telemetry::remove_stale_temp_files(dir.string()) == 2);
  CHECK_FALSE(fs::exists(dir / fmt::format("accounting.json.tmp.{}", gone)));
  CHECK(fs::exists(dir / fmt::format("accounting.json.tmp.{}", getpid())));
  CHECK(fs::exists(dir / "accounting.json"));
  CHECK(fs::exists(dir / "notes.tmp.x1"));
  CHECK(aigw::telemetry::remove_stale_temp_files((dir / "missing").string()) == 0);
  fs::remove_all(dir);
}

TEST_CASE("accounting.retention removes usage files last written before the cutoff",
          "[accounting]") {
  using namespace std::chrono_literals;
  fs::path dir = fs::temp_directory_path() / fmt::format("aigwt-retention-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto now = fs::file_time_type::clock::now();
  auto at = [&](const char* name, std::chrono::hours age) {
    touch(dir / name);
    fs::last_write_time(dir / name, now - age);
  };
  at("usage-1h-20261101T000000Z.jsonl", 24h * 40);  // older than 30 days: goes
  at("usage-1m-20261101T000000Z.csv", 24h * 31);    // goes
  at("usage-1h-20261125T000000Z.jsonl", 24h * 7);   // kept
  at("state.json", 24h * 90);                       // not a usage file: kept
  at("usage-1h-x.jsonl.tmp.1", 24h * 90);           // a temp file: not this rule's
  CHECK(aigw::telemetry::remove_expired_usage(dir.string(), 30 * 86400, now) == 2);
  CHECK_FALSE(fs::exists(dir / "usage-1h-20261101T000000Z.jsonl"));
  CHECK_FALSE(fs::exists(dir / "usage-1m-20261101T000000Z.csv"));
  CHECK(fs::exists(dir / "usage-1h-20261125T000000Z.jsonl"));
  CHECK(fs::exists(dir / "state.json"));
  CHECK(fs::exists(dir / "usage-1h-x.jsonl.tmp.1"));
  CHECK(aigw::telemetry::remove_expired_usage(dir.string(), 0, now) == 0);  // retention off
  CHECK(aigw::telemetry::remove_expired_usage((dir / "missing").string(), 60, now) == 0);
  fs::remove_all(dir);
}
