#!/usr/bin/env python3
"""Check an image written by the virtio-blk test guest (tests/guests/virtio-blk.c):
sectors 8-23 each hold "MICA-VIRTIO-BLK sector NN\\n" then bytes (NN * 7 + i) & 0xff,
and nothing else changed.  Exit status 0 when it does."""
import sys

d = open(sys.argv[1], 'rb').read()
for s in range(8, 24):
    want = b'MICA-VIRTIO-BLK sector %02d\n' % s
    want += bytes((s * 7 + i) & 0xff for i in range(len(want), 512))
    if d[512 * s:512 * s + 512] != want:
        sys.exit('sector %d does not hold the pattern' % s)
if d[:4096].strip(b'\0') or d[24 * 512:].strip(b'\0'):
    sys.exit('bytes outside sectors 8-23 changed')
