/* Smallest guest: real mode at 0:7c00, prints "real\n" on COM1 with
 * plain OUTs and leaves through the exit port with status 0. */
	.code16
	.text
	.globl _start
_start:
	movw $0x3f8, %dx
	movw $msg - _start + 0x7c00, %si
1:	movb (%si), %al
	testb %al, %al
	jz 2f
	outb %al, %dx
	incw %si
	jmp 1b
2:	movb $0, %al
	outb %al, $0xf4
	hlt
msg:	.asciz "real\n"
