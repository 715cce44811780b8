#!/bin/bash
# The foundation's acceptance test: `mica run` starts the whole jailed
# process set; every process is confined as promised; crashes are
# supervised; stopping leaves nothing behind.
T_SUITE=foundation
source "$(dirname "$0")/../lib/testlib.sh"
set +m        # no job-control chatter when we kill -9 our own mica

# netd creates a real TAP for the tap NIC: do it in a network namespace
# of our own, never on the host.
if [ -z "$MICA_IN_NETNS" ] && [ "$(id -u)" = 0 ]; then
	exec env MICA_IN_NETNS=1 unshare --net bash "$0" "$@"
fi

WORK=$(mktemp -d /tmp/mica-foundation.XXXXXX)
export MICA_RUNDIR=$WORK/run
LOG=$WORK/mica.log
MICA_PID=
cleanup() {
	[ -n "$MICA_PID" ] && kill -9 "$MICA_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

head -c 1048576 /dev/zero > "$WORK/kernel"
truncate -s 64M "$WORK/disk.raw"
cat > "$WORK/all.json" <<JSON
{
  "name": "fnd",
  "machine": { "cpus": 1, "memory": "64M" },
  "boot": { "kernel": "kernel", "cmdline": "console=ttyS0" },
  "disks": [ { "path": "disk.raw", "format": "raw" } ],
  "nets": [ { "mode": "user", "hostfwd": ["tcp::2222-:22"] },
            { "mode": "tap", "ifname": "micatest0" } ],
  "vfio": [ "0000:01:00.0" ],
  "console": { "mode": "none" },
  "test_hooks": true
}
JSON

status_json() { "$MICA" status fnd --json 2>/dev/null; }
# field NAME KEY: one field of one process from `mica status --json`
field() {
	status_json | python3 -c 'import json,sys
d=json.load(sys.stdin)
p=[p for p in d["processes"] if p["name"]==sys.argv[1]]
print(p[0][sys.argv[2]] if p else "")' "$1" "$2" 2>/dev/null
}
all_running() {
	status_json | python3 -c 'import json,sys
d=json.load(sys.stdin)
sys.exit(0 if all(p["state"]=="running" for p in d["processes"]) else 1)' 2>/dev/null
}

# The children of this test's VM (other VMs may run on the machine).
child_pids() {
	status_json | python3 -c 'import json,sys
print(" ".join(str(p["pid"]) for p in json.load(sys.stdin)["processes"] if p["pid"]))' 2>/dev/null
}
CHILDREN=
no_children() {
	local p
	[ -n "$CHILDREN" ] || { echo "    (no child pids recorded)"; return 1; }
	for p in $CHILDREN; do
		[ -e /proc/$p ] && [ "$(cat /proc/$p/comm 2>/dev/null)" != "" ] &&
			grep -q '^State:[[:space:]]*[^Z]' /proc/$p/status 2>/dev/null && return 1
	done
	return 0
}

start_vm() {
	"$MICA" run "$WORK/all.json" >"$LOG" 2>&1 &
	MICA_PID=$!
	wait_for $T_WAIT all_running
}

check "mica run starts the process set" start_vm
names=$(status_json | python3 -c 'import json,sys
print(" ".join(sorted(p["name"] for p in json.load(sys.stdin)["processes"])))')
check "status lists every process ($names)" \
	test "$names" = "blk0 blockd legacy net0 net1 netd vcpu vfio"

host_ns() { readlink /proc/self/ns/$1; }
confined() {
	local name=$1 pid st caps want_caps=0000000000000000 ns
	pid=$(field "$name" pid)
	st=/proc/$pid/status
	[ -r "$st" ] || { echo "    $name: no /proc/$pid"; return 1; }
	[ "$name" = netd ] && want_caps=0000000000001000
	caps=$(awk '/^CapEff:/ {print $2}' "$st")
	[ "$caps" = "$want_caps" ] || { echo "    $name: CapEff $caps"; return 1; }
	grep -q "^NoNewPrivs:[[:space:]]1$" "$st" || { echo "    $name: NoNewPrivs"; return 1; }
	grep -q "^Seccomp:[[:space:]]2$" "$st" || { echo "    $name: Seccomp"; return 1; }
	awk '/^Uid:/ { for (i = 2; i <= 5; i++) if ($i == 0) exit 1 }' "$st" ||
		{ echo "    $name: uid 0"; return 1; }
	[ -z "$(ls -A /proc/$pid/root/)" ] || { echo "    $name: root not empty"; return 1; }
	for ns in pid mnt uts ipc net user; do
		if [ "$name" = netd ] && { [ $ns = net ] || { [ $ns = user ] && [ "$(id -u)" = 0 ]; }; }; then
			[ "$(readlink /proc/$pid/ns/$ns)" = "$(host_ns $ns)" ] ||
				{ echo "    netd: $ns namespace is not the host's"; return 1; }
		elif [ "$name" = net0 ] && [ $ns = net ]; then
			# The user-mode NIC: slirp's sockets are the guest's way out.
			[ "$(readlink /proc/$pid/ns/$ns)" = "$(host_ns $ns)" ] ||
				{ echo "    net0 (user mode): not in mica's network namespace"; return 1; }
		elif [ "$(readlink /proc/$pid/ns/$ns)" = "$(host_ns $ns)" ]; then
			echo "    $name: shares the host's $ns namespace"; return 1
		fi
	done
}
for n in $names; do
	check "$n: CapEff, NoNewPrivs, Seccomp 2, uid, empty root, namespaces" confined "$n"
done

# kill -9 of every device process: restarted (the time it took is reported,
# not asserted: the machine may be loaded), visible in status.
restarted() {
	local name=$1 old=$2
	[ "$(field "$name" state)" = running ] && [ "$(field "$name" pid)" != "$old" ] &&
		[ "$(field "$name" pid)" != 0 ]
}
for n in blk0 blockd legacy net0 net1 netd vfio; do
	old=$(field "$n" pid)
	kill -9 "$old"
	t0=$(date +%s%N)
	if wait_for $T_WAIT restarted "$n" "$old"; then
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		r=$(field "$n" restarts)
		check "kill -9 $n: restarted in ${ms} ms, restarts=$r" test "$r" -ge 1
	else
		fail "kill -9 $n: not running again within $T_WAIT s"
	fi
done

# A device calling a syscall outside its list is killed and restarted.
old=$(field blk0 pid)
"$MICA" debug fnd blk0 forbidden-syscall >/dev/null 2>&1
check "forbidden syscall in blk0: restarted" wait_for $T_WAIT restarted blk0 "$old"
check "status names SIGSYS as blk0's last exit" \
	bash -c "'$MICA' status fnd | grep -q 'blk0.*SIGSYS'"
check "mica logs the SIGSYS kill" grep -q "blk0 killed by SIGSYS" "$LOG"
check "the VM keeps running" all_running

# The runner doing the same stops the whole VM.
CHILDREN=$(child_pids)
"$MICA" debug fnd vcpu forbidden-syscall >/dev/null 2>&1
wait "$MICA_PID"; rc=$?; MICA_PID=
check "forbidden syscall in vcpu: mica exits with status 1 (got $rc)" test "$rc" = 1
check "mica logs that the runner died of SIGSYS" \
	grep -q "vCPU runner killed by SIGSYS" "$LOG"
check "no process left after the runner died" wait_for $T_WAIT no_children
check "no control socket left" test ! -e "$MICA_RUNDIR/fnd.sock"

# mica stop: ordered shutdown, nothing left.
start_vm
CHILDREN=$(child_pids)
check "mica stop exits 0" "$MICA" stop fnd
wait "$MICA_PID"; rc=$?; MICA_PID=
check "mica run exits 0 after stop (got $rc)" test "$rc" = 0
check "no process left after stop" wait_for $T_WAIT no_children
check "no control socket left after stop" test ! -e "$MICA_RUNDIR/fnd.sock"

# SIGTERM to mica.
start_vm
CHILDREN=$(child_pids)
kill -TERM "$MICA_PID"
wait "$MICA_PID"; rc=$?; MICA_PID=
check "SIGTERM: mica exits 0 (got $rc)" test "$rc" = 0
check "SIGTERM: no process left" wait_for $T_WAIT no_children
check "SIGTERM: no control socket left" test ! -e "$MICA_RUNDIR/fnd.sock"

# kill -9 of mica: children die with their parent; the stale socket is
# cleared by the next `mica ps` (nothing can run in a SIGKILLed process).
start_vm
CHILDREN=$(child_pids)
kill -9 "$MICA_PID"
wait "$MICA_PID" 2>/dev/null; MICA_PID=
check "kill -9 mica: every child exits (die-with-parent)" wait_for $T_WAIT no_children
"$MICA" ps >/dev/null
check "kill -9 mica: mica ps removes the stale socket" test ! -e "$MICA_RUNDIR/fnd.sock"

# A malformed message on the control socket disconnects that client only.
start_vm
python3 - "$MICA_RUNDIR/fnd.sock" <<'PY'
import socket, sys
for junk in (b"\xff\xff\xff\xff\x0f", b"\x08" * 70000, b"\x0a\x02\x08\x63"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    try:
        s.send(junk)
        s.settimeout(2)
        s.recv(100)
    except OSError:
        pass
    s.close()
PY
check "malformed control messages: the VM still answers" all_running
check "malformed control messages are logged" grep -q "malformed message" "$LOG"
"$MICA" stop fnd >/dev/null; wait "$MICA_PID"; MICA_PID=

# As an ordinary user: every process, netd included, in a user namespace.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null &&
   setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$MICA"; then
	chmod 755 "$WORK"
	chmod 644 "$WORK/disk.raw" "$WORK/kernel" "$WORK/all.json"
	chmod 666 "$WORK/disk.raw"
	mkdir -p "$WORK/urun" && chown 65534:65534 "$WORK/urun"
	# Without privilege netd cannot make TAPs: a user-mode NIC only.
	cat > "$WORK/user.json" <<JSON
{
  "name": "ufnd",
  "machine": { "cpus": 1, "memory": "64M" },
  "boot": { "kernel": "kernel" },
  "disks": [ { "path": "disk.raw", "format": "raw" } ],
  "nets": [ { "mode": "user" } ],
  "console": { "mode": "none" }
}
JSON
	chmod 644 "$WORK/user.json"
	MICA_RUNDIR=$WORK/urun setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$MICA" run "$WORK/user.json" >"$WORK/user.log" 2>&1 &
	MICA_PID=$!
	user_running() {
		MICA_RUNDIR=$WORK/urun "$MICA" status ufnd --json 2>/dev/null | python3 -c 'import json,sys
d=json.load(sys.stdin); sys.exit(0 if all(p["state"]=="running" for p in d["processes"]) else 1)'
	}
	if wait_for $T_WAIT user_running; then
		pass "unprivileged mica run starts the process set"
		for pid in $(MICA_RUNDIR=$WORK/urun "$MICA" status ufnd --json | python3 -c 'import json,sys
print(" ".join(str(p["pid"]) for p in json.load(sys.stdin)["processes"]))'); do
			ok=1
			grep -q "^Seccomp:[[:space:]]2$" /proc/$pid/status || ok=0
			grep -q "^NoNewPrivs:[[:space:]]1$" /proc/$pid/status || ok=0
			# netd keeps CAP_NET_ADMIN, but only in its own user namespace,
			# which gives it nothing over the host's network.
			want=0000000000000000
			[ "$(cat /proc/$pid/comm)" = mica-netd ] && want=0000000000001000
			[ "$(awk '/^CapEff:/ {print $2}' /proc/$pid/status)" = $want ] || ok=0
			[ "$(readlink /proc/$pid/ns/user)" != "$(host_ns user)" ] || ok=0
			[ "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)" = 65534 ] || ok=0
			check "unprivileged: $(cat /proc/$pid/comm) confined in its own user namespace" test $ok = 1
		done
	else
		fail "unprivileged mica run starts the process set"
		tail -5 "$WORK/user.log"
	fi
	kill -TERM "$MICA_PID"; wait "$MICA_PID"; MICA_PID=
else
	skip "unprivileged run: needs root to switch to uid 65534 and setpriv"
fi

finish
