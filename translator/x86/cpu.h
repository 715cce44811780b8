/* x86-64 guest CPU state as generated code sees it (through the env
 * pointer), and the lazy condition-flag encoding.
 *
 * Flags are not kept as EFLAGS: the last flag-setting operation leaves
 * cc_op (what it was, at what width) and its operands/result in cc_dst,
 * cc_src, cc_src2.  x86_compute_eflags() rebuilds the six arithmetic flags
 * on demand; the frontend evaluates common conditions straight from the
 * operands when cc_op is known at translation time.
 */
#ifndef MICA_X86_CPU_H
#define MICA_X86_CPU_H

#include <stddef.h>
#include <stdint.h>

enum x86_gpr { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP,
	       X86_RSI, X86_RDI };

/* cc_op = kind << 2 | log2(operand bytes). */
enum x86_cc_kind {
	CC_EFLAGS,	/* cc_src holds the flags themselves */
	CC_ADD, CC_ADC, CC_SUB, CC_SBB, CC_LOGIC, CC_INC, CC_DEC,
	CC_SHL, CC_SHR, CC_SAR, CC_MUL,
	CC_CMP,		/* SUB without its result: cc_dst = minuend */
	CC_NUM_KINDS
};

#define CC_OP(kind, size_log2) ((kind) << 2 | (size_log2))
/* A rotate after the operation in the low byte of cc_op: CF and OF are
 * those of the rotate, whose result is in cc_src2; the other flags stay
 * those of the operation.  Only on kinds whose flags need cc_src2 for
 * nothing but CF or OF (not ADC, SBB, EFLAGS).  CC_KIND() of such a cc_op
 * matches no kind, so code that does not know it takes the generic path. */
#define CC_ROT(op) (((op) >> 8) & 3)		/* 0, CC_ROT_L or CC_ROT_R */
#define CC_ROT_L 1
#define CC_ROT_R 2
#define CC_ROT_SIZE_LOG2(op) (((op) >> 10) & 3)
#define CC_WITH_ROT(op, rot, size_log2) \
	(((op) & 0xff) | (rot) << 8 | (size_log2) << 10)
#define CC_KIND(op) ((op) >> 2)
#define CC_SIZE_LOG2(op) ((op) & 3)

#define X86_CF 0x0001u
#define X86_PF 0x0004u
#define X86_AF 0x0010u
#define X86_ZF 0x0040u
#define X86_SF 0x0080u
#define X86_DF 0x0400u
#define X86_OF 0x0800u
#define X86_ARITH_FLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

union x86_xmm {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
	float s[4];
	double sd[2];
};

struct x86_cpu {
	uint64_t regs[16];
	uint64_t rip;
	uint64_t cc_op, cc_dst, cc_src, cc_src2;
	uint64_t df;		/* 1 or -1: string direction */
	uint64_t fs_base, gs_base;
	uint64_t eflags_extra;	/* non-arithmetic EFLAGS bits (ID, AC...) */
	uint64_t exception;	/* enum x86_exit_reason when leaving */
	uint64_t exception_addr;/* fault address for EXIT_SEGV */
	uint64_t mxcsr;
	uint64_t interrupt_request;	/* checked on entry to every block */
	uint64_t scratch[4];	/* helper results that are not the return */
	/* xmm[16] is a staging register for memory operands of SSE ops. */
	union x86_xmm xmm[17] __attribute__((aligned(16)));
	/* x87: physical registers R0..R7 in the host's long double, which
	 * is the same 80-bit format; MMX registers are their low 64 bits. */
	long double fpr[8] __attribute__((aligned(16)));
	uint64_t fp_top;	/* TOP: ST(i) is fpr[(fp_top + i) & 7] */
	uint64_t fp_empty;	/* bit i set: fpr[i] is empty */
	uint64_t fcw, fsw;	/* control word; status word without TOP */
	uint64_t fp_tmp[2];	/* staging for x87 memory operands */
	/* Not guest state: the backend's register spill area. */
	uint64_t spill[64];
	/* Not reached from generated code by IR_GET/IR_SET: */
	void *runtime;		/* struct tr_cpu owning this state */
};

#define X86_ENV_OFF(field) ((unsigned)offsetof(struct x86_cpu, field))
#define X86_ENV_REG(n) (X86_ENV_OFF(regs) + 8u * (n))

/* Why generated code returned to the runtime (struct x86_cpu.exception). */
enum x86_exit_reason {
	X86_EXIT_NONE,
	X86_EXIT_SYSCALL,	/* rip = after the syscall instruction */
	X86_EXIT_ILLEGAL,	/* rip = the offending instruction */
	X86_EXIT_SEGV,		/* rip = faulting instruction */
	X86_EXIT_TRAP,		/* int3: rip = after it */
	X86_EXIT_DIVIDE,	/* #DE: rip = faulting instruction */
	X86_EXIT_HLT,		/* privileged in user mode: SIGSEGV */
	X86_EXIT_RESTART,	/* internal: re-dispatch at rip (SMC) */
	X86_EXIT_INTERRUPT,	/* interrupt_request was set: rip = block */
};

/* The six arithmetic flags from lazy state. */
uint64_t x86_compute_eflags(uint64_t cc_op, uint64_t dst, uint64_t src,
			    uint64_t src2);
/* Full RFLAGS (arithmetic flags, DF, the fixed bit 1 and extras). */
uint64_t x86_cpu_get_rflags(const struct x86_cpu *cpu);
void x86_cpu_set_rflags(struct x86_cpu *cpu, uint64_t rflags);

#endif
