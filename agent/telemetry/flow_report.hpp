// What the flow tracker hands to flow exporters (IPFIX) and the aggregator:
// per flow, the counts since the previous report, and whether the flow ended.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include <aigw/abi.h>

namespace aigw::telemetry {

enum class FlowEnd : uint8_t {
  None = 0,         // still active: periodic (active-timeout) report
  Idle = 1,         // no packet for flows.idle_timeout_s: the entry is deleted
  TcpEnd = 2,       // FIN/RST seen and idle since: deleted
  ForcedEnd = 3,    // agent shutdown / flow table flushed
};

struct FlowReport {
  aigw_flow_key key{};
  aigw_flow flow{};               // cumulative as read from the datapath
  uint64_t delta_packets = 0;     // since this flow's previous report
  uint64_t delta_bytes = 0;
  std::chrono::system_clock::time_point first_seen{};  // flow.first_ns in wall time
  std::chrono::system_clock::time_point last_seen{};   // flow.last_ns in wall time
  FlowEnd end = FlowEnd::None;
};

}  // namespace aigw::telemetry
