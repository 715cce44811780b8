#!/bin/bash
# `mica run` on KVM end to end: the test guests run under the jailed
# mica-vcpu, their serial output goes through mica-legacy (forwarded port
# I/O) into a console file, and the VM's exit status follows the guest.
. "$(dirname "$0")/../lib/testlib.sh"
T_SUITE=runner
G=$ROOT/build/guests
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	skip "/dev/kvm is not usable here"
	finish
	exit
fi

n=0
# run_guest WANT_RC GUEST [mica run options...]: runs the guest to its end
# (30 s at most); console in $tmp/out, mica's log in $tmp/log.
run_guest() {
	local want=$1 guest=$2
	shift 2
	n=$((n + 1))
	: >"$tmp/out"
	timeout 30 "$MICA" run --name "rt$$-$n" --kernel "$G/$guest" --memory 64M \
		--console "file:$tmp/out" "$@" >"$tmp/log" 2>&1
	local rc=$?
	if [ "$rc" != "$want" ]; then
		echo "    $guest: mica exited $rc, wanted $want"
		sed 's/^/    | /' "$tmp/log" "$tmp/out" | tail -20
		return 1
	fi
}
out_has() { grep -Eq -- "$1" "$tmp/out" || { echo "    console lacks '$1':"; sed 's/^/    | /' "$tmp/out" | tail; false; }; }
log_has() { grep -Eq -- "$1" "$tmp/log" || { echo "    log lacks '$1':"; sed 's/^/    | /' "$tmp/log" | tail; false; }; }

run_guest 0 hello.elf && out_has '^hello from mica guest$' && out_has '^uart: ok$' &&
	log_has 'guest stopped: exit via the debug exit port \(status 0\)' &&
	pass "serial hello through mica-legacy into the console file, status 0" ||
	fail "serial hello"
# The calibration guest's verdict is one line either way.
log_has 'KVM is too slow here \(|KVM runs near native speed \(' &&
	pass "accel auto: the calibration guest ran and said how fast KVM is" || fail "calibration"

run_guest 0 poweroff.elf && out_has '^poweroff: S5 via port 0600$' &&
	log_has 'guest stopped: poweroff' &&
	pass "ACPI S5 (mica-legacy) powers off: status 0" || fail "poweroff"

run_guest 0 reset.elf && out_has 'resetting via i8042' && ! grep -q 'still alive' "$tmp/out" &&
	log_has 'guest stopped: reset' &&
	pass "i8042 reset through mica-legacy ends the VM with status 0" || fail "i8042 reset"

run_guest 0 smp.elf --cpus 4 && out_has '^smp: 3 APs checked in, mask 0e$' &&
	pass "SMP: 4 vCPUs, all APs check in" || fail "smp 4 vCPUs"

run_guest 0 pci.elf --test-hooks && out_has '^00:00.0 ' &&
	out_has '^00:03.0 1b36:0005 class 00ff00$' && out_has '^pci: ok$' &&
	pass "PCI enumeration (host bridge + pci-testdev with --test-hooks)" || fail "pci"

run_guest 0 irq.bz --test-hooks && out_has 'UART THRE on IRQ 4 -> vector 0x24' &&
	out_has '^irq: ok$' &&
	pass "ISA IRQ 4 from mica-legacy by irqfd; INTx and MSI-X in the runner" || fail "irq"

run_guest 0 bzimage64.bin --append "console=ttyS0 mica" &&
	out_has 'long mode ok, cmdline: console=ttyS0 mica$' &&
	pass "bzImage 64-bit boot protocol with a command line" || fail "bzimage64"

run_guest 1 triple.bz && log_has 'guest stopped: shutdown' &&
	pass "triple fault ends the VM with status 1" || fail "triple fault"

# A disk under mica run, the whole way: mica opens the raw image, hands
# it to mica-blockd, which gives mica-blk the fd; mica-blk serves
# vhost-user-blk to the runner's virtio-pci function; the guest writes,
# flushes, reads back and verifies 16 sectors.  Then the image is checked
# from the host.
truncate -s 1M "$tmp/disk.img"
disk_has_pattern() { python3 "$(dirname "$0")/check-pattern.py" "$tmp/disk.img"; }
run_guest 0 virtio-blk.bz --disk "$tmp/disk.img,format=raw" &&
	out_has '^virtio-blk: ok$' && disk_has_pattern &&
	pass "virtio-blk under mica run: runner -> mica-blk (image fd from mica-blockd), pattern on disk" ||
	fail "virtio-blk under mica run"
# The same with MSI-X left off: the queue interrupts on INTA (level,
# resampled irqfd), the guest's handler reads and so clears ISR.
truncate -s 0 "$tmp/disk.img"
truncate -s 1M "$tmp/disk.img"
run_guest 0 virtio-blk.bz --disk "$tmp/disk.img,format=raw" --append intx &&
	out_has '^virtio-blk: INTA on GSI (1[6-9]|2[0-3])$' &&
	out_has '^virtio-blk: [1-9][0-9]* INTx interrupts' && out_has '^virtio-blk: ok$' &&
	disk_has_pattern &&
	pass "virtio-blk with INTx (MSI-X off): ISR status, level line via resampled irqfd" ||
	fail "virtio-blk with INTx"

# 6 GiB of guest RAM (a sparse memfd): 2.75 GiB below the PCI hole, the
# rest at 4 GiB, two memory slots, both in the e820 map; the guest writes
# and reads back above 4 GiB.  Then virtio-blk with its data buffers at
# 5 GiB: mica-blk gets a two-region vhost-user memory table.
run_guest 0 highmem.bz --memory 6G &&
	out_has '^highmem: e820 0000000100000000 00000000d0000000 ram$' &&
	out_has '^highmem: ok$' &&
	pass "6 GiB guest: RAM split at the PCI hole and 4 GiB, written and read back above 4 GiB" ||
	fail "6 GiB guest (highmem)"
truncate -s 0 "$tmp/disk.img"
truncate -s 1M "$tmp/disk.img"
run_guest 0 virtio-blk.bz --memory 6G --disk "$tmp/disk.img,format=raw" --append high &&
	out_has '^virtio-blk: data buffers at 5 GiB$' && out_has '^virtio-blk: ok$' &&
	disk_has_pattern &&
	pass "virtio-blk, 6 GiB guest, buffers at 5 GiB: two-region vhost-user memory table" ||
	fail "virtio-blk with buffers above 4 GiB"

# qcow2 disks under mica run (blockd's mapping service): tests/runner/virtio-blk.sh.

# A kernel the loaders refuse: said once, clearly; the VM stays up
# without vCPUs (as before the runner ran guests) until it is stopped.
echo "not a kernel" >"$tmp/junk"
n=$((n + 1))
"$MICA" run --name "rt$$-$n" --kernel "$tmp/junk" --memory 64M \
	--console none >"$tmp/log" 2>&1 &
core=$!
refused() {
	"$MICA" status "rt$$-$n" 2>/dev/null |
		grep -q 'not running a guest: the kernel is neither a PVH ELF nor a bzImage'
}
if wait_for 10 refused; then
	"$MICA" stop "rt$$-$n" >/dev/null 2>&1
	wait "$core"
	log_has 'kernel: neither an ELF with a PVH entry note nor a bzImage' &&
		pass "unsupported kernel format: clear error, status line says so" ||
		fail "bad kernel message"
else
	fail "bad kernel: no status line"; kill "$core"; wait "$core"
	sed 's/^/    | /' "$tmp/log" | tail
fi

for mode in msg ring; do
	MICA_LEGACY_FORWARD=$mode run_guest 0 hello.elf && out_has '^uart: ok$' &&
		log_has "forwarded to mica-legacy \($mode\)" &&
		pass "forwarding transport $mode" || fail "forwarding $mode"
done

# A guest printing for a few seconds: look at the jail, then kill -9
# mica-legacy under it.  mica restarts it, the runner re-attaches and
# retries the access in flight, and the output goes on to the end.  The
# guest (legacy-state.bz) set COM1's divisor, LCR, IER, MCR and scratch,
# 32 CMOS bytes and the i8042 command byte first, and checks them at
# every line and at the end: the new mica-legacy starts from the state
# the old one kept in mica's memfd.
status_json() { "$MICA" status "$name" --json 2>/dev/null; }
pid_of() { status_json | awk -v want="\"$1\"" '/"name":/ { split($0, a, ":"); gsub(/[ ,]/, "", a[2]); name = a[2] }
	/"pid":/ && name == want { gsub(/[^0-9]/, ""); print; exit }'; }
kill_legacy_test() {
	local mode=$1 jail=$2
	n=$((n + 1))
	name="rt$$-$n"
	: >"$tmp/out"
	MICA_LEGACY_FORWARD=$mode "$MICA" run --name "$name" --kernel "$G/legacy-state.bz" \
		--memory 64M --cpus 2 --console "file:$tmp/out" >"$tmp/log" 2>&1 &
	core=$!
	if ! wait_for 10 grep -q '^tick 20$' "$tmp/out"; then
		fail "ticker did not start printing"
		sed 's/^/    | /' "$tmp/log" | tail
		kill "$core" 2>/dev/null
		wait "$core"
		return
	fi
	vcpu=$(pid_of vcpu)
	legacy=$(pid_of legacy)
	[ "$jail" = jail ] && jail_checks "$vcpu"
	before=$(grep -c '^tick [0-9]' "$tmp/out")
	kill -9 "$legacy"
	wait "$core"
	rc=$?
	after=$(grep -c '^tick [0-9]' "$tmp/out")
	echo "    $mode: killed mica-legacy after $before lines; $after of 300 in all"
	[ "$rc" = 0 ] && grep -q '^ticker: done$' "$tmp/out" && [ "$after" -gt "$before" ] &&
		grep -q 'legacy .*restarting' "$tmp/log" &&
		grep -q 'mica-legacy restarted; forwarding to the new one' "$tmp/log" &&
		pass "kill -9 mica-legacy mid-output ($mode): restarted, output goes on, status 0" ||
		{ fail "legacy restart, $mode (rc $rc)"; sed 's/^/    | /' "$tmp/log" | tail; }
	grep -q '^legacy-state: ok$' "$tmp/out" &&
		grep -q 'restarted: UART, CMOS and i8042 state restored' "$tmp/log" &&
		pass "device state across the restart ($mode): UART divisor/LCR/IER/MCR/scratch, CMOS, i8042 unchanged" ||
		{ fail "device state across the restart ($mode)"; grep '^legacy-state' "$tmp/out"; }
}
jail_checks() {
	local vcpu=$1 st=/proc/$1/status filters
	if [ -n "$vcpu" ] && grep -q '^Seccomp:[[:space:]]*2' "$st" &&
	   grep -q '^CapEff:[[:space:]]*0*$' "$st"; then
		pass "runner: Seccomp 2, CapEff 0"
	else
		fail "runner jail: $(grep -E '^(Seccomp|CapEff)' "$st" 2>/dev/null | tr '\n' ' ')"
	fi
	# vCPU threads (named vcpuN) stack their own filter on the process one.
	filters=$(for t in /proc/"$vcpu"/task/*; do
		echo "$(cat "$t/comm"):$(awk '/^Seccomp_filters/ { print $2 }' "$t/status")"
	done 2>/dev/null | tr '\n' ' ')
	echo "    runner threads (name:filters): $filters"
	[ "$(echo "$filters" | grep -o 'vcpu[0-9]*:2' | wc -l)" = 2 ] &&
		pass "both vCPU threads run under their own, smaller filter" ||
		fail "vCPU thread filters: $filters"
}
kill_legacy_test msg jail
kill_legacy_test ring

finish
