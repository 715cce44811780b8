#!/bin/bash
# Console input under `mica run`: stdin (a pipe, or a terminal) reaches
# the guest's COM1 through mica-legacy; the echo guest takes receive
# interrupts and echoes each line.  A terminal is raw while the VM runs
# and restored however mica ends; Ctrl-A x stops the VM.
. "$(dirname "$0")/../lib/testlib.sh"
T_SUITE=console
G=$ROOT/build/guests
tmp=$(mktemp -d)
export MICA_RUNDIR=$tmp/run
mkdir -p "$MICA_RUNDIR"
trap 'exec 3>&-; rm -rf "$tmp"' EXIT

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	skip "/dev/kvm is not usable here"
	finish
	exit
fi

# 1. A pipe: 200 lines (12 KiB, far more than the 16-byte FIFO holds),
# then "quit".  Nothing may be lost or overrun: mica-legacy reads only
# what the FIFO has room for.
python3 - "$tmp/input" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(200):
        f.write("line %03d: the quick brown fox jumps over the lazy dog\n" % i)
    f.write("quit\n")
PY
want_sum=$(python3 -c '
import sys
h = 2166136261
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 16777619) & 0xffffffff
print("%08x" % h)' "$tmp/input")
mkfifo "$tmp/in"
"$MICA" run --name "con$$" --kernel "$G/echo.bz" --memory 64M --append lines \
	--console stdio <"$tmp/in" >"$tmp/out" 2>"$tmp/log" &
core=$!
exec 3>"$tmp/in"
if wait_for 20 grep -q '^echo: ready' "$tmp/out"; then
	cat "$tmp/input" >&3
	exec 3>&-
	timeout 120 tail --pid="$core" -f /dev/null
	wait "$core"
	rc=$?
	grep '^echo: line' "$tmp/out" | sed 's/^echo: //' >"$tmp/echoed"
	head -200 "$tmp/input" | cmp -s - "$tmp/echoed" &&
		pass "pipe: 200 lines echoed back in order" ||
		{ fail "pipe: echoed lines differ"; diff <(head -200 "$tmp/input") "$tmp/echoed" | head -5; }
	grep -q "^echo: 201 lines, $(stat -c %s "$tmp/input") bytes, sum $want_sum$" "$tmp/out" &&
		pass "pipe: the guest got every byte (count and FNV-1a sum match)" ||
		{ fail "pipe: byte count or sum"; grep '^echo: [0-9]' "$tmp/out"; }
	irqs=$(sed -n 's/^echo: \([0-9]*\) receive interrupts, 0 overruns, 0 unexpected IIR$/\1/p' "$tmp/out")
	echo "    $(grep 'receive interrupts' "$tmp/out")"
	[ "$rc" = 0 ] && [ -n "$irqs" ] && [ "$irqs" -gt 0 ] &&
		pass "pipe: interrupt-driven (RDA/timeout IRQs), no overrun, status 0" ||
		{ fail "pipe: rc $rc, interrupts '$irqs'"; sed 's/^/    | /' "$tmp/log" | tail; }
else
	exec 3>&-
	fail "pipe: no 'echo: ready'"
	sed 's/^/    | /' "$tmp/log" "$tmp/out" | tail
	kill "$core" 2>/dev/null
	wait "$core"
fi

# 2. A terminal (a pty): raw while running, Ctrl-A x stops the VM, the
# terminal comes back as it was; the same after SIGTERM; and Ctrl-A x
# works while a guest that never reads COM1 has input piling up.
for mode in escape sigterm stuck; do
	guest=echo.bz
	[ "$mode" = stuck ] && guest=ticker.bz
	python3 "$(dirname "$0")/pty-console.py" "$mode" "$tmp/log" -- \
		"$MICA" run --name "conpty$$-$mode" --kernel "$G/$guest" --memory 64M \
		--append lines --console stdio &&
		{ [ "$mode" = sigterm ] || grep -q "stopping VM .*(Ctrl-A x on the console)" "$tmp/log"; } &&
		{ [ "$mode" != stuck ] || grep -q "dropping typed input" "$tmp/log"; } &&
		pass "terminal ($mode): raw mode on, restored on exit, status 0" ||
		{ fail "terminal ($mode)"; sed 's/^/    | /' "$tmp/log" | tail; }
done

finish
