/* Targeted differential-oracle tests for ISA extensions and state the
 * random generator does not reach: PCMPxSTRx over all imm8 values,
 * SSSE3 and conversions on MMX registers, x87 control word and
 * environment, LDMXCSR, CMPXCHG16B; CPUID, RDTSCP and RD/WRFSBASE
 * translated only. */
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "tests/translator/oracle-tests.h"

/* PCMPxSTRx over strings from a small alphabet (so that elements match
 * and terminate) with every imm8, explicit lengths around the limits. */
void test_oracle_sse42_strings(void)
{
	static const uint8_t alphabet[] = { 0, 'a', 'b', 'c', 'z', 0x80, 0xff,
					    0x7f };
	unsigned failures = 0;

	if (!host_has[F_SSE42]) {
		printf("  skipped: host has no SSE4.2\n");
		return;
	}
	rng_state = 777;
	for (unsigned c = 0; c < 4096 && failures < 10; c++) {
		struct oracle_state in;
		uint8_t code[32];
		unsigned len = 0, op = 0x60 + (c & 3), imm = (c >> 2) & 0xff;
		uint8_t *x;
		int la = (int)rnd_below(40) - 20, lb = (int)rnd_below(40) - 20;

		rnd_state(&in);
		for (unsigned r = 1; r <= 2; r++) {
			x = (uint8_t *)in.xmm[r];
			for (unsigned i = 0; i < 16; i++)
				x[i] = alphabet[rnd_below(rnd_below(4) ? 5 : 8)];
		}
		code[len++] = 0xb8;			/* mov eax, la */
		memcpy(code + len, &la, 4);
		len += 4;
		code[len++] = 0xba;			/* mov edx, lb */
		memcpy(code + len, &lb, 4);
		len += 4;
		code[len++] = 0x66;
		if (c & 0x400)
			code[len++] = 0x48;		/* 64-bit lengths */
		code[len++] = 0x0f;
		code[len++] = 0x3a;
		code[len++] = (uint8_t)op;
		code[len++] = 0xca;			/* xmm1, xmm2 */
		code[len++] = (uint8_t)imm;
		if (!oracle_compare("pcmpstr", code, len, &in, 0, c))
			failures++;
	}
	CU_ASSERT_EQUAL(failures, 0);
}

/* SSSE3 on MMX registers: movq mm0, rax; movq mm1, rcx; op mm0, mm1;
 * movq rax, mm0; emms. */
void test_oracle_ssse3_mmx(void)
{
	static const uint8_t ops[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
				       0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
				       0x1c, 0x1d, 0x1e, 0x0f };
	unsigned failures = 0;

	if (!host_has[F_SSSE3]) {
		printf("  skipped: host has no SSSE3\n");
		return;
	}
	rng_state = 31337;
	for (unsigned c = 0; c < 64 * sizeof(ops); c++) {
		uint8_t op = ops[c % sizeof(ops)];
		uint8_t code[32] = { 0x48, 0x0f, 0x6e, 0xc0, 0x48, 0x0f, 0x6e,
				     0xc9, 0x0f, op == 0x0f ? 0x3a : 0x38, op,
				     0xc1 };
		unsigned len = 12;
		struct oracle_state in;

		if (op == 0x0f)
			code[len++] = (uint8_t)rnd_below(20);
		memcpy(code + len, "\x48\x0f\x7e\xc0\x0f\x77", 6);
		len += 6;
		rnd_state(&in);
		if (!oracle_compare("ssse3 mmx", code, len, &in, 0, c))
			failures++;
	}
	CU_ASSERT_EQUAL(failures, 0);
}

/* MMX <-> SSE: conversions (random MXCSR), movq2dq/movdq2q, maskmovq/
 * maskmovdqu; mm values travel through general registers. */
void test_oracle_mmx_sse_mixed(void)
{
	static const struct { const char *name; uint8_t code[24];
			      unsigned len; } t[] = {
		/* movq mm0, rax; cvtpi2ps xmm1, mm0; cvtpi2pd xmm2, mm0 */
		{ "cvtpi2ps/pd", { 0x48, 0x0f, 0x6e, 0xc0, 0x0f, 0x2a, 0xc8,
				   0x66, 0x0f, 0x2a, 0xd0 }, 11 },
		/* cvtpi2ps xmm3, [rbx+16] */
		{ "cvtpi2ps m64", { 0x0f, 0x2a, 0x5b, 0x10 }, 4 },
		/* cvtps2pi mm0, xmm1; movq rax, mm0; cvttps2pi mm1, xmm2;
		 * movq rcx, mm1 */
		{ "cvt(t)ps2pi", { 0x0f, 0x2d, 0xc1, 0x48, 0x0f, 0x7e, 0xc0,
				   0x0f, 0x2c, 0xca, 0x48, 0x0f, 0x7e, 0xc9 },
		  14 },
		/* cvtpd2pi mm0, xmm5; movq rax, mm0; cvttpd2pi mm1, [rbx+32];
		 * movq rcx, mm1 */
		{ "cvt(t)pd2pi", { 0x66, 0x0f, 0x2d, 0xc5, 0x48, 0x0f, 0x7e,
				   0xc0, 0x66, 0x0f, 0x2c, 0x4b, 0x20, 0x48,
				   0x0f, 0x7e, 0xc9 }, 17 },
		/* movq mm2, rdx; movq2dq xmm4, mm2; movdq2q mm3, xmm6;
		 * movq rsi, mm3 */
		{ "movq2dq/movdq2q", { 0x48, 0x0f, 0x6e, 0xd2, 0xf3, 0x0f, 0xd6,
				       0xe2, 0xf2, 0x0f, 0xd6, 0xde, 0x48, 0x0f,
				       0x7e, 0xde }, 16 },
		/* lea rdi, [rbx+40]; maskmovdqu xmm0, xmm1 */
		{ "maskmovdqu", { 0x48, 0x8d, 0x7b, 0x28, 0x66, 0x0f, 0xf7,
				  0xc1 }, 8 },
		/* movq mm0, rax; movq mm1, rcx; lea rdi, [rbx+8];
		 * maskmovq mm0, mm1 */
		{ "maskmovq", { 0x48, 0x0f, 0x6e, 0xc0, 0x48, 0x0f, 0x6e, 0xc9,
				0x48, 0x8d, 0x7b, 0x08, 0x0f, 0xf7, 0xc1 }, 15 },
	};
	unsigned failures = 0;

	rng_state = 2025;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (unsigned rep = 0; rep < 40; rep++) {
			uint8_t code[32];
			struct oracle_state in;

			memcpy(code, t[i].code, t[i].len);
			memcpy(code + t[i].len, "\x0f\x77", 2);	/* emms */
			rnd_state(&in);
			if (!oracle_compare(t[i].name, code, t[i].len + 2, &in,
					    0, rep))
				failures++;
		}
	}
	CU_ASSERT_EQUAL(failures, 0);
}

/* x87 under every precision and rounding control (exceptions masked):
 * arithmetic, conversions on store, fistp, status word and fnstenv
 * (its instruction/operand pointer fields cleared, and C1 in the status
 * word: the round-up indicator is not modelled). */
void test_oracle_x87_control(void)
{
	static const uint16_t cws[] = { 0x037f, 0x007f, 0x027f, 0x077f, 0x0b7f,
					0x0f7f, 0x047f, 0x0c7f, 0x087f };
	static const uint8_t tail[] = {
		0xd9, 0x2b,			/* fldcw [rbx] */
		0xdd, 0x43, 0x08,		/* fld qword [rbx+8] */
		0xdc, 0x73, 0x10,		/* fdiv qword [rbx+16] */
		0xdd, 0x43, 0x18,		/* fld qword [rbx+24] */
		0xde, 0xc1,			/* faddp */
		0xdb, 0x7b, 0x20,		/* fstp tbyte [rbx+32] */
		0xdd, 0x43, 0x08,		/* fld qword [rbx+8] */
		0xd9, 0xfa,			/* fsqrt */
		0xdd, 0x5b, 0x30,		/* fstp qword [rbx+48] */
		0xdd, 0x43, 0x10,		/* fld qword [rbx+16] */
		0xdb, 0x5b, 0x38,		/* fistp dword [rbx+56] */
		0xdd, 0x43, 0x18,		/* fld qword [rbx+24] */
		0xd9, 0x5b, 0x3c,		/* fstp dword [rbx+60] */
		0xdf, 0xe0,			/* fnstsw ax */
		0x25, 0xff, 0xfd, 0xff, 0xff,	/* and eax, ~C1 */
		0xd9, 0x73, 0x40,		/* fnstenv [rbx+64] */
		0x66, 0x81, 0x63, 0x44, 0xff, 0xfd,	/* and [rbx+68], ~C1 */
		0x48, 0xc7, 0x43, 0x4c, 0, 0, 0, 0,	/* pointers := 0 */
		0x48, 0xc7, 0x43, 0x54, 0, 0, 0, 0,
		0xdb, 0xe3,			/* fninit */
	};
	unsigned failures = 0;

	rng_state = 8086;
	for (unsigned c = 0; c < 40 * sizeof(cws) / sizeof(cws[0]); c++) {
		uint16_t cw = cws[c % (sizeof(cws) / sizeof(cws[0]))];
		uint8_t code[128] = { 0x66, 0xc7, 0x03, (uint8_t)cw,
				      (uint8_t)(cw >> 8) };
		struct oracle_state in;

		memcpy(code + 5, tail, sizeof(tail));
		rnd_state(&in);
		if (!oracle_compare("x87 control", code, 5 + sizeof(tail), &in,
				    0, c))
			failures++;
	}
	CU_ASSERT_EQUAL(failures, 0);
}

/* LDMXCSR with every rounding control, DAZ/FTZ and cleared flags, then
 * arithmetic and STMXCSR in the same block. */
void test_oracle_ldmxcsr(void)
{
	static const uint32_t csrs[] = { 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9fc0,
					 0x1fbf, 0xffc0 };
	unsigned failures = 0;

	rng_state = 1789;
	for (unsigned c = 0; c < 30 * sizeof(csrs) / sizeof(csrs[0]); c++) {
		uint32_t v = csrs[c % (sizeof(csrs) / sizeof(csrs[0]))];
		uint8_t code[] = {
			0xc7, 0x43, 0x30, (uint8_t)v, (uint8_t)(v >> 8), 0, 0,
			0x0f, 0xae, 0x53, 0x30,		/* ldmxcsr [rbx+48] */
			0xf2, 0x0f, 0x5e, 0xc1,		/* divsd xmm0, xmm1 */
			0x0f, 0xae, 0x5b, 0x34,		/* stmxcsr [rbx+52] */
			0x0f, 0x59, 0xd3,		/* mulps xmm2, xmm3 */
			0xf3, 0x48, 0x0f, 0x2d, 0xc4,	/* cvtss2si rax, xmm4 */
			0x0f, 0xae, 0x5b, 0x38,		/* stmxcsr [rbx+56] */
		};
		struct oracle_state in;

		rnd_state(&in);
		if (!oracle_compare("ldmxcsr", code, sizeof(code), &in, 0, c))
			failures++;
	}
	CU_ASSERT_EQUAL(failures, 0);
}

/* FXSAVE after x87 and SSE work (FOP/FIP/FDP and C1 cleared: not
 * modelled),
 * then FXRSTOR of an image with another MXCSR and x87 control word,
 * arithmetic under it and a second FXSAVE. */
void test_oracle_fxsave(void)
{
	static const uint8_t code[] = {
		0x48, 0x8d, 0xbb, 0x00, 0x02, 0x00, 0x00,	/* lea rdi, [rbx+512] */
		0xd9, 0xe8, 0xd9, 0xeb, 0xdd, 0x43, 0x08,	/* fld1 fldpi fld [rbx+8] */
		0xf2, 0x0f, 0x5e, 0xc1,			/* divsd xmm0, xmm1 */
		0x0f, 0xae, 0x07,			/* fxsave [rdi] */
		0x66, 0xc7, 0x47, 0x06, 0x00, 0x00,	/* FOP := 0 */
		0x48, 0xc7, 0x47, 0x08, 0, 0, 0, 0,	/* FIP := 0 */
		0x48, 0xc7, 0x47, 0x10, 0, 0, 0, 0,	/* FDP := 0 */
		0x66, 0xc7, 0x07, 0x7f, 0x0b,		/* FCW := 0xb7f (up) */
		0xc7, 0x47, 0x18, 0x80, 0x5f, 0, 0,	/* MXCSR := 0x5f80 */
		0x0f, 0xae, 0x0f,			/* fxrstor [rdi] */
		0xde, 0xf9,				/* fdivp */
		0xf2, 0x0f, 0x5e, 0xd3,			/* divsd xmm2, xmm3 */
		0x48, 0x8d, 0xbb, 0x00, 0x04, 0x00, 0x00,	/* lea rdi, [rbx+1024] */
		0x0f, 0xae, 0x07,			/* fxsave [rdi] */
		0x66, 0xc7, 0x47, 0x06, 0x00, 0x00,
		0x48, 0xc7, 0x47, 0x08, 0, 0, 0, 0,
		0x48, 0xc7, 0x47, 0x10, 0, 0, 0, 0,
		0x66, 0x81, 0x67, 0x02, 0xff, 0xfd,	/* FSW &= ~C1 */
		0xdb, 0xe3,				/* fninit */
	};
	struct oracle_state in;
	unsigned failures = 0;

	rng_state = 512;
	for (unsigned c = 0; c < 40; c++) {
		rnd_state(&in);
		if (!oracle_compare("fxsave/fxrstor", code, sizeof(code), &in, 0,
				    c))
			failures++;
	}
	CU_ASSERT_EQUAL(failures, 0);
}

/* Extensions this host may have that are not implemented nor
 * advertised: the translator answers SIGILL where the host executes. */
static bool unadvertised(unsigned map, unsigned op, unsigned pfx)
{
	if (map == 1)
		return (op >= 0xc8 && op <= 0xcd) || op == 0xcf ||	/* SHA, GFNI */
		       (op >= 0xdb && op <= 0xdf) ||			/* AES */
		       ((op == 0xf0 || op == 0xf1) && pfx != 0xf2) ||	/* MOVBE */
		       op == 0xf5 || op == 0xf6 || op == 0xf8 ||	/* ADX... */
		       op == 0xf9 || op == 0x80 || op == 0x81 ||
		       op == 0x82;					/* INVPCID */
	if (map == 2)
		return op == 0x44 || op == 0xcc || op == 0xce || op == 0xcf ||
		       op == 0xdf;	/* PCLMULQDQ, SHA, GFNI, AES */
	return false;
}

/* Every opcode of the 0F (SIMD range), 0F38 and 0F3A maps with each
 * mandatory prefix, register and memory forms: the translator accepts
 * exactly the encodings this host accepts and computes the same, except
 * extensions it does not advertise (SIGILL there), and debug-register
 * moves (privileged: SIGSEGV natively, SIGILL translated). */
void test_oracle_encoding_sweep(void)
{
	static const uint8_t pfx[4] = { 0, 0x66, 0xf3, 0xf2 };
	unsigned failures = 0, allowed = 0;
	struct oracle_state in;

	if (!host_has[F_SSE3] || !host_has[F_SSSE3] || !host_has[F_SSE41] ||
	    !host_has[F_SSE42]) {
		printf("  skipped: the host lacks part of SSE3..SSE4.2\n");
		return;
	}
	rng_state = 4004;
	for (unsigned map = 0; map < 3; map++) {
		for (unsigned op = 0; op < 256; op++) {
			if (map == 0 && (op < 0x10 || (op >= 0x30 && op < 0x50) ||
					 (op >= 0x77 && op < 0xc2) ||
					 (op >= 0xc8 && op < 0xd0)))
				continue;	/* integer/system opcodes */
			for (unsigned k = 0; k < 8; k++) {
				uint8_t code[16];
				unsigned n = 0;
				int ns, ts;
				char label[64];

				if (pfx[k & 3])
					code[n++] = pfx[k & 3];
				code[n++] = 0x0f;
				if (map)
					code[n++] = map == 1 ? 0x38 : 0x3a;
				code[n++] = (uint8_t)op;
				code[n++] = k & 4 ? 0x4b : 0xca;
				if (k & 4)
					code[n++] = 0x10;	/* [rbx+16] */
				if (map == 2 || (map == 0 && (op == 0x70 ||
				    (op >= 0x71 && op <= 0x73) || op == 0xc2 ||
				    op == 0xc4 || op == 0xc5 || op == 0xc6)))
					code[n++] = (uint8_t)rnd_below(256) & 0x7f;
				snprintf(label, sizeof(label), "sweep map %u op %02x "
					 "prefix %02x %s", map, op, pfx[k & 3],
					 k & 4 ? "mem" : "reg");
				rnd_state(&in);
				/* maskmov* store to [rdi]; a zero mask's fault
				 * is implementation dependent. */
				in.r[7] = ORACLE_MEM_BASE + 0x100;
				oracle_quiet = true;
				if (oracle_compare(label, code, n, &in, 0, k)) {
					oracle_quiet = false;
					continue;
				}
				oracle_quiet = false;
				oracle_last_signals(&ns, &ts);
				if (ts == 4 && ns != 4 &&
				    (unadvertised(map, op, pfx[k & 3]) ||
				     (map == 0 && (op == 0x21 || op == 0x23)))) {
					allowed++;
					continue;
				}
				oracle_compare(label, code, n, &in, 0, k);
				failures++;
			}
		}
	}
	printf("  SIGILL for unadvertised extensions: %u encodings\n",
	       allowed);
	CU_ASSERT_EQUAL(failures, 0);
}

/* CMPXCHG16B with and without LOCK, both outcomes. */
/* SSE accesses of 4..16 bytes starting 1..16 bytes before a PROT_NONE
 * page (right after the data area), loads, stores and ops with memory
 * sources: crossing ones fault before changing registers or memory
 * (stores write nothing), the others complete.  An add before the access
 * checks that the state of earlier instructions in the block survives. */
void test_oracle_sse_page_end(void)
{
	static const struct {
		const char *name;
		uint8_t len, bytes[6];
	} insns[] = {
		{ "movdqu load", 4, { 0xf3, 0x0f, 0x6f, 0x0b } },
		{ "movdqu store", 4, { 0xf3, 0x0f, 0x7f, 0x0b } },
		{ "movups store", 3, { 0x0f, 0x11, 0x13 } },
		{ "movupd load", 4, { 0x66, 0x0f, 0x10, 0x13 } },
		{ "lddqu", 4, { 0xf2, 0x0f, 0xf0, 0x0b } },
		{ "pcmpeqb", 4, { 0x66, 0x0f, 0x74, 0x0b } },
		{ "pminub", 4, { 0x66, 0x0f, 0xda, 0x0b } },
		{ "pshufd", 5, { 0x66, 0x0f, 0x70, 0x0b, 0x1b } },
		{ "ptest", 5, { 0x66, 0x0f, 0x38, 0x17, 0x0b } },
		{ "pshufb", 5, { 0x66, 0x0f, 0x38, 0x00, 0x0b } },
		{ "palignr", 6, { 0x66, 0x0f, 0x3a, 0x0f, 0x0b, 0x07 } },
		{ "pmovzxbw", 5, { 0x66, 0x0f, 0x38, 0x30, 0x0b } },
		{ "movq load", 4, { 0xf3, 0x0f, 0x7e, 0x0b } },
		{ "movq store", 4, { 0x66, 0x0f, 0xd6, 0x0b } },
		{ "movsd load", 4, { 0xf2, 0x0f, 0x10, 0x0b } },
		{ "movss load", 4, { 0xf3, 0x0f, 0x10, 0x0b } },
		{ "movhps load", 3, { 0x0f, 0x16, 0x0b } },
		{ "movlps store", 3, { 0x0f, 0x13, 0x0b } },
		{ "movd load", 4, { 0x66, 0x0f, 0x6e, 0x0b } },
		{ "addsd", 4, { 0xf2, 0x0f, 0x58, 0x0b } },
	};
	uint64_t end = ORACLE_DATA_ADDR + ORACLE_DATA_SIZE;
	void *guard = mmap((void *)end, 4096, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			   -1, 0);
	unsigned failures = 0, faults = 0;

	if (guard == MAP_FAILED) {
		printf("  skipped: no guard page after the data area\n");
		return;
	}
	rng_state = 4096;
	for (unsigned i = 0; i < sizeof(insns) / sizeof(insns[0]); i++)
		for (unsigned k = 1; k <= 16; k++) {
			struct oracle_state in;
			uint8_t code[32];
			uint64_t addr = end - k;
			unsigned len = 0;
			int native, translated;

			if (insns[i].bytes[1] == 0x38 && !host_has[F_SSE41])
				continue;
			rnd_state(&in);
			code[len++] = 0x48;		/* add rax, 1 */
			code[len++] = 0x83;
			code[len++] = 0xc0;
			code[len++] = 0x01;
			code[len++] = 0x48;		/* mov rbx, addr */
			code[len++] = 0xbb;
			memcpy(code + len, &addr, 8);
			len += 8;
			memcpy(code + len, insns[i].bytes, insns[i].len);
			len += insns[i].len;
			code[len++] = 0x48;		/* add rcx, 1 */
			code[len++] = 0x83;
			code[len++] = 0xc1;
			code[len++] = 0x01;
			if (!oracle_compare(insns[i].name, code, len, &in, 0,
					    k)) {
				printf("  %s at end - %u\n", insns[i].name, k);
				failures++;
			}
			oracle_last_signals(&native, &translated);
			faults += native == SIGSEGV;
		}
	munmap(guard, 4096);
	printf("  %u faulting accesses compared\n", faults);
	CU_ASSERT(faults > 100);
	CU_ASSERT_EQUAL(failures, 0);
}

/* Inline floating point under every host MXCSR the translator may
 * find when it runs generated code (its own flags set, another rounding
 * control, FTZ): the guest MXCSR rules, the guest gets exactly the flags
 * its ops raise, and the host control bits are restored. */
void test_oracle_sse_fp_host_mxcsr(void)
{
	static const uint8_t code[] = {
		0xf2, 0x0f, 0x58, 0xca,		/* addsd xmm1, xmm2 */
		0xf2, 0x0f, 0x5e, 0xd3,		/* divsd xmm2, xmm3 */
		0x66, 0x0f, 0x59, 0xe5,		/* mulpd xmm4, xmm5 */
		0xf2, 0x48, 0x0f, 0x2a, 0xf0,	/* cvtsi2sd xmm6, rax */
		0xf2, 0x48, 0x0f, 0x2c, 0xca,	/* cvttsd2si rcx, xmm2 */
		0xf3, 0x0f, 0x2d, 0xd7,		/* cvtss2si edx, xmm7 */
		0x66, 0x0f, 0x2e, 0xc1,		/* ucomisd xmm0, xmm1 */
		0x0f, 0x92, 0xc0,		/* setb al */
		0x66, 0x0f, 0x51, 0xc3,		/* sqrtpd xmm0, xmm3 */
		0xf2, 0x0f, 0xc2, 0xd9, 0x01,	/* cmpltsd xmm3, xmm1 */
		0xf2, 0x0f, 0x5a, 0xe2,		/* cvtsd2ss xmm4, xmm2 */
		0x0f, 0x2f, 0xe9,		/* comiss xmm5, xmm1 */
	};
	static const uint32_t host_csr[] = { 0x1f80, 0x1fbf, 0x3f80, 0x9fa1,
					     0x7f80 };
	unsigned failures = 0, restored = 0;
	uint32_t saved = __builtin_ia32_stmxcsr();

	rng_state = 1717;
	for (unsigned h = 0; h < sizeof(host_csr) / sizeof(host_csr[0]); h++)
		for (unsigned c = 0; c < 40; c++) {
			struct oracle_state in;

			rnd_state(&in);
			__builtin_ia32_ldmxcsr(host_csr[h]);
			if (!oracle_compare("fp under host mxcsr", code,
					    sizeof(code), &in, 0, c))
				failures++;
			restored += (__builtin_ia32_stmxcsr() & 0xffc0) ==
				    (host_csr[h] & 0xffc0);
			__builtin_ia32_ldmxcsr(saved);
		}
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(restored, 5 * 40);
}

void test_oracle_cmpxchg16b(void)
{
	static const uint8_t code[] = {
		0x48, 0x8b, 0x43, 0x20,		/* mov rax, [rbx+32] */
		0x48, 0x8b, 0x53, 0x28,		/* mov rdx, [rbx+40] */
		0xf0, 0x48, 0x0f, 0xc7, 0x4b, 0x20,	/* lock cmpxchg16b [rbx+32] */
		0x0f, 0x94, 0xc1,		/* sete cl */
		0x48, 0x0f, 0xc7, 0x4b, 0x20,	/* cmpxchg16b [rbx+32]: fails */
		0x0f, 0x94, 0xc5,		/* sete ch */
	};
	struct oracle_state in;
	unsigned failures = 0;

	rng_state = 16;
	for (unsigned c = 0; c < 20; c++) {
		rnd_state(&in);
		if (!oracle_compare("cmpxchg16b", code, sizeof(code), &in, 0, c))
			failures++;
	}
	CU_ASSERT_EQUAL(failures, 0);
}

static void cpuid_translated(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	static const uint8_t code[] = { 0x0f, 0xa2 };
	struct oracle_state in, out;

	memset(&in, 0, sizeof(in));
	in.r[0] = leaf;
	in.r[1] = sub;
	in.r[3] = ORACLE_MEM_BASE;
	in.r[4] = ORACLE_STACK;
	in.rflags = 2;
	in.mxcsr = 0x1f80;
	CU_ASSERT_EQUAL(oracle_run_translated(code, sizeof(code), &in, &out), 0);
	r[0] = (uint32_t)out.r[0];
	r[1] = (uint32_t)out.r[3];
	r[2] = (uint32_t)out.r[1];
	r[3] = (uint32_t)out.r[2];
}

/* CPUID advertises exactly the implemented extensions (each of which the
 * oracle compares against this host), sane cache leaves, a brand. */
void test_cpuid_leaves(void)
{
	uint32_t r[4], ecx1 = 1u << 0 | 1u << 9 | 1u << 13 | 1u << 19 |
			      1u << 20 | 1u << 23;
	char brand[49] = "";
	unsigned level_seen = 0;

	cpuid_translated(0, 0, r);
	CU_ASSERT_EQUAL(r[0], 7);
	CU_ASSERT(memcmp(&r[1], "Genu", 4) == 0);
	cpuid_translated(1, 0, r);
	CU_ASSERT_EQUAL(r[2], ecx1);	/* no AVX, XSAVE, MOVBE, AES... */
	CU_ASSERT_EQUAL(r[3], 0x07888111u);
	CU_ASSERT_EQUAL(r[2] & ~(host_has[F_SSE3] | host_has[F_SSSE3] << 9 |
				 host_has[F_SSE41] << 19 |
				 host_has[F_SSE42] << 20 | 1u << 13 |
				 1u << 23), 0);
	for (uint32_t sub = 0; sub < 8; sub++) {
		uint32_t type, level, ways, line, sets;

		cpuid_translated(4, sub, r);
		type = r[0] & 31;
		if (type == 0)
			break;
		level = (r[0] >> 5) & 7;
		ways = (r[1] >> 22) + 1;
		line = (r[1] & 0xfff) + 1;
		sets = r[2] + 1;
		CU_ASSERT(type <= 3 && level >= 1 && level <= 3);
		CU_ASSERT_EQUAL(line, 64);
		CU_ASSERT(ways * line * sets >= 32768);
		level_seen |= 1u << level;
	}
	CU_ASSERT_EQUAL(level_seen, 0xe);
	cpuid_translated(2, 0, r);
	CU_ASSERT_EQUAL(r[0] & 0xff, 1);
	cpuid_translated(7, 0, r);
	CU_ASSERT_EQUAL(r[1], 1);	/* FSGSBASE only: no BMI, AVX2, ERMS */
	CU_ASSERT_EQUAL(r[2] | r[3], 0);
	cpuid_translated(0x80000000, 0, r);
	CU_ASSERT_EQUAL(r[0], 0x80000008);
	cpuid_translated(0x80000001, 0, r);
	CU_ASSERT_EQUAL(r[2], 0x21);	/* LAHF, LZCNT */
	for (uint32_t l = 0; l < 3; l++) {
		cpuid_translated(0x80000002 + l, 0, r);
		memcpy(brand + 16 * l, r, 16);
	}
	CU_ASSERT(strncmp(brand, "Mica", 4) == 0);
	cpuid_translated(0x80000006, 0, r);
	CU_ASSERT_EQUAL(r[2] & 0xff, 64);
}

/* RDTSCP, RDFSBASE/WRFSBASE (translated only: natively they would move
 * the harness's own TLS). */
void test_rdtscp_fsgsbase(void)
{
	static const uint8_t code[] = {
		0x0f, 0x01, 0xf9,		/* rdtscp */
		0x49, 0x89, 0xc0,		/* mov r8, rax */
		0xf3, 0x49, 0x0f, 0xae, 0xd1,	/* wrfsbase r9 */
		0xf3, 0x49, 0x0f, 0xae, 0xc2,	/* rdfsbase r10 */
		0xf3, 0x41, 0x0f, 0xae, 0xdb,	/* wrgsbase r11d */
		0xf3, 0x49, 0x0f, 0xae, 0xcc,	/* rdgsbase r12 */
	};
	struct oracle_state in, out;

	memset(&in, 0, sizeof(in));
	in.r[3] = ORACLE_MEM_BASE;
	in.r[4] = ORACLE_STACK;
	in.r[9] = 0x123456789000ull;
	in.r[11] = 0xffffffff87654321ull;
	in.rflags = 2;
	in.mxcsr = 0x1f80;
	CU_ASSERT_EQUAL(oracle_run_translated(code, sizeof(code), &in, &out), 0);
	CU_ASSERT(out.r[8] != 0 && out.r[8] <= 0xffffffffu);
	CU_ASSERT(out.r[2] <= 0xffffffffu);
	CU_ASSERT_EQUAL(out.r[10], 0x123456789000ull);
	CU_ASSERT_EQUAL(out.r[12], 0x87654321ull);
}
