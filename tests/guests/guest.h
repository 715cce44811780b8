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

/* An interrupt entry NAME (for __asm__(".text\n" GUEST_ISR(...))) that
 * saves the caller-saved registers, calls FN and returns with iretq; the
 * frame keeps %rsp 16-aligned. */
#define GUEST_ISR(name, fn) \
	#name ":\n" \
	"push %rax; push %rcx; push %rdx; push %rsi; push %rdi\n" \
	"push %r8; push %r9; push %r10; push %r11\n" \
	"cld; call " #fn "\n" \
	"pop %r11; pop %r10; pop %r9; pop %r8\n" \
	"pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rax\n" \
	"iretq\n"

/* Vector vec -> handler, a 64-bit interrupt gate in the current CS. */
void idt_set(unsigned vec, const void *handler);
/* lidt the 256-entry table (gates never set are not present). */
void idt_load(void);
#endif

int guest_main(const void *start_info);

#endif
