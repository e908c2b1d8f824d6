// systemd integration of aigwd (issue 10): the sd_notify datagrams and the
// journald log format (syslog priority prefixes), judged by a real
// AF_UNIX socket and the bytes written.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/notify.hpp"
#include "common/version.hpp"

namespace {

// A datagram socket bound at path (abstract when it starts with '@').
aigw::Fd bound(const std::string& path) {
  aigw::Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  if (path[0] == '@') sa.sun_path[0] = '\0';
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) == 0);
  return fd;
}

std::string recv_one(int fd) {
  char buf[512];
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::string written(void (*fill)(aigw::Logger&)) {
  std::FILE* f = std::tmpfile();
  aigw::Logger log(aigw::LogLevel::Debug, f);
  log.set_journal(true);
  fill(log);
  std::rewind(f);
  std::string s(4096, '\0');
  s.resize(std::fread(s.data(), 1, s.size(), f));
  std::fclose(f);
  return s;
}

}  // namespace

TEST_CASE("sd_notify sends the state to $NOTIFY_SOCKET, path or abstract", "[systemd]") {
  for (std::string path : {fmt::format("/tmp/aigwt-notify-{}.sock", getpid()),
                           fmt::format("@aigwt-notify-{}", getpid())}) {
    if (path[0] == '/') ::unlink(path.c_str());
    aigw::Fd fd = bound(path);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    CHECK(aigw::sd_notify("READY=1\nSTATUS=ok"));
    CHECK(recv_one(fd.get()) == "READY=1\nSTATUS=ok");
    std::string r = aigw::sd_reloading_state();
    CHECK(aigw::sd_notify(r));
    std::string got = recv_one(fd.get());
    CHECK(got.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
    CHECK(std::strtoull(got.c_str() + got.find('=', 12) + 1, nullptr, 10) > 0);
    if (path[0] == '/') ::unlink(path.c_str());
  }
  ::unsetenv("NOTIFY_SOCKET");
  CHECK_FALSE(aigw::sd_notify("READY=1"));  // not under systemd: a no-op
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  CHECK_FALSE(aigw::sd_notify("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
}

TEST_CASE("journald lines carry the syslog priority and no timestamp", "[systemd]") {
  std::string s = written([](aigw::Logger& l) {
    l.debug("d");
    l.info("i {}", 1);
    l.warn("w");
    l.error("e\nsecond line");
  });
  CHECK(s == "<7>debug: d\n<6>info: i 1\n<4>warn: w\n<3>error: e second line\n");
}

TEST_CASE("JOURNAL_STREAM names the stream by device and inode", "[systemd]") {
  std::FILE* f = std::tmpfile();
  struct stat st {};
  REQUIRE(::fstat(fileno(f), &st) == 0);
  ::setenv("JOURNAL_STREAM", fmt::format("{}:{}", st.st_dev, st.st_ino).c_str(), 1);
  CHECK(aigw::is_journal_stream(fileno(f)));
  ::setenv("JOURNAL_STREAM", fmt::format("{}:{}", st.st_dev, st.st_ino + 1).c_str(), 1);
  CHECK_FALSE(aigw::is_journal_stream(fileno(f)));
  ::unsetenv("JOURNAL_STREAM");
  CHECK_FALSE(aigw::is_journal_stream(fileno(f)));
  std::fclose(f);
}

TEST_CASE("kernels older than 6.5 are refused by release string", "[systemd]") {
  CHECK(aigw::kernel_too_old("6.1.0-13-amd64").has_value());
  CHECK(aigw::kernel_too_old("5.19.0").has_value());
  CHECK(aigw::kernel_too_old("6.4.16").value().find("6.5") != std::string::npos);
  CHECK_FALSE(aigw::kernel_too_old("6.5.0").has_value());
  CHECK_FALSE(aigw::kernel_too_old("6.18.44-fc-v1045").has_value());
  CHECK_FALSE(aigw::kernel_too_old("7.0").has_value());
  CHECK_FALSE(aigw::kernel_too_old("garbage").has_value());  // unreadable: not refused
}
