// The control protocol between aigwd and aigwctl: JSON lines over a Unix
// stream socket (default /run/aigw/aigw.sock, mode 0600).
//
// Each request is one JSON object on one line (at most kMaxLineBytes bytes,
// newline excluded):
//     {"cmd":"policy.add","args":{...}}
// "args" is optional (absent = {}). Each request gets exactly one response
// line, in order:
//     {"ok":true,"data":<command-specific>}
//     {"ok":false,"error":"message"}
// A connection may carry any number of requests. Blank lines are ignored.
// A malformed request (invalid JSON, not an object, "cmd" not a string,
// "args" not an object) gets an error response and the connection stays
// usable; a line longer than kMaxLineBytes gets an error response and the
// connection is closed. A request must be complete within kRequestTimeout
// of its first byte; connections without a complete request for
// kIdleTimeout are closed. Connection limits, eviction of the longest-idle
// session and the read-only role: see control/server.hpp. A connection the
// server refuses or closes gets one error line first.
//
// Commands, their args and the data of their success response (the daemon
// produces the data; aigwctl renders it; "?" marks optional keys):
//
//   status         {}
//     {"version":str, "uptime_s":int, "config_file":str, "pin_path":str, "socket":str,
//      "interfaces":int, "policies":int, "sids":int,
//      "last_reload":{"time":str (ISO 8601), "ok":bool, "message":str}}
//
//   interface.show {}
//     [{"name":str, "ifindex":int, "role":"customer"|"wan", "vrf":int, "vlan"?:int,
//       "xdp_mode":"native"|"generic", "attached":bool, "mtu":int, "slot":int}]
//
//   policy.show    {"name"?:str}            (with a name: only that policy; an
//                                            unknown name is a refusal)
//     [{"name":str, "vrf":int, "prefixes":[str], "mode":"encap"|"encap.red",
//       "source":str, "segments":[str], "hop_limit"?:int, "tcp_mss"?:"auto"|"off"|int,
//       "slot":int}]        (to_json(Policy) + slot; unset optional fields left out)
//
//   policy.add     {"policy":{"name":str, "prefixes":[str], "segments":[str], "source":str,
//                             "mode"?:str, "vrf"?:int, "hop_limit"?:int,
//                             "tcp_mss"?:"auto"|"off"|int}}
//     The object has the shape of one YAML `policies[]` entry (same keys, same
//     value types; absent keys take their defaults). Adding a name that
//     exists is a refusal. data: null
//
//   policy.del     {"name":str}                                    data: null
//
//   sid.show       {}
//     [{"sid":str, "behavior":str, "table"?:int, "nexthop"?:str, "interface"?:str}]
//
//   sid.add        {"sid":{"sid":str, "behavior":str, "table"?:int, "nexthop"?:str,
//                          "interface"?:str}}
//     Shape of one YAML `sids[]` entry. aigwctl always sends "sid" with a
//     prefix length ("/128" appended to a bare address). An existing SID is
//     a refusal.                                                data: null
//
//   sid.del        {"sid":str}    (a prefix; compare parsed, not as text) data: null
//
//   stats.show     {}
//     {"interfaces":[{"name":str, "slot":int, "rx":CTR, "encap":CTR, "decap":CTR,
//                     "fwd":CTR, "pass":CTR, "drop":CTR, "tx":CTR}],
//      "ports":[{"name":str, "ifindex":int, "xmit_no_xdp":int, "xmit_down":int,
//                "xmit_failed":int}],   (frames redirected into the port, not sent)
//      "drops":[{"reason":str, "packets":int, "bytes":int}],
//      "events":[{"event":str, "packets":int, "bytes":int}]}
//     with CTR = {"packets":int, "bytes":int}. Reasons/events are named with
//     aigw_drop_reason_name()/aigw_event_name(); the daemon should list all
//     of them (zeros included, "none" excluded); aigwctl hides zeros unless -s.
//
//   flow.top       {"n"?:int (0 = all, default 20), "by"?:"bytes"|"packets"|"rate"}
//   flow.show      {"tenant"?:str, "class"?:str (name or id), "app_group"?:int,
//                   "src"?:PREFIX, "dst"?:PREFIX (packet orientation), "proto"?:int,
//                   "port"?:int (source or destination), "dir"?:"in"|"out"}
//     {"active":int, "capacity":int, "enabled":bool,
//      "flows":[{"src":str, "dst":str, "sport":int, "dport":int, "proto":int,
//                "family":4|6, "dir":"in"|"out", "interface":str, "vrf":int,
//                "tenant":str, "tenant_id":int, "class":str, "class_id":int,
//                "app_group"?:int, "apn"?:hex str, "policy"?:str, "dscp":int,
//                "tcp_flags":int, "packets":int, "bytes":int, "bps":num, "pps":num,
//                "first_seen":RFC 3339, "last_seen":RFC 3339}]}
//     (an unknown tenant/class name is a refusal)
//
//   usage.show     {"tenant"?:str, "period"?:int (seconds)}
//     {"sample_interval_s":int, "usage_dir":str, "pending_batches":int,
//      "periods":[{"period_s":int, "period":str ("1m"),
//                  "current":PERIOD|null, "last":PERIOD|null}]}
//     PERIOD = {"start":RFC 3339, "end":RFC 3339, "samples":int,
//               "tenants":[usage record as written to the usage files],
//               and without "tenant" in args:
//               "app_groups":[{"dir":str, "app_group":int, "packets":int, "bytes":int}],
//               "policies":[{"slot":int, "name":str, "packets":int, "bytes":int}],
//               "interfaces":[{"slot":int, "name":str, "rx":CTR}]}
//     (a period that is not configured, or an unknown tenant, is a refusal)
//
//   tenant.show    {}   cumulative counters since the maps were created
//     [{"name":str, "id":int, "configured":bool, "out":CTR, "in":CTR}]
//   class.show     {}
//     [{"name":str, "id":int, "builtin":bool, "configured":bool, "out":CTR, "in":CTR}]
//
//   config.show    {}     {"yaml":str (the running config as YAML), "config":object}
//   config.reload  {}     {"summary":str}  (a rejected file is a refusal whose
//                                           error lists the "file:line: field: message"s)
#pragma once

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace aigw {

inline constexpr const char* kDefaultSocketPath = "/run/aigw/aigw.sock";
inline constexpr unsigned kDefaultSocketMode = 0600;
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;  // request line, newline excluded
inline constexpr std::size_t kMaxRequestDepth = 16;      // JSON nesting of a request
// Connection limits (see control/server.hpp for how they combine).
inline constexpr std::size_t kMaxConnections = 64;
inline constexpr std::size_t kReservedConnections = 4;     // for uid 0 and the agent's uid
inline constexpr std::size_t kMaxConnectionsPerUid = 8;    // per other uid
inline constexpr std::chrono::seconds kIdleTimeout{30};    // no complete request
inline constexpr std::chrono::seconds kRequestTimeout{5};  // first byte to newline
inline constexpr std::chrono::seconds kRefusalLinger{1};   // refused client's request drained
inline constexpr std::size_t kMaxLingering = 16;

// Command names.
namespace cmd {
inline constexpr const char* kStatus = "status";
inline constexpr const char* kInterfaceShow = "interface.show";
inline constexpr const char* kPolicyShow = "policy.show";
inline constexpr const char* kPolicyAdd = "policy.add";
inline constexpr const char* kPolicyDel = "policy.del";
inline constexpr const char* kSidShow = "sid.show";
inline constexpr const char* kSidAdd = "sid.add";
inline constexpr const char* kSidDel = "sid.del";
inline constexpr const char* kStatsShow = "stats.show";
inline constexpr const char* kConfigShow = "config.show";
inline constexpr const char* kConfigReload = "config.reload";
inline constexpr const char* kFlowTop = "flow.top";
inline constexpr const char* kFlowShow = "flow.show";
inline constexpr const char* kFlowElephants = "flow.elephants";
inline constexpr const char* kUsageShow = "usage.show";
inline constexpr const char* kTenantShow = "tenant.show";
inline constexpr const char* kTenantQueues = "tenant.queues";
inline constexpr const char* kTenantSet = "tenant.set";
inline constexpr const char* kTenantBackpressure = "tenant.backpressure";
inline constexpr const char* kClassShow = "class.show";
inline constexpr const char* kRdmaShow = "rdma.show";
}  // namespace cmd

// Thrown by a request handler to refuse a request; the message is sent to
// the client as {"ok":false,"error":message}.
struct ControlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A request or response that does not follow the protocol.
struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Request {
  std::string cmd;
  nlohmann::json args = nlohmann::json::object();
};

// Parses and validates one request line (without its newline). Throws
// ProtocolError with a message fit for the client.
Request parse_request(std::string_view line);

nlohmann::json make_request(std::string_view cmd, nlohmann::json args = nlohmann::json::object());
nlohmann::json make_ok(nlohmann::json data = nullptr);
nlohmann::json make_error(std::string_view message);

// Validates a response object ({"ok":true,...} or {"ok":false,"error":str});
// throws ProtocolError.
void check_response(const nlohmann::json& response);

// One protocol line: compact JSON + '\n'. Never throws on invalid UTF-8 in
// strings (such bytes are replaced by U+FFFD).
std::string to_line(const nlohmann::json& j);

}  // namespace aigw
