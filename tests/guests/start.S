/* PVH entry for the test guests: 32-bit flat protected mode, paging off,
 * %ebx -> hvm_start_info.  Calls guest_main(start_info) and reports its
 * return value through the harness exit port. */
#define EXIT_PORT 0xf4

	.section .note.Xen, "a"
	.balign 4
	.long 4			/* namesz */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.section .text.start, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	movl $stack_top, %esp
	pushl %ebx
	call guest_main
	movw $EXIT_PORT, %dx
	outb %al, %dx
1:	hlt
	jmp 1b

	.bss
	.balign 16
	.globl stack_top
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
