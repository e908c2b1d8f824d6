// IPFIX export (RFC 7011) of flow records over UDP, with the SRv6 elements of
// RFC 9487 for encapsulated flows and tenant / APN / service class as
// enterprise-specific elements (IpfixSettings::enterprise).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "telemetry/flow_report.hpp"

namespace aigw::telemetry {

// What the exporter needs to know about a policy / tenant / class / interface
// when it writes a record (looked up per record; ids as in the datapath).
struct IpfixNames {
  // policy slot -> segment list in travel order (empty if unknown), and the
  // encapsulation mode
  std::function<std::optional<Policy>(uint32_t policy_slot)> policy;
  std::function<std::string(uint16_t tenant)> tenant;
  std::function<std::string(uint8_t cls)> service_class;
  std::function<uint32_t(uint16_t ifslot)> ifindex;  // 0 if unknown
};

class IpfixExporter {
 public:
  // Opens one UDP socket per collector. Throws std::runtime_error with the
  // collector when an address is invalid.
  IpfixExporter(const IpfixSettings& settings, IpfixNames names);
  ~IpfixExporter();
  IpfixExporter(const IpfixExporter&) = delete;
  IpfixExporter& operator=(const IpfixExporter&) = delete;

  // Send data records for the reports (those with a non-zero delta), with
  // templates first when due (first call, then every template_refresh_s).
  void export_reports(const std::vector<FlowReport>& reports,
                      std::chrono::system_clock::time_point now);

  uint64_t records_sent() const;
  uint64_t messages_sent() const;
  uint64_t send_errors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aigw::telemetry
