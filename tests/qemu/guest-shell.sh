#!/bin/bash
# The test guest's shell, driven over its serial console (QEMU, TCG), with
# a read-only mica-blk disk and a virtio-net NIC:
#  - the shell answers, the kernel is the packaged one;
#  - virtio_net made eth0;
#  - the disk reads what the host put there, and refuses writes
#    (mica-blk --read-only: VIRTIO_BLK_F_RO);
#  - `exit` powers the guest off; the image is unchanged.
# Closing line: "N passed, N failed, N skipped".
source "$(dirname "$0")/../lib/testlib.sh"
source "$ROOT/tests/guest-image/console.sh"
T_SUITE=guest-shell
GUEST=${MICA_GUEST:-$ROOT/build/guest}
QEMU=${QEMU:-qemu-system-x86_64}

if ! command -v "$QEMU" >/dev/null; then
	skip "needs $QEMU (qemu-system-x86)"
	finish; exit
fi
if ! "$ROOT/tests/guest-image/build.sh" "$GUEST" >/dev/null; then
	fail "building the test guest (tests/guest-image/build.sh)"
	finish; exit
fi

T=$(mktemp -d /tmp/mica-guest-shell.XXXXXX)
BLK_PID= QEMU_PID=
cleanup() {
	console_close
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
	[ -n "$BLK_PID" ] && kill "$BLK_PID" 2>/dev/null
	wait 2>/dev/null
	[ "$T_FAIL" = 0 ] && rm -rf "$T" || echo "logs kept in $T"
}
trap cleanup EXIT

show_logs() {
	echo "---- guest console (last 30 lines) ----"
	tr -d '\r' <"$T/console.log" | tail -30
	echo "---- mica-blk log ----"
	tail -10 "$T/blk.log"
	echo "---- qemu log ----"
	tail -10 "$T/qemu.log"
	echo "----"
}
bad() { fail "$*"; show_logs; }

# expect WHAT WANT CMD: the guest command's output must be WANT.
expect() {
	local what=$1 want=$2 got
	got=$(console_run 30 "$3")
	if [ "$got" = "$want" ]; then pass "$what"; else bad "$what: got '$got', want '$want'"; fi
}

head -c 16M /dev/urandom >"$T/disk.raw"
sum_before=$(md5sum <"$T/disk.raw" | cut -d' ' -f1)
head_sum=$(head -c 1M "$T/disk.raw" | md5sum | cut -d' ' -f1)

"$BIN/mica-blk" --socket-path "$T/blk.sock" --blk-file "$T/disk.raw" --read-only \
	>"$T/blk.log" 2>&1 &
BLK_PID=$!
wait_for 10 test -S "$T/blk.sock" || bad "mica-blk did not create its socket"

console_open "$T"
t0=$(date +%s.%N)
"$QEMU" -accel tcg -machine pc,memory-backend=mem -m 512M \
	-object memory-backend-memfd,id=mem,size=512M,share=on -smp 1 \
	-nodefaults -display none -monitor none -serial "pipe:$T/console" \
	-chardev "socket,id=blk0,path=$T/blk.sock" -device vhost-user-blk-pci,chardev=blk0 \
	-netdev user,id=net0 -device virtio-net-pci,netdev=net0 \
	-kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1" -no-reboot >"$T/qemu.log" 2>&1 &
QEMU_PID=$!

if console_shell 120; then
	pass "guest boots to its shell ($(awk -v a="$t0" -v b="$(date +%s.%N)" \
		'BEGIN { printf "%.1f", b - a }') s)"
else
	bad "guest boots to its shell"
	finish; exit
fi
expect "the shell runs commands" "hello 42" 'echo hello $((6 * 7))'
expect "the kernel is the packaged one" "$(cat "$GUEST/initramfs/kernel-version")" "uname -r"
expect "a failing command's status comes back" "rc=3" '(exit 3); echo rc=$?'
expect "virtio_net made eth0" "eth0" "ls /sys/class/net | grep eth"
expect "the disk is read-only to the guest" "1" "cat /sys/block/vda/ro"
expect "the disk has the image's size" "32768" "cat /sys/block/vda/size"
expect "the disk reads what the host wrote" "$head_sum  -" "head -c 1048576 /dev/vda | md5sum"
expect "writes to the disk are refused" "refused" \
	"dd if=/dev/zero of=/dev/vda bs=4096 count=1 2>/dev/null && echo written || echo refused"

printf 'exit\n' >&"$CONSOLE_FD"
if wait_for 30 sh -c "! kill -0 $QEMU_PID 2>/dev/null"; then
	wait "$QEMU_PID"
	pass "exit powers the guest off (QEMU status $?)"
	QEMU_PID=
else
	bad "exit powers the guest off"
fi
kill -TERM "$BLK_PID"
wait "$BLK_PID"
check "mica-blk exits 0 on SIGTERM" test $? = 0
BLK_PID=
check "the image is unchanged" test "$(md5sum <"$T/disk.raw" | cut -d' ' -f1)" = "$sum_before"
finish
