#!/bin/bash
# mica-netd under `mica run`, in a network namespace of its own: TAPs are
# created (or an existing one attached), put on the manifest's bridge and
# handed to mica-net; a restarted netd adopts them; stopping the VM removes
# exactly what it created; a killed VM's leftovers are swept by the next
# run.  Everything happens inside this test's namespace.
T_SUITE=netd
source "$(dirname "$0")/../lib/testlib.sh"

if [ -z "$MICA_IN_NETNS" ]; then
	if [ "$(id -u)" != 0 ]; then
		skip "needs root for a network namespace with TAP devices"
		finish; exit
	fi
	exec env MICA_IN_NETNS=1 unshare --net --mount-proc --fork --pid bash "$0" "$@"
fi

WORK=$(mktemp -d /tmp/mica-netd.XXXXXX)
export MICA_RUNDIR=$WORK/run
trap 'kill -9 $MICA_PID 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$WORK"' EXIT
head -c 4096 /dev/zero > "$WORK/kernel"
ip link set lo up
ip link add br0 type bridge && ip link set br0 up
ip tuntap add dev usertap0 mode tap       # the administrator's own TAP

cat > "$WORK/tap.json" <<JSON
{ "name": "nettest", "boot": { "kernel": "kernel" }, "console": { "mode": "none" },
  "nets": [ { "mode": "tap", "bridge": "br0" },
            { "mode": "tap", "ifname": "usertap0" },
            { "mode": "user" } ] }
JSON

field() {
	"$MICA" status nettest --json 2>/dev/null | python3 -c 'import json,sys
p=[p for p in json.load(sys.stdin)["processes"] if p["name"]==sys.argv[1]]
print(p[0][sys.argv[2]] if p else "")' "$1" "$2"
}
all_running() {
	"$MICA" status nettest --json 2>/dev/null | python3 -c 'import json,sys
sys.exit(0 if all(p["state"]=="running" for p in json.load(sys.stdin)["processes"]) else 1)'
}
generated_tap() { ip -o link show | awk -F': ' '$2 ~ /^mica[0-9a-f]+0/ {print $2}' | cut -d@ -f1; }
# Every process running and NIC 0 holding the TAP netd made for it.
vm_up() {
	local t
	all_running && t=$(generated_tap) && [ -n "$t" ] &&
		[[ "$(field net0 detail)" == *"TAP $t"* ]]
}
# The pids of this VM's processes, and whether they have all exited.
vm_pids() {
	"$MICA" status nettest --json 2>/dev/null | python3 -c 'import json,sys
print(" ".join(str(p["pid"]) for p in json.load(sys.stdin)["processes"] if p["pid"]))'
}
all_gone() {
	local p
	[ -n "$1" ] || return 1
	for p in $1; do
		grep -qs '^State:[[:space:]]*[^Z]' /proc/$p/status && return 1
	done
	return 0
}

"$MICA" run "$WORK/tap.json" >"$WORK/log" 2>&1 &
MICA_PID=$!
check "mica run with two TAP NICs and a user NIC starts" wait_for $T_WAIT vm_up
tap=$(generated_tap)
check "netd created a TAP for NIC 0 ($tap)" test -n "$tap"
check "it is on the manifest's bridge" bash -c "ip -o link show $tap | grep -q 'master br0'"
check "and up" bash -c "ip -o link show $tap | grep -q 'UP'"
check "mica-net 0 got its TAP from netd" bash -c "[[ \"$(field net0 detail)\" == *\"TAP $tap\"* ]]"
check "mica-net 1 got the existing usertap0" bash -c "[[ \"$(field net1 detail)\" == *'TAP usertap0'* ]]"
check "the user-mode NIC needs no TAP" bash -c "[[ \"$(field net2 detail)\" != *TAP* ]]"

old=$(field net0 pid)
kill -9 "$old"
net_restarted() { [ "$(field net0 state)" = running ] && [ "$(field net0 pid)" != "$old" ]; }
check "kill -9 mica-net 0: restarted" wait_for $T_WAIT net_restarted
given_again() { [[ "$(field net0 detail)" == *"TAP $tap"* ]]; }
check "and given its TAP again" wait_for $T_WAIT given_again

old=$(field netd pid)
kill -9 "$old"
restarted() { [ "$(field netd state)" = running ] && [ "$(field netd pid)" != "$old" ]; }
check "kill -9 netd: restarted" wait_for $T_WAIT restarted
check "restarted netd kept the TAPs" bash -c "ip link show $tap >/dev/null && ip link show usertap0 >/dev/null"

"$MICA" stop nettest >/dev/null; wait $MICA_PID; MICA_PID=
check "stop: the TAP netd created is gone" bash -c "! ip link show $tap >/dev/null 2>&1"
check "stop: the administrator's TAP and bridge stay" \
	bash -c "ip link show usertap0 >/dev/null && ip link show br0 >/dev/null"

# A VM killed outright leaves its persistent TAP; the next run sweeps it.
# netd is stopped first: otherwise it may see its control socket close
# before the parent-death SIGKILL lands, and remove the TAP itself.
"$MICA" run "$WORK/tap.json" >"$WORK/log2" 2>&1 &
MICA_PID=$!
check "second run starts" wait_for $T_WAIT vm_up
pids=$(vm_pids)
kill -STOP "$(field netd pid)"
kill -9 $MICA_PID; wait $MICA_PID 2>/dev/null; MICA_PID=
check "kill -9 mica: its processes exit" wait_for $T_WAIT all_gone "$pids"
check "kill -9 mica: its TAP is left behind ($(generated_tap))" test -n "$(generated_tap)"
"$MICA" run "$WORK/tap.json" >"$WORK/log3" 2>&1 &
MICA_PID=$!
check "third run starts" wait_for $T_WAIT vm_up
check "the next run sweeps and recreates exactly one TAP" test "$(generated_tap | wc -l)" = 1
"$MICA" stop nettest >/dev/null; wait $MICA_PID; MICA_PID=
check "and removes it at stop" test -z "$(generated_tap)"
finish
