# Shared by tests/qemu/net-*.sh: QEMU (TCG) boots the test guest with a
# virtio-net NIC whose back-end is a standalone mica-net
# (`-netdev vhost-user`), in a network namespace of the suite's own; the
# guest's shell is driven over the serial console (console.sh).
#
# Source it after tests/lib/testlib.sh and set T_SUITE, then:
#   netq_setup TAG [ARGS]   re-exec (with ARGS) in new network and mount
#                           namespaces (lo up, a /sys of our own), check QEMU
#                           and the guest image, make $T; 1 when the suite
#                           cannot run here (a skip or fail line was printed)
#   netq_net_start ARGS...  start mica-net on $T/net.sock (log $T/net.log)
#   netq_net_kill           SIGKILL it (as a crash would)
#   netq_boot               QEMU with the NIC (MAC $GUEST_MAC, NETQ_SMP vCPUs)
#                           up to the shell; the NIC's netdev is mica-net's
#                           socket unless NETQ_NETDEV (QEMU arguments,
#                           netdev id n) says otherwise
#   netq_dhcp               udhcpc in the guest: sets GUEST_IP, GUEST_ROUTER
#   netq_udhcpd IF FIRST ROUTER   busybox udhcpd on IF here, leases from FIRST
#   netq_bridge_tap NET TAP [TUNTAP-OPTS]   bridge br0 at NET.1/24 and a
#                           persistent TAP on it (a supervisor's: it keeps
#                           its port across mica-net restarts), udhcpd
#                           leasing from NET.100; a fail line on failure
#   netq_carrier 0|1        wait (up to 30 s) until the guest's eth0 carrier is
#                           that; fails if it does not get there
#   netq_reconnected N      mica-net's log shows N front-end connections and
#                           the guest's link is up (QEMU reconnected)
#   netq_start ARGS...      netq_net_start ARGS, then netq_boot; pass/fail lines
#   gsh SECONDS CMD         run CMD in the guest (console_run)
#   netq_guest_sends ADDR PORT KIB      the guest sends KiB random bytes to
#                           a listener here; both sides' MD5 must agree
#   netq_guest_receives ADDR PORT KIB   a server here sends, the guest reads
#   netq_guest_serves PORT KIB ADDR:PORT  a server in the guest (its own
#                           PORT), reached here at ADDR:PORT
#   netq_listening PORT...  wait until servers here listen on the PORTs
#   netq_finish             stop QEMU and mica-net, print the closing line
# A failed check prints the tails of the guest console and the logs.
source "$ROOT/tests/guest-image/console.sh"
GUEST=${MICA_GUEST:-$ROOT/build/guest}
QEMU=${QEMU:-qemu-system-x86_64}
GUEST_MAC=52:54:00:12:34:56
GUEST_MEM=256M
# Debian 12's QEMU 7.2 under TCG dies (SIGSEGV in vhost_net_start, in
# msix_set_vector_notifiers, before it sends SET_FEATURES) when a
# vhost-user virtio-net-pci has MSI-X: vhost_net_start switches guest
# notifier masking off for vhost-user, so unmasking a vector takes QEMU's
# KVM irqfd path, and there is no KVM.  (ctrl_vq=off only seems to help:
# the guest then refuses the NIC, CTRL_RX without CTRL_VQ, and never starts
# it.)  So the NIC gets no MSI-X vectors (INTx); the back-end sees no
# difference, its call eventfds are the same.
NETQ_DEVICE_OPTS=${NETQ_DEVICE_OPTS:-vectors=0}
NETQ_XFER_LIMIT=${MICA_NETQ_XFER_LIMIT:-120}  # seconds per transfer
NET_PID= QEMU_PID= T=
# How QEMU gets the NIC's back-end: mica-net's socket unless a suite says
# otherwise (set after netq_setup: $T is in it).
NETQ_NETDEV=()

netq_setup() {
	local tag=$1
	shift
	if [ -z "$MICA_NETQ_IN_NETNS" ]; then
		if [ "$(id -u)" != 0 ]; then
			skip "needs root (a network namespace of its own)"
			finish; exit
		fi
		exec env MICA_NETQ_IN_NETNS=1 unshare --net --mount bash "$0" "$@"
	fi
	# Our own /sys shows our namespace's links (mica-net reads it).
	mount -t sysfs sysfs /sys
	ip link set lo up
	if ! command -v "$QEMU" >/dev/null; then
		skip "needs $QEMU (qemu-system-x86)"
		return 1
	fi
	if ! "$ROOT/tests/guest-image/build.sh" "$GUEST" >/dev/null; then
		fail "building the test guest (tests/guest-image/build.sh)"
		return 1
	fi
	T=$(mktemp -d "/tmp/mica-qemu-$tag.XXXXXX")
	mkfifo "$T/hold"
	trap netq_cleanup EXIT
}

netq_cleanup() {
	console_close
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
	[ -n "$NET_PID" ] && kill "$NET_PID" 2>/dev/null
	jobs -p | xargs -r kill 2>/dev/null
	wait 2>/dev/null
	[ "$T_FAIL" = 0 ] && rm -rf "$T" || echo "logs kept in $T"
}

netq_logs() {
	echo "---- guest console (last 25 lines) ----"
	tr -d '\r' <"$T/console.log" 2>/dev/null | grep -v 'MICA-CMD' | tail -25
	echo "---- mica-net log (last 15 lines) ----"
	tail -15 "$T/net.log" 2>/dev/null
	echo "---- qemu log ----"
	tail -10 "$T/qemu.log" 2>/dev/null
	for f in "$T"/*.peer.log; do
		[ -s "$f" ] && { echo "---- $f ----"; tail -5 "$f"; }
	done
	echo "----"
}
bad() { fail "$*"; netq_logs; }

netq_net_start() {
	rm -f "$T/net.sock"
	"$BIN/mica-net" --socket-path "$T/net.sock" "$@" >>"$T/net.log" 2>&1 &
	NET_PID=$!
	wait_for 10 test -S "$T/net.sock"
}

netq_net_kill() {
	kill -KILL "$NET_PID" 2>/dev/null
	wait "$NET_PID" 2>/dev/null
	NET_PID=
}

netq_boot() {
	[ ${#NETQ_NETDEV[@]} = 0 ] && NETQ_NETDEV=(-chardev "socket,id=c,path=$T/net.sock,reconnect=1"
						  -netdev vhost-user,id=n,chardev=c)
	console_open "$T"
	"$QEMU" -accel tcg -machine pc,memory-backend=mem -m $GUEST_MEM \
		-object memory-backend-memfd,id=mem,size=$GUEST_MEM,share=on -smp "${NETQ_SMP:-1}" \
		-nodefaults -display none -monitor none -serial "pipe:$T/console" \
		"${NETQ_NETDEV[@]}" \
		-device "virtio-net-pci,netdev=n,mac=$GUEST_MAC,$NETQ_DEVICE_OPTS" \
		-kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1" -no-reboot >"$T/qemu.log" 2>&1 &
	QEMU_PID=$!
	# Up to the shell, unless QEMU dies first.
	wait_for 180 sh -c "grep -q 'mica# ' '$T/console.log' || ! kill -0 $QEMU_PID 2>/dev/null" &&
		kill -0 "$QEMU_PID" 2>/dev/null && console_shell 30
}

netq_start() {
	if ! netq_net_start "$@"; then
		bad "mica-net $* did not create its socket"
		return 1
	fi
	if ! netq_boot; then
		bad "guest boots with the vhost-user NIC (mica-net $*)"
		return 1
	fi
	pass "guest boots with the vhost-user NIC (mica-net $*)"
}

gsh() { console_run "$@"; }

netq_carrier() {
	gsh 60 "for i in \$(seq 300); do [ \"\$(cat /sys/class/net/eth0/carrier)\" = $1 ] && break; sleep 0.1; done; cat /sys/class/net/eth0/carrier" |
		grep -qx "$1"
}

netq_connections() { [ "$(grep -c "front-end connected" "$T/net.log")" -ge "$1" ]; }
netq_reconnected() { wait_for 60 netq_connections "$1" && netq_carrier 1; }

netq_dhcp() {
	local line
	GUEST_IP= GUEST_ROUTER=
	line=$(gsh 120 'udhcpc -i eth0 -n -q -t 10 -T 3 2>/dev/null | grep "^MICA-DHCP bound"')
	GUEST_IP=$(echo "$line" | sed -n 's/.* ip=\([0-9.]*\).*/\1/p')
	GUEST_ROUTER=$(echo "$line" | sed -n 's/.* router=\([0-9.]*\).*/\1/p')
	[ -n "$GUEST_IP" ]
}

netq_udhcpd() {
	cat >"$T/udhcpd.conf" <<-EOF
	interface $1
	start $2
	end ${2%.*}.$((${2##*.} + 9))
	lease_file $T/udhcpd.leases
	pidfile $T/udhcpd.pid
	option subnet 255.255.255.0
	option router $3
	EOF
	: >"$T/udhcpd.leases"
	busybox udhcpd -f "$T/udhcpd.conf" >"$T/udhcpd.peer.log" 2>&1 &
}

netq_bridge_tap() {
	local net=$1 tap=$2
	shift 2
	if ! { ip link add br0 type bridge && ip addr add "$net.1/24" dev br0 &&
	       ip link set br0 up && ip tuntap add dev "$tap" mode tap "$@" &&
	       ip link set "$tap" master br0; }; then
		bad "bridge and TAP $tap in the namespace"
		return 1
	fi
	netq_udhcpd br0 "$net.100" "$net.1"
}

# netq_listening PORT...: wait (up to 10 s) until TCP PORTs listen here.
netq_listening() {
	local port
	for port in "$@"; do
		wait_for 10 sh -c "ss -Hltn 'sport = :$port' | grep -q ." || return 1
	done
}

# The guest's random file of KIB KiB, and its MD5.
guest_file() {
	gsh 60 "head -c $(($1 * 1024)) /dev/urandom >/tmp/tx && md5sum </tmp/tx | cut -d' ' -f1"
}

netq_guest_sends() {
	local addr=$1 port=$2 kib=$3 want got lpid
	want=$(guest_file "$kib") || return 1
	timeout "$NETQ_XFER_LIMIT" busybox nc -l -p "$port" <>"$T/hold" >"$T/rx.$port" \
		2>"$T/rx.$port.peer.log" &
	lpid=$!
	netq_listening "$port"
	gsh "$NETQ_XFER_LIMIT" "timeout $NETQ_XFER_LIMIT nc $addr $port </tmp/tx" >/dev/null
	wait "$lpid"
	got=$(md5sum <"$T/rx.$port" | cut -d' ' -f1)
	[ -n "$want" ] && [ "$got" = "$want" ] ||
		{ echo "  guest sent $kib KiB md5 $want; received $(stat -c %s "$T/rx.$port") bytes md5 $got"; return 1; }
}

netq_guest_receives() {
	local addr=$1 port=$2 kib=$3 want got lpid
	head -c $((kib * 1024)) /dev/urandom >"$T/tx.$port"
	want=$(md5sum <"$T/tx.$port" | cut -d' ' -f1)
	timeout "$NETQ_XFER_LIMIT" busybox nc -l -p "$port" <"$T/tx.$port" \
		2>"$T/tx.$port.peer.log" &
	lpid=$!
	netq_listening "$port"
	got=$(gsh "$NETQ_XFER_LIMIT" "mkfifo /tmp/hold 2>/dev/null; timeout $NETQ_XFER_LIMIT nc $addr $port <>/tmp/hold | md5sum | cut -d' ' -f1")
	wait "$lpid"
	[ "$got" = "$want" ] || { echo "  sent $kib KiB md5 $want; the guest got md5 '$got'"; return 1; }
}

netq_guest_serves() {
	local port=$1 kib=$2 addr=${3%:*} hport=${3#*:} want got
	want=$(guest_file "$kib") || return 1
	gsh 30 "(timeout $NETQ_XFER_LIMIT nc -l -p $port </tmp/tx >/dev/null 2>&1 &); for i in \$(seq 100); do netstat -ltn | grep -q ':$port ' && break; sleep 0.1; done" >/dev/null
	got=$(timeout "$NETQ_XFER_LIMIT" busybox nc "$addr" "$hport" <>"$T/hold" | md5sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || { echo "  the guest served md5 $want; received md5 $got"; return 1; }
}

netq_finish() {
	if [ -n "$QEMU_PID" ]; then
		printf 'exit\n' >&"$CONSOLE_FD"
		wait_for 30 sh -c "! kill -0 $QEMU_PID 2>/dev/null" || kill "$QEMU_PID" 2>/dev/null
		wait "$QEMU_PID" 2>/dev/null
		QEMU_PID=
	fi
	if [ -n "$NET_PID" ]; then
		kill -TERM "$NET_PID" 2>/dev/null
		wait "$NET_PID" 2>/dev/null
		NET_PID=
	fi
	finish
}
