/* Decoder tests over hand-assembled byte sequences (lengths and fields
 * checked against GNU as / objdump output). */
#include <errno.h>
#include <string.h>

#include "tests/lib/cutest.h"
#include "translator/x86/decode.h"

static struct x86_insn dec(const char *bytes, size_t n, int want_rc)
{
	struct x86_insn in;
	int rc = x86_decode(&in, (const uint8_t *)bytes, n, 0x1000);

	CU_ASSERT_EQUAL(rc, want_rc);
	return in;
}

#define DEC(s) dec(s, sizeof(s) - 1, 0)

static void test_decode_simple(void)
{
	struct x86_insn in;

	in = DEC("\x90");				/* nop */
	CU_ASSERT_EQUAL(in.len, 1);
	CU_ASSERT_EQUAL(in.opcode, 0x90);
	in = DEC("\xc3");				/* ret */
	CU_ASSERT_EQUAL(in.len, 1);
	in = DEC("\x0f\x05");				/* syscall */
	CU_ASSERT_EQUAL(in.len, 2);
	CU_ASSERT_EQUAL(in.map, X86_MAP_0F);
	CU_ASSERT_FALSE(in.has_modrm);
}

static void test_decode_modrm_sib(void)
{
	struct x86_insn in;

	/* mov rax, [rbx + rcx*8 + 0x10] = 48 8b 44 cb 10 */
	in = DEC("\x48\x8b\x44\xcb\x10");
	CU_ASSERT_EQUAL(in.len, 5);
	CU_ASSERT_EQUAL(in.opsize, 8);
	CU_ASSERT_EQUAL(in.reg, 0);
	CU_ASSERT_EQUAL(in.base, 3);
	CU_ASSERT_EQUAL(in.index, 1);
	CU_ASSERT_EQUAL(in.scale, 8);
	CU_ASSERT_EQUAL(in.disp, 0x10);
	/* mov r9d, [r12] = 45 8b 0c 24 */
	in = DEC("\x45\x8b\x0c\x24");
	CU_ASSERT_EQUAL(in.len, 4);
	CU_ASSERT_EQUAL(in.reg, 9);
	CU_ASSERT_EQUAL(in.base, 12);
	CU_ASSERT_EQUAL(in.index, X86_REG_NONE);
	/* mov eax, [r13 + 0] = 41 8b 45 00 */
	in = DEC("\x41\x8b\x45\x00");
	CU_ASSERT_EQUAL(in.base, 13);
	CU_ASSERT_EQUAL(in.len, 4);
	/* lea rax, [rip - 8] = 48 8d 05 f8 ff ff ff */
	in = DEC("\x48\x8d\x05\xf8\xff\xff\xff");
	CU_ASSERT_EQUAL(in.len, 7);
	CU_ASSERT_EQUAL(in.base, X86_REG_RIP);
	CU_ASSERT_EQUAL(in.disp, -8);
	/* mov eax, [abs 0x1234] (SIB no base) = 8b 04 25 34 12 00 00 */
	in = DEC("\x8b\x04\x25\x34\x12\x00\x00");
	CU_ASSERT_EQUAL(in.base, X86_REG_NONE);
	CU_ASSERT_EQUAL(in.index, X86_REG_NONE);
	CU_ASSERT_EQUAL(in.disp, 0x1234);
	/* index r12 with REX.X: mov eax,[rax + r12*2] = 42 8b 04 60 */
	in = DEC("\x42\x8b\x04\x60");
	CU_ASSERT_EQUAL(in.index, 12);
	CU_ASSERT_EQUAL(in.scale, 2);
}

static void test_decode_immediates(void)
{
	struct x86_insn in;

	in = DEC("\x48\xb8\x88\x77\x66\x55\x44\x33\x22\x11"); /* movabs */
	CU_ASSERT_EQUAL(in.len, 10);
	CU_ASSERT_EQUAL((uint64_t)in.imm, 0x1122334455667788ull);
	in = DEC("\x66\x05\x34\x12");			/* add ax, 0x1234 */
	CU_ASSERT_EQUAL(in.len, 4);
	CU_ASSERT_EQUAL(in.opsize, 2);
	CU_ASSERT_EQUAL(in.imm, 0x1234);
	in = DEC("\x48\x83\xc0\xff");			/* add rax, -1 */
	CU_ASSERT_EQUAL(in.imm, -1);
	in = DEC("\xf7\x05\x10\x00\x00\x00\x01\x00\x00\x00");
	/* test dword [rip+0x10], 1 */
	CU_ASSERT_EQUAL(in.len, 10);
	CU_ASSERT_EQUAL(in.imm, 1);
	in = DEC("\xf7\xd0");				/* not eax: no imm */
	CU_ASSERT_EQUAL(in.len, 2);
	in = DEC("\xe8\x00\x00\x00\x00");		/* call rel32 */
	CU_ASSERT_EQUAL(in.len, 5);
	in = DEC("\x66\xe9\x10\x00\x00\x00");		/* jmp rel32 (66 ign.) */
	CU_ASSERT_EQUAL(in.len, 6);
	in = DEC("\xc8\x10\x00\x01");			/* enter 16, 1 */
	CU_ASSERT_EQUAL(in.len, 4);
	CU_ASSERT_EQUAL(in.imm, 16);
	CU_ASSERT_EQUAL(in.imm2, 1);
	in = DEC("\x0f\xba\xe0\x05");			/* bt eax, 5 */
	CU_ASSERT_EQUAL(in.len, 4);
	in = DEC("\x66\x0f\x3a\x0f\xc1\x08");		/* palignr */
	CU_ASSERT_EQUAL(in.len, 6);
	CU_ASSERT_EQUAL(in.map, X86_MAP_0F3A);
	CU_ASSERT_EQUAL(in.simd_prefix, X86_PFX_66);
	in = DEC("\x48\xa1\x88\x77\x66\x55\x44\x33\x22\x11"); /* moffs */
	CU_ASSERT_EQUAL(in.len, 10);
}

static void test_decode_prefixes(void)
{
	struct x86_insn in;

	in = DEC("\x64\x48\x8b\x04\x25\x28\x00\x00\x00");	/* mov rax,fs:0x28 */
	CU_ASSERT_EQUAL(in.seg, X86_SEG_FS);
	CU_ASSERT_EQUAL(in.len, 9);
	in = DEC("\xf3\x48\xab");				/* rep stosq */
	CU_ASSERT_TRUE(in.rep);
	CU_ASSERT_EQUAL(in.opsize, 8);
	in = DEC("\xf0\x48\x0f\xb1\x0a");		/* lock cmpxchg [rdx],rcx */
	CU_ASSERT_TRUE(in.lock);
	CU_ASSERT_EQUAL(in.len, 5);
	in = DEC("\xf3\x0f\x1e\xfa");				/* endbr64 */
	CU_ASSERT_EQUAL(in.len, 4);
	CU_ASSERT_EQUAL(in.simd_prefix, X86_PFX_F3);
	in = DEC("\x66\x2e\x0f\x1f\x84\x00\x00\x00\x00\x00");	/* nopw */
	CU_ASSERT_EQUAL(in.len, 10);
	in = DEC("\x67\x8b\x00");			/* mov eax, [eax] */
	CU_ASSERT_EQUAL(in.addrsize, 4);
}

static void test_decode_vex(void)
{
	struct x86_insn in;

	/* vpxor xmm0, xmm1, xmm2 = c5 f1 ef c2 */
	in = DEC("\xc5\xf1\xef\xc2");
	CU_ASSERT_TRUE(in.vex);
	CU_ASSERT_EQUAL(in.len, 4);
	CU_ASSERT_EQUAL(in.map, X86_MAP_0F);
	CU_ASSERT_EQUAL(in.opcode, 0xef);
	CU_ASSERT_EQUAL(in.vex_vvvv, 1);
	CU_ASSERT_EQUAL(in.simd_prefix, X86_PFX_66);
	CU_ASSERT_EQUAL(in.vex_l, 0);
	/* vpshufb ymm9, ymm10, [r8] = c4 42 2d 00 08 */
	in = DEC("\xc4\x42\x2d\x00\x08");
	CU_ASSERT_EQUAL(in.len, 5);
	CU_ASSERT_EQUAL(in.map, X86_MAP_0F38);
	CU_ASSERT_EQUAL(in.reg, 9);
	CU_ASSERT_EQUAL(in.base, 8);
	CU_ASSERT_EQUAL(in.vex_vvvv, 10);
	CU_ASSERT_EQUAL(in.vex_l, 1);
	/* vpalignr xmm0,xmm1,xmm2,4 = c4 e3 71 0f c2 04 */
	in = DEC("\xc4\xe3\x71\x0f\xc2\x04");
	CU_ASSERT_EQUAL(in.len, 6);
	CU_ASSERT_EQUAL(in.imm, 4);
}

static void test_decode_errors(void)
{
	/* truncated: needs more bytes */
	dec("\x48\x8b", 2, -EFAULT);
	dec("\xe8\x00\x00", 3, -EFAULT);
	/* invalid in 64-bit mode */
	dec("\x06", 1, -EILSEQ);			/* push es */
	dec("\x9a\x00\x00\x00\x00\x00\x00", 7, -EILSEQ);	/* call far */
	/* 15-byte limit */
	dec("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x90",
	    15, 0);
	dec("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x90",
	    16, -EILSEQ);
}

CUTEST_MAIN("translator-decode",
	    CUTEST(test_decode_simple),
	    CUTEST(test_decode_modrm_sib),
	    CUTEST(test_decode_immediates),
	    CUTEST(test_decode_prefixes),
	    CUTEST(test_decode_vex),
	    CUTEST(test_decode_errors));
