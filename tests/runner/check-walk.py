#!/usr/bin/env python3
"""Check an image after the virtio-blk test guest's "walk" (tests/guests/virtio-blk.c):
the first 16 sectors from 8 hold the pattern, and for every round r in 1..ROUNDS the 16
sectors at 8 + r * 128 hold it too, stamped with r in the last 4 bytes of each sector.
Usage: check-walk.py RAW-IMAGE ROUNDS.  Exit status 0 when all is there."""
import struct
import sys

d = open(sys.argv[1], 'rb').read()
rounds = int(sys.argv[2])


def want(s, stamp):
    w = b'MICA-VIRTIO-BLK sector %02d\n' % s
    w += bytes((s * 7 + i) & 0xff for i in range(len(w), 512))
    return w if stamp is None else w[:508] + struct.pack('<I', stamp)


for s in range(8, 24):
    got = d[512 * s:512 * s + 512]
    if got != want(s, None) and got[:508] != want(s, None)[:508]:
        sys.exit('sector %d does not hold the pattern' % s)
for r in range(1, rounds + 1):
    for k in range(16):
        at = 8 + r * 128 + k
        if d[512 * at:512 * at + 512] != want(8 + k, r):
            sys.exit('round %d: sector %d does not hold its data' % (r, at))
print('%d rounds on the disk' % rounds)
