/* Triple fault: with an empty IDT, ud2 (#UD) -> #GP -> #DF -> shutdown.  The
 * harness must report "shutdown" (exit status 2), not hang or crash.
 * (Not int3: under PVM the emulator cannot deliver a software INT.) */
#include "guest.h"

int guest_main(const void *boot_params)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr =
		{ 0, 0 };

	uart_init();
	puts("triple: faulting\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(idtr));
	puts("triple: still running\n");
	return 1;
}
