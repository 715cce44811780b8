#!/bin/bash
# The plumbing library as netd will use it, checked from outside with
# iproute2: a TAP on a bridge, a bridge and a macvtap created and tagged;
# a clean stop removes exactly those; after a crash (SIGKILL) they stay,
# and a sweep with the same tag removes them and nothing else.  All of it
# inside a network namespace of this test's own.
T_SUITE=netplumb
source "$(dirname "$0")/../lib/testlib.sh"

CLI=${MICA_BUILD:-$ROOT/build}/tests/netd/netplumb-cli
NS=mica-test-$$
TAG=mica-test:$$
WORK=$(mktemp -d /tmp/mica-netplumb.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! ip netns add "$NS" 2>/dev/null; then
	skip "needs root and network namespaces"
	finish; exit
fi
nsx() { ip netns exec "$NS" "$@"; }
exists() { nsx ip link show "$1" >/dev/null 2>&1; }
gone() { ! exists "$1"; }
has() { nsx ip -d link show "$1" 2>/dev/null | grep -q -- "$2"; }

# hold NAME ARGS...: start a holder, wait for "ready" in $WORK/NAME.out
hold() {
	local name=$1; shift
	# ip netns exec execs the program: $! is the holder itself
	ip netns exec "$NS" "$CLI" "$TAG" hold "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	HOLDER=$!
	PIDS+=("$HOLDER")
	wait_for 5 grep -q '^ready' "$WORK/$name.out" || { cat "$WORK/$name.err"; return 1; }
}

nsx ip link add hostbr type bridge
nsx ip tuntap add hosttap mode tap
nsx ip link add va type veth peer name vb
nsx ip link set va up

# --- a clean stop removes exactly what was created ---
macvtap=(-m va)
nsx ip link add mvtprobe link va type macvtap 2>/dev/null && nsx ip link del mvtprobe ||
	{ macvtap=(); skip "the kernel has no macvtap"; }
check "holder set up a 2-queue TAP on the host's bridge" hold a mt0 -q 2 -b hostbr "${macvtap[@]}"
check "the TAP carries the owner tag" has mt0 "alias $TAG"
check "the TAP is persistent, multi-queue, with vnet headers" \
	has mt0 "tun type tap pi off vnet_hdr on multi_queue numqueues 2 .*persist on"
check "the TAP is a port of hostbr and up" has mt0 "master hostbr state"
if [ ${#macvtap[@]} -gt 0 ]; then
	check "a tagged macvtap on va" bash -c "ip netns exec $NS ip -d link show type macvtap | grep -q 'alias $TAG'"
fi
check "the attached host TAP is not ours" bash -c "! ip netns exec $NS ip -d link show hosttap | grep -q alias"
kill -TERM "$HOLDER"; wait "$HOLDER"; rc=$?
check "a clean stop exits 0" [ "$rc" = 0 ]
check "and removed the TAP" gone mt0
if [ ${#macvtap[@]} -gt 0 ]; then
	check "and the macvtap" bash -c "[ -z \"\$(ip netns exec $NS ip link show type macvtap)\" ]"
fi
check "but not the host's bridge, TAP or veth" \
	bash -c "ip netns exec $NS ip link show hostbr >/dev/null && ip netns exec $NS ip link show hosttap >/dev/null && ip netns exec $NS ip link show va >/dev/null"

# --- an existing TAP is attached, not taken over ---
check "holder attaches to the host's TAP" hold b hosttap
check "says it attached" grep -q 'ready hosttap attached' "$WORK/b.out"
kill -TERM "$HOLDER"; wait "$HOLDER"
check "the host's TAP survives the stop" exists hosttap

# --- a crash leaves tagged links; a sweep removes them and only them ---
check "holder creates a bridge and a TAP on it" hold c mt1 -B mbr1
kill -KILL "$HOLDER"; wait "$HOLDER" 2>/dev/null
check "after SIGKILL the TAP is still there (persistent)" exists mt1
check "and the bridge" exists mbr1
nsx ip tuntap add other0 mode tap
nsx ip link set other0 alias mica-test:someone-else
out=$(nsx "$CLI" "$TAG" sweep 2>&1)
check "a sweep with the same tag removes both ($out)" [ "$out" = "swept 2" ]
check "the TAP is gone" gone mt1
check "the bridge is gone" gone mbr1
check "another owner's TAP stays" exists other0
check "the host's links stay" bash -c "ip netns exec $NS ip link show hostbr >/dev/null && ip netns exec $NS ip link show hosttap >/dev/null"
out=$(nsx "$CLI" "$TAG" sweep 2>&1)
check "a second sweep finds nothing ($out)" [ "$out" = "swept 0" ]

# --- refusals reach the caller ---
out=$(nsx "$CLI" "$TAG" hold mt2 -b lo 2>&1)
check "a non-bridge is refused ($out)" grep -q "lo: Inappropriate ioctl" <<<"$out"
check "and the TAP made for it is undone" gone mt2

finish
