#!/bin/bash
# Slow suite: boot the installed Debian kernel with 2 vCPUs, once as a
# bzImage (64-bit boot protocol) and once as the vmlinux inside it through
# the PVH entry, and check what the kernel reports about the machine the
# loader described: e820, the initrd, ACPI tables, MADT CPUs, IOAPIC, the
# 8250 console.  Each boot stops once the console is up.  On PVM hosts the
# kernel later dies in KVM's emulator (it cannot deliver the int3
# self-test), so this is as far as it gets here; "noxsave" avoids an
# XRSTOR the emulator cannot run.
BUILD=${BUILD:-build}
RUN=$BUILD/tests/guest-run
pass=0 fail=0 skip=0
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | tail -1)
if [ -z "$kernel" ] || ! [ -w /dev/kvm ]; then
	echo "skipped: needs /dev/kvm and linux-image-cloud-amd64"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
initrd=$(ls /boot/initrd.img-* 2>/dev/null | tail -1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect() {
	if grep -Eq -- "$3" "$tmp/$1.out"; then
		echo "ok   $1 $2"; pass=$((pass + 1))
	else
		echo "FAIL $1 $2: no line matching '$3'"; fail=$((fail + 1))
	fi
}

# boot LABEL IMAGE: run until the console moves to ttyS0, then check.
boot() {
	local label=$1 image=$2 out=$tmp/$1.out pid
	"$RUN" -m 512 -c 2 -t 280 -k "$image" ${initrd:+-i "$initrd"} \
		-l "console=ttyS0 earlyprintk=serial,ttyS0,115200 nokaslr noxsave panic=-1" \
		>"$out" 2>"$tmp/$label.err" &
	pid=$!
	for _ in $(seq 280); do
		grep -q 'printk: console \[ttyS0\] enabled' "$out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 1
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null

	expect "$label" version 'Linux version 6'
	expect "$label" cmdline 'Command line: console=ttyS0'
	expect "$label" e820-low 'BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable'
	expect "$label" e820-high 'BIOS-e820: \[mem 0x0000000000100000-0x000000001fffffff\] usable'
	expect "$label" e820-ecam 'BIOS-e820: \[mem 0x00000000b0000000-0x00000000bfffffff\] reserved'
	expect "$label" acpi-rsdp 'ACPI: RSDP 0x00000000000E0000 000024 \(v02 MICA'
	expect "$label" acpi-fadt 'ACPI: FACP 0x[0-9A-F]+ 000114 \(v06'
	expect "$label" acpi-dsdt 'ACPI: DSDT 0x'
	expect "$label" acpi-madt 'ACPI: APIC 0x'
	expect "$label" acpi-mcfg 'ACPI: MCFG 0x'
	expect "$label" ioapic 'IOAPIC\[0\]: apic_id 0, version 17, address 0xfec00000, GSI 0-23'
	expect "$label" smp 'smpboot: Allowing 2 CPUs, 0 hotplug CPUs'
	expect "$label" pci-hole 'available for PCI devices'
	expect "$label" kvm 'Hypervisor detected: KVM'
	[ -n "$initrd" ] && expect "$label" initrd 'RAMDISK: \[mem 0x[0-9a-f]+-0x1fffffff\]'
	expect "$label" console-8250 'printk: console \[ttyS0\] enabled'
	if [ "$fail" != 0 ]; then
		echo "---- $label serial ----"; tail -20 "$out"; cat "$tmp/$label.err"
	fi
}

boot bzimage "$kernel"

# The vmlinux is the LZ4 payload of the bzImage (payload_offset/length in
# the setup header); the Debian kernel has CONFIG_PVH=y.
setup=$(( ($(od -An -tu1 -j $((0x1f1)) -N1 "$kernel") + 1) * 512 ))
poff=$(od -An -tu4 -j $((0x248)) -N4 "$kernel")
plen=$(od -An -tu4 -j $((0x24c)) -N4 "$kernel")
if command -v lz4 >/dev/null &&
   dd if="$kernel" bs=1M iflag=skip_bytes,count_bytes skip=$((setup + poff)) \
	count=$((plen)) status=none | lz4 -dcq >"$tmp/vmlinux" 2>/dev/null;
   [ -s "$tmp/vmlinux" ]; then
	boot pvh "$tmp/vmlinux"
else
	echo "skipped: pvh (cannot unpack the vmlinux: lz4 missing?)"
	skip=$((skip + 1))
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
