#!/bin/bash
# Linux under `mica run`, in `make test`: where KVM runs near native speed
# (the runner's --accel auto calibration says so), boot the Debian kernel
# until its 8250 console is up and user space starts.  Where KVM is
# emulated (PVM) a kernel does not boot in useful time: the suite skips,
# quoting the calibration line.  (make test-slow runs
# tests/vcpu/linux-early.sh, which boots as far as it gets either way.)
. "$(dirname "$0")/../lib/testlib.sh"
T_SUITE=linux-boot
tmp=$(mktemp -d)
export MICA_RUNDIR=$tmp/run
mkdir -p "$MICA_RUNDIR"
trap 'rm -rf "$tmp"' EXIT

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	skip "Linux boot: /dev/kvm is not usable here"
	finish
	exit
fi

# The calibration: any small guest under --accel auto prints it.
timeout 60 "$MICA" run --name "lbcal$$" --kernel "$ROOT/build/guests/hello.elf" \
	--memory 64M --accel auto --console none </dev/null >"$tmp/cal" 2>&1
line=$(grep -Eo 'KVM (is too slow here|runs near native speed) \([^)]*\)' "$tmp/cal" | head -1)
if [ -z "$line" ]; then
	fail "Linux boot: no calibration line from mica run --accel auto"
	sed 's/^/    | /' "$tmp/cal" | tail
	finish
	exit
fi
case $line in
"KVM is too slow here"*)
	skip "Linux boot: KVM here is emulated and too slow for a kernel ($line)"
	finish
	exit
	;;
esac
echo "    $line"

kernel=$ROOT/build/guest/vmlinuz initrd=$ROOT/build/guest/initramfs
[ -r "$kernel" ] || kernel=$(ls /boot/vmlinuz-* 2>/dev/null | tail -1)
[ -r "$initrd" ] || initrd=$(ls /boot/initrd.img-* 2>/dev/null | tail -1)
if [ -z "$kernel" ] || [ -z "$initrd" ]; then
	skip "Linux boot: no kernel + initrd (tests/guest-image/build.sh makes them)"
	finish
	exit
fi
"$MICA" run --name "lb$$" --kernel "$kernel" --initrd "$initrd" --memory 512M \
	--cpus 2 --append "console=ttyS0 panic=-1" --console "file:$tmp/out" \
	</dev/null >"$tmp/log" 2>&1 &
core=$!
booted() { grep -q 'Run /init as init process' "$tmp/out"; }
wait_for 120 booted
ok=$?
"$MICA" stop "lb$$" >/dev/null 2>&1
wait "$core"
for want in 'Linux version' 'printk: console \[ttyS0\] enabled' \
	'smpboot: Allowing 2 CPUs' 'Run /init as init process'; do
	grep -q -- "$want" "$tmp/out" && pass "Linux boot: '$want'" ||
		fail "Linux boot: no '$want'"
done
[ "$ok" = 0 ] || sed 's/^/    | /' "$tmp/log" "$tmp/out" | tail -20
finish
