/* Wrap a flat 64-bit payload (PAYLOAD, linked at 1 MiB) in a bzImage
 * setup header so the loader boots it through the 64-bit boot protocol. */
#define LOAD_ADDR 0x100000

	.text
	.code16
start:
	.org 0x1f1
	.byte 1				/* setup_sects */
	.word 0				/* root_flags */
	.long (payload_end - payload + 15) / 16	/* syssize */
	.word 0, 0xffff, 0		/* ram_size, vid_mode, root_dev */
	.word 0xaa55			/* boot_flag */
jump:	.byte 0xeb, hdr_end - header
header:	.ascii "HdrS"
	.word 0x020f			/* protocol 2.15 */
	.long 0				/* realmode_swtch */
	.word 0, 0			/* start_sys_seg, kernel_version */
	.byte 0, 0x01			/* type_of_loader, loadflags */
	.word 0				/* setup_move_size */
	.long LOAD_ADDR			/* code32_start */
	.long 0, 0, 0			/* ramdisk_image/size, kludge */
	.word 0				/* heap_end_ptr */
	.byte 0, 0			/* ext_loader_ver/type */
	.long 0				/* cmd_line_ptr */
	.long 0x7fffffff		/* initrd_addr_max */
	.long 0x200000			/* kernel_alignment */
	.byte 0, 0			/* relocatable_kernel, min_alignment */
	.word 0x0001			/* xloadflags: XLF_KERNEL_64 */
	.long 255			/* cmdline_size */
	.long 0				/* hardware_subarch */
	.quad 0				/* hardware_subarch_data */
	.long 0, 0			/* payload_offset/length */
	.quad 0				/* setup_data */
	.quad LOAD_ADDR			/* pref_address */
	.long 0x100000			/* init_size */
	.long 0, 0			/* handover_offset, kernel_info_offset */
hdr_end:
	.org 0x400
payload:
	.incbin PAYLOAD
payload_end:

	.section .note.GNU-stack, "", @progbits
