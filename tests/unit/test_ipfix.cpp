// IPFIX export (agent/telemetry/ipfix*): messages of made-up flow reports,
//  - decoded here by a small decoder written from RFC 7011 (header, sets,
//    templates with enterprise fields, variable-length fields),
//  - and judged by real peers: nfcapd/nfdump receive them over UDP on the
//    loopback of a private network namespace and must count the same bytes
//    and packets; tshark decodes a capture of the same datagrams.
#include <aigw/abi.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.hpp"
#include "telemetry/ipfix.hpp"
#include "telemetry/ipfix_encode.hpp"

using namespace aigw;
using namespace aigw::telemetry;
namespace fs = std::filesystem;

extern char** environ;

namespace {

constexpr uint32_t kPen = 32473;
constexpr uint32_t kDomain = 7;

// ------------------------------------------------------------ synthetic input
std::chrono::system_clock::time_point at_ms(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

Policy policy_ab(EncapMode mode) {
  Policy p;
  p.name = "to-b";
  p.mode = mode;
  p.source = *Ip6::parse("fc00:a::1");
  p.segments = {*Ip6::parse("fc00:c::e"), *Ip6::parse("fc00:d::1"), *Ip6::parse("fc00:b::d46")};
  return p;
}

IpfixNames names(EncapMode mode = EncapMode::Encap) {
  IpfixNames n;
  n.policy = [mode](uint32_t slot) -> std::optional<Policy> {
    if (slot == 3) return policy_ab(mode);
    return std::nullopt;
  };
  n.tenant = [](uint16_t t) { return t == 5 ? std::string("acme") : std::string(); };
  n.service_class = [](uint8_t c) { return c == 1 ? std::string("training") : std::string(); };
  n.ifindex = [](uint16_t slot) -> uint32_t { return slot == 2 ? 42 : 0; };
  return n;
}

// Flow i: v4 or v6 (by i), ports from i, counts from i (distinct sums).
FlowReport report(int i, bool v6, uint8_t dir, uint32_t policy_slot) {
  FlowReport r;
  r.key.family = v6 ? 6 : 4;
  if (v6) {
    auto s = *Ip6::parse(fmt::format("2001:db8:1::{:x}", 0x10 + i));
    auto d = *Ip6::parse("2001:db8:2::10");
    std::memcpy(r.key.src, s.b.data(), 16);
    std::memcpy(r.key.dst, d.b.data(), 16);
  } else {
    uint8_t s[4] = {192, 0, 2, static_cast<uint8_t>(10 + i % 200)};
    uint8_t d[4] = {198, 51, 100, 10};
    std::memcpy(r.key.src, s, 4);
    std::memcpy(r.key.dst, d, 4);
  }
  r.key.sport = htons(static_cast<uint16_t>(10000 + i));
  r.key.dport = htons(5201);
  r.key.proto = i % 2 ? IPPROTO_UDP : IPPROTO_TCP;
  r.key.dir = dir;
  r.key.ifslot = 2;
  r.key.vrf = 9;
  r.flow.policy_slot = policy_slot;
  r.flow.tenant = 5;
  r.flow.cls = 1;
  r.flow.rule_id = 11;
  r.flow.dscp = 10;
  r.flow.tcp_flags = r.key.proto == IPPROTO_TCP ? 0x1b : 0;
  r.flow.apn_len = 8;
  for (int b = 0; b < 8; ++b) r.flow.apn[b] = static_cast<uint8_t>(0xa0 + b);
  r.delta_packets = 3 + static_cast<uint64_t>(i);
  r.delta_bytes = 1000 + 7 * static_cast<uint64_t>(i);
  r.flow.packets = r.delta_packets;
  r.flow.bytes = r.delta_bytes;
  r.first_seen = at_ms(1700000000123 + i);
  r.last_seen = at_ms(1700000005456 + i);
  r.end = i % 3 == 0 ? FlowEnd::Idle : FlowEnd::None;
  return r;
}

// ------------------------------------------------------------ RFC 7011 decoder
uint64_t be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

struct TField {
  uint16_t id;
  uint16_t len;
  uint32_t pen;  // 0 = IANA
};
using Templates = std::map<uint16_t, std::vector<TField>>;
// One decoded data record: (pen, id) -> raw value bytes.
using DRecord = std::map<std::pair<uint32_t, uint16_t>, std::vector<uint8_t>>;

struct Message {
  uint16_t version, length;
  uint32_t export_time, seq, domain;
  std::vector<std::pair<uint16_t, DRecord>> records;  // (template id, fields)
};

// Decodes one message; templates persist across messages (as in a
// collector). Fails the test on any structural error.
Message decode(const std::vector<uint8_t>& m, Templates& t) {
  REQUIRE(m.size() >= 16);
  Message out{static_cast<uint16_t>(be(&m[0], 2)),  static_cast<uint16_t>(be(&m[2], 2)),
              static_cast<uint32_t>(be(&m[4], 4)),  static_cast<uint32_t>(be(&m[8], 4)),
              static_cast<uint32_t>(be(&m[12], 4)), {}};
  REQUIRE(out.length == m.size());
  size_t off = 16;
  while (off < m.size()) {
    REQUIRE(off + 4 <= m.size());
    const uint16_t set_id = static_cast<uint16_t>(be(&m[off], 2));
    const uint16_t set_len = static_cast<uint16_t>(be(&m[off + 2], 2));
    REQUIRE(set_len >= 4);
    REQUIRE(off + set_len <= m.size());
    const size_t end = off + set_len;
    size_t p = off + 4;
    if (set_id == 2) {
      while (p + 4 <= end) {
        const uint16_t tid = static_cast<uint16_t>(be(&m[p], 2));
        const uint16_t n = static_cast<uint16_t>(be(&m[p + 2], 2));
        p += 4;
        std::vector<TField> fields;
        for (uint16_t i = 0; i < n; ++i) {
          REQUIRE(p + 4 <= end);
          uint16_t id = static_cast<uint16_t>(be(&m[p], 2));
          TField f{static_cast<uint16_t>(id & 0x7fff), static_cast<uint16_t>(be(&m[p + 2], 2)), 0};
          p += 4;
          if (id & 0x8000) {
            REQUIRE(p + 4 <= end);
            f.pen = static_cast<uint32_t>(be(&m[p], 4));
            p += 4;
          }
          fields.push_back(f);
        }
        REQUIRE(tid >= 256);
        t[tid] = fields;
      }
    } else {
      REQUIRE(set_id >= 256);
      REQUIRE(t.count(set_id) == 1);
      const auto& fields = t[set_id];
      // A record needs at least one octet per field; less is padding.
      while (end - p >= fields.size()) {
        DRecord rec;
        for (const auto& f : fields) {
          size_t len = f.len;
          if (len == 0xffff) {
            REQUIRE(p < end);
            len = m[p++];
            if (len == 255) {
              REQUIRE(p + 2 <= end);
              len = static_cast<size_t>(be(&m[p], 2));
              p += 2;
            }
          }
          REQUIRE(p + len <= end);
          rec[{f.pen, f.id}] = std::vector<uint8_t>(m.begin() + p, m.begin() + p + len);
          p += len;
        }
        out.records.emplace_back(set_id, std::move(rec));
      }
    }
    off = end;
  }
  return out;
}

uint64_t num(const DRecord& r, uint16_t id, uint32_t pen = 0) {
  auto it = r.find({pen, id});
  REQUIRE(it != r.end());
  return be(it->second.data(), it->second.size());
}
std::string str(const DRecord& r, uint16_t id, uint32_t pen = 0) {
  auto it = r.find({pen, id});
  REQUIRE(it != r.end());
  return std::string(it->second.begin(), it->second.end());
}
std::vector<uint8_t> raw(const DRecord& r, uint16_t id, uint32_t pen = 0) {
  auto it = r.find({pen, id});
  REQUIRE(it != r.end());
  return it->second;
}
std::vector<uint8_t> ip6(const char* s) {
  auto a = *Ip6::parse(s);
  return {a.b.begin(), a.b.end()};
}

// ------------------------------------------------------------ peers
bool have(const char* tool) {
  return std::system(fmt::format("command -v {} > /dev/null 2>&1", tool).c_str()) == 0;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs `cmd` (sh -c) and returns (exit code, stdout).
std::pair<int, std::string> run(const std::string& cmd, const fs::path& out) {
  int rc = std::system(fmt::format("{} > '{}' 2>&1", cmd, out.string()).c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out)};
}

// A pcap (LINKTYPE_RAW) of IPv4/UDP datagrams 127.0.0.1:40000 -> :4739 carrying
// `payloads`, for tshark. The IP/UDP headers are only an envelope.
void write_pcap(const fs::path& p, const std::vector<std::vector<uint8_t>>& payloads) {
  std::ofstream f(p, std::ios::binary);
  auto le32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto le16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  le32(0xa1b2c3d4);
  le16(2);
  le16(4);
  le32(0);
  le32(0);
  le32(65535);
  le32(101);  // LINKTYPE_RAW
  uint32_t ts = 1700000000;
  for (const auto& pl : payloads) {
    std::vector<uint8_t> pkt(28, 0);
    const uint16_t total = static_cast<uint16_t>(28 + pl.size());
    pkt[0] = 0x45;
    pkt[2] = static_cast<uint8_t>(total >> 8);
    pkt[3] = static_cast<uint8_t>(total);
    pkt[8] = 64;
    pkt[9] = IPPROTO_UDP;
    const uint8_t lo[4] = {127, 0, 0, 1};
    std::memcpy(&pkt[12], lo, 4);
    std::memcpy(&pkt[16], lo, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(pkt[i] << 8 | pkt[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    pkt[10] = static_cast<uint8_t>(~sum >> 8);
    pkt[11] = static_cast<uint8_t>(~sum);
    pkt[20] = 40000 >> 8;
    pkt[21] = 40000 & 0xff;
    pkt[22] = 4739 >> 8;
    pkt[23] = 4739 & 0xff;
    const uint16_t ulen = static_cast<uint16_t>(8 + pl.size());
    pkt[24] = static_cast<uint8_t>(ulen >> 8);
    pkt[25] = static_cast<uint8_t>(ulen);
    pkt.insert(pkt.end(), pl.begin(), pl.end());
    le32(ts++);
    le32(0);
    le32(static_cast<uint32_t>(pkt.size()));
    le32(static_cast<uint32_t>(pkt.size()));
    f.write(reinterpret_cast<const char*>(pkt.data()), static_cast<std::streamsize>(pkt.size()));
  }
}

}  // namespace

TEST_CASE("IPFIX messages decode per RFC 7011", "[ipfix]") {
  ipfix::Encoder enc(kDomain, kPen);
  std::vector<FlowReport> reps = {
      report(0, false, AIGW_DIR_OUT, 3), report(1, true, AIGW_DIR_OUT, 3),
      report(2, false, AIGW_DIR_IN, 0), report(3, true, AIGW_DIR_OUT, 0)};
  reps.push_back(report(4, false, AIGW_DIR_OUT, 0));
  reps.back().delta_packets = reps.back().delta_bytes = 0;  // nothing new: no record
  auto msgs = enc.encode(reps, names(), true, 1700000010);
  REQUIRE(msgs.size() == 1);
  Templates t;
  Message m = decode(msgs[0], t);
  CHECK(m.version == 10);
  CHECK(m.export_time == 1700000010);
  CHECK(m.seq == 0);
  CHECK(m.domain == kDomain);
  REQUIRE(t.size() == 4);
  // Enterprise fields carry the configured PEN; the SRv6 templates add RFC 9487 IEs.
  for (const auto& [tid, fields] : t) {
    std::set<uint32_t> pens;
    for (const auto& f : fields) pens.insert(f.pen);
    CHECK(pens == std::set<uint32_t>{0, kPen});
  }
  auto has = [&](uint16_t tid, uint16_t id) {
    for (const auto& f : t[tid])
      if (f.id == id && f.pen == 0) return true;
    return false;
  };
  CHECK(has(258, 495));
  CHECK(has(259, 497));
  CHECK_FALSE(has(256, 495));
  CHECK(has(256, 8));
  CHECK(has(257, 27));
  REQUIRE(m.records.size() == 4);
  CHECK(enc.sequence() == 4);

  std::map<uint16_t, std::vector<const DRecord*>> by_t;
  for (const auto& [tid, r] : m.records) by_t[tid].push_back(&r);
  REQUIRE(by_t[256].size() == 1);  // flow 2: in, no policy
  REQUIRE(by_t[257].size() == 1);  // flow 3: v6 out, unsteered
  REQUIRE(by_t[258].size() == 1);  // flow 0
  REQUIRE(by_t[259].size() == 1);  // flow 1

  const DRecord& in4 = *by_t[256][0];
  CHECK(num(in4, 1) == 1014);
  CHECK(num(in4, 2) == 5);
  CHECK(num(in4, 8) == 0xc000020c);   // 192.0.2.12
  CHECK(num(in4, 12) == 0xc633640a);  // 198.51.100.10
  CHECK(num(in4, 7) == 10002);
  CHECK(num(in4, 11) == 5201);
  CHECK(num(in4, 4) == IPPROTO_TCP);
  CHECK(num(in4, 6) == 0x1b);
  CHECK(num(in4, 5) == 40);  // DSCP 10 << 2
  CHECK(num(in4, 61) == 1);  // in = egress at the customer port
  CHECK(num(in4, 10) == 0);
  CHECK(num(in4, 14) == 42);
  CHECK(num(in4, 234) == 9);
  CHECK(num(in4, 136) == 2);  // still active
  CHECK(num(in4, 152) == 1700000000125);
  CHECK(num(in4, 153) == 1700000005458);
  CHECK(num(in4, 1, kPen) == 5);
  CHECK(num(in4, 2, kPen) == 1);
  CHECK(num(in4, 3, kPen) == 11);
  CHECK(raw(in4, 4, kPen) == std::vector<uint8_t>{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7});
  CHECK(str(in4, 5, kPen) == "acme");
  CHECK(str(in4, 6, kPen) == "training");

  const DRecord& out4 = *by_t[258][0];
  CHECK(num(out4, 61) == 0);
  CHECK(num(out4, 10) == 42);
  CHECK(num(out4, 136) == 1);  // idle
  CHECK(raw(out4, 495) == ip6("fc00:c::e"));
  CHECK(num(out4, 498) == 2);
  CHECK(num(out4, 500) == 1);
  // SRH order: last segment first.
  auto sec = ip6("fc00:b::d46"), s2 = ip6("fc00:d::1"), s3 = ip6("fc00:c::e");
  sec.insert(sec.end(), s2.begin(), s2.end());
  sec.insert(sec.end(), s3.begin(), s3.end());
  CHECK(raw(out4, 497) == sec);
  CHECK(str(out4, 7, kPen) == "to-b");

  const DRecord& out6 = *by_t[259][0];
  CHECK(raw(out6, 27) == ip6("2001:db8:1::11"));
  CHECK(raw(out6, 28) == ip6("2001:db8:2::10"));
  CHECK(num(out6, 4) == IPPROTO_UDP);
  CHECK(num(out6, 6) == 0);

  SECTION("H.Encaps.Red leaves the first segment out of the SRH") {
    ipfix::Encoder red(kDomain, kPen);
    auto m2 = red.encode({report(0, false, AIGW_DIR_OUT, 3)}, names(EncapMode::EncapRed), true, 1);
    Templates t2;
    Message d = decode(m2.at(0), t2);
    REQUIRE(d.records.size() == 1);
    const DRecord& r = d.records[0].second;
    CHECK(raw(r, 497).size() == 32);
    CHECK(num(r, 498) == 2);
    CHECK(raw(r, 495) == ip6("fc00:c::e"));
  }
  SECTION("throwing name callbacks lose the name, not the record") {
    IpfixNames bad = names();
    bad.tenant = [](uint16_t) -> std::string { throw std::runtime_error("x"); };
    bad.policy = [](uint32_t) -> std::optional<Policy> { throw std::runtime_error("x"); };
    ipfix::Encoder e2(kDomain, kPen);
    auto m2 = e2.encode({report(0, false, AIGW_DIR_OUT, 3)}, bad, true, 1);
    Templates t2;
    Message d = decode(m2.at(0), t2);
    REQUIRE(d.records.size() == 1);
    CHECK(d.records[0].first == 256);
    CHECK(str(d.records[0].second, 5, kPen).empty());
  }
}

TEST_CASE("IPFIX messages stay under the size limit; sequence numbers count records", "[ipfix]") {
  ipfix::Encoder enc(kDomain, kPen);
  std::vector<FlowReport> reps;
  for (int i = 0; i < 300; ++i)
    reps.push_back(report(i, i % 2 == 1, i % 4 == 3 ? AIGW_DIR_IN : AIGW_DIR_OUT, i % 5 ? 3 : 0));
  Templates t;
  uint32_t expect_seq = 0;
  uint64_t bytes = 0, pkts = 0;
  for (int round = 0; round < 2; ++round) {
    auto msgs = enc.encode(reps, names(), round == 0, 1700000000 + static_cast<uint32_t>(round));
    CHECK(msgs.size() > 20);
    size_t n = 0;
    for (const auto& raw_msg : msgs) {
      CHECK(raw_msg.size() <= ipfix::kDefaultMaxMessage);
      Message m = decode(raw_msg, t);
      CHECK(m.seq == expect_seq);
      expect_seq += static_cast<uint32_t>(m.records.size());
      n += m.records.size();
      for (const auto& [tid, r] : m.records) {
        bytes += num(r, 1);
        pkts += num(r, 2);
      }
    }
    CHECK(n == reps.size());
  }
  uint64_t want_b = 0, want_p = 0;
  for (const auto& r : reps) {
    want_b += r.delta_bytes;
    want_p += r.delta_packets;
  }
  CHECK(bytes == 2 * want_b);
  CHECK(pkts == 2 * want_p);
  CHECK(enc.sequence() == 600);
  CHECK(enc.encode({}, names(), false, 1).empty());
}

TEST_CASE("IPFIX collector addresses are checked", "[ipfix]") {
  auto open = [](std::string c) {
    IpfixSettings s;
    s.collectors = {std::move(c)};
    IpfixExporter e(s, names());
  };
  CHECK_NOTHROW(open("127.0.0.1:4739"));
  CHECK_NOTHROW(open("[::1]:4739"));
  for (const char* bad : {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "localhost:4739",
                          "::1:4739", "[::1]", "[127.0.0.1]:4739", ":4739", "127.0.0.1:47x"}) {
    INFO(bad);
    try {
      open(bad);
      FAIL("accepted");
    } catch (const std::runtime_error& e) {
      CHECK_THAT(e.what(), Catch::Contains(bad));
    }
  }
}

// The peer test: nfcapd and a plain UDP socket are both collectors of one
// exporter, on the loopback of a network namespace private to one thread
// (unshare(CLONE_NEWNET) affects only the calling thread and what it starts;
// the namespace disappears with them: nothing to clean up by name).
TEST_CASE("nfcapd/nfdump and tshark decode the exported flows", "[ipfix][peer]") {
  if (geteuid() != 0 || !have("nfcapd") || !have("nfdump") || !have("tshark")) {
    WARN("needs root, nfcapd, nfdump (Debian nfdump) and tshark: peer test skipped");
    return;
  }
  const fs::path dir = fs::temp_directory_path() / fmt::format("aigw-ipfix-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir / "flows");

  std::vector<FlowReport> reps;
  for (int i = 0; i < 120; ++i)
    reps.push_back(report(i, i % 2 == 1, i % 4 == 3 ? AIGW_DIR_IN : AIGW_DIR_OUT, i % 5 ? 3 : 0));
  uint64_t want_b = 0, want_p = 0;
  for (const auto& r : reps) {
    want_b += r.delta_bytes;
    want_p += r.delta_packets;
  }

  std::string error;
  std::vector<std::vector<uint8_t>> captured;
  uint64_t sent_records = 0, sent_messages = 0, send_errors = 0;
  std::thread ns([&] {
    auto fail = [&](std::string e) { error = std::move(e); };
    if (unshare(CLONE_NEWNET) != 0) return fail(fmt::format("unshare: {}", strerror(errno)));
    {
      Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      ifreq ifr{};
      std::strcpy(ifr.ifr_name, "lo");
      ifr.ifr_flags = IFF_UP;
      if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0)
        return fail(fmt::format("lo up: {}", strerror(errno)));
    }
    // The raw collector: a UDP socket that keeps what arrives.
    Fd rx(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(4739);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(rx.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return fail(fmt::format("bind: {}", strerror(errno)));
    int big = 4 << 20;
    setsockopt(rx.get(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);

    const std::string flows = (dir / "flows").string(), log = (dir / "nfcapd.log").string();
    std::vector<std::string> argv_s = {"nfcapd", "-w",   flows, "-b",     "127.0.0.1",
                                       "-p",     "9995", "-B",  "4194304"};
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, "nfcapd", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return fail(fmt::format("spawn nfcapd: {}", strerror(rc)));
    // nfcapd is listening once its socket shows in this thread's namespace
    // (bounded wait). Binding the port to probe would race with nfcapd.
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
      up = slurp("/proc/thread-self/net/udp").find(":270B ") != std::string::npos;  // 9995
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (up) {
      IpfixSettings s;
      s.collectors = {"127.0.0.1:9995", "127.0.0.1:4739"};
      s.observation_domain = kDomain;
      s.enterprise = kPen;
      IpfixExporter exp(s, names());
      const auto now = std::chrono::system_clock::now();
      // Two batches, templates only with the first: the second must decode
      // with the templates nfcapd keeps.
      std::vector<FlowReport> first(reps.begin(), reps.begin() + 50);
      std::vector<FlowReport> second(reps.begin() + 50, reps.end());
      exp.export_reports(first, now);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      exp.export_reports(second, now + std::chrono::seconds(1));
      sent_records = exp.records_sent();
      sent_messages = exp.messages_sent();
      send_errors = exp.send_errors();
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    } else {
      fail("nfcapd did not bind 127.0.0.1:9995 within 5 s");
    }
    kill(pid, SIGTERM);  // nfcapd closes and renames its file on SIGTERM
    int st = 0;
    waitpid(pid, &st, 0);
    std::vector<uint8_t> buf(65536);
    for (;;) {
      ssize_t n = recv(rx.get(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      captured.emplace_back(buf.begin(), buf.begin() + n);
    }
  });
  ns.join();
  INFO("nfcapd log:\n" << slurp(dir / "nfcapd.log"));
  REQUIRE(error.empty());
  CHECK(send_errors == 0);
  CHECK(sent_records == reps.size());
  REQUIRE(captured.size() == sent_messages);

  {  // nfdump counts what was exported
    auto [rc, out] = run(fmt::format("TZ=UTC nfdump -R '{}' -o json", (dir / "flows").string()),
                         dir / "nfdump.json");
    INFO(out.substr(0, 4000));
    REQUIRE(rc == 0);
    auto j = nlohmann::json::parse(out);
    REQUIRE(j.is_array());
    CHECK(j.size() == reps.size());
    uint64_t b = 0, p = 0;
    std::set<std::string> src4, src6;
    size_t tcp = 0;
    for (const auto& rec : j) {
      b += rec.value("in_bytes", uint64_t{0});
      p += rec.value("in_packets", uint64_t{0});
      if (rec.contains("src4_addr")) src4.insert(rec["src4_addr"].get<std::string>());
      if (rec.contains("src6_addr")) src6.insert(rec["src6_addr"].get<std::string>());
      if (rec.value("proto", 0) == IPPROTO_TCP) ++tcp;
    }
    CHECK(b == want_b);
    CHECK(p == want_p);
    CHECK(src4.count("192.0.2.10") == 1);
    CHECK(src6.count("2001:db8:1::11") == 1);
    CHECK(src4.size() + src6.size() == reps.size());
    CHECK(tcp == reps.size() / 2);
    // Flow 3 in detail: WAN -> customer (IPv6), seen leaving the customer port.
    auto it = std::find_if(j.begin(), j.end(),
                           [](const auto& r) { return r.value("src_port", 0) == 10003; });
    REQUIRE(it != j.end());
    const auto& f2 = *it;
    CHECK(f2.value("src6_addr", "") == "2001:db8:1::13");
    CHECK(f2.value("dst6_addr", "") == "2001:db8:2::10");
    CHECK(f2.value("dst_port", 0) == 5201);
    CHECK(f2.value("proto", 0) == IPPROTO_UDP);
    CHECK(f2.value("src_tos", 0) == 40);
    CHECK(f2.value("direction", -1) == 1);
    CHECK(f2.value("input_snmp", -1) == 0);
    CHECK(f2.value("output_snmp", -1) == 42);
    CHECK(f2.value("ingress_vrf", "") == "9");
    CHECK(f2.value("in_bytes", 0) == 1021);
    CHECK(f2.value("in_packets", 0) == 6);
    CHECK(f2.value("first", "") == "2023-11-14T22:13:20.126");
    CHECK(f2.value("last", "") == "2023-11-14T22:13:25.459");
  }

  {  // tshark decodes the same datagrams
    write_pcap(dir / "ipfix.pcap", captured);
    auto [rc, out] = run(fmt::format("tshark -r '{}' -d udp.port==4739,cflow -T fields "
                                     "-e cflow.octets -e cflow.packets -E occurrence=a "
                                     "-E aggregator=/s",
                                     (dir / "ipfix.pcap").string()),
                         dir / "tshark.txt");
    INFO(out.substr(0, 4000));
    REQUIRE(rc == 0);
    uint64_t b = 0, p = 0;
    size_t n = 0;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      auto tab = line.find('\t');
      if (tab == std::string::npos || line.rfind("Running as", 0) == 0) continue;
      std::istringstream bs(line.substr(0, tab)), ps(line.substr(tab + 1));
      uint64_t v;
      while (bs >> v) {
        b += v;
        ++n;
      }
      while (ps >> v) p += v;
    }
    CHECK(n == reps.size());
    CHECK(b == want_b);
    CHECK(p == want_p);
    // tshark 4.0 has no names for RFC 9487 elements nor for our PEN's: it
    // lists them as "enterprise private entries" with their bytes.
    auto [rc2, ent] = run(fmt::format("tshark -r '{}' -d udp.port==4739,cflow -T fields "
                                      "-e cflow.enterprise_private_entry -E occurrence=a "
                                      "-E aggregator=,",
                                      (dir / "ipfix.pcap").string()),
                          dir / "tshark-ent.txt");
    REQUIRE(rc2 == 0);
    std::map<std::string, size_t> values;
    std::string v;
    for (char c : ent + "\n") {
      if (c == ',' || c == '\n') {
        if (!v.empty()) ++values[v];
        v.clear();
      } else if (std::isxdigit(static_cast<unsigned char>(c))) {
        v += c;
      } else {
        v = "-";  // a word of tshark's own ("Running as..."): not a value
      }
    }
    size_t srv6 = 0;
    for (const auto& r : reps) srv6 += r.key.dir == AIGW_DIR_OUT && r.flow.policy_slot == 3;
    CHECK(values["fc00000c00000000000000000000000e"] == srv6);  // srhActiveSegmentIPv6
    CHECK(values["746f2d62"] == srv6);                          // policy name "to-b"
    CHECK(values["61636d65"] == reps.size());                   // tenant name "acme"
    CHECK(values["a0a1a2a3a4a5a6a7"] == reps.size());           // APN ID
  }
  if (std::getenv("AIGW_IPFIX_KEEP") == nullptr) fs::remove_all(dir);
}

// Templates open the first message, then again once template_refresh_s has
// passed (and when the clock went backwards); sequence numbers run on.
TEST_CASE("IPFIX templates are re-sent every template_refresh_s", "[ipfix]") {
  if (geteuid() != 0) {
    WARN("needs root (a private network namespace): skipped");
    return;
  }
  std::string error;
  std::vector<std::vector<uint8_t>> got;
  std::thread ns([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      error = fmt::format("unshare: {}", strerror(errno));
      return;
    }
    Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    ifr.ifr_flags = IFF_UP;
    ioctl(s.get(), SIOCSIFFLAGS, &ifr);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(4739);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      error = fmt::format("bind: {}", strerror(errno));
      return;
    }
    IpfixSettings st;
    st.collectors = {"127.0.0.1:4739"};
    st.template_refresh_s = 60;
    IpfixExporter exp(st, names());
    const auto t0 = std::chrono::system_clock::now();
    for (int secs : {0, 30, 59, 60, 61, 50})
      exp.export_reports({report(secs, false, AIGW_DIR_OUT, 0)}, t0 + std::chrono::seconds(secs));
    exp.export_reports({}, t0 + std::chrono::seconds(100));  // no data, templates not due
    exp.export_reports({}, t0 + std::chrono::seconds(200));  // no data: templates alone
    std::vector<uint8_t> buf(65536);
    for (ssize_t n; (n = recv(s.get(), buf.data(), buf.size(), MSG_DONTWAIT)) > 0;)
      got.emplace_back(buf.begin(), buf.begin() + n);
  });
  ns.join();
  REQUIRE(error.empty());
  REQUIRE(got.size() == 7);
  std::vector<bool> with_templates;
  std::vector<uint32_t> seqs;
  for (const auto& m : got) {
    with_templates.push_back(be(&m[16], 2) == 2);
    seqs.push_back(static_cast<uint32_t>(be(&m[8], 4)));
  }
  // 0: first; 30, 59: within the period; 60: due; 61: not; 50: clock went
  // back; 200: due, with no record.
  CHECK(with_templates == std::vector<bool>{true, false, false, true, false, true, true});
  CHECK(seqs == std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(got.back().size() == be(&got.back()[2], 2));
  CHECK(got.back().size() == 16 + be(&got.back()[18], 2));  // header + the template set
}
