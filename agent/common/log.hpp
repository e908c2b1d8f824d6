// Logging to stderr, one event a line: "TIME LEVEL: message". Owned by the
// program (no global logger); components take a Logger& or Logger*. When
// stderr is journald's stream (set_journal), a line is "<PRIORITY>LEVEL:
// message" instead: journald takes the syslog priority from the prefix
// (`journalctl -p err` works) and stamps the time itself.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace aigw {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };
std::optional<LogLevel> log_level_from_string(std::string_view s);

class Logger {
 public:
  explicit Logger(LogLevel level = LogLevel::Info, std::FILE* out = stderr)
      : level_(level), out_(out) {}
  void set_level(LogLevel l) { level_ = l; }
  void set_journal(bool on) { journal_ = on; }
  LogLevel level() const { return level_; }

  void write(LogLevel l, std::string_view msg) const;

  template <class... A>
  void debug(fmt::format_string<A...> f, A&&... a) const {
    if (level_ <= LogLevel::Debug) write(LogLevel::Debug, fmt::format(f, std::forward<A>(a)...));
  }
  template <class... A>
  void info(fmt::format_string<A...> f, A&&... a) const {
    if (level_ <= LogLevel::Info) write(LogLevel::Info, fmt::format(f, std::forward<A>(a)...));
  }
  template <class... A>
  void warn(fmt::format_string<A...> f, A&&... a) const {
    if (level_ <= LogLevel::Warn) write(LogLevel::Warn, fmt::format(f, std::forward<A>(a)...));
  }
  template <class... A>
  void error(fmt::format_string<A...> f, A&&... a) const {
    write(LogLevel::Error, fmt::format(f, std::forward<A>(a)...));
  }

 private:
  LogLevel level_;
  std::FILE* out_;
  bool journal_ = false;
};

// Whether fd is the stream systemd connected to journald ($JOURNAL_STREAM
// holds that stream's "device:inode").
bool is_journal_stream(int fd);

}  // namespace aigw
