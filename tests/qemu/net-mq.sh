#!/bin/bash
# QEMU (TCG, 2 vCPUs) as the front-end of `mica-net --tap --queues 2`:
# multiqueue with QEMU 7.2, which keeps the control queue itself and
# switches the second pair on with SET_VRING_ENABLE.  A multi-queue TAP
# on a bridge in the suite's namespace, as in net-tap.sh:
#  - the guest negotiated MQ and made two queue pairs;
#  - four TCP streams at once each way (1 MiB each, MD5 on both sides):
#    the guest's two vCPUs send on both transmit queues, the TAP spreads
#    the flows over its two queues by hash (all four on one: 1 in 16), so
#    a pair that mica-net did not serve would stall a stream.
# Closing line: "N passed, N failed, N skipped".
source "$(dirname "$0")/../lib/testlib.sh"
source "$(dirname "$0")/net-lib.sh"
T_SUITE=qemu-net-mq
netq_setup mq || { finish; exit; }

netq_bridge_tap 10.0.6 mqtap0 multi_queue || { finish; exit; }
NETQ_SMP=2
NETQ_DEVICE_OPTS="$NETQ_DEVICE_OPTS,mq=on"
NETQ_NETDEV=(-chardev "socket,id=c,path=$T/net.sock,reconnect=1"
	     -netdev vhost-user,id=n,chardev=c,queues=2)
netq_start --tap mqtap0 --queues 2 || { netq_finish; exit; }
netq_dhcp || { bad "DHCP from udhcpd on the bridge"; netq_finish; exit; }
feats=$(gsh 20 "cat /sys/class/net/eth0/device/features")
check "the guest negotiated MQ" test "${feats:22:1}" = 1
check "the guest made two queue pairs" test "$(gsh 20 "ls /sys/class/net/eth0/queues | tr '\n' ' '")" = "rx-0 rx-1 tx-0 tx-1 "

# parallel KIB DIRECTION: four connections at once, MD5 per connection.
parallel() {
	local kib=$1 dir=$2 i pids=() ok=0
	for i in 0 1 2 3; do
		if [ "$dir" = send ]; then
			gsh 30 "head -c $((kib * 1024)) /dev/urandom >/tmp/p$i; md5sum </tmp/p$i | cut -d' ' -f1" >"$T/want.$i"
			timeout "$NETQ_XFER_LIMIT" busybox nc -l -p $((6200 + i)) <>"$T/hold" >"$T/got.$i" &
		else
			head -c $((kib * 1024)) /dev/urandom >"$T/src.$i"
			md5sum <"$T/src.$i" | cut -d' ' -f1 >"$T/want.$i"
			timeout "$NETQ_XFER_LIMIT" busybox nc -l -p $((6200 + i)) <"$T/src.$i" &
		fi
		pids+=($!)
	done
	netq_listening 6200 6201 6202 6203
	if [ "$dir" = send ]; then
		gsh "$NETQ_XFER_LIMIT" "for i in 0 1 2 3; do timeout $NETQ_XFER_LIMIT nc 10.0.6.1 \$((6200 + i)) </tmp/p\$i & done; wait" >/dev/null
		wait "${pids[@]}"
		for i in 0 1 2 3; do
			[ "$(md5sum <"$T/got.$i" | cut -d' ' -f1)" = "$(cat "$T/want.$i")" ] && ok=$((ok + 1))
		done
	else
		gsh "$NETQ_XFER_LIMIT" "mkfifo /tmp/hold 2>/dev/null; for i in 0 1 2 3; do (timeout $NETQ_XFER_LIMIT nc 10.0.6.1 \$((6200 + i)) <>/tmp/hold | md5sum | cut -d' ' -f1 >/tmp/r\$i) & done; wait" >/dev/null
		wait "${pids[@]}"
		for i in 0 1 2 3; do
			[ "$(gsh 10 "cat /tmp/r$i")" = "$(cat "$T/want.$i")" ] && ok=$((ok + 1))
		done
	fi
	[ "$ok" = 4 ] || { echo "  $ok of 4 connections intact"; return 1; }
}
if parallel 1024 send; then pass "four streams guest -> namespace at once, MD5 equal"; else bad "four streams guest -> namespace"; fi
if parallel 1024 recv; then pass "four streams namespace -> guest at once, MD5 equal"; else bad "four streams namespace -> guest"; fi
netq_finish
