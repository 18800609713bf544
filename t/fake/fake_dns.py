#!/usr/bin/env python3
"""fake_dns.py -- a tiny UDP DNS server for the tests: PTR answers only.

    fake_dns.py --port 0 --map 203.0.113.7=host7.example.net \
        --map-file names.json --delay 203.0.113.9=5 --log queries.txt

Answers a PTR query for an address given with --map (or in --map-file, a
JSON object {"ADDRESS": "NAME"}) with that name, and anything else with
NXDOMAIN.  --delay ADDRESS=SECONDS answers that address late (without
holding the others up).  --log appends "QNAME QTYPE" per query received.
Prints "listening 127.0.0.1:PORT" when ready.  Standard library only.
"""

import argparse
import ipaddress
import json
import os
import socket
import struct
import sys
import threading
import time


def reverse_name(addr):
    """The in-addr.arpa / ip6.arpa name of an address, lower case."""
    return ipaddress.ip_address(addr).reverse_pointer.lower()


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def parse_question(data):
    """(qname, qtype, end offset of the question) or None."""
    off = 12
    labels = []
    while True:
        if off >= len(data):
            return None
        n = data[off]
        off += 1
        if n == 0:
            break
        if n & 0xC0:
            return None
        labels.append(data[off:off + n].decode("ascii", "replace"))
        off += n
    if off + 4 > len(data):
        return None
    qtype, _qclass = struct.unpack("!HH", data[off:off + 4])
    return ".".join(labels), qtype, off + 4


def answer(data, names):
    if len(data) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", data[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    q = parse_question(data)
    if q is None:
        return None
    qname, qtype, end = q
    question = data[12:end]
    rd = flags & 0x0100
    name = names.get(qname.lower()) if qtype == 12 else None
    if name is None:
        header = struct.pack("!HHHHHH", qid, 0x8080 | rd | 3, 1, 0, 0, 0)
        return header + question
    rdata = encode_name(name)
    header = struct.pack("!HHHHHH", qid, 0x8080 | rd, 1, 1, 0, 0)
    rr = struct.pack("!HHHIH", 0xC00C, 12, 1, 300, len(rdata)) + rdata
    return header + question + rr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--map", action="append", default=[])
    ap.add_argument("--map-file")
    ap.add_argument("--delay", action="append", default=[])
    ap.add_argument("--log")
    ap.add_argument("--exit-with-parent", action="store_true")
    args = ap.parse_args()

    names = {}
    delays = {}
    pairs = []
    if args.map_file:
        with open(args.map_file) as f:
            pairs.extend(json.load(f).items())
    for m in args.map:
        addr, _, name = m.partition("=")
        pairs.append((addr, name))
    for addr, name in pairs:
        names[reverse_name(addr)] = name
    for d in args.delay:
        addr, _, secs = d.partition("=")
        delays[reverse_name(addr)] = float(secs)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", args.port))
    print("listening 127.0.0.1:%d" % sock.getsockname()[1], flush=True)
    lock = threading.Lock()
    parent = os.getppid()

    if args.exit_with_parent:
        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()

    while True:
        data, peer = sock.recvfrom(4096)
        q = parse_question(data) if len(data) >= 12 else None
        if q is None:
            continue
        qname = q[0].lower()
        if args.log:
            with lock, open(args.log, "a") as f:
                f.write("%s %d\n" % (qname, q[1]))
        reply = answer(data, names)
        if reply is None:
            continue
        delay = delays.get(qname, 0)
        if delay > 0:
            def later(r=reply, p=peer):
                with lock:
                    sock.sendto(r, p)
            t = threading.Timer(delay, later)
            t.daemon = True
            t.start()
        else:
            with lock:
                sock.sendto(reply, peer)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
