/* Entry of the 64-bit test guests, booted as a bzImage through the 64-bit
 * boot protocol: linked at 1 MiB, 64-bit entry at +0x200, %rsi ->
 * boot_params.  Calls guest_main(boot_params), reports its return value
 * through the exit port. */
#define EXIT_PORT 0xf4

	.section .text.start, "ax"
	.code32
entry32:			/* the 32-bit entry is not supported */
	movb $0x7f, %al
	outb %al, $EXIT_PORT
	hlt
	.org entry32 + 0x200
	.code64
	.globl entry64
entry64:
	cli
	leaq stack_top(%rip), %rsp
	movq %rsi, %rdi
	call guest_main
	outb %al, $EXIT_PORT
1:	hlt
	jmp 1b

	.bss
	.balign 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
