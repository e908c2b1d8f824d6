#include "common/log.hpp"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include <fmt/chrono.h>

namespace aigw {

std::optional<LogLevel> log_level_from_string(std::string_view s) {
  if (s == "debug") return LogLevel::Debug;
  if (s == "info") return LogLevel::Info;
  if (s == "warn") return LogLevel::Warn;
  if (s == "error") return LogLevel::Error;
  return std::nullopt;
}

void Logger::write(LogLevel l, std::string_view msg) const {
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  static constexpr int kSyslog[] = {7, 6, 4, 3};  // LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR
  // One event a line: fold embedded newlines so a line is always one event.
  std::string flat(msg);
  for (auto& ch : flat)
    if (ch == '\n' || ch == '\r') ch = ' ';
  if (journal_) {
    fmt::print(out_, "<{}>{}: {}\n", kSyslog[static_cast<int>(l)], kNames[static_cast<int>(l)],
               flat);
    std::fflush(out_);
    return;
  }
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  fmt::print(out_, "{:%Y-%m-%dT%H:%M:%S}.{:03d}Z {}: {}\n",
             fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms.count(),
             kNames[static_cast<int>(l)], flat);
  std::fflush(out_);
}

bool is_journal_stream(int fd) {
  const char* js = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (!js || ::fstat(fd, &st) != 0) return false;
  return fmt::format("{}:{}", st.st_dev, st.st_ino) == js;
}

}  // namespace aigw
