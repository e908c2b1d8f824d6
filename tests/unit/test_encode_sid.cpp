// The aigw_sids values of every behaviour, checked against hand-written
// structs (what Datapath::apply wrote before encode_sid existed), and the
// behaviour table's invariants.
#include <aigw/abi.h>
#include <arpa/inet.h>
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <set>
#include <string>

#include "config/behaviors.hpp"
#include "config/parse.hpp"
#include "datapath/encode.hpp"

using namespace aigw;

namespace {

Sid make_sid(Behavior b) {
  Sid s;
  s.sid = std::get<Prefix>(Prefix::parse("fc00:a::1/128"));
  s.behavior = b;
  return s;
}

void check_equal(const aigw_sid_entry& got, const aigw_sid_entry& want) {
  CHECK(got.behavior == want.behavior);
  CHECK(got.flags == want.flags);
  CHECK(got.table == want.table);
  CHECK(got.oif == want.oif);
  CHECK(got.nh4 == want.nh4);
  CHECK(std::memcmp(got.nh6, want.nh6, 16) == 0);
  CHECK(got.id == want.id);
  CHECK(got.pad == 0);
  CHECK(std::memcmp(&got, &want, sizeof got) == 0);  // no stray bytes
}

}  // namespace

TEST_CASE("encode_sid: End and End.DT* carry the table (default 254)", "[encode]") {
  aigw_sid_entry want{};
  want.behavior = AIGW_BEH_END;
  want.table = 254;  // written for every behaviour, as Datapath::apply did
  want.id = 1;
  check_equal(encode_sid(make_sid(Behavior::End), 0, 1), want);

  Sid dt4 = make_sid(Behavior::EndDT4);
  dt4.table = 100;
  want = {};
  want.behavior = AIGW_BEH_END_DT4;
  want.table = 100;
  want.id = 7;
  check_equal(encode_sid(dt4, 0, 7), want);

  want = {};
  want.behavior = AIGW_BEH_END_DT6;
  want.table = 254;
  want.id = 2;
  check_equal(encode_sid(make_sid(Behavior::EndDT6), 0, 2), want);

  Sid dt46 = make_sid(Behavior::EndDT46);
  dt46.table = 4294967295u;
  want = {};
  want.behavior = AIGW_BEH_END_DT46;
  want.table = 4294967295u;
  want.id = 3;
  check_equal(encode_sid(dt46, 0, 3), want);
}

TEST_CASE("encode_sid: End.X and End.DX6 carry oif and an IPv6 next hop", "[encode]") {
  const uint8_t nh[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
  Sid x = make_sid(Behavior::EndX);
  x.nexthop = IpAddr{*Ip6::parse("fe80::1")};
  x.interface = "eth1";
  aigw_sid_entry want{};
  want.behavior = AIGW_BEH_END_X;
  want.table = 254;
  want.oif = 12;
  std::memcpy(want.nh6, nh, 16);
  want.id = 4;
  check_equal(encode_sid(x, 12, 4), want);

  Sid dx6 = make_sid(Behavior::EndDX6);
  dx6.nexthop = IpAddr{*Ip6::parse("fe80::1")};
  want.behavior = AIGW_BEH_END_DX6;
  want.oif = 0;  // no interface: oif 0 = any, whatever the caller passes
  want.id = 5;
  check_equal(encode_sid(dx6, 99, 5), want);
}

TEST_CASE("encode_sid: End.DX4 carries an IPv4 next hop in network order", "[encode]") {
  Sid dx4 = make_sid(Behavior::EndDX4);
  dx4.nexthop = IpAddr{*Ip4::parse("192.0.2.10")};
  dx4.interface = "eth2";
  aigw_sid_entry want{};
  want.behavior = AIGW_BEH_END_DX4;
  want.table = 254;
  want.oif = 3;
  want.nh4 = htonl(0xc000020a);
  want.id = 6;
  check_equal(encode_sid(dx4, 3, 6), want);
}

TEST_CASE("encode_sid refuses a behaviour without a row", "[encode]") {
  Sid s = make_sid(static_cast<Behavior>(AIGW_BEH_MAX));
  CHECK_THROWS_AS(encode_sid(s, 0, 1), std::invalid_argument);
}

TEST_CASE("behaviour table: names, ids and attributes", "[behaviors]") {
  std::set<std::string> names;
  std::set<unsigned> ids;
  for (const auto& d : behaviors()) {
    CHECK(names.insert(std::string(d.name)).second);
    CHECK(ids.insert(d.abi).second);
    CHECK(std::string(aigw_behavior_name(d.abi)) == std::string(d.name));
    CHECK((d.required & d.optional) == 0);
    CHECK(!(d.takes(kSidAttrNexthop4) && d.takes(kSidAttrNexthop6)));
    if (d.needs(kSidAttrInterface)) CHECK(!d.interface_use.empty());
    CHECK(find_behavior(d.name) == &d);
    CHECK(find_behavior(d.behavior()) == &d);
    CHECK(std::string(to_string(d.behavior())) == std::string(d.name));
  }
  CHECK(ids.size() == AIGW_BEH_MAX - 1);
  CHECK(find_behavior_nocase("end.dt46") == find_behavior("End.DT46"));
  CHECK(find_behavior("end.dt46") == nullptr);
  CHECK(is_dt(Behavior::EndDT46));
  CHECK_FALSE(is_dt(Behavior::EndX));
}

TEST_CASE("every behaviour parses and encodes from its row", "[behaviors]") {
  // One SID per row, with exactly the attributes the row requires.
  for (const auto& d : behaviors()) {
    std::string y = fmt::format("{{sid: 'fc00::1/128', behavior: {}", d.name);
    if (d.needs(kSidAttrNexthop6)) y += ", nexthop: 'fc00::2'";
    if (d.needs(kSidAttrNexthop4)) y += ", nexthop: 192.0.2.1";
    if (d.needs(kSidAttrInterface)) y += ", interface: eth1";
    y += "}";
    auto r = parse_sid(YAML::Load(y), "<test>");
    INFO(y);
    REQUIRE(std::holds_alternative<Sid>(r));
    const Sid& s = std::get<Sid>(r);
    CHECK(s.behavior == d.behavior());
    CHECK(s.table.has_value() == d.takes(kSidAttrTable));
    CHECK(encode_sid(s, 5, 1).behavior == d.abi);
  }
}
