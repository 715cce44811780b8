#!/bin/bash
# Slow suite: boot the installed Debian kernel (bzImage, 64-bit boot
# protocol) with 2 vCPUs and check what it reports about the machine the
# loader described: e820, the ACPI tables, the MADT CPUs and IOAPIC, and
# the 8250 console.  Stops once the console is up.  On PVM hosts the kernel
# later dies in KVM's emulator (it cannot deliver the int3 self-test), so
# this is as far as it can get here; "noxsave" works around an XRSTOR the
# emulator cannot run.
BUILD=${BUILD:-build}
RUN=$BUILD/tests/guest-run
pass=0 fail=0 skip=0
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | tail -1)
if [ -z "$kernel" ] || ! [ -w /dev/kvm ]; then
	echo "skipped: needs /dev/kvm and linux-image-cloud-amd64"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

"$RUN" -m 512 -c 2 -t 280 -k "$kernel" \
	-l "console=ttyS0 earlyprintk=serial,ttyS0,115200 nokaslr noxsave panic=-1" \
	>"$out" 2>"$err" &
pid=$!
for _ in $(seq 280); do
	grep -q 'printk: console \[ttyS0\] enabled' "$out" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 1
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

expect() {
	if grep -Eq -- "$2" "$out"; then
		echo "ok   $1"; pass=$((pass + 1))
	else
		echo "FAIL $1: no line matching '$2'"; fail=$((fail + 1))
	fi
}
expect version 'Linux version 6'
expect cmdline 'Command line: console=ttyS0'
expect e820-low 'BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable'
expect e820-high 'BIOS-e820: \[mem 0x0000000000100000-0x000000001fffffff\] usable'
expect e820-ecam 'BIOS-e820: \[mem 0x00000000b0000000-0x00000000bfffffff\] reserved'
expect acpi-rsdp 'ACPI: RSDP 0x00000000000E0000 000024 \(v02 MICA'
expect acpi-fadt 'ACPI: FACP 0x[0-9A-F]+ 000114 \(v06'
expect acpi-dsdt 'ACPI: DSDT 0x'
expect acpi-madt 'ACPI: APIC 0x'
expect acpi-mcfg 'ACPI: MCFG 0x'
expect ioapic 'IOAPIC\[0\]: apic_id 0, version 17, address 0xfec00000, GSI 0-23'
expect smp 'smpboot: Allowing 2 CPUs, 0 hotplug CPUs'
expect pci-hole 'available for PCI devices'
expect console-8250 'printk: console \[ttyS0\] enabled'
[ "$fail" != 0 ] && { echo "---- serial ----"; tail -30 "$out"; cat "$err"; }
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
