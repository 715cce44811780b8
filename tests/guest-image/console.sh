# Drive the test guest's shell over its serial console, from a bash suite.
# Source it after tests/lib/testlib.sh (it uses wait_for).
#
#   console_open DIR            fifos DIR/console.in/.out and a log DIR/console.log;
#                               then give QEMU: -serial pipe:DIR/console
#   console_wait SECONDS REGEX  wait until the log matches (grep -E)
#   console_shell SECONDS       wait for the guest's shell, then turn off the
#                               tty's echo and kernel messages on the console
#                               so that they do not mix with command output
#   console_run SECONDS CMD     run CMD in the guest shell; its output goes to
#                               stdout, its exit status is returned (works
#                               in $(...): markers are unique per call)
#   console_close               stop reading
#
# The guest prints "MICA-GUEST-READY ..." when it is up and, without
# mica.test=, gives a shell with the prompt "mica# "; `exit` powers off.
CONSOLE_DIR=
CONSOLE_READER=

console_open() {
	CONSOLE_DIR=$1
	rm -f "$CONSOLE_DIR"/console.{in,out,log}
	mkfifo "$CONSOLE_DIR/console.in" "$CONSOLE_DIR/console.out"
	: >"$CONSOLE_DIR/console.log"
	# Read-write opens of a FIFO do not wait for the other side.
	exec {CONSOLE_FD}<>"$CONSOLE_DIR/console.in"
	cat <>"$CONSOLE_DIR/console.out" >>"$CONSOLE_DIR/console.log" &
	CONSOLE_READER=$!
}

console_wait() {
	wait_for "$1" grep -qE "$2" "$CONSOLE_DIR/console.log"
}

console_shell() {
	console_wait "$1" '^MICA-GUEST-READY' && console_wait 30 'mica# ' &&
		console_run 30 "stty -echo; dmesg -n 1" >/dev/null
}

console_run() {
	local limit=$1 seq out
	shift
	seq=$(date +%s%N)
	# Markers around the output; split by quotes so that the echoed
	# command line never matches them.
	printf 'echo "MICA-CMD""-BEGIN %d"; %s; echo "MICA-CMD""-END %d rc=$?"\n' \
		"$seq" "$*" "$seq" >&"$CONSOLE_FD"
	console_wait "$limit" "MICA-CMD-END $seq rc=[0-9]+" || return 124
	out=$(tr -d '\r' <"$CONSOLE_DIR/console.log" | awk -v seq="$seq" '
		$0 ~ "MICA-CMD-BEGIN " seq "$" { on = 1; next }
		on && match($0, "MICA-CMD-END " seq " rc=[0-9]+$") {
			if (RSTART > 1) print substr($0, 1, RSTART - 1)
			print "rc=" substr($0, RSTART + length("MICA-CMD-END " seq " rc="))
			exit
		}
		on { print }')
	[ "${out%rc=*}" != "" ] && printf '%s' "${out%rc=*}"
	return "${out##*rc=}"
}

console_close() {
	[ -n "$CONSOLE_READER" ] && kill "$CONSOLE_READER" 2>/dev/null
	wait "$CONSOLE_READER" 2>/dev/null
	CONSOLE_READER=
	[ -n "$CONSOLE_FD" ] && exec {CONSOLE_FD}>&-
}
