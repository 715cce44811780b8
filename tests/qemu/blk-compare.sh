#!/bin/bash
# make test-slow: blk-frontend.sh three times over, mica-blk beside
# qemu-storage-daemon, with a table of median timings at the end.
MICA_QEMU_ROUNDS=${MICA_QEMU_ROUNDS:-3} MICA_QEMU_BACKENDS="mica-blk qsd" \
	exec "$(dirname "$0")/blk-frontend.sh"
