#!/bin/sh
# Packets per second through mica-net (TAP backend) at 64 and 1500 bytes,
# guest->TAP and TAP->guest, next to a bare veth pair in the same run.
# Prints a comparison; never a pass/fail.  Needs root (own netns).
cd "$(dirname "$0")/../.." || exit 1
make -s build/tests/bench_net_pps || exit 1
exec build/tests/bench_net_pps "${1:-1}"
