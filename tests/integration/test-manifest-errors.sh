#!/bin/bash
# Bad manifests and flags: one clear line naming the JSON path (or flag),
# exit status 2, and nothing started.
T_SUITE=manifest-errors
source "$(dirname "$0")/../lib/testlib.sh"

WORK=$(mktemp -d /tmp/mica-manifest.XXXXXX)
export MICA_RUNDIR=$WORK/run
trap 'rm -rf "$WORK"' EXIT
head -c 4096 /dev/zero > "$WORK/kernel"

# bad NAME EXPECTED-TEXT JSON [flags...]
bad() {
	local name=$1 want=$2 json=$3; shift 3
	local out rc lines
	printf '%s\n' "$json" > "$WORK/$name.json"
	out=$("$MICA" run "$WORK/$name.json" "$@" 2>&1); rc=$?
	lines=$(printf '%s\n' "$out" | wc -l)
	if [ "$rc" = 2 ] && [ "$lines" = 1 ] && [[ "$out" == *"$want"* ]] &&
	   [ ! -e "$MICA_RUNDIR/$name.sock" ] && [ ! -e "$MICA_RUNDIR" ]; then
		pass "$name: $out"
	else
		fail "$name: rc=$rc lines=$lines, wanted '$want' in: $out"
	fi
}

bad unknown-key '$.machine: unknown key "memroy"' \
	'{ "boot": { "kernel": "kernel" }, "machine": { "memroy": "1G" } }'
bad wrong-type '$.machine.cpus: expected int, got string' \
	'{ "boot": { "kernel": "kernel" }, "machine": { "cpus": "two" } }'
bad missing-kernel '$.boot.kernel: cannot read' \
	'{ "boot": { "kernel": "no-such-kernel" } }'
bad memory-12Q '$.machine.memory: invalid size "12Q"' \
	'{ "boot": { "kernel": "kernel" }, "machine": { "memory": "12Q" } }'
bad no-kernel '$.boot.kernel: required' '{ "name": "x" }'
bad syntax 'line 2: JSON syntax error' $'{ "boot":\n  { "kernel": "kernel", } }'
bad disk-missing '$.disks[0].path: cannot read and write' \
	'{ "boot": { "kernel": "kernel" }, "disks": [ { "path": "nope.img" } ] }'
bad bad-hostfwd '$.nets[0].hostfwd[0]' \
	'{ "boot": { "kernel": "kernel" }, "nets": [ { "mode": "user", "hostfwd": ["tcp::x-:22"] } ] }'
K='"boot": { "kernel": "kernel" }'
bad backing-not-array '$.disks[0].backing: expected array, got string' \
	"{ $K, \"disks\": [ { \"path\": \"kernel\", \"backing\": \"base.qcow2\" } ] }"
bad backing-not-string '$.disks[0].backing[1]: expected string, got object' \
	"{ $K, \"disks\": [ { \"path\": \"kernel\", \"backing\": [ \"kernel\", {} ] } ] }"
bad backing-empty '$.disks[0].backing[0]: must not be empty' \
	"{ $K, \"disks\": [ { \"path\": \"kernel\", \"backing\": [ \"\" ] } ] }"
bad backing-too-many '$.disks[0].backing: at most 8 backing files' \
	"{ $K, \"disks\": [ { \"path\": \"kernel\", \"backing\": [ $(printf '"kernel",%.0s' 1 2 3 4 5 6 7 8) \"kernel\" ] } ] }"
bad backing-missing '$.disks[0].backing[0]: cannot read' \
	"{ $K, \"disks\": [ { \"path\": \"kernel\", \"backing\": [ \"no-such-base.qcow2\" ] } ] }"
bad queues-range '$.nets[0].queues: 4 out of range 1..3' \
	"{ $K, \"nets\": [ { \"mode\": \"tap\", \"queues\": 4 } ] }"
bad queues-zero '$.nets[0].queues: 0 out of range 1..3' \
	"{ $K, \"nets\": [ { \"mode\": \"tap\", \"queues\": 0 } ] }"
bad queues-type '$.nets[1].queues: expected int, got string' \
	"{ $K, \"nets\": [ { \"mode\": \"user\" }, { \"mode\": \"tap\", \"queues\": \"2\" } ] }"
bad queues-user '$.nets[0].queues: one queue pair for mode "user"' \
	"{ $K, \"nets\": [ { \"mode\": \"user\", \"queues\": 2 } ] }"
bad mtu-low '$.nets[0].mtu: 67 out of range 68..65535' \
	"{ $K, \"nets\": [ { \"mode\": \"tap\", \"mtu\": 67 } ] }"
bad mtu-high '$.nets[0].mtu: 65536 out of range 68..65535' \
	"{ $K, \"nets\": [ { \"mode\": \"tap\", \"mtu\": 65536 } ] }"
bad mtu-type '$.nets[0].mtu: expected int, got boolean' \
	"{ $K, \"nets\": [ { \"mode\": \"tap\", \"mtu\": true } ] }"
bad mtu-user '$.nets[0].mtu: at most 1500 for mode "user"' \
	"{ $K, \"nets\": [ { \"mode\": \"user\", \"mtu\": 9000 } ] }"
bad flag-backing '--disk: backing= needs a path' "{ $K }" --disk "$WORK/kernel,backing="
bad flag-queues '--net: queues=9 is not 1..3' "{ $K }" --net tap,queues=9
bad flag-mtu '--net: mtu=64k is not 68..65535' "{ $K }" --net tap,mtu=64k
bad flag-memory '--memory: invalid size "12Q"' '{ "boot": { "kernel": "kernel" } }' --memory 12Q
bad flag-net '--net: mode "wifi"' '{ "boot": { "kernel": "kernel" } }' --net wifi
bad flag-accel '--accel: "hvf"' '{ "boot": { "kernel": "kernel" } }' --accel hvf

out=$("$MICA" run "$WORK/does-not-exist.json" 2>&1); rc=$?
check "missing manifest file: exit 2, one line ($out)" \
	test "$rc" = 2 -a "$(printf '%s\n' "$out" | wc -l)" = 1
out=$("$MICA" frobnicate 2>&1); rc=$?
check "unknown command: exit 2" test "$rc" = 2
out=$("$MICA" status no-such-vm 2>&1); rc=$?
check "status of a VM that does not run: exit 1, says so ($out)" \
	test "$rc" = 1 -a -n "$(grep "no VM named 'no-such-vm'" <<<"$out")"
finish
