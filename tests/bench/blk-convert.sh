#!/bin/bash
# mica-img convert against qemu-img convert on the same 1 GiB image, in the
# same run: raw -> qcow2 and back, with and without -c (compressed
# clusters).  The source mixes random (incompressible), text-like and zero
# megabytes.  Each conversion runs REPEAT times per tool, interleaved; the
# table shows the median wall and user+sys CPU seconds and mica/qemu ratios
# (below 1: mica is faster).  The page cache is warm for both.  mica-img
# ends with fdatasync; qemu-img convert does not sync its output (cache
# mode unsafe), so qemu is also timed followed by `sync FILE` ("+sync",
# and r_sync = mica wall / that).  Results are checked: every output must
# compare equal to the source (qemu-img compare).
#
#   tests/bench/blk-convert.sh [REPEAT]
set -e
cd "$(dirname "$0")/../.."
repeat=${1:-3}
make -s build/bin/mica-img >/dev/null
command -v qemu-img >/dev/null || { echo "needs qemu-img (qemu-utils)"; exit 1; }
dir=$(mktemp -d /tmp/mica-bench-convert.XXXXXX)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir/src.raw" <<'PY'
import os, sys
text = (b'The disk is where users lose data. ' * 30000)[:1 << 19]
with open(sys.argv[1], 'wb') as f:
    for mb in range(1024):
        kind = mb % 4
        if kind == 0:
            f.write(os.urandom(1 << 20))
        elif kind == 1:
            f.write(text + os.urandom(1 << 18) + bytes(1 << 18))
        elif kind == 2:
            f.write(text * 2)
        else:
            f.seek(1 << 20, 1)          # a hole
    f.truncate(1 << 30)
PY
qemu-img convert -O qcow2 "$dir/src.raw" "$dir/src.qcow2"
qemu-img convert -c -O qcow2 "$dir/src.raw" "$dir/srcc.qcow2"

# one TOOL ARGS...: "wall cpu" seconds of one run
one() {
	local TIMEFORMAT='%R %U %S' t
	t=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
	awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' <<<"$t"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-22s %9s %9s %10s %9s %9s %7s %7s %7s\n' conversion mica_wall qemu_wall \
	qemu+sync mica_cpu qemu_cpu r_wall r_sync r_cpu
run_case() {   # NAME SRC SRCFMT OUTFMT [-c]
	local name=$1 src=$2 sf=$3 of=$4 c=$5
	: >"$dir/mica.t"
	: >"$dir/qemu.t"
	: >"$dir/qsync.t"
	for _ in $(seq "$repeat"); do
		rm -f "$dir/out"
		one build/bin/mica-img convert -f "$sf" -O "$of" $c "$src" "$dir/out" >>"$dir/mica.t"
		qemu-img compare -q -f "$sf" -F "$of" "$src" "$dir/out" ||
			{ echo "$name: mica-img output differs"; exit 1; }
		rm -f "$dir/out"
		one qemu-img convert -f "$sf" -O "$of" $c "$src" "$dir/out" >>"$dir/qemu.t"
		rm -f "$dir/out"
		one bash -c 'qemu-img convert "$@" && sync "${@: -1}"' - -f "$sf" -O "$of" $c \
			"$src" "$dir/out" >>"$dir/qsync.t"
	done
	local mw qw qs mc qc
	mw=$(cut -d' ' -f1 "$dir/mica.t" | median)
	qs=$(cut -d' ' -f1 "$dir/qsync.t" | median)
	qw=$(cut -d' ' -f1 "$dir/qemu.t" | median)
	mc=$(cut -d' ' -f2 "$dir/mica.t" | median)
	qc=$(cut -d' ' -f2 "$dir/qemu.t" | median)
	awk -v n="$name" -v mw="$mw" -v qw="$qw" -v qs="$qs" -v mc="$mc" -v qc="$qc" 'BEGIN {
		printf "%-22s %9s %9s %10s %9s %9s %7.2f %7.2f %7.2f\n", n, mw, qw, qs, mc, qc,
			mw / qw, mw / qs, mc / qc }'
}
run_case "raw -> qcow2" "$dir/src.raw" raw qcow2
run_case "raw -> qcow2 -c" "$dir/src.raw" raw qcow2 -c
run_case "qcow2 -> raw" "$dir/src.qcow2" qcow2 raw
run_case "qcow2 (compr.) -> raw" "$dir/srcc.qcow2" qcow2 raw
