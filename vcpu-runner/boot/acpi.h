/* ACPI tables for the Mica machine: RSDP, XSDT, FADT (hardware-reduced,
 * reset register at 0xCF9, sleep control/status at 0x600/0x601 with \_S5_
 * for power-off), FACS, DSDT (PCI host bridge PNP0A08 with _CRS
 * and _PRT, ECAM as PNP0C02 motherboard resource, COM1, RTC), MADT (one
 * LAPIC per vCPU, IOAPIC, LINT1 NMI; no ISA overrides: identity routing as
 * KVM's default), MCFG (ECAM). */
#ifndef MICA_ACPI_H
#define MICA_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "guest-mem.h"

/* Build all tables in the LAYOUT_ACPI area; *rsdp gets the RSDP address.
 * 0, -E2BIG if they do not fit, -ENOMEM if the area is not RAM. */
int acpi_build(const struct guest_mem *mem, unsigned nr_vcpus, uint64_t *rsdp);

/* 8-bit sum of len bytes; a valid table sums to 0. */
uint8_t acpi_checksum(const void *buf, size_t len);

#endif
