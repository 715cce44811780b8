/* Shared between the x86 frontend files; not a public interface. */
#ifndef MICA_X86_FRONTEND_INTERNAL_H
#define MICA_X86_FRONTEND_INTERNAL_H

#include <stdbool.h>

#include "translator/ir.h"
#include "translator/x86/cpu.h"
#include "translator/x86/decode.h"

struct fe {
	struct ir_block *blk;
	const struct x86_insn *insn;
	uint64_t next_pc;	/* address of the following instruction */
	bool ended;		/* the instruction ended the block */
	/* Past a side exit: the code may never run (unsupported
	 * instructions end the block quietly before them, see
	 * fe_illegal). */
	bool speculative;
	bool illegal;		/* fe_illegal() was called */
	/* Lazy flags set earlier in this block, usable for fast paths. */
	int cc_op;		/* -1: unknown (read from env) */
	ir_temp cc_dst, cc_src, cc_src2;
	ir_temp cc_a;		/* CC_SUB: the minuend, if known */
};

/* Operand access. */
ir_temp fe_const(struct fe *f, int64_t v);
ir_temp fe_get_gpr(struct fe *f, unsigned reg, unsigned size);
void fe_set_gpr(struct fe *f, unsigned reg, unsigned size, ir_temp v);
/* ModRM.reg as a general register of SIZE bytes. */
ir_temp fe_read_reg(struct fe *f, unsigned size);
void fe_write_reg(struct fe *f, unsigned size, ir_temp v);
ir_temp fe_ea(struct fe *f);
ir_temp fe_read_rm(struct fe *f, unsigned size, ir_temp *addr_out);
void fe_write_rm(struct fe *f, unsigned size, ir_temp addr, ir_temp v);
ir_temp fe_zext(struct fe *f, ir_temp v, unsigned size);
ir_temp fe_sext(struct fe *f, ir_temp v, unsigned size);
ir_temp fe_push(struct fe *f, ir_temp v, ir_temp rsp);	/* new rsp */

/* Flags. */
void fe_set_cc(struct fe *f, unsigned kind, unsigned size, ir_temp dst,
	       ir_temp src, ir_temp src2);
ir_temp fe_eflags(struct fe *f);	/* the six arithmetic flags */
ir_temp fe_carry(struct fe *f);		/* CF as 0/1 */
ir_temp fe_cond(struct fe *f, unsigned cc);	/* x86 cc 0..15 -> 0/1 */
void fe_forget_cc(struct fe *f);	/* a helper rewrote cc_* in env */
/* ROL/ROR (result R of SIZE bytes): only CF and OF change. */
void fe_set_rotate_cc(struct fe *f, bool right, unsigned size, ir_temp r);

/* Block ends. */
void fe_jump(struct fe *f, uint64_t target);
void fe_illegal(struct fe *f);

static inline unsigned size_log2(unsigned size)
{
	return size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;
}

/* Integer instructions (x86/ops_int.c): return false if not handled. */
bool x86_translate_primary(struct fe *f);
bool x86_translate_0f(struct fe *f);
/* SSE..SSE4.2 and MMX, maps 0F/0F38/0F3A (x86/ops_sse.c). */
bool x86_translate_sse(struct fe *f);
void x86_sse_print_stats(void);
/* LOCK-prefixed and XCHG-with-memory forms (x86/atomic.c). */
bool x86_translate_atomic(struct fe *f);
/* x87 escape opcodes D8..DF (x86/x87.c). */
bool x86_translate_x87(struct fe *f);

#endif
