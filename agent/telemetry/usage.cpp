#include "telemetry/usage.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/fd.hpp"

namespace aigw::telemetry {

namespace {

nlohmann::json dir_json(const DirUsage& d) {
  return {
      {"bytes", d.bytes}, {"packets", d.packets}, {"peak_bps", d.peak_bps}, {"p95_bps", d.p95_bps}};
}

std::string utc_compact(int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// Tenant and class names come from the configuration (validated names), but
// a CSV field is quoted anyway (RFC 4180) when it holds a comma, quote or newline.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw UsageWriteError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

nlohmann::json to_json(const UsageRecord& r) {
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& c : r.classes)
    classes.push_back({{"class", c.name},
                       {"class_id", c.id},
                       {"out", {{"bytes", c.out_bytes}, {"packets", c.out_packets}}},
                       {"in", {{"bytes", c.in_bytes}, {"packets", c.in_packets}}}});
  return {{"tenant", r.tenant},
          {"tenant_id", r.tenant_id},
          {"period_start", rfc3339(r.period_start)},
          {"period_end", rfc3339(r.period_start + r.period_s)},
          {"period_s", r.period_s},
          {"out", dir_json(r.out)},
          {"in", dir_json(r.in)},
          {"classes", std::move(classes)}};
}

std::string csv_header() {
  return "tenant,tenant_id,period_start,period_end,period_s,"
         "out_bytes,out_packets,out_peak_bps,out_p95_bps,"
         "in_bytes,in_packets,in_peak_bps,in_p95_bps,classes";
}

std::string to_csv(const UsageRecord& r) {
  std::string classes;
  for (const auto& c : r.classes) {
    if (!classes.empty()) classes += ';';
    classes +=
        fmt::format("{}:{}:{}:{}:{}", c.name, c.out_bytes, c.out_packets, c.in_bytes, c.in_packets);
  }
  return fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{}", csv_field(r.tenant), r.tenant_id,
                     rfc3339(r.period_start), rfc3339(r.period_start + r.period_s), r.period_s,
                     r.out.bytes, r.out.packets, r.out.peak_bps, r.out.p95_bps, r.in.bytes,
                     r.in.packets, r.in.peak_bps, r.in.p95_bps, csv_field(classes));
}

std::string usage_file_name(uint32_t period_s, int64_t period_start, UsageFormat format) {
  return fmt::format("usage-{}-{}.{}", period_name(period_s), utc_compact(period_start),
                     format == UsageFormat::Csv ? "csv" : "jsonl");
}

void write_file_atomic(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw UsageWriteError(
        fmt::format("cannot create directory {}: {}", dir.string(), ec.message()));
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    if (fd.get() < 0) fail("cannot create", tmp);
    const char* b = text.data();
    size_t left = text.size();
    while (left > 0) {
      ssize_t n = ::write(fd.get(), b, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        fail("cannot write", tmp);
      }
      b += n;
      left -= static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
      int saved = errno;
      ::unlink(tmp.c_str());
      errno = saved;
      fail("cannot fsync", tmp);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail("cannot rename to", path);
  }
  // The rename is durable only once the directory entry is.
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0 || ::fsync(d.get()) != 0) fail("cannot fsync directory", dir.string());
}

std::string write_usage_batch(const std::string& dir, UsageFormat format,
                              const std::vector<UsageRecord>& records) {
  if (records.empty()) return "";
  const auto& first = records.front();
  std::string text;
  if (format == UsageFormat::Csv) text = csv_header() + "\n";
  for (const auto& r : records) {
    if (r.period_s != first.period_s || r.period_start != first.period_start)
      throw std::logic_error("write_usage_batch: records of different periods");
    text += format == UsageFormat::Csv ? to_csv(r) : to_json(r).dump();
    text += '\n';
  }
  std::string path =
      (std::filesystem::path(dir) / usage_file_name(first.period_s, first.period_start, format))
          .string();
  write_file_atomic(path, text);
  return path;
}

size_t remove_expired_usage(const std::string& dir, uint32_t retention_s,
                            std::filesystem::file_time_type now) {
  namespace fs = std::filesystem;
  if (retention_s == 0 || dir.empty()) return 0;
  const auto cutoff = now - std::chrono::seconds(retention_s);
  size_t removed = 0;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string ext = it->path().extension().string();
    if (name.rfind("usage-", 0) != 0 || (ext != ".jsonl" && ext != ".csv")) continue;
    std::error_code te;
    auto t = fs::last_write_time(it->path(), te);
    if (te || t >= cutoff) continue;
    if (fs::remove(it->path(), te)) ++removed;
  }
  return removed;
}

size_t remove_stale_temp_files(const std::string& dir) {
  size_t removed = 0;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    auto pos = name.rfind(".tmp.");
    if (pos == std::string::npos) continue;
    std::string_view digits = std::string_view(name).substr(pos + 5);
    long pid = 0;
    auto [p, perr] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (digits.empty() || perr != std::errc() || p != digits.data() + digits.size() || pid <= 0)
      continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive (or not ours)
    std::error_code rm;
    if (std::filesystem::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

}  // namespace aigw::telemetry
