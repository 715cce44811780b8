#!/bin/bash
# Slow suite: wall-clock of CPU-bound programs, native vs mica-x86_64
# (and qemu-x86_64 when installed).  Prints one line per workload, the
# geometric mean of native/mica speed, and "N passed, N failed, N skipped"
# (a workload passes when both runs produce identical output).
BUILD=${BUILD:-build}
MICA=$BUILD/bin/mica-x86_64
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0 logsum=0 n=0

head -c 20000000 /dev/urandom >"$tmp/rnd"
base64 "$tmp/rnd" | head -c 20000000 >"$tmp/text"

now() { date +%s.%N; }

bench() {
	local name=$1; shift
	command -v "$1" >/dev/null || { echo "skip $name"; skip=$((skip + 1)); return; }
	local t0 t1 t2 nat mic ratio qemu=""
	t0=$(now); "$@" >"$tmp/native" 2>/dev/null; t1=$(now)
	"$MICA" "$@" >"$tmp/mica" 2>/dev/null; t2=$(now)
	nat=$(echo "$t1 - $t0" | bc -l); mic=$(echo "$t2 - $t1" | bc -l)
	if command -v qemu-x86_64 >/dev/null; then
		local q0 q1
		q0=$(now); qemu-x86_64 "$(command -v "$1")" "${@:2}" >/dev/null 2>&1; q1=$(now)
		qemu=$(printf ' qemu %.2fs' "$(echo "$q1 - $q0" | bc -l)")
	fi
	ratio=$(echo "$nat / $mic" | bc -l)
	printf '%-22s native %.2fs mica %.2fs%s  speed %.0f%% of native\n' \
		"$name" "$nat" "$mic" "$qemu" "$(echo "$ratio * 100" | bc -l)"
	logsum=$(echo "$logsum + l($ratio)" | bc -l); n=$((n + 1))
	if cmp -s "$tmp/native" "$tmp/mica"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}

bench sha256sum sha256sum "$tmp/rnd"
bench md5sum md5sum "$tmp/rnd"
bench gzip gzip -c -6 "$tmp/text"
bench bzip2 bzip2 -c "$tmp/text"
bench xz xz -c -1 "$tmp/text"
bench sort sort "$tmp/text"
PY=$(ls /usr/bin/python3.[0-9]* 2>/dev/null | grep -E "python3\.[0-9]+$" | head -1)
[ -n "$PY" ] && bench python3 "$PY" -c 'print(sum(i * i % 7 for i in range(3000000)))'

[ $n -gt 0 ] && printf 'geomean speed: %.0f%% of native over %d workloads\n' \
	"$(echo "e($logsum / $n) * 100" | bc -l)" "$n"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
