#!/bin/bash
# QEMU (TCG) on one `mica-net --tap` (a TAP on a bridge in the suite's
# namespace), the guest booted once per device variant that changes what
# mica-net sees on its rings: each gets DHCP, a ping and 1 MiB TCP each
# way with MD5 on both sides.
#   mrg_rxbuf=off           no mergeable buffers: with TSO Linux posts
#                           "big packet" chains of pages
#   packed=on               the packed ring
#   event_idx=off,indirect_desc=off
#   host_mtu=1400, --mtu 1400   VIRTIO_NET_F_MTU: the guest's eth0 and the
#                           TAP take it
# and in the first boot the guest resets the device under the running
# connection (virtio_net unbound and bound again: QEMU stops and restarts
# the rings), then traffic again.
# Closing line: "N passed, N failed, N skipped".
source "$(dirname "$0")/../lib/testlib.sh"
source "$(dirname "$0")/net-lib.sh"
T_SUITE=qemu-net-variants
netq_setup variants || { finish; exit; }

netq_bridge_tap 10.0.7 vtap0 || { finish; exit; }
base_opts=$NETQ_DEVICE_OPTS
port=6300

# traffic WHAT: DHCP (first time), ping, 1 MiB each way.
traffic() {
	if [ -z "$GUEST_IP" ] && ! netq_dhcp; then
		bad "$1: DHCP"
		return 1
	fi
	if gsh 60 "ping -c 2 -W 5 10.0.7.1 >/dev/null"; then pass "$1: ping"; else bad "$1: ping"; fi
	port=$((port + 2))
	if netq_guest_sends 10.0.7.1 "$port" 1024 && netq_guest_receives 10.0.7.1 $((port + 1)) 1024; then
		pass "$1: 1 MiB each way, MD5 equal"
	else
		bad "$1: 1 MiB each way"
	fi
}

# variant WHAT DEVICE-OPTS MICA-NET-ARGS...: one boot.
variant() {
	local what=$1 opts=$2
	shift 2
	NETQ_DEVICE_OPTS="$base_opts${opts:+,$opts}"
	GUEST_IP=
	if [ -z "$NET_PID" ] && ! netq_net_start --tap vtap0 "$@"; then
		bad "$what: mica-net $*"
		return 1
	fi
	if ! netq_boot; then
		bad "$what: the guest boots"
		return 1
	fi
	FEATS=$(gsh 20 "cat /sys/class/net/eth0/device/features")
	traffic "$what"
}
# negotiated WHAT BIT 0|1: the guest's driver took feature BIT (or not).
negotiated() { check "$1" test "${FEATS:$2:1}" = "$3"; }

stop_guest() {
	printf 'exit\n' >&"$CONSOLE_FD"
	wait_for 30 sh -c "! kill -0 $QEMU_PID 2>/dev/null" || kill "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
	console_close
}

variant "mergeable buffers (default)" ""
# The driver lets go of the device and takes it again: a reset on the
# same vhost-user connection.
if gsh 60 'd=$(basename $(readlink /sys/class/net/eth0/device)); echo $d >/sys/bus/virtio/drivers/virtio_net/unbind && echo $d >/sys/bus/virtio/drivers/virtio_net/bind && sleep 1 && ls /sys/class/net | grep -q eth0'; then
	pass "the guest resets the NIC (driver unbound and bound)"
	GUEST_IP=
	traffic "after the reset"
else
	bad "the guest resets the NIC"
fi
stop_guest
variant "mrg_rxbuf=off" "mrg_rxbuf=off"
negotiated "mrg_rxbuf=off: no MRG_RXBUF" 15 0
negotiated "mrg_rxbuf=off: GUEST_TSO4 (big packet chains)" 7 1
stop_guest
variant "packed ring" "packed=on"
negotiated "packed ring: RING_PACKED" 34 1
stop_guest
variant "no event index, no indirect tables" "event_idx=off,indirect_desc=off"
negotiated "no EVENT_IDX" 29 0
negotiated "no INDIRECT_DESC" 28 0
stop_guest
kill -TERM "$NET_PID"; wait "$NET_PID" 2>/dev/null; NET_PID=
# QEMU's config space is its own (it does not read the back-end's): the
# MTU goes to both, QEMU's host_mtu for the guest and --mtu for the TAP.
variant "MTU 1400" "host_mtu=1400" --mtu 1400
check "the guest's eth0 took MTU 1400" test "$(gsh 10 "cat /sys/class/net/eth0/mtu")" = 1400
check "mica-net set the TAP's MTU to 1400" test "$(cat /sys/class/net/vtap0/mtu)" = 1400
netq_finish
