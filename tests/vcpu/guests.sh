#!/bin/bash
# Run each test guest under build/tests/guest-run on KVM and check its
# serial output and how the VM ended.
BUILD=${BUILD:-build}
RUN=$BUILD/tests/guest-run
G=$BUILD/guests
pass=0 fail=0 skip=0
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# check NAME EXPECTED_RC EXPECTED_OUTPUT_REGEX -- guest-run args...
check() {
	local name=$1 want_rc=$2 want_out=$3
	shift 4
	"$RUN" "$@" >"$out" 2>"$err"
	local rc=$?
	if [ "$rc" = "$want_rc" ] &&
	   { [ -z "$want_out" ] || grep -Eq -- "$want_out" "$out"; }; then
		echo "ok   $name ($(tail -1 "$err"))"
		pass=$((pass + 1))
	else
		echo "FAIL $name: rc $rc (want $want_rc), output:"
		sed 's/^/    | /' "$out" "$err" | tail -30
		fail=$((fail + 1))
	fi
}

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "skipped: /dev/kvm is not usable here"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

check realmode 0 '^real$' -- -f "$G/realmode.bin"
check hello 0 'hello from mica guest' -- -k "$G/hello.elf"
check hello-uart-regs 0 '^uart: ok$' -- -k "$G/hello.elf"
check bzimage64 0 'long mode ok, cmdline: console=ttyS0 mica$' -- \
	-k "$G/bzimage64.bin" -l "console=ttyS0 mica"
check pci-enum 0 '^00:03.0 1b36:0005 class 00ff00$' -- -k "$G/pci.elf"
check pci-bars 0 'BAR2 mem64 00000000c0100000 size 00100000' -- -k "$G/pci.elf"
check pci-bar-64bit-window 0 'BAR4 mem64 0000001000000000 pref size 00100000' -- -k "$G/pci.elf"
check pci-testdev 0 '^pci: ok$' -- -k "$G/pci.elf"
check smp-2 0 '^smp: 1 APs checked in, mask 02$' -- -c 2 -k "$G/smp.elf"
check smp-4 0 '^smp: 3 APs checked in, mask 0e$' -- -c 4 -k "$G/smp.elf"
check smp-8 0 '^smp: 7 APs checked in, mask fe$' -- -c 8 -k "$G/smp.elf"
check smp-1 0 '^smp: ok$' -- -c 1 -k "$G/smp.elf"
check irq-isa 0 'UART THRE on IRQ 4 -> vector 0x24' -- -k "$G/irq.bz"
check irq-intx 0 'INTA on GSI 19 -> vector 0x50, level, twice' -- -k "$G/irq.bz"
check irq-msix 0 'doorbell -> irqfd -> vector 0x41 delivered' -- -k "$G/irq.bz"
check irq-msix-mask 0 'pending vector delivered on unmask' -- -k "$G/irq.bz"
check triple-fault 2 '^triple: faulting$' -- -k "$G/triple.bz"
# CPUID as filtered by the runner: hypervisor bit on, MONITOR off, APIC
# id 0 with one logical CPU, no architectural PMU.
check cpuid-hypervisor 0 '^cpuid.1.ecx [89a-f].{6}[0-7]$' -- -k "$G/cpuid.bz"
check cpuid-apic-id 0 '^cpuid.1.ebx 0001' -- -k "$G/cpuid.bz"
check cpuid-topology 0 '^cpuid.b.1.ebx 00000004$' -- -c 4 -k "$G/cpuid.bz"
check cpuid-no-pmu 0 '^cpuid.a.eax 00000000$' -- -k "$G/cpuid.bz"
check acpi-poweroff 0 '^poweroff: S5 via port 0600$' -- -k "$G/poweroff.elf"
check uart-rx-irq 0 '^echo: the quick brown fox jumps over the lazy dog$' -- \
	-r $'the quick brown fox jumps over the lazy dog\n' -k "$G/echo.bz"
check reboot 0 '^reboot: boot 2$' -- -R 1 -c 2 -k "$G/reboot.elf"
check i8042-reset 0 'resetting via i8042' -- -k "$G/reset.elf"

# Exit cost, informational: 20000 round trips per phase (bench.c).
if "$RUN" -t 60 -k "$G/bench.bz" >"$out" 2>"$err"; then
	awk '/mark [1-4]:/ { us[$3 + 0] = $4 / 20000 }
	     END { printf "ok   bench: per exit %.1f us port I/O, %.1f us MMIO, " \
		   "%.1f us doorbell (no exit), %.1f us 8250 LSR read\n",
		   us[1], us[2], us[3], us[4] }' "$err"
	pass=$((pass + 1))
else
	echo "FAIL bench"; cat "$err"; fail=$((fail + 1))
fi

# A guest spinning forever (jmp .) with idle APs: the watchdog must stop
# every vCPU through vcpu_kick and report a timeout (exit status 4).
spin=$(mktemp)
printf '\xeb\xfe' >"$spin"
check timeout-kick 4 '' -- -t 1 -c 2 -f "$spin"
rm -f "$spin"

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
