#include "telemetry/ipfix_encode.hpp"

#include <aigw/abi.h>
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <string>

namespace aigw::telemetry::ipfix {
namespace {

// Field lists; the record writer below follows the same order.
constexpr FieldSpec kFlowTimesAndCounts[] = {
    {kFlowStartMilliseconds, 8, false},
    {kFlowEndMilliseconds, 8, false},
    {kOctetDeltaCount, 8, false},
    {kPacketDeltaCount, 8, false},
};
constexpr FieldSpec kAddrs4[] = {{kSourceIPv4Address, 4, false},
                                 {kDestinationIPv4Address, 4, false}};
constexpr FieldSpec kAddrs6[] = {{kSourceIPv6Address, 16, false},
                                 {kDestinationIPv6Address, 16, false}};
constexpr FieldSpec kFlowRest[] = {
    {kIngressInterface, 4, false},
    {kEgressInterface, 4, false},
    {kIngressVrfId, 4, false},
    {kSourceTransportPort, 2, false},
    {kDestinationTransportPort, 2, false},
    {kTcpControlBits, 2, false},
    {kProtocolIdentifier, 1, false},
    {kIpClassOfService, 1, false},
    {kFlowDirection, 1, false},
    {kFlowEndReason, 1, false},
    {kAigwTenantId, 2, true},
    {kAigwServiceClassId, 1, true},
    {kAigwRuleId, 4, true},
    {kAigwApnId, kVarLen, true},
    {kAigwTenantName, kVarLen, true},
    {kAigwServiceClassName, kVarLen, true},
};
constexpr FieldSpec kSrv6[] = {
    {kSrhActiveSegmentIPv6, 16, false},    {kSrhSegmentsIPv6Left, 1, false},
    {kSrhIPv6ActiveSegmentType, 1, false}, {kSrhSegmentIPv6ListSection, kVarLen, false},
    {kAigwPolicyName, kVarLen, true},
};

std::vector<FieldSpec> concat(std::initializer_list<std::span<const FieldSpec>> parts) {
  std::vector<FieldSpec> v;
  for (auto p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& b) : b_(b) {}
  void u8(uint8_t v) { b_.push_back(v); }
  void u16(uint16_t v) {
    u8(static_cast<uint8_t>(v >> 8));
    u8(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void u64(uint64_t v) {
    u32(static_cast<uint32_t>(v >> 32));
    u32(static_cast<uint32_t>(v));
  }
  void bytes(const uint8_t* p, size_t n) { b_.insert(b_.end(), p, p + n); }
  // RFC 7011 section 7: one length octet below 255, else 255 and two octets.
  void var(const uint8_t* p, size_t n) {
    if (n < 255) {
      u8(static_cast<uint8_t>(n));
    } else {
      u8(255);
      u16(static_cast<uint16_t>(n));
    }
    bytes(p, n);
  }
  void var(const std::string& s) {
    var(reinterpret_cast<const uint8_t*>(s.data()), std::min(s.size(), kMaxNameLen));
  }

 private:
  std::vector<uint8_t>& b_;
};

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  put16(b, at, static_cast<uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<uint16_t>(v));
}

uint64_t epoch_ms(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return ms < 0 ? 0 : static_cast<uint64_t>(ms);
}

uint8_t end_reason(FlowEnd e) {
  switch (e) {
    case FlowEnd::None:
      return kActiveTimeout;
    case FlowEnd::Idle:
      return kIdleTimeout;
    case FlowEnd::TcpEnd:
      return kEndOfFlow;
    case FlowEnd::ForcedEnd:
      return kForcedEnd;
  }
  return kForcedEnd;
}

// The name callbacks come from the daemon; a failing one must not lose the
// record, only its name.
template <typename F, typename... A>
auto call_or(const F& f, decltype(f(std::declval<A>()...)) fallback, A... a) {
  if (!f) return fallback;
  try {
    return f(a...);
  } catch (...) {
    return fallback;
  }
}

// A record and the template it follows.
struct Record {
  TemplateId tmpl;
  std::vector<uint8_t> bytes;
};

Record encode_record(const FlowReport& r, const IpfixNames& names) {
  const aigw_flow_key& k = r.key;
  const aigw_flow& f = r.flow;
  const bool v6 = k.family == 6;
  std::optional<Policy> pol;
  if (k.dir == AIGW_DIR_OUT && f.policy_slot != 0)
    pol = call_or(names.policy, std::optional<Policy>{}, f.policy_slot);
  const bool srv6 = pol && !pol->segments.empty();

  Record rec{srv6 ? (v6 ? kTmplV6Srv6 : kTmplV4Srv6) : (v6 ? kTmplV6 : kTmplV4), {}};
  rec.bytes.reserve(256);
  Writer w(rec.bytes);
  w.u64(epoch_ms(r.first_seen));
  w.u64(epoch_ms(r.last_seen));
  w.u64(r.delta_bytes);
  w.u64(r.delta_packets);
  const size_t alen = v6 ? 16 : 4;
  w.bytes(k.src, alen);
  w.bytes(k.dst, alen);
  const uint32_t ifindex = call_or(names.ifindex, uint32_t{0}, k.ifslot);
  const bool out = k.dir == AIGW_DIR_OUT;
  w.u32(out ? ifindex : 0);
  w.u32(out ? 0 : ifindex);
  w.u32(k.vrf);
  w.u16(ntohs(k.sport));
  w.u16(ntohs(k.dport));
  w.u16(f.tcp_flags);
  w.u8(k.proto);
  w.u8(static_cast<uint8_t>(f.dscp << 2));  // ipClassOfService: DSCP and ECN (not kept: 0)
  w.u8(out ? 0 : 1);
  w.u8(end_reason(r.end));
  w.u16(f.tenant);
  w.u8(f.cls);
  w.u32(f.rule_id);
  w.var(f.apn, std::min<size_t>(f.apn_len, AIGW_APN_MAX_ID_LEN));
  w.var(call_or(names.tenant, std::string{}, f.tenant));
  w.var(call_or(names.service_class, std::string{}, f.cls));
  if (srv6) {
    const auto& segs = pol->segments;
    // H.Encaps: the SRH lists every segment; H.Encaps.Red leaves the first
    // out (it is only in the destination address). Either way Segments Left
    // starts at n - 1 and the SRH lists the last segment first (RFC 8754).
    const bool red = pol->mode == EncapMode::EncapRed;
    w.bytes(segs.front().b.data(), 16);
    w.u8(static_cast<uint8_t>(segs.size() - 1));
    w.u8(kActiveSegmentTypeSrPolicy);
    std::vector<uint8_t> section;
    for (size_t i = segs.size(); i-- > (red ? 1u : 0u);)
      section.insert(section.end(), segs[i].b.begin(), segs[i].b.end());
    w.var(section.data(), section.size());
    w.var(pol->name);
  }
  return rec;
}

}  // namespace

std::span<const FieldSpec> template_fields(TemplateId t) {
  static const std::vector<FieldSpec> v4 = concat({kFlowTimesAndCounts, kAddrs4, kFlowRest});
  static const std::vector<FieldSpec> v6 = concat({kFlowTimesAndCounts, kAddrs6, kFlowRest});
  static const std::vector<FieldSpec> v4s =
      concat({kFlowTimesAndCounts, kAddrs4, kFlowRest, kSrv6});
  static const std::vector<FieldSpec> v6s =
      concat({kFlowTimesAndCounts, kAddrs6, kFlowRest, kSrv6});
  switch (t) {
    case kTmplV4:
      return v4;
    case kTmplV6:
      return v6;
    case kTmplV4Srv6:
      return v4s;
    case kTmplV6Srv6:
      return v6s;
  }
  return {};
}

Encoder::Encoder(uint32_t observation_domain, uint32_t enterprise, size_t max_message)
    : domain_(observation_domain), enterprise_(enterprise), max_message_(max_message) {}

std::vector<std::vector<uint8_t>> Encoder::encode(const std::vector<FlowReport>& reports,
                                                  const IpfixNames& names, bool with_templates,
                                                  uint32_t export_time) {
  std::vector<Record> records;
  for (const auto& r : reports)
    if (r.delta_packets != 0 || r.delta_bytes != 0) records.push_back(encode_record(r, names));
  // Fewer set headers: records of one template together (order within kept).
  std::stable_sort(records.begin(), records.end(),
                   [](const Record& a, const Record& b) { return a.tmpl < b.tmpl; });

  std::vector<std::vector<uint8_t>> out;
  std::vector<uint8_t> msg;
  size_t set_at = 0;  // offset of the open set's header, 0 = none open
  uint16_t set_id = 0;
  uint32_t in_msg = 0;  // data records in `msg`

  auto close_set = [&] {
    if (set_at) put16(msg, set_at + 2, static_cast<uint16_t>(msg.size() - set_at));
    set_at = 0;
  };
  auto open_message = [&] {
    msg.assign(kMessageHeaderLen, 0);
    in_msg = 0;
  };
  auto finish_message = [&] {
    close_set();
    put16(msg, 0, kVersion);
    put16(msg, 2, static_cast<uint16_t>(msg.size()));
    put32(msg, 4, export_time);
    put32(msg, 8, sequence_);  // data records sent before this message
    put32(msg, 12, domain_);
    sequence_ += in_msg;
    out.push_back(std::move(msg));
    msg.clear();
  };

  open_message();
  if (with_templates) {
    Writer w(msg);
    const size_t at = msg.size();
    w.u16(kTemplateSetId);
    w.u16(0);
    for (TemplateId t : {kTmplV4, kTmplV6, kTmplV4Srv6, kTmplV6Srv6}) {
      auto fields = template_fields(t);
      w.u16(t);
      w.u16(static_cast<uint16_t>(fields.size()));
      for (const auto& fs : fields) {
        w.u16(fs.enterprise ? static_cast<uint16_t>(fs.id | 0x8000) : fs.id);
        w.u16(fs.length);
        if (fs.enterprise) w.u32(enterprise_);
      }
    }
    put16(msg, at + 2, static_cast<uint16_t>(msg.size() - at));
  }
  for (auto& rec : records) {
    const bool same_set = set_at && set_id == rec.tmpl;
    const size_t need = rec.bytes.size() + (same_set ? 0 : kSetHeaderLen);
    if (msg.size() + need > max_message_ && msg.size() > kMessageHeaderLen) {
      finish_message();
      open_message();
    }
    if (!set_at || set_id != rec.tmpl) {
      close_set();
      set_at = msg.size();
      set_id = rec.tmpl;
      Writer(msg).u16(rec.tmpl);
      Writer(msg).u16(0);
    }
    msg.insert(msg.end(), rec.bytes.begin(), rec.bytes.end());
    ++in_msg;
  }
  if (msg.size() > kMessageHeaderLen) finish_message();
  return out;
}

}  // namespace aigw::telemetry::ipfix
