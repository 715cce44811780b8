/* Host code generation from IR (one backend today: x86-64 host).
 *
 * The backend allocates host registers for IR temps and caches guest
 * state slots (the first 32 qwords of env) in host registers within a
 * block: IR_GET of a cached slot costs nothing, IR_SET only rebinds; dirty
 * slots are written back before helpers that read env and at every exit.
 * At guest memory accesses they stay in registers: struct tr_pc_state
 * records where, and x86_64_restore_state() rebuilds env on a fault.
 *
 * Guest memory accesses are lowered by a struct tr_mem_lowering: the seam
 * between user mode (host = guest + base) and system mode (soft TLB).
 */
#ifndef MICA_TRANSLATOR_BACKEND_H
#define MICA_TRANSLATOR_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "translator/ir.h"

struct emitter;
struct asm_mem;

struct tr_mem_lowering {
	/* Load SIZE bytes zero-extended from the guest address ADDR (host
	 * registers and a displacement) into host register DST. */
	void (*emit_load)(struct emitter *e, int dst,
			  const struct asm_mem *addr, unsigned size);
	void (*emit_store)(struct emitter *e, const struct asm_mem *addr,
			   int val, unsigned size);
	/* 16 bytes between guest memory and host xmm register XMM, as one
	 * access (it faults before writing anything). */
	void (*emit_vload)(struct emitter *e, int xmm,
			   const struct asm_mem *addr);
	void (*emit_vstore)(struct emitter *e, const struct asm_mem *addr,
			    int xmm);
	int64_t guest_base;
};

extern const struct tr_mem_lowering tr_mem_user;

struct tr_backend_config {
	const struct tr_mem_lowering *mem;
	unsigned env_rip_off;		/* where exits store the guest pc */
	unsigned env_exception_off;	/* where special exits store reason */
	uint64_t epilogue;		/* exec address of the common exit */
	uint64_t exit_token;		/* rax on chainable exit k: token+k */
	unsigned env_spill_off;		/* register spill area in env */
	/* Every block starts by checking this byte of env; if non-zero it
	 * leaves at once with exit reason interrupt_reason (signals). */
	unsigned env_interrupt_off;
	unsigned interrupt_reason;
	/* The guest MXCSR (a 32-bit value) for IR_VEC ops with
	 * IR_VEC_MXCSR. */
	unsigned env_mxcsr_off;
	unsigned n_spill;		/* its size in qwords */
	/* Inline lookup for indirect jumps: env + jc_off is an array of
	 * jc_mask + 1 pointers indexed by (pc ^ pc >> 12) & jc_mask, each
	 * NULL or a block descriptor with the fields at these offsets. */
	unsigned jc_off, jc_mask;
	unsigned desc_pc_off, desc_valid_off, desc_code_off;
};

#define TR_MAX_CHAIN_EXITS 4
#define TR_MAX_PCMAP 1024

/* Guest state at a guest memory access that is not in env yet: slot s
 * (the qword at env + 8 * s) is in a host register for each bit s of
 * DIRTY; REGS holds those registers, 4 bits each, lowest slot first. */
struct tr_pc_state {
	uint32_t dirty;
	uint64_t regs;
};

struct tr_code_info {
	uint32_t size;
	unsigned n_exits;
	uint32_t exit_jmp_off[TR_MAX_CHAIN_EXITS];	/* offset of E9 */
	uint64_t exit_target[TR_MAX_CHAIN_EXITS];
	/* Host offset of each guest memory access -> guest insn pc, and
	 * the guest state still in host registers there. */
	unsigned n_pcmap;
	uint32_t pcmap_host[TR_MAX_PCMAP];
	uint64_t pcmap_guest[TR_MAX_PCMAP];
	struct tr_pc_state pcmap_state[TR_MAX_PCMAP];
};

/* A guest memory access at a pcmap entry faulted: copy the guest state
 * that was still in host registers (UCONTEXT, a ucontext_t of the fault)
 * to ENV. */
void x86_64_restore_state(const struct tr_pc_state *st, const void *ucontext,
			  uint64_t *env);

/* Emit host code for BLK into BUF (writable view, CAP bytes) that will
 * run at EXEC_ADDR.  Returns 0, or -ENOSPC when CAP is too small. */
int x86_64_emit_block(const struct ir_block *blk, uint8_t *buf, size_t cap,
		      uint64_t exec_addr, const struct tr_backend_config *cfg,
		      struct tr_code_info *info);

/* Entry/exit trampolines: tr_enter(env, code) runs generated code and
 * returns its exit value.  Written once at the start of the buffer;
 * returns bytes used, *epilogue gets the exec address of the exit. */
size_t x86_64_emit_trampolines(uint8_t *buf, uint64_t exec_addr,
			       uint64_t *epilogue);

/* Patch the chainable exit jump at JMP (writable view; exec address
 * JMP_EXEC) to go to TARGET_EXEC, or back to its own stub if 0. */
void x86_64_patch_jump(uint8_t *jmp, uint64_t jmp_exec, uint64_t target_exec);

#endif
