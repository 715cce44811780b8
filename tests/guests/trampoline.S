/* AP start-up code for the smp guest.  The BSP copies it to 0x8000 and
 * points the SIPI vector there; each AP switches to flat 32-bit mode,
 * takes a 4 KiB stack and calls ap_main().  Everything here is addressed
 * as if linked at 0x8000. */
#define TRAMP_BASE 0x8000
#define T(x) ((x) - trampoline_start + TRAMP_BASE)

	.section .rodata
	.globl trampoline_start, trampoline_end
	.code16
trampoline_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl T(tramp_gdtr)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x08, $T(tramp_pm)

	.code32
tramp_pm:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl $4096, %eax
	lock xaddl %eax, ap_stack_next
	leal 4096(%eax), %esp
	movl $ap_main, %eax
	call *%eax
1:	cli
	hlt
	jmp 1b

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: flat code */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
tramp_gdtr:
	.word 23
	.long T(tramp_gdt)
trampoline_end:

	.section .note.GNU-stack, "", @progbits
