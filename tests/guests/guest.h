/* Freestanding helpers for the test guests (32-bit, no libc). */
#ifndef MICA_GUEST_H
#define MICA_GUEST_H

#include <stdint.h>

#define COM1 0x3f8

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t mmio_read32(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

void uart_init(void);
void putc(char c);
void puts(const char *s);
void put_hex(uint32_t v, int digits);
void put_dec(uint32_t v);
void guest_exit(int status) __attribute__((noreturn));
/* Whether the bzImage command line (boot_params' cmd_line_ptr) holds word. */
int cmdline_has(const void *boot_params, const char *word);
#ifdef __x86_64__
/* Identity-map [4 GiB, end) (end up to 8 GiB) next to the boot page
 * tables' first 4 GiB.  0, or -1 when end is too far. */
int map_above_4g(uint64_t end);
#endif

int guest_main(const void *start_info);

#endif
