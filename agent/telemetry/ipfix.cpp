#include "telemetry/ipfix.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "common/fd.hpp"
#include "common/net.hpp"
#include "telemetry/ipfix_encode.hpp"

namespace aigw::telemetry {
namespace {

// "ADDR:PORT" or "[V6]:PORT" -> a connected UDP socket. Connected, so that
// send() needs no address and the kernel drops datagrams from anyone else.
Fd open_collector(const std::string& c) {
  auto bad = [&](const char* why) {
    return std::runtime_error(fmt::format("ipfix collector '{}': {}", c, why));
  };
  const auto colon = c.rfind(':');
  if (colon == std::string::npos || colon == 0) throw bad("expected ADDR:PORT or [IPV6]:PORT");
  std::string host = c.substr(0, colon);
  const std::string port_s = c.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
  if (ec != std::errc{} || end != port_s.data() + port_s.size() || port == 0 || port > 65535)
    throw bad("port must be 1..65535");
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto a = Ip6::parse(host.substr(1, host.size() - 2));
    if (!a) throw bad("not an IPv6 address");
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&s6->sin6_addr, a->b.data(), 16);
    len = sizeof *s6;
  } else {
    auto a = Ip4::parse(host);
    if (!a) throw bad("not an IPv4 address (IPv6 is written [ADDR]:PORT)");
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&s4->sin_addr, a->b.data(), 4);
    len = sizeof *s4;
  }
  Fd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) throw bad(std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    throw bad(std::strerror(errno));
  return fd;
}

}  // namespace

struct IpfixExporter::Impl {
  IpfixSettings settings;
  IpfixNames names;
  std::vector<Fd> sockets;
  ipfix::Encoder encoder;
  std::optional<std::chrono::system_clock::time_point> templates_sent;
  std::atomic<uint64_t> records{0}, messages{0}, errors{0};

  Impl(const IpfixSettings& s, IpfixNames n)
      : settings(s), names(std::move(n)), encoder(s.observation_domain, s.enterprise) {}

  bool templates_due(std::chrono::system_clock::time_point now) const {
    if (!templates_sent) return true;
    // A clock stepped backwards also re-sends: cheap, and never wrong.
    return now < *templates_sent ||
           now - *templates_sent >= std::chrono::seconds(settings.template_refresh_s);
  }
};

IpfixExporter::IpfixExporter(const IpfixSettings& settings, IpfixNames names)
    : impl_(std::make_unique<Impl>(settings, std::move(names))) {
  for (const auto& c : settings.collectors) impl_->sockets.push_back(open_collector(c));
}

IpfixExporter::~IpfixExporter() = default;

void IpfixExporter::export_reports(const std::vector<FlowReport>& reports,
                                   std::chrono::system_clock::time_point now) {
  Impl& m = *impl_;
  if (m.sockets.empty()) return;
  const bool templates = m.templates_due(now);
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  const uint32_t export_time = static_cast<uint32_t>(secs.count());
  const uint32_t seq_before = m.encoder.sequence();
  auto msgs = m.encoder.encode(reports, m.names, templates, export_time);
  if (templates) m.templates_sent = now;
  // Over UDP a lost datagram is lost: the sequence numbers tell the collector.
  for (const auto& msg : msgs) {
    for (const auto& fd : m.sockets) {
      if (::send(fd.get(), msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL) !=
          static_cast<ssize_t>(msg.size()))
        m.errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
  m.messages.fetch_add(msgs.size(), std::memory_order_relaxed);
  m.records.fetch_add(m.encoder.sequence() - seq_before, std::memory_order_relaxed);
}

uint64_t IpfixExporter::records_sent() const {
  return impl_->records.load(std::memory_order_relaxed);
}
uint64_t IpfixExporter::messages_sent() const {
  return impl_->messages.load(std::memory_order_relaxed);
}
uint64_t IpfixExporter::send_errors() const {
  return impl_->errors.load(std::memory_order_relaxed);
}

}  // namespace aigw::telemetry
