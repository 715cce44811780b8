#!/bin/bash
# QEMU (TCG) as the front-end of `mica-net --tap`, the TAP a port of a
# bridge, all in a network namespace of the suite's own (the namespace's
# br0, 10.0.3.1, is the guest's peer):
#  - the guest gets 10.0.3.100 from busybox udhcpd on br0;
#  - what QEMU 7.2 and the Linux guest negotiated with mica-net: mergeable
#    receive buffers, checksum and TSO offloads both ways;
#  - ping both ways; a TCP stream both ways (4 MiB, MD5 on both sides);
#  - `kill -9 mica-net` during a transfer: restarted (as a supervisor
#    would), QEMU reconnects, the link comes back, the next connection
#    carries 1 MiB intact.
# Closing line: "N passed, N failed, N skipped".
source "$(dirname "$0")/../lib/testlib.sh"
source "$(dirname "$0")/net-lib.sh"
T_SUITE=qemu-net-tap
netq_setup tap || { finish; exit; }

netq_bridge_tap 10.0.3 mtap0 || { finish; exit; }
netq_start --tap mtap0 || { netq_finish; exit; }
if netq_dhcp; then
	pass "DHCP from udhcpd on the bridge: $GUEST_IP router $GUEST_ROUTER"
else
	bad "DHCP from udhcpd on the bridge"
	netq_finish; exit
fi

# Feature bits the guest's driver took (sysfs: one character per bit).
feats=$(gsh 20 "cat /sys/class/net/eth0/device/features")
bit() { [ "${feats:$1:1}" = 1 ]; }
for b in 0:CSUM 1:GUEST_CSUM 7:GUEST_TSO4 11:HOST_TSO4 15:MRG_RXBUF 32:VERSION_1; do
	check "negotiated ${b#*:}" bit "${b%%:*}"
done

if gsh 60 "ping -c 3 -W 5 10.0.3.1 >/dev/null"; then pass "the guest pings the bridge"; else bad "guest pings 10.0.3.1"; fi
if ping -c 3 -W 5 "$GUEST_IP" >/dev/null; then pass "the namespace pings the guest"; else bad "ping $GUEST_IP"; fi
# Bytes and frames counted where they arrive: on the TAP (frames mica-net
# wrote) and in the guest (frames mica-net put into its buffers).  With
# TSO carried through, frames are larger than the 1514-byte MTU frame.
counters() { echo "$(cat "$1/rx_bytes") $(cat "$1/rx_packets")"; }
guest_counters() { gsh 20 'echo $(cat /sys/class/net/eth0/statistics/rx_bytes) $(cat /sys/class/net/eth0/statistics/rx_packets)'; }
# mean_frame "B0 P0" "B1 P1": bytes per frame in between.
mean_frame() { echo "$1 $2" | awk '{ p = $4 - $2; print (p > 0 ? int(($3 - $1) / p) : 0) }'; }

c0=$(counters /sys/class/net/mtap0/statistics)
if netq_guest_sends 10.0.3.1 6001 4096; then
	pass "guest -> namespace over the TAP: 4 MiB, MD5 equal"
else
	bad "guest -> namespace over the TAP"
fi
m=$(mean_frame "$c0" "$(counters /sys/class/net/mtap0/statistics)")
check "the guest's TSO reaches the TAP (mean frame $m bytes > 1514)" test "$m" -gt 1514
c0=$(guest_counters)
if netq_guest_receives 10.0.3.1 6002 4096; then
	pass "namespace -> guest over the TAP: 4 MiB, MD5 equal"
else
	bad "namespace -> guest over the TAP"
fi
m=$(mean_frame "$c0" "$(guest_counters)")
check "GSO frames from the TAP reach the guest in mergeable buffers (mean frame $m bytes > 1514)" \
	test "$m" -gt 1514

# ---- kill -9 during a transfer ----
# An endless stream from the guest, under way when mica-net dies.
timeout 120 busybox nc -l -p 6003 <>"$T/hold" >"$T/stream" 2>/dev/null &
netq_listening 6003
gsh 10 "(timeout 120 nc 10.0.3.1 6003 </dev/zero >/dev/null 2>&1 &)" >/dev/null
streaming() { [ "$(stat -c %s "$T/stream")" -gt 1000000 ]; }
if wait_for 30 streaming; then
	pass "a stream from the guest is under way ($(stat -c %s "$T/stream") bytes)"
else
	bad "a stream from the guest is under way"
fi
netq_net_kill
pass "mica-net killed (SIGKILL) during a transfer"
if netq_carrier 0; then
	pass "the guest sees the link go down"
else
	bad "the guest sees the link go down"
fi
if netq_net_start --tap mtap0; then pass "mica-net restarted"; else bad "mica-net restarted"; fi
if netq_reconnected 2; then
	pass "QEMU reconnects, the link comes back"
else
	bad "QEMU reconnects, the link comes back"
fi
gsh 10 "killall nc" >/dev/null
if netq_guest_sends 10.0.3.1 6004 1024 && netq_guest_receives 10.0.3.1 6005 1024; then
	pass "after the restart: 1 MiB each way, MD5 equal"
else
	bad "after the restart: a new connection"
fi
netq_finish
