// aigwctl rdma show: the RDMA proxy's streams and counters.
#include <fmt/format.h>

#include "control/cli_internal.hpp"

namespace aigw::cli {

namespace {

std::string stream_name(const json& e) {
  return fmt::format("{} -> {} qp {:#x}", text(field(e, "src")), text(field(e, "dst")),
                     field(e, "qp").get<uint64_t>());
}

// A time in ms to a tenth ("-": none measured yet).
std::string ms(const json& v) {
  return v.is_number() ? fmt::format("{:.1f}", v.get<double>()) : text(v);
}

}  // namespace

void render_rdma(const json& d, std::ostream& out) {
  bool running = field(d, "running").get<bool>();
  out << fmt::format("rdma proxy: {}", running ? "running" : "off");
  if (running) {
    std::string ports;
    for (const auto& p : field(d, "ports")) ports += (ports.empty() ? "" : ", ") + text(p);
    out << fmt::format(" ({} queue(s) on {})", text(field(d, "queues")), ports);
  }
  out << "\n";
  if (d.contains("error")) out << "  not started: " << text(field(d, "error")) << "\n";
  if (!d.contains("counters")) return;
  const json& c = field(d, "counters");
  out << fmt::format(
      "  nacks sent {} received {} (stale {}, unknown stream {}, malformed {}, "
      "unauthenticated {})\n"
      "  resent {} (tail probes {})  cache misses {} (MISS sent {}, received {})\n"
      "  holes {} (given up {}, overflow {}, not cached {})\n"
      "  to hosts {}  to WAN {}  streams evicted {}\n"
      "  lost before the sockets: no frame {}  RX ring full {}  invalid {}\n"
      "  dropped: TX ring full {}  wrong ICRC from the WAN {}\n",
      text(field(c, "nacks_sent")), text(field(c, "nacks_received")), text(field(c, "nacks_stale")),
      text(field(c, "nacks_unknown")), text(field(c, "bad_nacks")),
      text(field(c, "nacks_unauthenticated")), text(field(c, "resent")),
      text(field(c, "tail_probes")), text(field(c, "cache_misses")), text(field(c, "misses_sent")),
      text(field(c, "misses_received")), text(field(c, "holes")), text(field(c, "given_up")),
      text(field(c, "overflows")), text(field(c, "unfillable")), text(field(c, "to_host")),
      text(field(c, "to_wan")), text(field(c, "streams_evicted")), text(field(c, "xsk_no_frame")),
      text(field(c, "xsk_rx_ring_full")), text(field(c, "xsk_invalid")), text(field(c, "tx_full")),
      text(field(c, "bad_icrc")));
  Table rx({"RECEIVING", "EXPECTED", "HELD", "MAX-HELD", "HOLES", "NACKS", "GIVEN-UP", "DELIVERED",
            "FILL-MS"},
           {false, true, true, true, true, true, true, true, true});
  for (const auto& e : field(d, "receiving"))
    rx.add({stream_name(e), text(field(e, "expected_psn")), text(field(e, "held")),
            text(field(e, "max_depth")), text(field(e, "holes")), text(field(e, "nacks")),
            text(field(e, "given_up")), text(field(e, "delivered")), ms(field(e, "fill_ms"))});
  if (!rx.empty()) rx.print(out);
  Table tx({"SENDING", "CACHED", "BYTES", "PEAK-BYTES", "RESENT", "PROBES", "MISSES", "EVICTED",
            "ACK-MS"},
           {false, true, true, true, true, true, true, true, true});
  for (const auto& e : field(d, "sending"))
    tx.add({stream_name(e), text(field(e, "cached_packets")), text(field(e, "cached_bytes")),
            text(field(e, "cached_peak_bytes")), text(field(e, "resent")),
            text(field(e, "tail_probes")), text(field(e, "misses")), text(field(e, "evicted")),
            ms(field(e, "ack_ms"))});
  if (!tx.empty()) tx.print(out);
  Table tn({"TENANT", "SENDING", "CACHED-BYTES", "SHARE", "RECEIVING", "HELD", "SHARE", "BUDGET"},
           {false, true, true, true, true, true, true, true});
  if (d.contains("tenants"))
    for (const auto& e : field(d, "tenants"))
      tn.add({text(field(e, "tenant")), text(field(e, "tx_streams")),
              text(field(e, "cached_bytes")), text(field(e, "tx_share_bytes")),
              text(field(e, "rx_streams")), text(field(e, "held")),
              text(field(e, "rx_share_bytes")), text(field(e, "budget_bytes"))});
  if (!tn.empty()) tn.print(out);
}

void add_rdma_commands(CommandTree& t) {
  CLI::App* rdma = t.object("rdma");
  t.verb(rdma, "show", "the RDMA proxy: per stream (QP) expected PSN, holes, NACKs, cache use",
         "[OPTIONS]",
         "RECEIVING streams are reordered here (NACKs sent); SENDING streams are\n"
         "cached here (resent on NACKs; a tail with no ACK for a while PROBEd: its\n"
         "newest packet sent again; ACK-MS is the smoothed time from a packet to its\n"
         "ACK). EXPECTED is the next PSN owed to the host; MAX-HELD and PEAK-BYTES\n"
         "are the most held or cached at once; FILL-MS is the smoothed\n"
         "time from a hole's NACK to its resend's arrival (none measured yet: -).\n"
         "Per TENANT: its streams on each side, what they use, and each stream's\n"
         "SHARE of the tenant's budget (rdma_proxy.tenant_memory_mb, per side).\n"
         "Example:\n"
         "  aigwctl -j rdma show");
}

}  // namespace aigw::cli
