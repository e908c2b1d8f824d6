#!/usr/bin/python3
"""A peer gateway's side of pause/resume (agent/backpressure/message.hpp),
written from the format's description with Python's own hmac module: the
independent sender the agent's receiver is tested against.

  pause_peer.py --key-file F --dst ADDR [--src ADDR] [--port 4792]
                --tenant N [--type pause|resume] [--hold-ms MS]
                [--count N --every-ms MS] [--resume] [--seq NS] [--bad-mac]

Sends COUNT messages EVERY_MS apart (a pause and its refreshes); each has
the wall clock in ns as its sequence unless --seq gives one (a replay, a
skewed clock); --resume: and a RESUME EVERY_MS after the last. Prints
the sequences sent, one per line.
"""
import argparse
import hashlib
import hmac
import socket
import struct
import time

MAGIC, VERSION = b"AGBP", 1
TYPES = {"pause": 1, "resume": 2}


def message(key, kind, tenant, seq, hold_ms, bad_mac=False):
    signed = MAGIC + struct.pack(">BBHQII", VERSION, TYPES[kind], tenant, seq, hold_ms, 0)
    mac = hmac.new(key, signed, hashlib.sha256).digest()
    if bad_mac:
        mac = bytes([mac[0] ^ 1]) + mac[1:]
    return signed + mac


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--src")
    ap.add_argument("--port", type=int, default=4792)
    ap.add_argument("--tenant", type=int, required=True)
    ap.add_argument("--type", choices=TYPES, default="pause")
    ap.add_argument("--hold-ms", type=int, default=200)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--every-ms", type=float, default=100)
    ap.add_argument("--seq", type=int)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--bad-mac", action="store_true")
    a = ap.parse_args()
    key = bytes.fromhex(open(a.key_file).read().strip())
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.src:
        s.bind((a.src, 0))
    for i in range(min(a.count, 10000)):  # bounded
        if i:
            time.sleep(a.every_ms / 1000)
        seq = a.seq if a.seq is not None else time.time_ns()
        hold = a.hold_ms if a.type == "pause" else 0
        s.sendto(message(key, a.type, a.tenant, seq, hold, a.bad_mac), (a.dst, a.port))
        print(seq, flush=True)
    if a.resume:
        time.sleep(a.every_ms / 1000)
        seq = time.time_ns()
        s.sendto(message(key, "resume", a.tenant, seq, 0), (a.dst, a.port))
        print(seq, flush=True)


if __name__ == "__main__":
    main()
