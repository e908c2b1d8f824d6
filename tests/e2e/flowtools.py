#!/usr/bin/python3
"""Traffic endpoints for the e2e tests, run inside the lab's namespaces.
Each prints one JSON object on stdout when done.

  udp-send --dst A --port P --rate PPS --count N [--size B] [--bind SRC]
           [--no-end] [--hbh HEX] [--pause-every N --pause-ms MS]
      N datagrams carrying sequence numbers 0..N-1 at a fixed rate, then END
      markers (not counted) that tell the receiver the total (--no-end: none,
      the receiver stops when idle). --hbh: an IPv6 Hop-by-Hop options header
      (whole header, next-header byte filled in by the kernel) on every
      datagram (IPV6_HOPOPTS). --pause-every: a silence of MS after every N
      datagrams (flowlet gaps). Reports the L3 bytes sent (IP header,
      options, UDP header and payload of the counted datagrams).
  udp-recv --bind A --port P [--idle S] [--max-time S]
      counts datagrams by sequence number until an END marker (or S idle
      seconds after the first packet, or max-time): received, unique,
      duplicates, reordered (arrived after a higher sequence number),
      missing (count and the first few), the sender's total.
  tcp-recv --bind A --port P [--max-time S]
      accepts one connection, reads to EOF: bytes and sha256.
  tcp-send --dst A --port P --bytes N [--seed S]
      sends N pseudo-random bytes: bytes, sha256 and the connection's MSS.
"""

import argparse
import hashlib
import json
import random
import socket
import struct
import sys
import time

MAGIC = b"AIGW"
END = b"AEND"


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_send(a):
    s = socket.socket(family(a.dst), socket.SOCK_DGRAM)
    if a.bind:
        s.bind((a.bind, 0))
    hbh = bytes.fromhex(a.hbh) if a.hbh else b""
    if hbh:
        if family(a.dst) != socket.AF_INET6 or len(hbh) % 8:
            raise SystemExit("--hbh needs an IPv6 destination and a multiple of 8 bytes")
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, hbh)
    pad = b"\0" * max(0, a.size - 12)
    l3_each = (40 + len(hbh) if family(a.dst) == socket.AF_INET6 else 20) + 8 + 12 + len(pad)
    interval = 1.0 / a.rate
    t0 = time.monotonic()
    nxt = t0
    sent = errors = 0
    for seq in range(a.count):
        if a.pause_every and seq and seq % a.pause_every == 0:
            nxt += a.pause_ms / 1000.0
        now = time.monotonic()
        if nxt > now:
            time.sleep(nxt - now)
        nxt += interval
        try:
            s.sendto(MAGIC + struct.pack("!Q", seq) + pad, (a.dst, a.port))
            sent += 1
        except OSError:
            errors += 1
    dur = time.monotonic() - t0
    for _ in range(0 if a.no_end else 20):
        s.sendto(END + struct.pack("!Q", sent), (a.dst, a.port))
        time.sleep(0.01)
    print(json.dumps({"sent": sent, "send_errors": errors, "duration": round(dur, 3),
                      "l3_bytes": sent * l3_each, "first_monotonic": t0}))


def udp_recv(a):
    s = socket.socket(family(a.bind), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((a.bind, a.port))
    seen = bytearray()
    received = dups = reordered = 0
    highest = -1
    total = None
    first = None
    deadline = time.monotonic() + a.max_time
    s.settimeout(0.2)
    last = time.monotonic()
    while time.monotonic() < deadline:
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            if first is not None and time.monotonic() - last > a.idle:
                break
            continue
        last = time.monotonic()
        if data[:4] == END and len(data) >= 12:
            total = struct.unpack("!Q", data[4:12])[0]
            break
        if data[:4] != MAGIC or len(data) < 12:
            continue
        if first is None:
            first = last
        seq = struct.unpack("!Q", data[4:12])[0]
        if seq < highest:
            reordered += 1
        highest = max(highest, seq)
        if seq >= len(seen):
            seen.extend(b"\0" * (seq + 1 - len(seen)))
        if seen[seq]:
            dups += 1
        else:
            seen[seq] = 1
        received += 1
    n = total if total is not None else len(seen)
    missing = [i for i in range(n) if i >= len(seen) or not seen[i]]
    print(json.dumps({"received": received, "unique": received - dups, "duplicates": dups,
                      "reordered": reordered, "sender_total": total, "missing": len(missing),
                      "missing_first": missing[:20]}))


def tcp_recv(a):
    ls = socket.socket(family(a.bind), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(1)
    ls.settimeout(a.max_time)
    c, peer = ls.accept()
    c.settimeout(a.max_time)
    h = hashlib.sha256()
    n = 0
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        h.update(d)
        n += len(d)
    mss = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    c.close()
    print(json.dumps({"bytes": n, "sha256": h.hexdigest(), "mss": mss, "peer": peer[0]}))


def tcp_send(a):
    s = socket.create_connection((a.dst, a.port), timeout=30)
    s.settimeout(120)
    rng = random.Random(a.seed)
    h = hashlib.sha256()
    left = a.bytes
    t0 = time.monotonic()
    while left:
        chunk = rng.randbytes(min(left, 1 << 16))
        s.sendall(chunk)
        h.update(chunk)
        left -= len(chunk)
    mss = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    dur = time.monotonic() - t0
    s.close()
    print(json.dumps({"bytes": a.bytes, "sha256": h.hexdigest(), "mss": mss,
                      "duration": round(dur, 3)}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("udp-send")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--bind", default="")
    p.add_argument("--no-end", action="store_true")
    p.add_argument("--hbh", default="")
    p.add_argument("--pause-every", type=int, default=0)
    p.add_argument("--pause-ms", type=float, default=0.0)
    p = sub.add_parser("udp-recv")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--idle", type=float, default=3.0)
    p.add_argument("--max-time", type=float, default=60.0)
    p = sub.add_parser("tcp-recv")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--max-time", type=float, default=120.0)
    p = sub.add_parser("tcp-send")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    {"udp-send": udp_send, "udp-recv": udp_recv, "tcp-recv": tcp_recv,
     "tcp-send": tcp_send}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
