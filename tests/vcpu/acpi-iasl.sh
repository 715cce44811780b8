#!/bin/bash
# Disassemble the ACPI tables with ACPICA's iasl (acpica-tools): every
# table must decode without errors and the DSDT must show the devices the
# kernel needs.  Skips when iasl is not installed.
BUILD=${BUILD:-build}
pass=0 fail=0
if ! command -v iasl >/dev/null; then
	echo "skipped: iasl not installed (acpica-tools)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$BUILD/tests/acpi-dump" "$dir" 4 || { echo "acpi-dump failed"; echo "0 passed, 1 failed"; exit 1; }

for t in XSDT FACP APIC MCFG DSDT; do
	if (cd "$dir" && iasl -d "$t.dat" >"$t.log" 2>&1) &&
	   ! grep -Eqi 'error|warning' "$dir/$t.dsl"; then
		echo "ok   $t decodes"; pass=$((pass + 1))
	else
		echo "FAIL $t"; tail -20 "$dir/$t.log"; fail=$((fail + 1))
	fi
done

expect() {
	if grep -Eq -- "$2" "$dir/$3.dsl"; then
		echo "ok   $1"; pass=$((pass + 1))
	else
		echo "FAIL $1: no '$2' in $3"; fail=$((fail + 1))
	fi
}
expect dsdt-pci0 'Device \(PCI0\)' DSDT
expect dsdt-pnp0a08 'EisaId \("PNP0A08"\)' DSDT
expect dsdt-mmio-window '0xC0000000,.*Range Minimum' DSDT
expect dsdt-mmio64-window 'QWordMemory \(ResourceProducer, PosDecode, MinFixed, MaxFixed, Prefetchable' DSDT
expect dsdt-prt 'Name \(_PRT, Package \(0x80\)' DSDT
expect dsdt-mres 'Memory32Fixed \(ReadWrite,' DSDT
expect dsdt-com1 'EisaId \("PNP0501"\)' DSDT
expect dsdt-s5 'Name \(\\_S5, Package \(0x04\)' DSDT
expect fadt-sleep-control 'Sleep Control Register' FACP
expect fadt-reset 'Reset Register.*' FACP
expect fadt-hw-reduced 'Hardware Reduced \(V5\) : 1' FACP
expect madt-cpus 'Local Apic ID : 03' APIC
expect mcfg-base 'Base Address : 00000000B0000000' MCFG
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" = 0 ]
