// Address and prefix parsing/printing (agent/common/net.hpp).
#include <catch2/catch.hpp>
#include <string>

#include "common/net.hpp"

using namespace aigw;

namespace {

std::string prefix_error(std::string_view s) {
  auto r = Prefix::parse(s);
  if (auto* e = std::get_if<std::string>(&r)) return *e;
  return "OK " + std::get<Prefix>(r).str();
}

}  // namespace

TEST_CASE("Ip4 parses dotted quads only", "[net]") {
  auto a = Ip4::parse("192.0.2.1");
  REQUIRE(a);
  CHECK(a->b == std::array<uint8_t, 4>{192, 0, 2, 1});
  CHECK(a->str() == "192.0.2.1");
  // be(): the bytes as they lie in memory, i.e. network order.
  uint32_t be = a->be();
  CHECK(reinterpret_cast<const uint8_t*>(&be)[0] == 192);
  CHECK(reinterpret_cast<const uint8_t*>(&be)[3] == 1);

  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.04", " 1.2.3.4", "1.2.3.4 ",
        "1.2.3.4/32", "0x1.2.3.4", "1.2.3.-4", "::1", "localhost", "1..2.3"}) {
    INFO("input '" << bad << "'");
    CHECK_FALSE(Ip4::parse(bad));
  }
  // An embedded NUL must not truncate the input into something valid.
  CHECK_FALSE(Ip4::parse(std::string_view("1.2.3.4\0junk", 12)));
}

TEST_CASE("Ip6 parses inet_pton syntax and prints RFC 5952", "[net]") {
  struct Case {
    const char* in;
    const char* out;
  };
  for (auto [in, out] : std::initializer_list<Case>{
           {"2001:db8::1", "2001:db8::1"},
           {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},  // lower case, compressed
           {"2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"},  // longest run
           {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // one 0 field not compressed
           {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // longest run wins
           {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // first of equal runs
           {"::", "::"},
           {"::1", "::1"},
           {"::1:2", "::1:2"},  // not the deprecated ::0.1.0.2 form
           {"::102:304", "::102:304"},
           {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},  // v4-mapped keeps mixed notation
           {"fe80::1", "fe80::1"},
           {"fc00:a::d46", "fc00:a::d46"},
       }) {
    INFO("input '" << in << "'");
    auto a = Ip6::parse(in);
    REQUIRE(a);
    CHECK(a->str() == out);
    CHECK(Ip6::parse(a->str()) == a);
  }
  for (const char* bad :
       {"", "1.2.3.4", "2001:db8::1::2", "2001:db8:::1", "fe80::1%eth0", "[2001:db8::1]",
        "2001:db8::g", "2001:db8::1 ", "12345::1", "1:2:3:4:5:6:7:8:9", "2001:db8::/64"}) {
    INFO("input '" << bad << "'");
    CHECK_FALSE(Ip6::parse(bad));
  }
}

TEST_CASE("Ip6 classification", "[net]") {
  CHECK(Ip6::parse("::")->is_zero());
  CHECK_FALSE(Ip6::parse("::1")->is_zero());
  CHECK(Ip6::parse("::1")->is_loopback());
  CHECK(Ip6::parse("ff02::1")->is_multicast());
  CHECK_FALSE(Ip6::parse("fe80::1")->is_multicast());
  CHECK(Ip6::parse("fe80::1")->is_link_local());
  CHECK(Ip6::parse("febf::1")->is_link_local());
  CHECK_FALSE(Ip6::parse("fec0::1")->is_link_local());
  CHECK(Ip6::parse("::ffff:10.0.0.1")->is_v4_mapped());
  CHECK_FALSE(Ip6::parse("::10.0.0.1")->is_v4_mapped());
  CHECK_FALSE(Ip6::parse("1::ffff:a00:1")->is_v4_mapped());
  CHECK(Ip4::parse("224.0.0.1")->is_multicast());
  CHECK(Ip4::parse("239.255.255.255")->is_multicast());
  CHECK_FALSE(Ip4::parse("240.0.0.1")->is_multicast());
  CHECK(Ip4::parse("255.255.255.255")->is_broadcast());
  CHECK(Ip4::parse("0.0.0.0")->is_zero());
}

TEST_CASE("parse_ip picks the family", "[net]") {
  auto a = parse_ip("192.0.2.1");
  REQUIRE(a);
  CHECK(std::holds_alternative<Ip4>(*a));
  auto b = parse_ip("2001:db8::1");
  REQUIRE(b);
  CHECK(is_v6(*b));
  CHECK(ip_str(*b) == "2001:db8::1");
  CHECK(ip_str(*a) == "192.0.2.1");
  CHECK_FALSE(parse_ip(""));
  CHECK_FALSE(parse_ip("192.0.2.1/32"));
  CHECK_FALSE(parse_ip("eth0"));
}

TEST_CASE("Prefix accepts strict ADDR/LEN", "[net]") {
  struct Case {
    const char* in;
    const char* out;
    bool v6;
    int len;
  };
  for (auto c : std::initializer_list<Case>{
           {"198.51.100.0/24", "198.51.100.0/24", false, 24},
           {"0.0.0.0/0", "0.0.0.0/0", false, 0},
           {"192.0.2.1/32", "192.0.2.1/32", false, 32},
           {"10.128.0.0/9", "10.128.0.0/9", false, 9},
           {"2001:DB8::/32", "2001:db8::/32", true, 32},
           {"::/0", "::/0", true, 0},
           {"fc00:a::d46/128", "fc00:a::d46/128", true, 128},
           {"fc00:a:8000::/33", "fc00:a:8000::/33", true, 33},
       }) {
    INFO("input '" << c.in << "'");
    auto r = Prefix::parse(c.in);
    REQUIRE(std::holds_alternative<Prefix>(r));
    const Prefix& p = std::get<Prefix>(r);
    CHECK(p.str() == c.out);
    CHECK(p.v6 == c.v6);
    CHECK(int{p.len} == c.len);
  }
  auto p = std::get<Prefix>(Prefix::parse("198.51.100.0/24"));
  CHECK(p.b[0] == 198);
  CHECK(p.b[2] == 100);
  CHECK(p.b[4] == 0);  // v4 uses the first 4 bytes only
}

TEST_CASE("Prefix rejects bad input with a reason", "[net]") {
  struct Case {
    const char* in;
    const char* error;
  };
  for (auto [in, error] : std::initializer_list<Case>{
           {"1.2.3.4/33", "prefix length 33 out of range 0..32"},
           {"2001:db8::/129", "prefix length 129 out of range 0..128"},
           {"1.2.3.0/-1", "bad prefix length '-1'"},
           {"1.2.3.0/ 24", "bad prefix length ' 24'"},
           {"1.2.3.0/024", "bad prefix length '024'"},
           {"1.2.3.0/+24", "bad prefix length '+24'"},
           {"1.2.3.0/24 ", "bad prefix length '24 '"},
           {"1.2.3.0/24/1", "bad prefix length '24/1'"},
           {"1.2.3.0/0x18", "bad prefix length '0x18'"},
           {"1.2.3.0/1000", "bad prefix length '1000'"},
           {"1.2.3.0/", "missing prefix length"},
           {"1.2.3.0", "missing prefix length"},
           {"", "missing prefix length"},
           {"/24", "bad address ''"},
           {"1.2.3/24", "bad address '1.2.3'"},
           {"01.2.3.0/24", "bad address '01.2.3.0'"},
           {"fe80::%eth0/64", "bad address 'fe80::%eth0'"},
           {"192.0.2.1/24", "host bits set"},
           {"11.0.0.0/7", "host bits set"},
           {"2001:db8::1/64", "host bits set"},
           {"fc00:a:8000::/32", "host bits set"},
           {"::1/0", "host bits set"},
       }) {
    INFO("input '" << in << "'");
    CHECK(prefix_error(in) == error);
  }
}

TEST_CASE("Prefix helpers", "[net]") {
  auto p = Prefix::masked(*parse_ip("198.51.100.77"), 24);
  CHECK(p.str() == "198.51.100.0/24");
  CHECK(Prefix::masked(*parse_ip("2001:db8:ffff::1"), 33).str() == "2001:db8:8000::/33");
  CHECK(Prefix::masked(*parse_ip("192.0.2.1"), 200).str() == "192.0.2.1/32");  // capped
  CHECK(p.contains(*parse_ip("198.51.100.255")));
  CHECK_FALSE(p.contains(*parse_ip("198.51.101.0")));
  CHECK_FALSE(p.contains(*parse_ip("::ffff:198.51.100.1")));
  auto q = std::get<Prefix>(Prefix::parse("198.51.100.128/25"));
  CHECK(p.contains(q));
  CHECK_FALSE(q.contains(p));
  CHECK(p.contains(p));
  auto all6 = std::get<Prefix>(Prefix::parse("::/0"));
  CHECK(all6.contains(*parse_ip("2001:db8::1")));
  CHECK_FALSE(all6.contains(p));
  // Order and equality are by value (used as map keys).
  CHECK(std::get<Prefix>(Prefix::parse("2001:db8::/32")) ==
        std::get<Prefix>(Prefix::parse("2001:0db8:0::/32")));
  CHECK(std::get<Prefix>(Prefix::parse("10.0.0.0/8")) !=
        std::get<Prefix>(Prefix::parse("10.0.0.0/9")));
}
