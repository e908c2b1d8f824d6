// IPFIX message encoding (RFC 7011), separate from the sockets so that tests
// can look at the exact bytes. IpfixExporter (ipfix.hpp) uses it.
//
// Four templates, one per record shape (fixed field lists, so a collector
// never sees a field whose meaning depends on the record):
//   256 IPv4 flow            257 IPv6 flow
//   258 IPv4 flow over SRv6  259 IPv6 flow over SRv6 (RFC 9487 elements)
// "Over SRv6" = direction out with a policy that encapsulated it; flows
// entering from the WAN (direction in, decapsulated) and unsteered flows use
// 256/257.
//
// Direction: every flow is observed at the customer-facing port.
//   out (customer -> WAN): flowDirection 0 (ingress), ingressInterface = that port
//   in  (WAN -> customer): flowDirection 1 (egress),  egressInterface  = that port
// The other interface field is 0 (not known to the flow table).
//
// Enterprise-specific elements (enterprise bit set, IpfixSettings::enterprise)
// are listed in EnterpriseIe. Strings and the APN ID are variable-length
// (RFC 7011 section 7); names are cut to kMaxNameLen bytes so that a record is
// bounded.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "telemetry/flow_report.hpp"
#include "telemetry/ipfix.hpp"

namespace aigw::telemetry::ipfix {

inline constexpr uint16_t kVersion = 10;
inline constexpr uint16_t kTemplateSetId = 2;
inline constexpr size_t kMessageHeaderLen = 16;
inline constexpr size_t kSetHeaderLen = 4;
// Messages stay below a 1500-byte path MTU with IPv6 + UDP headers and room
// for a tunnel: a collector behind an SRv6 tunnel gets them unfragmented.
inline constexpr size_t kDefaultMaxMessage = 1400;
inline constexpr size_t kMaxNameLen = 64;
inline constexpr uint16_t kVarLen = 0xffff;  // template field length: variable

enum TemplateId : uint16_t {
  kTmplV4 = 256,
  kTmplV6 = 257,
  kTmplV4Srv6 = 258,
  kTmplV6Srv6 = 259,
};

// IANA information elements used (https://www.iana.org/assignments/ipfix).
enum Ie : uint16_t {
  kOctetDeltaCount = 1,
  kPacketDeltaCount = 2,
  kProtocolIdentifier = 4,
  kIpClassOfService = 5,
  kTcpControlBits = 6,
  kSourceTransportPort = 7,
  kSourceIPv4Address = 8,
  kIngressInterface = 10,
  kDestinationTransportPort = 11,
  kDestinationIPv4Address = 12,
  kEgressInterface = 14,
  kSourceIPv6Address = 27,
  kDestinationIPv6Address = 28,
  kFlowDirection = 61,
  kFlowEndReason = 136,
  kFlowStartMilliseconds = 152,
  kFlowEndMilliseconds = 153,
  kIngressVrfId = 234,
  // RFC 9487
  kSrhActiveSegmentIPv6 = 495,
  kSrhSegmentIPv6ListSection = 497,
  kSrhSegmentsIPv6Left = 498,
  kSrhIPv6ActiveSegmentType = 500,
};

// Enterprise-specific elements (numbers under IpfixSettings::enterprise).
enum EnterpriseIe : uint16_t {
  kAigwTenantId = 1,          // unsigned16, 0 = unclassified
  kAigwServiceClassId = 2,    // unsigned8
  kAigwRuleId = 3,            // unsigned32, 0xffffffff = default decision
  kAigwApnId = 4,             // octetArray, variable: 0, 4, 8 or 16 bytes
  kAigwTenantName = 5,        // string, variable
  kAigwServiceClassName = 6,  // string, variable
  kAigwPolicyName = 7,        // string, variable (SRv6 templates only)
};

// flowEndReason values (IANA).
enum EndReason : uint8_t {
  kIdleTimeout = 1,
  kActiveTimeout = 2,
  kEndOfFlow = 3,
  kForcedEnd = 4,
};

// srhIPv6ActiveSegmentType (RFC 9487 section 5.2 subregistry): 1 = the segment
// list comes from a Segment Routing Policy (aigw's configured policies).
inline constexpr uint8_t kActiveSegmentTypeSrPolicy = 1;

struct FieldSpec {
  uint16_t id;
  uint16_t length;  // kVarLen = variable
  bool enterprise;
};

// The fields of a template, in record order.
std::span<const FieldSpec> template_fields(TemplateId t);

// Builds messages; keeps the per-observation-domain sequence number.
// Not thread-safe (one exporter thread).
class Encoder {
 public:
  Encoder(uint32_t observation_domain, uint32_t enterprise,
          size_t max_message = kDefaultMaxMessage);

  // Messages for `reports` (those with a non-zero delta), each at most
  // max_message bytes; the template set opens the first message when
  // `with_templates` (alone if there is no record). Returns no message when
  // there is nothing to send (no record, no templates).
  // The sequence number advances by the records in the returned messages.
  std::vector<std::vector<uint8_t>> encode(const std::vector<FlowReport>& reports,
                                           const IpfixNames& names, bool with_templates,
                                           uint32_t export_time);

  uint32_t sequence() const { return sequence_; }

 private:
  uint32_t domain_;
  uint32_t enterprise_;
  size_t max_message_;
  uint32_t sequence_ = 0;
};

}  // namespace aigw::telemetry::ipfix
