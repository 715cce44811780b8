#!/bin/bash
# make test-slow: tests/runner/virtio-blk.sh with its kill -9 run ten times
# (50 kills of mica-blockd and mica-blk under an allocating guest, each
# run on a fresh qcow2 image, checked with qemu-img check and check-walk).
export MICA_BLK_KILL_RUNS=${MICA_BLK_KILL_RUNS:-10}
exec "$(dirname "$0")/../runner/virtio-blk.sh"
