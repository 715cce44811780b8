#!/bin/bash
# TCP throughput through user-mode NAT, the same path three ways, in one
# run: the test guest (QEMU, TCG) talks to a server on the loopback of a
# network namespace of our own, through
#   mica-net   mica-net --user over vhost-user (slirp inside mica-net)
#   passt      passt (Debian package), QEMU's virtio-net over -netdev stream
#   qemu-user  QEMU's own -netdev user (slirp inside QEMU)
# Each: MiB (default 64) guest -> host and host -> guest over one outbound
# connection (busybox nc both ends), wall-clock MB/s, and the CPU seconds
# the back-end process and QEMU spent (utime+stime), per direction.  The
# guest under TCG is the bottleneck, so the CPU columns say more than MB/s.
# Prints a table; never a pass/fail.  Needs root (own namespace) and QEMU.
#
#   tests/bench/net-user-tcp.sh [MiB] [rounds]     (medians over rounds)
source "$(dirname "$0")/../lib/testlib.sh"
source "$ROOT/tests/qemu/net-lib.sh"
T_SUITE=bench-net-user-tcp
MIB=${1:-64}
ROUNDS=${2:-1}
make -s -C "$ROOT" build/bin/mica-net || exit 1
command -v passt >/dev/null || { echo "needs passt (apt-get install passt)"; exit 1; }
netq_setup bench-user "$@" || exit 1
# passt takes the guest's address and gateway from the interface with the
# default route: one end of a veth pair here (nothing leaves the namespace).
ip link add d0 type veth peer name d1 && ip addr add 10.0.9.1/24 dev d0 &&
	ip link set d0 up && ip link set d1 up &&
	ip route add default via 10.0.9.254 || exit 1

now() { date +%s.%N; }
# cpu PID: utime+stime in clock ticks.
cpu() {
	case $1 in
	*[!0-9]*|"") echo 0 ;;
	*) awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0 ;;
	esac
}
tck=$(getconf CLK_TCK)

# run_dir NAME DIR ADDR PORT BACKEND_PID: one transfer; prints
# "MB/s backend-cpu-s qemu-cpu-s", or "fail".
run_dir() {
	local name=$1 dir=$2 addr=$3 port=$4 bpid=$5 t0 t1 b0 q0 got lpid
	b0=$(cpu "$bpid") q0=$(cpu "$QEMU_PID")
	t0=$(now)
	if [ "$dir" = g2h ]; then
		busybox nc -l -p "$port" <>"$T/hold" | wc -c >"$T/count" &
		lpid=$!
		netq_listening "$port"
		t0=$(now)
		gsh 300 "dd if=/dev/zero bs=65536 count=$((MIB * 16)) 2>/dev/null | nc $addr $port" >/dev/null
		wait "$lpid"
		got=$(cat "$T/count")
	else
		dd if=/dev/zero bs=65536 count=$((MIB * 16)) 2>/dev/null | busybox nc -l -p "$port" &
		lpid=$!
		netq_listening "$port"
		t0=$(now)
		got=$(gsh 300 "mkfifo /tmp/hold 2>/dev/null; nc $addr $port <>/tmp/hold | wc -c")
		kill "$lpid" 2>/dev/null
		wait "$lpid" 2>/dev/null
	fi
	t1=$(now)
	if [ "$got" != $((MIB * 1048576)) ]; then
		echo "fail"
		echo "  $name $dir: $got bytes of $((MIB * 1048576))" >&2
		return
	fi
	awk -v a="$t0" -v b="$t1" -v mb="$MIB" -v bc="$(( $(cpu "$bpid") - b0 ))" \
	    -v qc="$(( $(cpu "$QEMU_PID") - q0 ))" -v tck="$tck" \
	    'BEGIN { printf "%.1f %.2f %.2f\n", mb * 1.048576 / (b - a), bc / tck, qc / tck }'
}

# bench NAME: boot with NETQ_NETDEV, DHCP, both directions; appends to
# $T/results lines "NAME DIR MB/s backend-cpu qemu-cpu".
bench() {
	local name=$1 bpid=$2 addr
	if ! netq_boot; then
		echo "$name: the guest did not boot" >&2
		netq_logs >&2
		return 1
	fi
	if ! netq_dhcp; then
		echo "$name: no DHCP lease" >&2
		netq_logs >&2
		return 1
	fi
	addr=$GUEST_ROUTER
	echo "$name g2h $(run_dir "$name" g2h "$addr" 6100 "$bpid")" >>"$T/results"
	echo "$name h2g $(run_dir "$name" h2g "$addr" 6101 "$bpid")" >>"$T/results"
	printf 'exit\n' >&"$CONSOLE_FD"
	wait_for 30 sh -c "! kill -0 $QEMU_PID 2>/dev/null" || kill "$QEMU_PID"
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
	console_close
}

: >"$T/results"
for r in $(seq "$ROUNDS"); do
	# mica-net --user
	NETQ_NETDEV=()
	netq_net_start --user || { echo "mica-net did not start"; exit 1; }
	bench mica-net "$NET_PID"
	kill "$NET_PID"; wait "$NET_PID" 2>/dev/null; NET_PID=

	# passt, QEMU's virtio-net over a stream socket
	# (passt drops root for nobody, who makes its socket.)
	rm -rf "$T/passt"
	mkdir -m 777 "$T/passt"
	chmod 711 "$T"
	passt -f -q -4 -s "$T/passt/sock" >"$T/passt.peer.log" 2>&1 &
	ppid=$!
	wait_for 10 test -S "$T/passt/sock" || { echo "passt did not start"; cat "$T/passt.peer.log"; exit 1; }
	NETQ_NETDEV=(-netdev "stream,id=n,server=off,addr.type=unix,addr.path=$T/passt/sock")
	bench passt "$ppid"
	kill "$ppid" 2>/dev/null; wait "$ppid" 2>/dev/null

	# QEMU's own slirp: the back-end is QEMU itself (its CPU is in both
	# columns).
	NETQ_NETDEV=(-netdev user,id=n)
	bench qemu-user self
done

median() { sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'; }
echo
echo "TCP through user-mode NAT, guest (QEMU TCG) <-> namespace loopback, $MIB MiB, $ROUNDS round(s), medians"
printf '%-10s %-4s %9s %14s %11s\n' back-end dir MB/s "back-end CPU s" "QEMU CPU s"
for name in mica-net passt qemu-user; do
	for dir in g2h h2g; do
		rows=$(awk -v n="$name" -v d="$dir" '$1 == n && $2 == d && $3 != "fail"' "$T/results")
		if [ -z "$rows" ]; then
			printf '%-10s %-4s %9s\n' "$name" "$dir" failed
			continue
		fi
		printf '%-10s %-4s %9s %14s %11s\n' "$name" "$dir" \
			"$(echo "$rows" | awk '{ print $3 }' | median)" \
			"$([ "$name" = qemu-user ] && echo "(in QEMU)" || echo "$rows" | awk '{ print $4 }' | median)" \
			"$(echo "$rows" | awk '{ print $5 }' | median)"
	done
done
T_FAIL=0
