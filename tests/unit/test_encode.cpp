// The prebuilt outer headers of a policy, checked field by field against
// RFC 8754 / RFC 8986 (not against bytes produced by the encoder itself).
#include <catch2/catch.hpp>

#include <cstring>

#include <fmt/format.h>

#include "datapath/encode.hpp"

using namespace aigw;

namespace {

Ip6 ip6(const char* s) { return *Ip6::parse(s); }

Policy make_policy(EncapMode mode, int n) {
  Policy p;
  p.name = "p";
  p.mode = mode;
  p.source = ip6("fc00:a::1");
  for (int i = 1; i <= n; ++i) p.segments.push_back(ip6(fmt::format("fc00:{}::{}", i, i).c_str()));
  return p;
}

bool at(const aigw_policy& v, size_t off, const Ip6& a) {
  return std::memcmp(v.hdr + off, a.b.data(), 16) == 0;
}

}  // namespace

TEST_CASE("H.Encaps lists every SID, last segment first", "[encode]") {
  DatapathSettings dp;
  for (int n : {1, 2, 3, 8, AIGW_MAX_SIDS}) {
    Policy p = make_policy(EncapMode::Encap, n);
    aigw_policy v = encode_policy(p, dp, 7);
    INFO("segments " << n);
    REQUIRE(v.has_srh == 1);
    REQUIRE(v.encap_len == 40 + 8 + 16 * n);
    REQUIRE(v.id == 7);
    REQUIRE(v.flags == AIGW_POL_F_VALID);
    REQUIRE(v.hdr[0] >> 4 == 6);
    REQUIRE(v.hdr[6] == 43);  // next header: routing
    REQUIRE(v.hdr[7] == 64);  // default hop limit
    REQUIRE(at(v, 8, p.source));
    REQUIRE(at(v, 24, p.segments[0]));  // DA = first SID
    const uint8_t* srh = v.hdr + 40;
    REQUIRE(srh[1] == 2 * n);  // Hdr Ext Len = (8 + 16n)/8 - 1
    REQUIRE(srh[2] == 4);
    REQUIRE(srh[3] == n - 1);  // Segments Left
    REQUIRE(srh[4] == n - 1);  // Last Entry
    for (int i = 0; i < n; ++i) REQUIRE(at(v, 48 + 16 * i, p.segments[n - 1 - i]));
  }
}

TEST_CASE("H.Encaps.Red leaves the first SID out of the SRH", "[encode]") {
  DatapathSettings dp;
  SECTION("one SID: no SRH") {
    Policy p = make_policy(EncapMode::EncapRed, 1);
    aigw_policy v = encode_policy(p, dp, 1);
    REQUIRE(v.has_srh == 0);
    REQUIRE(v.encap_len == 40);
    REQUIRE(at(v, 24, p.segments[0]));
  }
  SECTION("three SIDs") {
    Policy p = make_policy(EncapMode::EncapRed, 3);
    p.hop_limit = 17;
    aigw_policy v = encode_policy(p, dp, 1);
    REQUIRE(v.has_srh == 1);
    REQUIRE(v.encap_len == 40 + 8 + 32);
    REQUIRE(v.hdr[7] == 17);
    const uint8_t* srh = v.hdr + 40;
    REQUIRE(srh[3] == 2);  // SL = n-1
    REQUIRE(srh[4] == 1);  // LE = n-2
    REQUIRE(at(v, 48, p.segments[2]));
    REQUIRE(at(v, 64, p.segments[1]));
    REQUIRE(at(v, 24, p.segments[0]));
  }
}

TEST_CASE("policy MSS: policy value over datapath default", "[encode]") {
  DatapathSettings dp;
  dp.tcp_mss_clamp = 1300;
  Policy p = make_policy(EncapMode::Encap, 2);
  REQUIRE(encode_policy(p, dp, 1).tcp_mss == 1300);
  p.tcp_mss = kMssOff;
  REQUIRE(encode_policy(p, dp, 1).tcp_mss == kMssOff);
}

TEST_CASE("segment counts outside 1..AIGW_MAX_SIDS are refused", "[encode]") {
  DatapathSettings dp;
  REQUIRE_THROWS(encode_policy(make_policy(EncapMode::Encap, 0), dp, 1));
  REQUIRE_THROWS(encode_policy(make_policy(EncapMode::Encap, AIGW_MAX_SIDS + 1), dp, 1));
}
