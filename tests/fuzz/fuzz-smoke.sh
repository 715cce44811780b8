#!/bin/bash
# Build every libFuzzer harness and run each briefly from its seed corpus.
# A crash, leak or sanitizer report fails the suite.  Longer runs:
#   MICA_FUZZ_SECONDS=600 tests/fuzz/fuzz-smoke.sh
T_SUITE=fuzz-smoke
source "$(dirname "$0")/../lib/testlib.sh"
cd "$ROOT"
secs=${MICA_FUZZ_SECONDS:-10}

if ! make -s fuzz >/tmp/mica-fuzz-build.log 2>&1; then
	cat /tmp/mica-fuzz-build.log
	fail "build the fuzzers with clang"
	finish; exit
fi
mkdir -p build/fuzz-work
for f in build/fuzz/fuzz[-_]*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	name=$(basename "$f")
	log=build/fuzz-work/$name.log
	corpus=build/fuzz-work/corpus-$name
	mkdir -p "$corpus"
	# Seeds: tests/fuzz/seeds/NAME, or a fuzz-seeds folder next to the
	# harness's own tests (tests/blockd/fuzz-seeds).
	for seeds in "tests/fuzz/seeds/$name" $(grep -l "$name" tests/*/*.mk 2>/dev/null |
			xargs -r -n1 dirname | sed 's|$|/fuzz-seeds|'); do
		[ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null
	done
	if "$f" -max_total_time="$secs" -max_len=4096 "$corpus" >"$log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1)
		pass "$name: ${secs}s, ${runs:-?}, no crash"
	else
		tail -30 "$log"
		fail "$name crashed ($log)"
	fi
done
finish
