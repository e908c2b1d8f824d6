#!/usr/bin/python3
"""Seeded traffic mixes for the elephant tests and benchmarks (issue 11).

Two mixes, each a list of packets (flow index, L3 length) over a list of
flows (5-tuple, RoCEv2 QP), reproducible from a seed:

  zipf  background: packets drawn over N flows with Zipf(s) popularity, so a
        few flows carry most bytes and most flows are mice;
  ai    an AI-training day in small: per site pair a few RoCEv2 flows (UDP to
        4791, several destination QPs each) sending all-reduce bursts
        separated by silent compute phases, a checkpoint burst now and then,
        over a Zipf background of mice.

Output, for BPF_PROG_TEST_RUN (aigw-dp-run run_frames: [u16 LE length]
[Ethernet frame]...) or as a pcap that `netsniff-ng --in F --out DEV`
replays in the lab; the exact bytes per flow (ground truth) as JSON.

  aigw_mix.py zipf --seed 1 --flows 100000 --packets 300000 --frames F --truth T
  aigw_mix.py ai --seed 1 --frames F --pcap P --truth T
"""
import argparse
import bisect
import json
import random
import struct
import sys
from typing import List, Tuple

ETH_IP4 = 0x0800
ROCE_PORT = 4791


def csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Flow:
    """One flow: IPv4 addresses as ints, ports, protocol, RoCEv2 dest QP."""

    def __init__(self, src: int, dst: int, sport: int, dport: int, proto: int = 17, qp: int = 0):
        self.src, self.dst, self.sport, self.dport, self.proto, self.qp = (
            src, dst, sport, dport, proto, qp)

    def key(self) -> Tuple:
        return (self.src, self.dst, self.sport, self.dport, self.proto, self.qp)

    def frame(self, l3_len: int, dmac: bytes, smac: bytes, seq: int = 0) -> bytes:
        """An Ethernet + IPv4 + UDP/TCP frame whose IP packet is l3_len bytes."""
        l4_hdr = 20 if self.proto == 6 else 8
        l3_len = max(l3_len, 20 + l4_hdr + (12 if self.qp else 0))
        payload_len = l3_len - 20 - l4_hdr
        if self.qp:  # BTH: opcode RC SEND only, P_Key, dest QP, PSN
            payload = struct.pack("!BBHII", 4, 0, 0xFFFF, self.qp & 0xFFFFFF, seq & 0xFFFFFF)
            payload += b"\0" * (payload_len - len(payload))
        else:
            payload = struct.pack("!I", seq & 0xFFFFFFFF)[:payload_len]
            payload += b"\0" * (payload_len - len(payload))
        if self.proto == 6:
            l4 = struct.pack("!HHIIBBHHH", self.sport, self.dport, seq, 0, 5 << 4, 0x10, 65535, 0,
                             0) + payload
        else:
            l4 = struct.pack("!HHHH", self.sport, self.dport, 8 + payload_len, 0) + payload
        ip = struct.pack("!BBHHHBBHII", 0x45, 0, l3_len, seq & 0xFFFF, 0, 64, self.proto, 0,
                         self.src, self.dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        return dmac + smac + struct.pack("!H", ETH_IP4) + ip + l4


def ip4(a: str) -> int:
    return struct.unpack("!I", bytes(int(x) for x in a.split(".")))[0]


def ip4_str(v: int) -> str:
    return ".".join(str(b) for b in struct.pack("!I", v))


def zipf_cdf(n: int, s: float) -> List[float]:
    acc, out = 0.0, []
    for r in range(1, n + 1):
        acc += 1.0 / r ** s
        out.append(acc)
    return [x / acc for x in out]


def mice_flows(rng: random.Random, n: int, src_net: int, dst: int) -> List[Flow]:
    """n distinct UDP/TCP flows from hosts of src_net/24 to dst."""
    flows, seen = [], set()
    while len(flows) < n:
        f = Flow(src_net + rng.randrange(1, 255), dst, rng.randrange(1024, 65535),
                 rng.choice((80, 443, 9000, 5201)), rng.choice((6, 17)))
        if f.key() not in seen:
            seen.add(f.key())
            flows.append(f)
    return flows


def zipf_mix(seed: int, nflows: int, npackets: int, s: float = 1.0,
             src_net: str = "192.0.2.0", dst: str = "198.51.100.9"):
    """(flows, packets): packets as (flow index, L3 length)."""
    rng = random.Random(seed)
    flows = mice_flows(rng, nflows, ip4(src_net), ip4(dst))
    rng.shuffle(flows)
    cdf = zipf_cdf(nflows, s)
    sizes = [64, 128, 576, 1000, 1200, 1400]  # fit a 1500-byte WAN MTU encapsulated
    pkts = [(bisect.bisect_left(cdf, rng.random()), rng.choice(sizes)) for _ in range(npackets)]
    return flows, pkts


def ai_mix(seed: int, pairs: int = 2, flows_per_pair: int = 2, qps: int = 4, rounds: int = 6,
           burst_pkts: int = 400, mice: int = 20000, mice_pkts: int = 40000,
           dst: str = "198.51.100.9"):
    """RoCEv2 all-reduce bursts (every QP of every flow sends burst_pkts
    packets of 1100 bytes, interleaved), a silent compute phase between
    rounds (a gap marker (-1, 0) in the packet list), a checkpoint burst in
    the middle round, Zipf mice throughout."""
    rng = random.Random(seed)
    roce = []
    for p in range(pairs):
        for f in range(flows_per_pair):
            for q in range(qps):
                roce.append(Flow(ip4("203.0.113.0") + 10 + p, ip4(dst), 49152 + f, ROCE_PORT, 17,
                                 0x100 + 16 * f + q))
    mflows, mpkts = zipf_mix(seed + 1, mice, mice_pkts)
    flows = roce + mflows
    off = len(roce)
    pkts: List[Tuple[int, int]] = []
    per_round = mice_pkts // rounds
    for r in range(rounds):
        burst = [(i, 1100) for _ in range(burst_pkts) for i in range(len(roce))]
        if r == rounds // 2:  # checkpoint: the first flow's QPs write 4x as much
            burst += [(i, 1400) for _ in range(3 * burst_pkts) for i in range(qps)]
        back = [(off + i, n) for i, n in mpkts[r * per_round:(r + 1) * per_round]]
        mixed = burst + back
        rng.shuffle(mixed)
        pkts += mixed
        pkts.append((-1, 0))  # compute phase: nothing from the RoCEv2 flows
    return flows, pkts


def truth(flows: List[Flow], pkts) -> dict:
    by = {}
    for i, n in pkts:
        if i >= 0:
            by[i] = by.get(i, 0) + max(n, 20 + (20 if flows[i].proto == 6 else 8) +
                                       (12 if flows[i].qp else 0))
    return by


def write_frames(path: str, flows, pkts, dmac: bytes, smac: bytes):
    with open(path, "wb") as out:
        for seq, (i, n) in enumerate(pkts):
            if i < 0:
                continue
            fr = flows[i].frame(n, dmac, smac, seq)
            out.write(struct.pack("<H", len(fr)) + fr)


def write_pcap(path: str, flows, pkts, dmac: bytes, smac: bytes, gap_us: int = 10):
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 0
        for seq, (i, n) in enumerate(pkts):
            if i < 0:
                t += 100000  # a compute phase: 100 ms
                continue
            fr = flows[i].frame(n, dmac, smac, seq)
            out.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(fr), len(fr)) + fr)
            t += gap_us


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("mix", choices=("zipf", "ai"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--flows", type=int, default=100000)
    ap.add_argument("--packets", type=int, default=300000)
    ap.add_argument("--zipf", type=float, default=1.0)
    ap.add_argument("--dmac", default="02:00:00:00:00:01")
    ap.add_argument("--smac", default="02:00:00:00:00:02")
    ap.add_argument("--frames")
    ap.add_argument("--pcap")
    ap.add_argument("--truth")
    a = ap.parse_args()
    if a.mix == "zipf":
        flows, pkts = zipf_mix(a.seed, a.flows, a.packets, a.zipf)
    else:
        flows, pkts = ai_mix(a.seed)
    dmac, smac = (bytes(int(x, 16) for x in m.split(":")) for m in (a.dmac, a.smac))
    if a.frames:
        write_frames(a.frames, flows, pkts, dmac, smac)
    if a.pcap:
        write_pcap(a.pcap, flows, pkts, dmac, smac)
    if a.truth:
        t = truth(flows, pkts)
        with open(a.truth, "w") as out:
            json.dump([{"src": ip4_str(flows[i].src), "dst": ip4_str(flows[i].dst),
                        "sport": flows[i].sport, "dport": flows[i].dport,
                        "proto": flows[i].proto, "qp": flows[i].qp, "bytes": b}
                       for i, b in sorted(t.items())], out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
