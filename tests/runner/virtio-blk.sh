#!/bin/bash
# virtio-blk end to end: the virtio-blk test guest (tests/guests/virtio-blk.c)
# drives the runner's virtio-pci function, whose back-end is a real
# vhost-user-blk server (mica-blk standalone, raw and qcow2, and
# qemu-storage-daemon): doorbells are ioeventfds handed to the back-end as
# kick fds, completions MSI-X irqfds.  Afterwards the image is checked from
# the host: the 16 sectors the guest wrote hold its pattern, the rest is
# untouched.
#
# Then the same under `mica run` for qcow2 disks, the way a VM runs them:
# mica-blockd owns the image metadata and serves mappings, mica-blk does
# the data I/O on the fds blockd gave it (docs/block.md): a qcow2 image, a
# qcow2 overlay on a qcow2 and on a raw base (backing files listed for
# the disk, refused otherwise), and kill -9 of mica-blockd
# and mica-blk while the guest allocates ("walk"); afterwards qemu-img
# check is clean and the data is all there (qemu-img compare, check-walk).
# MICA_BLK_KILL_RUNS=N repeats the kill run N times (tests/blk/crash-mica-run.sh,
# make test-slow: 10 runs, 50 kills).
. "$(dirname "$0")/../lib/testlib.sh"
T_SUITE=virtio-blk
RUN=$ROOT/build/tests/guest-run
GUEST=$ROOT/build/guests/virtio-blk.bz
tmp=$(mktemp -d)
server=
vm=
export MICA_RUNDIR=$tmp/run
mkdir -p "$MICA_RUNDIR"
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	[ -n "$vm" ] && kill "$vm" 2>/dev/null && wait "$vm" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	skip "/dev/kvm is not usable here"
	finish
	exit
fi

# The guest writes sectors 8-23, each "MICA-VIRTIO-BLK sector NN\n" then
# bytes (NN * 7 + i) & 0xff.
check_image() { python3 "$(dirname "$0")/check-pattern.py" "$1"; }

stop_server() {
	kill "$server" 2>/dev/null
	wait "$server" 2>/dev/null
	server=
}

# run_guest NAME SOCKET: the guest against the back-end on SOCKET.
run_guest() {
	local name=$1 sock=$2
	"$RUN" -t 60 -b "$sock" -k "$GUEST" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" = 0 ] && grep -q '^virtio-blk: read back 16 sectors, pattern verified$' "$tmp/out" &&
	   grep -q '^virtio-blk: ok$' "$tmp/out"; then
		return 0
	fi
	echo "    $name: guest-run exited $rc"
	sed 's/^/    | /' "$tmp/out" "$tmp/err" "$tmp/server.log" | tail -25
	return 1
}

# mica-blk standalone, raw
truncate -s 1M "$tmp/raw.img"
"$BIN/mica-blk" --socket-path "$tmp/blk.sock" --blk-file "$tmp/raw.img" \
	--format raw >"$tmp/server.log" 2>&1 &
server=$!
if run_guest mica-blk-raw "$tmp/blk.sock"; then
	grep -E 'MSI-X interrupts|device features' "$tmp/out" | sed 's/^/    /'
	pass "mica-blk (raw): guest wrote, flushed, read back and verified 16 sectors"
	check "mica-blk (raw): the image holds the guest's pattern" check_image "$tmp/raw.img"
else
	fail "mica-blk (raw)"
fi
stop_server

# mica-blk standalone, qcow2 (read back through qemu-img)
if command -v qemu-img >/dev/null; then
	qemu-img create -q -f qcow2 "$tmp/d.qcow2" 1M
	"$BIN/mica-blk" --socket-path "$tmp/q.sock" --blk-file "$tmp/d.qcow2" \
		--format qcow2 >"$tmp/server.log" 2>&1 &
	server=$!
	if run_guest mica-blk-qcow2 "$tmp/q.sock"; then
		stop_server
		qemu-img convert -O raw "$tmp/d.qcow2" "$tmp/q.raw" &&
			check_image "$tmp/q.raw" &&
			pass "mica-blk (qcow2): verified in the guest and by qemu-img convert" ||
			fail "mica-blk (qcow2): image check"
	else
		fail "mica-blk (qcow2)"
	fi
	stop_server
else
	skip "qemu-img not installed"
fi

# kill -9 the back-end while the guest loops over write/read/verify, start
# a new one on the same socket: the front-end reconnects (features, kept
# inflight buffer, memory table, rings resumed at their used index) and
# the guest finishes every round.  (restart_test NAME START-COMMAND...)
restart_test() {
	local name=$1
	shift
	"$@" >"$tmp/server.log" 2>&1 &
	server=$!
	"$RUN" -t 60 -b "$tmp/r.sock" -k "$GUEST" -l loop >"$tmp/out" 2>"$tmp/err" &
	local run=$!
	if ! wait_for 20 grep -q '^round 50$' "$tmp/out"; then
		fail "$name restart: the guest did not start looping"
		kill "$run"; wait "$run"; stop_server
		sed 's/^/    | /' "$tmp/out" "$tmp/err" | tail
		return
	fi
	local at=$(($(grep -c '^round' "$tmp/out") * 50))
	kill -9 "$server"
	wait "$server" 2>/dev/null
	"$@" >>"$tmp/server.log" 2>&1 &
	server=$!
	wait "$run"
	local rc=$?
	stop_server
	echo "    $name: killed after round $at of 300"
	if [ "$rc" = 0 ] && grep -q '^virtio-blk: 300 rounds verified$' "$tmp/out" &&
	   grep -q 'rings resumed at their used index' "$tmp/err"; then
		pass "$name killed -9 under a looping guest: reconnected, every round verified"
	else
		fail "$name restart (guest-run exited $rc)"
		sed 's/^/    | /' "$tmp/out" "$tmp/err" "$tmp/server.log" | tail -20
	fi
}
truncate -s 1M "$tmp/r.img"
restart_test mica-blk "$BIN/mica-blk" --socket-path "$tmp/r.sock" --blk-file "$tmp/r.img" --format raw
check "mica-blk restart: the image holds the guest's pattern" check_image "$tmp/r.img"

# qemu-storage-daemon as the vhost-user-blk back-end
if command -v qemu-storage-daemon >/dev/null; then
	truncate -s 1M "$tmp/qsd.img"
	qemu-storage-daemon --blockdev driver=file,node-name=d,filename="$tmp/qsd.img" \
		--export type=vhost-user-blk,id=e,node-name=d,writable=on,addr.type=unix,addr.path="$tmp/qsd.sock" \
		>"$tmp/server.log" 2>&1 &
	server=$!
	if run_guest qemu-storage-daemon "$tmp/qsd.sock"; then
		pass "qemu-storage-daemon: guest wrote, flushed, read back and verified 16 sectors"
		check "qemu-storage-daemon: the image holds the guest's pattern" check_image "$tmp/qsd.img"
	else
		fail "qemu-storage-daemon"
	fi
	stop_server
	truncate -s 1M "$tmp/r.img"
	rm -f "$tmp/r.sock"
	restart_test qemu-storage-daemon qemu-storage-daemon \
		--blockdev driver=file,node-name=d,filename="$tmp/r.img" \
		--export type=vhost-user-blk,id=e,node-name=d,writable=on,addr.type=unix,addr.path="$tmp/r.sock"
	check "qemu-storage-daemon restart: the image holds the guest's pattern" check_image "$tmp/r.img"
else
	skip "qemu-storage-daemon not installed"
fi

# ---- under mica run ------------------------------------------------------

GUESTS=$ROOT/build/guests
nvm=0
# mica_run DISK-SPEC [mica run options...]: the guest under mica run as VM
# vb$$-$nvm (next_vm first), console in $tmp/cons, mica's log in
# $tmp/mlog; returns mica's status.
next_vm() { nvm=$((nvm + 1)); }
mica_run() {
	local disk=$1
	shift
	: >"$tmp/cons"
	timeout 120 "$BIN/mica" run --name "vb$$-$nvm" --kernel "$GUESTS/virtio-blk.bz" \
		--memory 64M --console "file:$tmp/cons" --disk "$disk" "$@" >"$tmp/mlog" 2>&1
}
quiet() { "$@" >/dev/null; }
# qemu-img check: 0 clean, 3 leaked clusters only (allowed after a crash).
no_corruption() {
	qemu-img check "$1" >"$tmp/check.out" 2>&1
	local rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || { sed 's/^/    | /' "$tmp/check.out" | tail; false; }
}
show_run() {
	sed 's/^/    | /' "$tmp/mlog" "$tmp/cons" | tail -20
}
# proc_pid NAME: pid of process NAME of the running VM vb$$-$nvm
proc_pid() {
	"$BIN/mica" status "vb$$-$nvm" --json 2>/dev/null | python3 -c '
import json, sys
print([p["pid"] for p in json.load(sys.stdin)["processes"] if p["name"] == sys.argv[1]][0])' "$1"
}

# kill_walk RUN: kill -9 of mica-blockd and mica-blk while the guest
# allocates a new cluster every round, flushing every 10; each kill a
# little after a round marker, so it lands anywhere between flushes.
# mica restarts them, mica-blk replays what the dead blockd had not
# flushed, the runner reconnects to the new mica-blk, the guest finishes
# every round; then qemu-img check and check-walk.py on the image.
kill_walk() {
	local run=$1 killed="" round=50 k=0 pid rc
	qemu-img create -q -f qcow2 "$tmp/w.qcow2" 32M
	next_vm
	mica_run "$tmp/w.qcow2,format=qcow2" --append walk &
	vm=$!
	for who in blockd blk0 blockd blk0 blockd; do
		if ! wait_for 60 grep -q "^round $round\$" "$tmp/cons"; then
			break
		fi
		k=$((k + 1))
		sleep "0.$(( (run * 7 + k * 13) % 40 ))"
		pid=$(proc_pid $who)
		[ -n "$pid" ] && kill -9 "$pid" && killed="$killed $who@$round"
		round=$((round + 50))
	done
	wait "$vm"
	rc=$?
	vm=
	replays=$((replays + $(grep -c 'replayed .* unflushed allocations' "$tmp/mlog")))
	echo "    run $run killed:$killed"
	if [ "$rc" = 0 ] && grep -q '^virtio-blk: 300 walk rounds verified$' "$tmp/cons" &&
	   [ "$(wc -w <<<"$killed")" = 5 ]; then
		pass "mica run, qcow2, run $run: kill -9 of mica-blockd (3x) and mica-blk (2x) under an allocating guest: restarted, every round verified in the guest"
	else
		fail "mica run, qcow2 kill -9, run $run (mica exited $rc)"
		show_run
	fi
	check "mica run, qcow2 after the kills, run $run: qemu-img check finds no corruption" \
		no_corruption "$tmp/w.qcow2"
	qemu-img convert -O raw "$tmp/w.qcow2" "$tmp/w.raw"
	check "mica run, qcow2 after the kills, run $run: every flushed round is on the disk" \
		python3 "$(dirname "$0")/check-walk.py" "$tmp/w.raw" 300
}

if command -v qemu-img >/dev/null; then
	# The reference: the same guest on a raw disk.
	truncate -s 1M "$tmp/ref.raw"
	next_vm
	mica_run "$tmp/ref.raw,format=raw" && check_image "$tmp/ref.raw" ||
		{ fail "mica run, raw reference disk"; show_run; }

	qemu-img create -q -f qcow2 "$tmp/m.qcow2" 1M
	next_vm
	if mica_run "$tmp/m.qcow2,format=qcow2" && grep -q '^virtio-blk: ok$' "$tmp/cons"; then
		pass "mica run, qcow2: guest wrote, flushed, read back and verified (mappings from mica-blockd)"
		check "mica run, qcow2: qemu-img check is clean" qemu-img check -q "$tmp/m.qcow2"
		check "mica run, qcow2: qemu-img compare equals the raw reference" \
			qemu-img compare -q -f qcow2 -F raw "$tmp/m.qcow2" "$tmp/ref.raw"
	else
		fail "mica run, qcow2"
		show_run
	fi

	# Overlays: the backing file comes from mica (the manifest must list
	# it), blockd matches the image's backing name against it.  The
	# reference is the same guest on a raw copy of the base.
	for basefmt in qcow2 raw; do
		qemu-img create -q -f $basefmt "$tmp/base.$basefmt" 1M
		qemu-io -f $basefmt -c "write -P 0x77 64k 64k" -c "write -P 0x66 0 2k" \
			"$tmp/base.$basefmt" >/dev/null
		qemu-img convert -O raw "$tmp/base.$basefmt" "$tmp/ref-$basefmt.raw"
		next_vm
		mica_run "$tmp/ref-$basefmt.raw,format=raw" >/dev/null
		qemu-img create -q -f qcow2 -F $basefmt -b "$tmp/base.$basefmt" "$tmp/top.qcow2"
		next_vm
		if mica_run "$tmp/top.qcow2,format=qcow2,backing=$tmp/base.$basefmt" &&
		   grep -q '^virtio-blk: ok$' "$tmp/cons"; then
			pass "mica run, qcow2 overlay on a $basefmt base: guest verified its sectors"
			check "mica run, overlay on $basefmt: qemu-img check is clean" \
				qemu-img check -q "$tmp/top.qcow2"
			check "mica run, overlay on $basefmt: qemu-img compare equals the guest on a raw copy of the base" \
				qemu-img compare -q -f qcow2 -F raw "$tmp/top.qcow2" "$tmp/ref-$basefmt.raw"
			check "mica run, overlay on $basefmt: the base is untouched" \
				quiet qemu-io -f $basefmt -c "read -P 0 4k 8k" "$tmp/base.$basefmt"
		else
			fail "mica run, qcow2 overlay on a $basefmt base"
			show_run
		fi
	done
	# A backing file the manifest does not list is refused, clearly.
	next_vm
	mica_run "$tmp/top.qcow2,format=qcow2"
	check "mica run, overlay without the backing file in the manifest: refused, named" \
		grep -q "names backing file $tmp/base.raw, which the manifest does not allow" \
		"$tmp/mlog"

	runs=${MICA_BLK_KILL_RUNS:-1}
	replays=0
	for run in $(seq "$runs"); do
		kill_walk "$run"
	done
	# Kills land anywhere between flushes: over many runs some must
	# have caught unflushed allocations that mica-blk then replayed.
	[ "$runs" -ge 10 ] && check "kill -9 runs: mica-blk replayed unflushed allocations ($replays times)" \
		test "$replays" -gt 0
else
	skip "qemu-img not installed: qcow2 under mica run"
fi

finish
