#!/bin/bash
# Run test suites and add up their results.
#
# usage: run-suites.sh LABEL SUITE...
#
# A suite is an executable (CUnit binary or shell script).  It prints its
# own closing line "N passed, N failed[, N skipped]"; a suite that prints no
# such line counts as one test, passed if it exits 0.  The closing line of
# this script is "total: N passed, N failed, N skipped".
label=$1; shift
pass=0 fail=0 skip=0
failed_suites=()
logdir=${MICA_TEST_LOGS:-build/test-logs}
mkdir -p "$logdir"
timeout_s=${MICA_SUITE_TIMEOUT:-900}

for suite in "$@"; do
	name=$(basename "$suite")
	log="$logdir/$name.log"
	start=$(date +%s)
	timeout --kill-after=10 "$timeout_s" "$suite" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	line=$(grep -E '^([A-Za-z0-9_.-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		p=$(sed -E 's/^([A-Za-z0-9_.-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
		f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
		s=0
		grep -qE '[0-9]+ skipped' <<<"$line" && s=$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")
		# A suite that crashed after printing counts still fails.
		[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
	else
		if [ "$rc" = 0 ]; then p=1 f=0; else p=0 f=1; fi
		s=0
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	status=ok
	[ "$f" != 0 ] && { status=FAIL; failed_suites+=("$name"); }
	printf '  %-4s %-36s %4d passed %3d failed %3d skipped  %4ds\n' \
		"$status" "$name" "$p" "$f" "$s" "$secs"
	if [ "$f" != 0 ]; then
		echo "---- $log (last 40 lines) ----"
		tail -40 "$log"
		echo "----"
	fi
done

[ ${#failed_suites[@]} -gt 0 ] && echo "$label: failed suites: ${failed_suites[*]}"
echo "total: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
