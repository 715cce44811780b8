#!/bin/bash
# virtio-net under `mica run`, end to end, in this test's own network
# namespace: the virtio-net test guest (tests/guests/virtio-net.c) drives
# the runner's virtio-pci NIC, whose back-end is the VM's mica-net
# serving vhost-user-net, its host side a TAP that mica-netd created on a
# bridge (or slirp inside mica-net for a user-mode NIC).
#  - tap: the namespace pings the guest (ARP + ICMP echo, ping checks its
#    payload pattern) and exchanges 0x88b5 frames of 60..1514 bytes whose
#    contents both sides check (tests/runner/net-peer.py);
#  - kill -9 mica-net under the running guest: mica restarts it, netd
#    hands it the TAP again, the runner reconnects, traffic resumes;
#  - user: DHCP DISCOVER -> slirp's OFFER, ARP for the gateway, a UDP
#    datagram to a closed port (the ICMP port unreachable reaches the
#    guest), a UDP exchange with a server on the namespace's loopback
#    through the NAT, and a host port forward reaching the guest (its SYN).
T_SUITE=net
source "$(dirname "$0")/../lib/testlib.sh"
G=$ROOT/build/guests

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	skip "/dev/kvm is not usable here"
	finish; exit
fi
if [ -z "$MICA_IN_NETNS" ]; then
	if [ "$(id -u)" != 0 ]; then
		skip "needs root for a network namespace with a bridge and TAPs"
		finish; exit
	fi
	exec env MICA_IN_NETNS=1 unshare --net --mount-proc --fork --pid bash "$0" "$@"
fi

tmp=$(mktemp -d /tmp/mica-net-run.XXXXXX)
export MICA_RUNDIR=$tmp/run
core=
cleanup() {
	[ -n "$core" ] && kill -9 "$core" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
PEER=$(dirname "$0")/net-peer.py
MAC=52:54:00:ab:cd:01

ip link set lo up
ip link add br0 type bridge && ip link set br0 up
ip addr add 10.99.0.1/24 dev br0

n=0
# start_vm GUEST-CMDLINE [mica run options...]: in the background; console
# in $tmp/out, mica's log in $tmp/log, its pid in $core, the name in $name.
start_vm() {
	local append=$1
	shift
	n=$((n + 1))
	name="nt$$-$n"
	: >"$tmp/out"
	timeout 120 "$MICA" run --name "$name" --kernel "$G/virtio-net.bz" --memory 64M \
		--console "file:$tmp/out" --append "$append" "$@" >"$tmp/log" 2>&1 &
	core=$!
}
# end_vm: wait for mica; 0 when it exited 0.
end_vm() {
	wait "$core"
	local rc=$?
	core=
	[ "$rc" = 0 ] || { echo "    mica exited $rc"; show; }
	[ "$rc" = 0 ]
}
show() { sed 's/^/    | /' "$tmp/log" "$tmp/out" | tail -25; }
out_has() { grep -Eq -- "$1" "$tmp/out" || { echo "    console lacks '$1'"; show; false; }; }
ready() { grep -q '^virtio-net: 10.99.0.2 ready$' "$tmp/out"; }
status_json() { "$MICA" status "$name" --json 2>/dev/null; }
field() {
	status_json | python3 -c 'import json,sys
p=[p for p in json.load(sys.stdin)["processes"] if p["name"]==sys.argv[1]]
print(p[0][sys.argv[2]] if p else "")' "$1" "$2"
}
quit_guest() { python3 "$PEER" "${1:-br0}" "$MAC" quit; }
# peer DESCRIPTION IFACE echo ROUNDS | IFACE udp FLOWS: net-peer.py, judged.
peer() {
	local what=$1 iface=$2
	shift 2
	python3 "$PEER" "$iface" "$MAC" "$@" >"$tmp/peer" 2>&1 && pass "$what: $(cat "$tmp/peer")" ||
		{ fail "$what"; sed 's/^/    | /' "$tmp/peer"; }
}
detail_has() {
	local d
	d=$(field net0 detail)
	[[ "$d" == *"$1"* ]] && pass "mica-net status: $d" || fail "mica-net status: $d"
}
# After kill -9 of mica-net (pid $old): running again, the runner reconnected.
restarted() { [ "$(field net0 state)" = running ] && [ "$(field net0 pid)" != "$old" ] &&
	      [ -n "$(field net0 pid)" ]; }
reconnected() { grep -q 'nic 0: reconnected to the vhost-user back-end; rings resumed' "$tmp/log"; }
not_up() { fail "$1: guest did not come up"; show; kill "$core" 2>/dev/null; end_vm; }
# ping_ok COUNT: every echo answered, payload pattern checked by ping.
ping_ok() {
	ping -n -c "$1" -i 0.2 -W 5 -s 1000 -p a5c3 10.99.0.2 >"$tmp/ping" 2>&1 &&
		grep -q " 0% packet loss" "$tmp/ping" ||
		{ sed 's/^/    | /' "$tmp/ping" | tail -4; false; }
}

# ---- tap on a bridge -------------------------------------------------------
start_vm "" --net "tap,bridge=br0,mac=$MAC"
if wait_for 30 ready; then
	pass "guest found the NIC (MAC from the device config) and is ready"
	out_has "^virtio-net: mac $MAC, link up$" && pass "MAC and link status from mica-net's config" ||
		fail "device config"
	tap=$(ip -o link show master br0 | awk -F': ' '{ print $2 }' | cut -d@ -f1 | head -1)
	check "netd's TAP ($tap) is on br0" test -n "$tap"
	ping_ok 10 && pass "ping 10.99.0.2 from the bridge: 10/10 (ARP + ICMP, 1000-byte pattern)" ||
		fail "ping the guest"
	peer "host <-> guest frames, contents checked both ways" br0 echo 40
	detail_has "serving vhost-user to the runner"
	quit_guest
	if end_vm && out_has '^virtio-net: ok$'; then
		grep -E 'echoes|frames received' "$tmp/out" | sed 's/^/    /'
		irqs=$(sed -n 's/.* \([0-9]*\) MSI-X interrupts$/\1/p' "$tmp/out")
		[ "${irqs:-0}" -gt 0 ] && pass "guest quit cleanly, $irqs MSI-X interrupts (irqfds from mica-net)" ||
			fail "no MSI-X interrupts"
	else
		fail "tap guest did not end cleanly"
	fi
else
	not_up "tap"
fi

# ---- multiqueue: 3 pairs, a multiqueue TAP, flows spread over the pairs ---
start_vm "mq" --net "tap,bridge=br0,mac=$MAC,queues=3,mtu=1400"
if wait_for 30 ready && out_has '^virtio-net: 3 queue pairs$'; then
	pass "multiqueue: the guest negotiated MQ and enabled 3 pairs (control queue on mica-net)"
	mqtap=$(ip -o link show master br0 | awk -F': ' '{ print $2 }' | cut -d@ -f1 | head -1)
	out_has '^virtio-net: mtu 1400$' &&
		ip -o link show "$mqtap" | grep -q 'mtu 1400 ' &&
		pass "mtu=1400: in the guest's device config (VIRTIO_NET_F_MTU) and on TAP $mqtap" ||
		fail "mtu=1400 (guest or TAP $mqtap)"
	ping_ok 3 || fail "multiqueue: ping"
	peer "multiqueue: UDP flows" br0 udp 24
	detail_has "(3 queue pairs)"
	# A restarted mica-net cannot ask the guest how many pairs it chose:
	# every pair the runner restarts takes frames again.
	old=$(field net0 pid)
	kill -9 "$old"
	check "multiqueue: kill -9 mica-net, restarted" wait_for 10 restarted
	wait_for 10 reconnected || fail "multiqueue: no reconnect"
	peer "multiqueue: UDP flows after the restart" br0 udp 24
	quit_guest
	if end_vm && out_has '^virtio-net: ok$'; then
		per=$(sed -n 's/^virtio-net: frames per pair: //p' "$tmp/out")
		used=$(for c in $per; do [ "$c" -gt 0 ] && echo x; done | wc -l)
		[ "$used" -ge 2 ] && pass "multiqueue: frames arrived on $used pairs (per pair: $per)" ||
			fail "multiqueue: frames on one pair only ($per)"
	else
		fail "multiqueue guest did not end cleanly"
	fi
else
	not_up "multiqueue"
fi

# ---- a NIC that cannot be served: said once, the guest runs without it ------
start_vm "" --net "tap,bridge=nosuchbr0"
wait "$core"; rc=$?; core=
if [ "$rc" = 1 ] && out_has 'no 1af4:1041 function on bus 0' &&
   grep -q 'nosuchbr0' "$tmp/log" && grep -q 'nic 0: no virtio-net device for it' "$tmp/log"; then
	pass "a bridge that does not exist: netd says so, the NIC is left out, the guest runs"
	grep -E 'nosuchbr0' "$tmp/log" | head -2 | sed 's/^/    /'
else
	fail "missing bridge (rc $rc)"; show
fi

# ---- kill -9 mica-net under the running guest ------------------------------
start_vm "" --net "tap,bridge=br0,mac=$MAC"
if wait_for 30 ready && ping_ok 3; then
	old=$(field net0 pid)
	# Traffic across the kill: a ping every 50 ms (reported, not judged).
	ping -n -i 0.05 -W 1 10.99.0.2 >"$tmp/bgping" 2>&1 &
	bgping=$!
	sleep 0.5
	kill -9 "$old"
	check "kill -9 mica-net: mica restarts it" wait_for 10 restarted
	check "the runner's front-end reconnects and resumes the rings" wait_for 10 reconnected
	ping_ok 5 && pass "traffic resumes: ping 5/5 after the restart" || fail "ping after restart"
	kill -INT "$bgping"; wait "$bgping"
	echo "    ping across the kill: $(grep 'packets transmitted' "$tmp/bgping")"
	peer "echo frames after the restart" br0 echo 16
	quit_guest
	end_vm && out_has '^virtio-net: ok$' && pass "guest ends cleanly after the back-end restart" ||
		fail "guest end after restart"
else
	not_up "restart test"
fi

# ---- macvtap on a veth parent -------------------------------------------------
# netd makes the macvtap (with the NIC's MAC) on v0; mica opens its root-only
# /dev/tapN for netd, which checks the fds are its link's and hands them to
# mica-net.  The namespace talks to the guest from v1, the veth's other end.
ip link del br0
ip link add v0 type veth peer name v1
ip link set v0 up && ip link set v1 up
ip addr add 10.99.0.1/24 dev v1
# /dev has one tapN per ifindex for all namespaces: move ours away from
# the small numbers another namespace's macvtap may hold right now.
# (Each new link takes the next ifindex, also after the last one went.)
for i in $(seq $((RANDOM % 400 + 20))); do
	echo "link add mvpad type bridge"; echo "link del mvpad"
done | ip -batch -
start_vm "" --net "macvtap,parent=v0,mac=$MAC"
if wait_for 30 ready; then
	mvt=$(ip -o link show type macvtap | awk -F': ' '{ print $2 }' | cut -d@ -f1)
	check "netd made macvtap $mvt on v0 with the NIC's MAC" \
		bash -c "ip -o link show $mvt | grep -q 'link/ether $MAC'"
	grep -E 'macvtap .* handed to mica-net' "$tmp/log" | sed 's/^/    /'
	ping_ok 10 && pass "macvtap: ping 10.99.0.2 from the veth peer: 10/10" ||
		fail "macvtap: ping the guest"
	peer "macvtap: frames both ways, contents checked" v1 echo 40
	# A restarted mica-net asks again: netd keeps its macvtap, mica opens
	# new queues, the runner reconnects.
	old=$(field net0 pid)
	kill -9 "$old"
	check "macvtap: kill -9 mica-net, restarted" wait_for 10 restarted
	ping_ok 5 && pass "macvtap: traffic resumes after the restart (new queues from mica)" ||
		fail "macvtap: ping after restart"
	quit_guest v1
	end_vm && out_has '^virtio-net: ok$' && pass "macvtap guest ends cleanly" ||
		fail "macvtap guest end"
	check "stop: netd removed the macvtap" bash -c "! ip link show $mvt >/dev/null 2>&1"
else
	not_up "macvtap"
fi

# A macvtap on a parent that does not exist: said once, the NIC left out.
start_vm "" --net "macvtap,parent=nosuchif0"
wait "$core"; rc=$?; core=
if [ "$rc" = 1 ] && out_has 'no 1af4:1041 function on bus 0' &&
   grep -q 'macvtap .* on nosuchif0: ' "$tmp/log"; then
	pass "macvtap on a missing parent: netd says so, the NIC is left out, the guest runs"
	grep -E 'nosuchif0' "$tmp/log" | head -1 | sed 's/^/    /'
else
	fail "macvtap on a missing parent (rc $rc)"; show
fi

# ---- user-mode NAT (slirp in mica-net, no netd) -----------------------------
# No server yet: the kernel refuses the forwarded datagram, slirp relays
# the ICMP port unreachable, and the guest says so at once (this is what a
# server bound too late looked like: a guest waiting for ever).
start_vm "user nat" --net user
wait "$core"; rc=$?; core=
if [ "$rc" = 1 ] && out_has '^virtio-net: ICMP destination unreachable \(code 3\) from .* for the datagram to the NAT$'; then
	pass "user mode: UDP to a closed port through the NAT: the ICMP port unreachable reaches the guest"
else
	fail "user mode: closed port (rc $rc)"; show
fi

# A UDP server on the namespace's loopback, reached through the NAT
# (10.0.2.2 is the host): it answers "ping" with "pong", once.  The guest
# must not start before the server is bound: python starts more slowly
# than mica and the guest reach their datagram, which then meets a closed
# port (slirp hands the guest the ICMP port unreachable).
python3 -c 'import socket, sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 7777)); s.settimeout(60)
open(sys.argv[1], "w").write("bound\n")
d, a = s.recvfrom(2048)
if d.startswith(b"MICA-NAT ping "): s.sendto(b"MICA-NAT pong " + d[14:], a)' "$tmp/natready" &
natd=$!
wait_for 20 test -s "$tmp/natready" || echo "    the UDP server on 127.0.0.1:7777 did not start"
start_vm "user nat" --net user
if end_vm && out_has '^virtio-net: DHCP OFFER of 10\.0\.2\.15 from 10\.0\.2\.2$' &&
   out_has '^virtio-net: ARP reply: 10\.0\.2\.2 is at ' &&
   out_has '^virtio-net: UDP through the NAT to 10\.0\.2\.2:7777 answered by the host.s server$' &&
   out_has '^virtio-net: ok$'; then
	pass "user mode: DHCP OFFER 10.0.2.15 from slirp, gateway ARP answered"
	pass "user mode: UDP through the NAT to a server on the namespace's loopback and back"
	! grep -q 'mica-netd' "$tmp/log" && pass "user mode: no mica-netd started" ||
		fail "user mode started mica-netd"
else
	fail "user mode DHCP/ARP/NAT"
fi
kill "$natd" 2>/dev/null; wait "$natd" 2>/dev/null

port=$((20000 + RANDOM % 20000))
start_vm "user hostfwd" --net "user,hostfwd=tcp:127.0.0.1:$port-:22"
waiting() { grep -q '^virtio-net: waiting for a forwarded connection$' "$tmp/out"; }
if wait_for 30 waiting; then
	# slirp accepts on the host side, then opens the connection to the
	# guest (after learning its MAC); knock until the guest saw it.
	knock() {
		python3 -c 'import socket,sys
s=socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.close()' "$port" 2>/dev/null
		grep -q 'forwarded TCP SYN' "$tmp/out"
	}
	wait_for 30 knock
	end_vm && out_has '^virtio-net: forwarded TCP SYN for port 22, answered with a reset$' &&
		out_has '^virtio-net: ok$' &&
		pass "user mode: hostfwd tcp:127.0.0.1:$port-:22 reaches the guest" ||
		fail "hostfwd"
else
	not_up "hostfwd"
fi

finish
