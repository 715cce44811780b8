#include <string.h>

#include "boot/aml.h"

#define AML_SCOPE_OP	0x10
#define AML_NAME_OP	0x08
#define AML_BUFFER_OP	0x11
#define AML_PACKAGE_OP	0x12
#define AML_EXT_PREFIX	0x5b
#define AML_DEVICE_OP	0x82
#define AML_ROOT_CHAR	'\\'

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->len + n > a->cap) {
		a->overflow = 1;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* NameString: optional root prefix, then dot-separated 4-char segments
 * ("\\_SB" or "PCI0"); only single segments are used here. */
static void aml_namestring(struct aml *a, const char *name)
{
	char seg[4] = { '_', '_', '_', '_' };

	if (*name == AML_ROOT_CHAR)
		aml_byte(a, (uint8_t)*name++);
	for (int i = 0; i < 4 && name[i]; i++)
		seg[i] = name[i];
	aml_bytes(a, seg, 4);
}

static void aml_open(struct aml *a)
{
	if (a->depth < AML_MAX_DEPTH)
		a->open[a->depth] = a->len;
	a->depth++;
}

/* Insert the PkgLength (which counts itself) in front of the body. */
void aml_close(struct aml *a)
{
	size_t start, body, total;
	uint8_t enc[4];
	unsigned n;

	if (a->depth == 0 || a->depth > AML_MAX_DEPTH || a->overflow) {
		a->overflow = 1;
		return;
	}
	start = a->open[--a->depth];
	body = a->len - start;
	if (body + 1 < 0x40)
		n = 1;
	else if (body + 2 < 0x1000)
		n = 2;
	else if (body + 3 < 0x100000)
		n = 3;
	else
		n = 4;
	total = body + n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (a->len + n > a->cap) {
		a->overflow = 1;
		return;
	}
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, enc, n);
	a->len += n;
}

void aml_scope(struct aml *a, const char *name)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_open(a);
	aml_namestring(a, name);
}

void aml_device(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	aml_open(a);
	aml_namestring(a, name);
}

void aml_buffer(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_open(a);
}

void aml_package(struct aml *a, uint8_t n)
{
	aml_byte(a, AML_PACKAGE_OP);
	aml_open(a);
	aml_byte(a, n);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, 0x00);		/* ZeroOp */
	} else if (v == 1) {
		aml_byte(a, 0x01);		/* OneOp */
	} else if (v <= 0xff) {
		aml_byte(a, 0x0a);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);
		aml_bytes(a, &(uint16_t){ (uint16_t)v }, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, 0x0c);
		aml_bytes(a, &(uint32_t){ (uint32_t)v }, 4);
	} else {
		aml_byte(a, 0x0e);
		aml_bytes(a, &v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, 0x0d);
	aml_bytes(a, s, strlen(s) + 1);
}

/* EISA id: three letters (5 bits each, 'A' = 1) and four hex digits,
 * stored big-endian as a DWord. */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	v |= (uint32_t)((id[0] - 0x40) & 0x1f) << 26;
	v |= (uint32_t)((id[1] - 0x40) & 0x1f) << 21;
	v |= (uint32_t)((id[2] - 0x40) & 0x1f) << 16;
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d = (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);

		v |= d << (4 * (6 - i));
	}
	aml_byte(a, 0x0c);
	aml_bytes(a, &(uint32_t){ __builtin_bswap32(v) }, 4);
}
