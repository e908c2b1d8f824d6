#!/usr/bin/python3
"""A host that honours IEEE 802.1Qbb priority flow control (the kernel does
not), for the lossless tests of issue 13: written from the standard, not
from the gateway's code.

  pfc_host.py send --iface IF --dst-mac MAC --src IP --dst IP --dport N
                   --rate BITS --seconds S [--size BYTES] [--priority P]
                   [--ignore-pfc]
      Numbered UDP/IPv4 datagrams (an 8-byte sequence from 0, the 8-byte
      CLOCK_MONOTONIC ns of sending, then filler)
      in Ethernet frames on IF's AF_PACKET socket, paced at RATE (bits/s of
      frames), for S seconds. The traffic is of 802.1p priority P: a PFC
      frame (01:80:c2:00:00:01, type 0x8808, opcode 0x0101) whose class-
      enable vector has bit P pauses it for time[P] quanta of 512 bit times
      at IF's speed (/sys/class/net/IF/speed); 0 quanta resumes it. Prints
      JSON: sent, pfc frames seen, pauses, seconds paused, seconds sending.

  pfc_host.py recv --port N [--bind IP] [--idle S] [--deadline S] [--bin-ms MS]
      Counts the datagrams on UDP port N until IDLE seconds without one
      (after the first) or DEADLINE; prints JSON: received, unique, the
      highest sequence, duplicates, the missing ones below it (count), and
      the one-way delay (p50, p99, max in µs: sender and receiver share
      the machine's monotonic clock across network namespaces). --bin-ms:
      also the frame bytes received per MS-long bin from the first datagram
      ("bins", with "t0": that datagram's CLOCK_MONOTONIC seconds).
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time

ETH_P_MAC_CONTROL = 0x8808
PFC_OPCODE = 0x0101
QUANTUM_BITS = 512
SO_RCVBUFFORCE = 33  # asm-generic/socket.h; not in Python's socket module


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def ip_checksum(header):
    s = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame_template(src_mac, dst_mac, src, dst, sport, dport, size):
    """Ethernet + IPv4 + UDP (checksum 0, allowed over IPv4) + payload, with
    the payload's first 8 bytes left for the sequence."""
    payload_len = max(size - 14 - 20 - 8, 16)
    udp = struct.pack("!HHHH", sport, dport, 8 + payload_len, 0)
    total = 20 + 8 + payload_len
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    eth = dst_mac + src_mac + struct.pack("!H", 0x0800)
    return bytearray(eth + ip + udp + bytes(payload_len)), len(eth + ip + udp)


def link_speed(iface):
    try:
        with open(f"/sys/class/net/{iface}/speed") as f:
            mbit = int(f.read().strip())
        if mbit > 0:
            return mbit * 1_000_000
    except (OSError, ValueError):
        pass
    return 10_000_000_000


class PfcState:
    """The pause of one priority, from the PFC frames read off a socket."""

    def __init__(self, sock, priority, speed, ignore):
        self.sock, self.priority, self.speed, self.ignore = sock, priority, speed, ignore
        self.until = 0.0
        self.frames = self.pauses = 0

    def read(self):
        while True:
            try:
                data = self.sock.recv(128, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            if len(data) < 34 or struct.unpack("!HH", data[12:16]) != (ETH_P_MAC_CONTROL,
                                                                       PFC_OPCODE):
                continue
            enable = struct.unpack("!H", data[16:18])[0]
            if not enable & (1 << self.priority):
                continue
            self.frames += 1
            if self.ignore:
                continue
            quanta = struct.unpack("!H", data[18 + 2 * self.priority:20 + 2 * self.priority])[0]
            now = time.monotonic()
            if quanta == 0:
                self.until = 0.0
                continue
            if self.until <= now:
                self.pauses += 1
            self.until = now + quanta * QUANTUM_BITS / self.speed

    def paused(self, now):
        return self.until > now


def send(a):
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # protocol 0: sends only
    tx.bind((a.iface, 0))
    ctl = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_MAC_CONTROL))
    ctl.bind((a.iface, ETH_P_MAC_CONTROL))
    src_mac = tx.getsockname()[4]
    frame, seq_off = frame_template(src_mac, mac_bytes(a.dst_mac), a.src, a.dst, a.sport,
                                    a.dport, a.size)
    pfc = PfcState(ctl, a.priority, link_speed(a.iface), a.ignore_pfc)
    bits = len(frame) * 8
    start = time.monotonic()
    end = start + a.seconds
    sent = 0
    paused_s = 0.0
    budget = 0.0  # bits we may send now
    last = start
    poller = select.poll()
    poller.register(ctl, select.POLLIN)
    max_frames = int(a.rate * a.seconds / bits) + 1  # bounded whatever the clock does
    while sent < max_frames:
        now = time.monotonic()
        if now >= end:
            break
        pfc.read()
        if pfc.paused(now):
            wait = min(pfc.until, end) - now
            poller.poll(max(int(wait * 1000), 1))
            t = time.monotonic()
            paused_s += t - now
            last = t  # no credit while paused
            continue
        budget = min(budget + (now - last) * a.rate, 64 * bits)
        last = now
        if budget < bits:
            time.sleep(min((bits - budget) / a.rate, 0.0005))
            continue
        while budget >= bits and sent < max_frames:
            struct.pack_into("!QQ", frame, seq_off, sent, time.monotonic_ns())
            try:
                tx.send(frame)
            except BlockingIOError:
                break
            sent += 1
            budget -= bits
            if sent % 16 == 0:
                break  # look for PFC frames often
    pfc.read()
    json.dump({"sent": sent, "pfc_frames": pfc.frames, "pauses": pfc.pauses,
               "paused_s": round(paused_s, 4), "seconds": round(time.monotonic() - start, 3),
               "frame_bytes": len(frame)}, sys.stdout)
    print()


def recv(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)  # root: past rmem_max
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    s.bind((a.bind, a.port))
    print("listening", flush=True)
    seen = bytearray()
    delays = []
    bins = []
    t0 = None
    received = dups = 0
    first = None
    deadline = time.monotonic() + a.deadline
    while time.monotonic() < deadline:
        wait = a.idle if first is not None else deadline - time.monotonic()
        r, _, _ = select.select([s], [], [], max(wait, 0.0))
        if not r:
            if first is not None:
                break
            continue
        data = s.recv(65536)
        now = time.monotonic_ns()
        if len(data) < 16:
            continue
        seq, stamp = struct.unpack_from("!QQ", data)
        if first is None:
            first = time.monotonic()
            t0 = now
        if a.bin_ms:
            k = (now - t0) // int(a.bin_ms * 1e6)
            if k < 100_000:
                bins.extend([0] * (k + 1 - len(bins)))
                bins[k] += len(data) + 42  # the frame: Ethernet, IPv4, UDP headers
        if seq >= len(seen):
            if seq > 50_000_000:
                continue  # not ours
            seen.extend(bytes(seq + 1 - len(seen)))
        if seen[seq]:
            dups += 1
        seen[seq] = 1
        received += 1
        if len(delays) < 5_000_000:
            delays.append(now - stamp)
    top = len(seen) - 1
    unique = sum(seen)
    delays.sort()

    def pct(q):
        return round(delays[min(int(q * len(delays)), len(delays) - 1)] / 1000, 1) if delays \
            else None
    json.dump({"received": received, "unique": unique, "max_seq": top, "duplicates": dups,
               "missing_below_max": (top + 1 - unique) if top >= 0 else 0,
               "delay_us": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
               **({"t0": t0 / 1e9, "bins": bins} if a.bin_ms else {})}, sys.stdout)
    print()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--iface", required=True)
    s.add_argument("--dst-mac", required=True)
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--sport", type=int, default=40000)
    s.add_argument("--dport", type=int, required=True)
    s.add_argument("--rate", type=float, required=True)
    s.add_argument("--seconds", type=float, required=True)
    s.add_argument("--size", type=int, default=1400)
    s.add_argument("--priority", type=int, default=3, choices=range(8))
    s.add_argument("--ignore-pfc", action="store_true")
    r = sub.add_parser("recv")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--bind", default="0.0.0.0")
    r.add_argument("--idle", type=float, default=1.0)
    r.add_argument("--deadline", type=float, default=60.0)
    r.add_argument("--bin-ms", type=float, default=0)
    a = ap.parse_args()
    if a.cmd == "send" and (a.seconds > 600 or a.rate > 10e9):
        ap.error("bounded: --seconds <= 600, --rate <= 10e9")
    send(a) if a.cmd == "send" else recv(a)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
