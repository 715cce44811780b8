/* A minimal "bzImage": a setup header good enough for the 64-bit boot
 * protocol and a 64-bit payload that checks what the loader promised
 * (long mode, %rsi -> boot_params with our header, the command line, the
 * e820 map) and prints it on COM1.  Built as a flat binary. */
#define COM1 0x3f8
#define EXIT_PORT 0xf4
#define LOAD_ADDR 0x100000

	.text
	.code16
start:
	.org 0x1f1
setup_sects:	.byte 1
root_flags:	.word 0
syssize:	.long (payload_end - payload + 15) / 16
ram_size:	.word 0
vid_mode:	.word 0xffff
root_dev:	.word 0
boot_flag:	.word 0xaa55
jump:		.byte 0xeb, hdr_end - header
header:		.ascii "HdrS"
version:	.word 0x020f
realmode_swtch:	.long 0
start_sys_seg:	.word 0
kernel_version:	.word 0
type_of_loader:	.byte 0
loadflags:	.byte 0x01		/* LOADED_HIGH */
setup_move_size: .word 0
code32_start:	.long LOAD_ADDR
ramdisk_image:	.long 0
ramdisk_size:	.long 0
bootsect_kludge: .long 0
heap_end_ptr:	.word 0
ext_loader_ver:	.byte 0
ext_loader_type: .byte 0
cmd_line_ptr:	.long 0
initrd_addr_max: .long 0x7fffffff
kernel_alignment: .long 0x200000
relocatable_kernel: .byte 0
min_alignment:	.byte 0
xloadflags:	.word 0x0001		/* XLF_KERNEL_64 */
cmdline_size:	.long 255
hardware_subarch: .long 0
hardware_subarch_data: .quad 0
payload_offset:	.long 0
payload_length:	.long 0
setup_data:	.quad 0
pref_address:	.quad LOAD_ADDR
init_size:	.long 0x10000
handover_offset: .long 0
kernel_info_offset: .long 0
hdr_end:
	.org 0x400			/* (setup_sects + 1) * 512 */

payload:
	.code32
entry32:				/* 32-bit entry: not used */
	hlt
	.org payload + 0x200
	.code64
entry64:
	movq %rsi, %r12
	cmpl $0x53726448, 0x202(%r12)	/* "HdrS" in boot_params */
	jne fail
	cmpb $0xff, 0x210(%r12)		/* type_of_loader */
	jne fail
	movw %cs, %ax
	cmpw $0x10, %ax			/* __BOOT_CS */
	jne fail
	leaq msg_ok(%rip), %rbx
	call puts
	movl 0x228(%r12), %ebx		/* cmd_line_ptr */
	call puts
	leaq msg_e820(%rip), %rbx
	call puts
	movzbl 0x1e8(%r12), %eax	/* e820_entries, one digit */
	addb $'0', %al
	call putc
	movb $'\n', %al
	call putc
	xorl %eax, %eax
	outb %al, $EXIT_PORT
	hlt
fail:
	leaq msg_fail(%rip), %rbx
	call puts
	movb $1, %al
	outb %al, $EXIT_PORT
	hlt

/* putc: %al; clobbers %dx, %cl */
putc:
	movb %al, %cl
	movw $COM1 + 5, %dx
1:	inb %dx, %al
	testb $0x20, %al
	jz 1b
	movw $COM1, %dx
	movb %cl, %al
	outb %al, %dx
	ret

/* puts: NUL-terminated string at %rbx */
puts:
	movb (%rbx), %al
	testb %al, %al
	jz 2f
	call putc
	incq %rbx
	jmp puts
2:	ret

msg_ok:		.asciz "bzimage64: long mode ok, cmdline: "
msg_e820:	.asciz "\ne820 entries: "
msg_fail:	.asciz "bzimage64: boot state wrong\n"
payload_end:

	.section .note.GNU-stack, "", @progbits
