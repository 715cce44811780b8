#!/usr/bin/env python3
"""Host side of the virtio-net test guest (tests/guests/virtio-net.c) on a
bridge: sends ethertype 0x88b5 "ECHO" frames of several sizes to the
guest's MAC and checks each answer ("OHCE", same sequence number, every
following byte inverted); "udp" sends datagrams from FLOWS sockets (as
many flows, for a multiqueue TAP to spread) to the guest's UDP echo port
and checks every answer; "quit" sends the frame that ends the guest.

usage: net-peer.py IFACE GUEST_MAC echo ROUNDS | udp FLOWS | quit"""
import os
import socket
import sys
import time

ETH_P_MICA = 0x88B5
SIZES = [60, 64, 100, 256, 512, 1000, 1400, 1514]


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def udp_flows(flows):
    socks = []
    for i in range(flows):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("10.99.0.1", 0))
        u.settimeout(5)
        socks.append(u)
    ok = 0
    for rnd in range(4):
        for i, u in enumerate(socks):
            data = b"UDP %d %d " % (i, rnd) + os.urandom(64 + 37 * i)
            u.sendto(data, ("10.99.0.2", 7))
            try:
                got, addr = u.recvfrom(4096)
            except socket.timeout:
                print(f"flow {i} round {rnd}: no answer", file=sys.stderr)
                return 1
            if got != data or addr != ("10.99.0.2", 7):
                print(f"flow {i} round {rnd}: answer differs", file=sys.stderr)
                return 1
            ok += 1
    print(f"{ok} datagrams on {flows} flows echoed and verified")
    return 0


def main():
    iface, guest, what = sys.argv[1], mac_bytes(sys.argv[2]), sys.argv[3]
    if what == "udp":
        return udp_flows(int(sys.argv[4]))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_MICA))
    s.bind((iface, ETH_P_MICA))
    me = s.getsockname()[4][:6]
    head = guest + me + ETH_P_MICA.to_bytes(2, "big")
    if what == "quit":
        s.send(head + b"QUIT" + bytes(42))
        return 0
    rounds = int(sys.argv[4])
    s.settimeout(5)
    ok = 0
    for seq in range(rounds):
        size = SIZES[seq % len(SIZES)]
        data = os.urandom(size - 14 - 8)
        s.send(head + b"ECHO" + seq.to_bytes(4, "big") + data)
        deadline = time.time() + 5
        while True:
            if time.time() > deadline:
                print(f"seq {seq}: no answer", file=sys.stderr)
                return 1
            try:
                f = s.recv(4096)
            except socket.timeout:
                continue
            if f[6:12] != guest or f[:6] != me or f[14:18] != b"OHCE":
                continue
            if int.from_bytes(f[18:22], "big") != seq:
                continue
            want = bytes(b ^ 0xFF for b in data)
            if f[22:22 + len(data)] != want or len(f) != size:
                print(f"seq {seq} ({size} bytes): answer differs (got {len(f)} bytes)",
                      file=sys.stderr)
                return 1
            ok += 1
            break
    print(f"{ok} echoes of {rounds} verified ({min(SIZES)}..{max(SIZES)} bytes)")
    return 0


sys.exit(main())
