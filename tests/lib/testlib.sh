# Small helpers for shell test suites.  Source it, call check/skip, end
# with finish, which prints "N passed, N failed, N skipped" and sets the
# exit status.
T_PASS=0 T_FAIL=0 T_SKIP=0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${MICA_BIN:-$ROOT/build/bin}
MICA=$BIN/mica

pass() { T_PASS=$((T_PASS + 1)); echo "  ok    $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "  FAIL  $*"; }
skip() { T_SKIP=$((T_SKIP + 1)); echo "  skip  $*"; }

# check "description" command...: passes when the command succeeds.
check() {
	local what=$1; shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

finish() {
	echo "${T_SUITE:-tests}: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" = 0 ]
}

# wait_for SECONDS command...: poll every 50 ms until the command succeeds.
# Bounds are upper limits for a loaded machine, not expectations: use
# $T_WAIT (60 s unless set) where the state is bound to come.
T_WAIT=${T_WAIT:-60}
wait_for() {
	local limit=$1; shift
	local end=$(( $(date +%s%N) + limit * 1000000000 ))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}
