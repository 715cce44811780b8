#!/bin/bash
# QEMU (TCG) as the front-end of mica-net on a macvtap, in a network
# namespace of the suite's own: the macvtap (bridge mode, the guest's MAC)
# sits on one end of a veth pair; the other end, 10.0.4.1, is the peer.
#  - `mica-net --macvtap NAME` opens the link's /dev/tapN itself;
#  - the guest gets 10.0.4.100 from busybox udhcpd on the peer end, pings
#    it both ways, TCP 2 MiB each way with MD5 on both sides;
#  - then mica-net is restarted with the /dev/tapN fd handed over
#    (--tap-fd, as a supervisor or QEMU's fds= would) and QEMU reconnects:
#    ping and 1 MiB each way again.
# Closing line: "N passed, N failed, N skipped".
source "$(dirname "$0")/../lib/testlib.sh"
source "$(dirname "$0")/net-lib.sh"
T_SUITE=qemu-net-macvtap
netq_setup macvtap || { finish; exit; }

# The index names the node /dev/tapN, which devtmpfs shares between
# namespaces: pick one unlikely to be taken elsewhere.
idx=$((20000 + RANDOM % 20000))
ip link add va type veth peer name vb && ip addr add 10.0.4.1/24 dev vb &&
	ip link set vb up && ip link set va up &&
	ip link add link va name mvt0 index "$idx" address "$GUEST_MAC" type macvtap mode bridge || {
	bad "veth pair and macvtap in the namespace"
	finish; exit
}
if ! wait_for 10 test -c "/dev/tap$idx"; then
	bad "no /dev/tap$idx for the macvtap"
	finish; exit
fi
netq_udhcpd vb 10.0.4.100 10.0.4.1
netq_start --macvtap mvt0 || { netq_finish; exit; }
check "mica-net set the macvtap up" grep -q UP <(ip link show mvt0)
if netq_dhcp; then
	pass "DHCP through the macvtap: $GUEST_IP"
else
	bad "DHCP through the macvtap"
	netq_finish; exit
fi
traffic() {
	if gsh 60 "ping -c 3 -W 5 10.0.4.1 >/dev/null" && ping -c 3 -W 5 "$GUEST_IP" >/dev/null; then
		pass "$1: ping both ways"
	else
		bad "$1: ping both ways"
	fi
	if netq_guest_sends 10.0.4.1 "$2" "$3" && netq_guest_receives 10.0.4.1 $(($2 + 1)) "$3"; then
		pass "$1: TCP $3 KiB each way, MD5 equal"
	else
		bad "$1: TCP $3 KiB each way"
	fi
}
traffic "--macvtap" 6001 2048

kill -TERM "$NET_PID"
wait "$NET_PID"
check "mica-net exits 0 on SIGTERM" test $? = 0
NET_PID=
exec {tapfd}<>"/dev/tap$idx"
netq_net_start --tap-fd "$tapfd"
exec {tapfd}>&-
if netq_reconnected 2; then
	pass "mica-net --tap-fd (the macvtap's fd): QEMU reconnects, link up"
else
	bad "mica-net --tap-fd: QEMU reconnects"
fi
traffic "--tap-fd" 6011 1024
netq_finish
