#!/bin/bash
# QEMU as the front-end of a vhost-user-blk backend, with Mica's test guest.
#
# For each backend (mica-blk; with MICA_QEMU_BACKENDS also
# qemu-storage-daemon, "qsd", as the reference) and each image format
# (raw, qcow2 made by qemu-img):
#
#   run 1  one QEMU process: the guest (mica.test=blk) makes an ext2
#          filesystem on /dev/vda, writes files, syncs, reboots itself
#          (QEMU resets the device on the same vhost-user connection),
#          then reads the files back and checks their SHA-256 sums;
#   run 2  a second QEMU process (a new front-end connection): reads and
#          checks them again;
#   (mica-blk, qcow2: run 3 is killed with SIGKILL while the guest reads,
#   a second front-end meanwhile is refused, and run 4 reads the files)
#   then   the backend stops cleanly, `qemu-img check` (qcow2) is clean
#          and e2fsck finds the filesystem clean.
#
# The sums printed while writing must equal those computed in each later
# boot.  mica-blk also runs with 2 vCPUs, 2 queues and the packed ring,
# and must take the guest's discards (blkdiscard, fstrim) and its switch
# to write-through and back (a config-space write).
#
# Timings: boot to the guest's ready marker and whole runs (wall clock), and
# the guest's own clock for its phases, including a timed 32 MiB
# sequential write (fsync'd) and a 128 MiB sequential read of the disk.
# A table at the end; with MICA_QEMU_ROUNDS=N every case runs N times and
# the table gives medians (tests/qemu/blk-compare.sh, make test-slow).
# MICA_QEMU_BACKENDS picks backends: "mica-blk" (default), "mica-blk qsd".
# TCG only.
# Closing line: "N passed, N failed, N skipped".
source "$(dirname "$0")/../lib/testlib.sh"
T_SUITE=qemu-blk
GUEST=${MICA_GUEST:-$ROOT/build/guest}
QEMU=${QEMU:-qemu-system-x86_64}
BOOT_LIMIT=${MICA_QEMU_TIMEOUT:-240}	# seconds per QEMU run
DISK_SIZE=256M
ROUNDS=${MICA_QEMU_ROUNDS:-1}
BACKENDS=${MICA_QEMU_BACKENDS:-mica-blk}

if ! command -v "$QEMU" >/dev/null || ! command -v qemu-img >/dev/null; then
	skip "needs $QEMU and qemu-img (qemu-system-x86, qemu-utils)"
	finish; exit
fi
if ! "$ROOT/tests/guest-image/build.sh" "$GUEST" >/dev/null; then
	fail "building the test guest (tests/guest-image/build.sh)"
	finish; exit
fi

T=$(mktemp -d /tmp/mica-qemu-blk.XXXXXX)
BACKEND_PID=
cleanup() {
	[ -n "$BACKEND_PID" ] && kill "$BACKEND_PID" 2>/dev/null
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
	wait 2>/dev/null
	[ "$T_FAIL" = 0 ] && rm -rf "$T" || echo "logs kept in $T"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# show_logs CASE: the tail of the guest console(s) and of the backend log.
show_logs() {
	local f
	for f in "$T/$1".console*; do
		[ -f "$f" ] || continue
		echo "---- $f (last 30 lines, sums left out) ----"
		grep -v '^SUM ' "$f" | tail -30
	done
	echo "---- $T/$1.backend.log (last 15 lines) ----"
	tail -15 "$T/$1.backend.log" 2>/dev/null
	echo "----"
}

# bad CASE WHAT: a failed check, with the logs that explain it (the logs
# once per case and run: they only grow).
declare -A SHOWN=()
bad() {
	local key="$1:$(ls "$T/$1".console* 2>/dev/null | wc -l)"

	fail "$1: $2"
	if [ -z "${SHOWN[$key]}" ]; then
		show_logs "$1"
		SHOWN[$key]=1
	fi
}

# start_backend CASE BACKEND FORMAT IMAGE SOCKET QUEUES
start_backend() {
	local case=$1 backend=$2 format=$3 img=$4 sock=$5 queues=$6
	rm -f "$sock"
	case $backend in
	mica-blk)
		"$BIN/mica-blk" --socket-path "$sock" --blk-file "$img" --format "$format" \
			--num-queues "$queues" >"$T/$case.backend.log" 2>&1 &
		;;
	qsd)
		local node=(--blockdev "driver=file,filename=$img,node-name=file0")
		[ "$format" = qcow2 ] &&
			node+=(--blockdev "driver=qcow2,file=file0,node-name=fmt0")
		qemu-storage-daemon "${node[@]}" \
			--export "type=vhost-user-blk,id=exp0,node-name=$([ "$format" = qcow2 ] && echo fmt0 || echo file0),addr.type=unix,addr.path=$sock,writable=on,num-queues=$queues" \
			>"$T/$case.backend.log" 2>&1 &
		;;
	esac
	BACKEND_PID=$!
	wait_for 10 test -S "$sock"
}

# stop_backend: SIGTERM, and it must exit with status 0.
stop_backend() {
	local rc
	kill -TERM "$BACKEND_PID"
	wait "$BACKEND_PID"
	rc=$?
	BACKEND_PID=
	return $rc
}

# boot_start CASE RUN SOCKET [QEMU options...]: start one QEMU process
# (QEMU_PID); DEVICE_OPTS and SMP shape the machine.
boot_start() {
	local case=$1 run=$2 sock=$3
	shift 3
	RUN_CON="$T/$case.console$run" RUN_LOG="$T/$case.qemu$run.log"
	: >"$RUN_CON"
	RUN_T0=$(now)
	"$QEMU" -accel tcg -machine pc,memory-backend=mem -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,share=on -smp "$SMP" \
		-nodefaults -display none -monitor none -serial "file:$RUN_CON" \
		-chardev "socket,id=blk0,path=$sock" -device "vhost-user-blk-pci,chardev=blk0$DEVICE_OPTS" \
		-kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 mica.test=blk" "$@" >"$RUN_LOG" 2>&1 &
	QEMU_PID=$!
}

# boot_finish: wait for it (BOOT_LIMIT seconds at most, then SIGKILL and
# status 124).  Sets BOOT_S (to the ready marker) and TOTAL_S; returns
# QEMU's status.  QEMU's own messages go to the end of the console file.
boot_finish() {
	local rc
	BOOT_S=timeout
	wait_for "$BOOT_LIMIT" grep -q MICA-GUEST-READY "$RUN_CON" &&
		BOOT_S=$(elapsed "$RUN_T0" "$(now)")
	if wait_for "$BOOT_LIMIT" eval "! kill -0 $QEMU_PID 2>/dev/null"; then
		wait "$QEMU_PID"
		rc=$?
	else
		kill -KILL "$QEMU_PID"
		wait "$QEMU_PID"
		rc=124
	fi
	QEMU_PID=
	TOTAL_S=$(elapsed "$RUN_T0" "$(now)")
	[ "$rc" != 0 ] && cat "$RUN_LOG" >>"$RUN_CON"
	return $rc
}

# boot CASE RUN SOCKET [QEMU options...]: one QEMU process, to completion.
boot() {
	boot_start "$@"
	boot_finish
}

# front_end_killed CASE SOCKET WRITTEN: run 3 is killed (SIGKILL) while
# the guest reads; meanwhile a second front-end is refused without
# disturbing it.  Run 4, a new QEMU, must then read the files intact.
front_end_killed() {
	local case=$1 sock=$2 written=$3 rc
	boot_start "$case" 3 "$sock" -no-reboot
	if ! wait_for "$BOOT_LIMIT" grep -q 'MICA-BLK-PHASE verify' "$RUN_CON"; then
		boot_finish
		bad "$case" "run 3: the guest never started reading"
		return
	fi
	timeout 60 "$QEMU" -accel tcg -machine pc,memory-backend=mem -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,share=on -nodefaults \
		-display none -monitor none -chardev "socket,id=blk0,path=$sock" \
		-device vhost-user-blk-pci,chardev=blk0 >"$T/$case.qemu-second.log" 2>&1
	rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] &&
	   grep -q 'already connected; refusing another' "$T/$case.backend.log"; then
		pass "$case: a second front-end is refused while one is connected"
	else
		cat "$T/$case.qemu-second.log"
		bad "$case" "a second front-end: QEMU status $rc, want a refusal"
	fi
	sleep 0.3
	kill -KILL "$QEMU_PID"
	wait "$QEMU_PID"
	QEMU_PID=
	if grep -q 'MICA-TEST-END' "$RUN_CON"; then
		skip "$case: run 3 finished before it could be killed"
	else
		pass "$case: run 3 killed while the guest was reading"
	fi
	if boot "$case" 4 "$sock" -no-reboot && [ "$(phases "$RUN_CON")" = verify ] &&
	   grep -q 'MICA-TEST-END blk rc=0' "$RUN_CON" &&
	   [ "$written" = "$(sums "$RUN_CON" 1)" ]; then
		pass "$case: after that, a new QEMU reads the files intact"
	else
		bad "$case" "run 4 (after a killed front-end): phases '$(phases "$RUN_CON")', want 'verify' with the written sums"
	fi
}

# phase_time FILE PHASE [N]: the guest's own time for its N-th PHASE.
phase_time() {
	local t
	t=$(grep "MICA-BLK-TIME $2 " "$1" | sed -n "${3:-1}p" | awk '{ print $3 }' | tr -d '\r')
	echo "${t:--}"
}
# phases FILE: the blk test's phases in order, e.g. "write verify".
phases() { grep -o 'MICA-BLK-PHASE [a-z]*' "$1" | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//'; }
# sums FILE N: the SUM lines of the N-th phase in FILE.
sums() {
	awk -v n="$2" '/MICA-BLK-PHASE/ { p++ } /^SUM / && p == n { print }' "$1" | tr -d '\r'
}

# Timings, one line per case run: label and numbers (seconds).
TIMES_HEAD="boot write seqwrite verify seqread run1 boot2 verify2 run2"

# one_case BACKEND FORMAT [mq2-packed]: the last runs 2 vCPUs, 2 queues
# and the packed ring.
one_case() {
	local backend=$1 format=$2 variant=$3 case="$1-$2${3:+-$3}${ROUND:+-$ROUND}"
	local img sock written ok times queues=1 want_packed=0 dev
	img="$T/$case.$format"
	sock="$T/$case.sock"
	SMP=1 DEVICE_OPTS=
	if [ "$variant" = mq2-packed ]; then
		queues=2 want_packed=1 SMP=2 DEVICE_OPTS=",num-queues=2,packed=on"
	fi
	echo "== $backend, $format image${variant:+, $variant}${ROUND:+, round $ROUND}"
	if [ "$format" = qcow2 ]; then
		qemu-img create -q -f qcow2 "$img" "$DISK_SIZE"
	else
		qemu-img create -q -f raw "$img" "$DISK_SIZE"
	fi
	if ! start_backend "$case" "$backend" "$format" "$img" "$sock" "$queues"; then
		bad "$case" "backend did not create its socket"
		stop_backend
		return
	fi

	# Run 1: write, reboot inside the guest, verify.
	if boot "$case" 1 "$sock"; then
		pass "$case: run 1 (write, guest reboot, verify) exits cleanly"
	else
		bad "$case" "run 1: QEMU exited with status $? (124: timed out)"
	fi
	times="$BOOT_S"
	for p in write seqwrite verify seqread; do
		times="$times $(phase_time "$T/$case.console1" $p)"
	done
	times="$times $TOTAL_S"
	echo "  $case run 1: boot to ready ${BOOT_S}s, write+reboot+verify total ${TOTAL_S}s"
	written=$(sums "$T/$case.console1" 1)
	ok=1
	[ "$(phases "$T/$case.console1")" = "write verify" ] || ok=0
	[ "$(grep -c 'MICA-TEST-END blk rc=0' "$T/$case.console1")" = 2 ] || ok=0
	[ "$(echo "$written" | grep -c .)" -ge 60 ] || ok=0
	[ "$written" = "$(sums "$T/$case.console1" 2)" ] || ok=0
	if [ $ok = 1 ]; then
		pass "$case: files read back after the guest's reboot match"
	else
		bad "$case" "run 1: phases '$(phases "$T/$case.console1")', want 'write verify' with equal sums"
	fi
	# What the guest's driver negotiated: queues, and bit 34 (packed ring).
	dev=$(grep -m1 -o 'MICA-BLK-DEV features=[01]* queues=[0-9]*' "$T/$case.console1")
	if [ "${dev##*queues=}" = "$queues" ] &&
	   [ "$(echo "$dev" | sed -E 's/.*features=([01]*) .*/\1/' | cut -c35)" = "$want_packed" ]; then
		pass "$case: guest uses $queues queue(s), packed ring $want_packed"
	else
		bad "$case" "negotiated '$dev', want queues=$queues and bit 34 = $want_packed"
	fi
	if [ "$backend" = mica-blk ]; then
		if grep -q 'MICA-BLK-DISCARD ok' "$T/$case.console1" &&
		   grep -q 'MICA-BLK-TRIM ok' "$T/$case.console1"; then
			pass "$case: blkdiscard and fstrim succeed"
		else
			bad "$case" "blkdiscard or fstrim failed in the guest"
		fi
		if grep -q 'MICA-BLK-WCE ok write back' "$T/$case.console1"; then
			pass "$case: the guest switches to write-through and back (config space wce)"
		else
			bad "$case" "switching the cache to write-through and back failed in the guest"
		fi
	fi

	# Run 2: a new QEMU process, a new front-end connection.
	if boot "$case" 2 "$sock" -no-reboot; then
		pass "$case: run 2 (a second QEMU, verify) exits cleanly"
	else
		bad "$case" "run 2: QEMU exited with status $? (124: timed out)"
	fi
	times="$times $BOOT_S $(phase_time "$T/$case.console2" verify) $TOTAL_S"
	echo "  $case run 2: boot to ready ${BOOT_S}s, verify total ${TOTAL_S}s"
	if [ "$(phases "$T/$case.console2")" = verify ] &&
	   grep -q 'MICA-TEST-END blk rc=0' "$T/$case.console2" &&
	   [ -n "$written" ] && [ "$written" = "$(sums "$T/$case.console2" 1)" ]; then
		pass "$case: files read back by a second QEMU match"
	else
		bad "$case" "run 2: phases '$(phases "$T/$case.console2")', want 'verify' with the written sums"
	fi

	[ "$backend" = mica-blk ] && [ "$format" = qcow2 ] && [ -z "$variant" ] &&
		front_end_killed "$case" "$sock" "$written"

	if stop_backend; then
		pass "$case: backend exits 0 on SIGTERM"
	else
		bad "$case" "backend exit status $? on SIGTERM"
	fi
	if [ "$format" = qcow2 ]; then
		if qemu-img check -q "$img" >"$T/$case.check.log" 2>&1; then
			pass "$case: qemu-img check is clean"
		else
			cat "$T/$case.check.log"
			bad "$case" "qemu-img check"
		fi
		qemu-img convert -f qcow2 -O raw "$img" "$T/$case.fs"
	else
		cp --sparse=always "$img" "$T/$case.fs"
	fi
	if e2fsck -fn "$T/$case.fs" >"$T/$case.fsck.log" 2>&1; then
		pass "$case: e2fsck finds the guest's filesystem clean"
	else
		cat "$T/$case.fsck.log"
		bad "$case" "e2fsck"
	fi
	rm -f "$T/$case.fs"
	echo "$backend:$format${variant:+:$variant} $times" >>"$T/times"
}

# print_times: one row per case (medians over rounds), sequential MB/s.
print_times() {
	python3 - "$T/times" "$ROUNDS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, *vals = line.split()
    rows.setdefault(label, []).append([float(v) if v.replace('.', '').isdigit() else None
                                       for v in vals])
def med(runs, i):
    v = [r[i] for r in runs if i < len(r) and r[i] is not None]
    return statistics.median(v) if v else float('nan')
print("  %-26s %6s %6s %8s %6s %8s %6s %6s %7s %6s %9s %9s" % (
    "backend:format", "boot", "write", "seqwrite", "verify", "seqread", "run1",
    "boot2", "verify2", "run2", "seqw MB/s", "seqr MB/s"))
for label, runs in rows.items():
    m = [med(runs, i) for i in range(9)]
    print("  %-26s %6.1f %6.2f %8.2f %6.2f %8.2f %6.1f %6.1f %7.2f %6.1f %9.1f %9.1f" % (
        label, *m, 32 / m[2] if m[2] else 0, 128 / m[4] if m[4] else 0))
PY
}

for ((r = 1; r <= ROUNDS; r++)); do
	[ "$ROUNDS" -gt 1 ] && ROUND=$r
	for backend in $BACKENDS; do
		if [ "$backend" = qsd ] && ! command -v qemu-storage-daemon >/dev/null; then
			[ "$r" = 1 ] && skip "qemu-storage-daemon comparison (not installed)"
			continue
		fi
		one_case "$backend" raw
		one_case "$backend" qcow2
		[ "$backend" = mica-blk ] && one_case mica-blk raw mq2-packed
	done
done

echo "== timings in seconds${ROUND:+, medians of $ROUNDS rounds} (TCG; mq2-packed has 2 vCPUs, the rest 1)"
echo "   wall clock: boot (to the ready marker), run1 (boot, write, reboot, boot, verify),"
echo "   boot2 and run2 (a second QEMU: boot, verify); the guest's clock: write, seqwrite"
echo "   (32 MiB, fsync), verify, seqread (128 MiB of /dev/vda), verify2"
[ -s "$T/times" ] && print_times
finish
