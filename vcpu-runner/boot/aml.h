/* A tiny AML (ACPI Machine Language) emitter: just the opcodes the DSDT
 * needs (Scope, Device, Name, integers, strings, buffers, EISA ids). */
#ifndef MICA_AML_H
#define MICA_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int overflow;			/* set once cap was exceeded */
	size_t open[AML_MAX_DEPTH];	/* body starts of open packages */
	unsigned depth;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);
/* Scope(name) { ...  and Device(name) { ...  closed by aml_close. */
void aml_scope(struct aml *a, const char *name);
void aml_device(struct aml *a, const char *name);
/* Buffer() { ...: the caller emits the size (aml_integer) and the bytes,
 * then aml_close. */
void aml_buffer(struct aml *a);
/* Package(n) { ...: n data objects follow, closed by aml_close. */
void aml_package(struct aml *a, uint8_t n);
void aml_close(struct aml *a);
void aml_name(struct aml *a, const char *name);	/* then one data object */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id);	/* "PNP0A08" */

#endif
