/* IR -> x86-64 host code, with block-local register allocation.
 *
 * Host register roles: rbp = env (guest state), rsp = host stack, rcx and
 * r11 = scratch (shift counts, constants), the other 12 are allocated.
 * Temps are single-definition, so each gets a register at its definition
 * and gives it back after its last use.  Guest state slots are cached:
 * a register may hold a temp and, at the same time, be the current value
 * of one or more slots (after IR_GET or IR_SET); slots are written back
 * when dirty at the points listed in backend.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "log.h"
#include "translator/backend.h"
#include "translator/host/x86_64_asm.h"

#define CACHED_SLOTS 32	/* == IR_VECTOR_STATE_OFF / 8 */
#define NO_REG (-1)

static const int alloc_all[] = {
	H_RBX, H_R12, H_R13, H_R14, H_R15,	/* callee-saved first */
	H_RAX, H_RDX, H_RSI, H_RDI, H_R8, H_R9, H_R10,
};

/* Pinned guest state: slot s lives in host register pin_home[s] at every
 * block boundary (entry, chained jumps, inline jump-cache jumps); the
 * trampolines load these registers from env on entry and store them on
 * exit, so only the runtime sees env.  Inside a block a pinned slot is
 * cached like any other (it may move to another register or be written
 * back to env); every exit puts it back home (emit_exit_state).  Homes
 * are not handed out by the allocator.  Homes avoid rax, rcx, rdx and
 * r11, which the exits use as scratch. */
static const int pin_home_order[] = {
	H_RBX, H_R12, H_R13, H_R14, H_R15, H_R10, H_R9, H_R8,
};
static const unsigned pin_default_slots[] = { 0, 1, 2, 4 };
static int8_t pin_home[32];
static uint32_t pin_mask;	/* pinned slots */
static uint32_t pin_regs;	/* their home registers */
static int alloc_order[16];
static int N_ALLOC;

/* MICA_PIN_SLOTS=a,b,... (slot numbers, at most 8; empty: none) replaces
 * the default set, for experiments. */
static void pin_init(void)
{
	const char *env = getenv("MICA_PIN_SLOTS");
	unsigned slots[8], n = 0;

	if (N_ALLOC)
		return;
	if (env) {
		for (const char *p = env; *p && n < 8;) {
			char *end;
			unsigned long v = strtoul(p, &end, 10);

			if (end == p || v >= 32)
				fatalx("MICA_PIN_SLOTS: bad slot list \"%s\"", env);
			slots[n++] = (unsigned)v;
			p = *end == ',' ? end + 1 : end;
		}
	} else {
		n = sizeof(pin_default_slots) / sizeof(pin_default_slots[0]);
		memcpy(slots, pin_default_slots, sizeof(pin_default_slots));
	}
	memset(pin_home, NO_REG, sizeof(pin_home));
	for (unsigned i = 0; i < n; i++) {
		if (pin_mask & (1u << slots[i]))
			continue;
		pin_home[slots[i]] = (int8_t)pin_home_order[i];
		pin_mask |= 1u << slots[i];
		pin_regs |= 1u << pin_home_order[i];
	}
	for (unsigned i = 0; i < sizeof(alloc_all) / sizeof(alloc_all[0]); i++)
		if (!(pin_regs & (1u << alloc_all[i])))
			alloc_order[N_ALLOC++] = alloc_all[i];
}

static bool caller_saved(int r)
{
	return r == H_RAX || r == H_RDX || r == H_RSI || r == H_RDI ||
	       r == H_R8 || r == H_R9 || r == H_R10 || r == H_RCX ||
	       r == H_R11;
}

struct ra {
	struct emitter e;
	const struct ir_block *blk;
	const struct tr_backend_config *cfg;
	struct tr_code_info *info;
	uint64_t cur_guest_pc;
	unsigned cur_op;
	int8_t temp_reg[IR_MAX_TEMPS];
	uint16_t last_use[IR_MAX_TEMPS];
	int8_t slot_reg[CACHED_SLOTS];
	uint32_t slot_dirty;	/* bit s: the register is newer than env */
	/* env holds this constant in the slot (stored earlier in the block
	 * and not changed since): storing it again is a no-op. */
	bool slot_const_known[CACHED_SLOTS];
	int64_t slot_const[CACHED_SLOTS];
	uint32_t reg_slots[16];
	uint8_t reg_temps[16];
	unsigned evict_cursor;
	uint32_t locked;		/* registers the current op relies on */
	int8_t temp_spill[IR_MAX_TEMPS];	/* spill slot or NO_REG */
	ir_temp flags_temp;		/* SETCC result living in host flags */
	uint8_t flags_cc;		/* its host condition */
	uint64_t spill_used;		/* bitmap of spill slots */
	/* A guest memory access at op i addresses fold[i] itself; the adds
	 * and shift that formed the address are skipped (fold_skip). */
	struct folded_addr {
		ir_temp base, index;	/* base NO_TEMP: not folded */
		uint8_t scale;
		int32_t disp;
	} fold[IR_MAX_OPS];
	bool fold_skip[IR_MAX_OPS];
	uint8_t n_uses[IR_MAX_TEMPS];	/* saturating */
};

static bool cacheable(int64_t off)
{
	return off >= 0 && off < CACHED_SLOTS * 8 && (off & 7) == 0;
}

/* ---- slots ---- */

static void slot_unbind(struct ra *ra, unsigned s)
{
	int r = ra->slot_reg[s];

	if (r != NO_REG)
		ra->reg_slots[r] &= ~(1u << s);
	ra->slot_reg[s] = NO_REG;
	ra->slot_dirty &= ~(1u << s);
}

static void slot_writeback(struct ra *ra, unsigned s)
{
	if (ra->slot_reg[s] != NO_REG && (ra->slot_dirty & (1u << s))) {
		asm_store(&ra->e, H_RBP, (int32_t)(s * 8), ra->slot_reg[s], 8);
		ra->slot_dirty &= ~(1u << s);
	}
}

static void sync_all(struct ra *ra)
{
	/* Dirty slots only, in ascending order. */
	for (uint32_t m = ra->slot_dirty; m; m &= m - 1)
		slot_writeback(ra, (unsigned)__builtin_ctz(m));
}

static void drop_reg_slots(struct ra *ra, int r)
{
	for (uint32_t m = ra->reg_slots[r]; m; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctz(m);

		slot_writeback(ra, s);
		slot_unbind(ra, s);
	}
}

/* ---- registers ---- */

static int spill_offset(const struct ra *ra, int k)
{
	return (int)ra->cfg->env_spill_off + 8 * k;
}

/* No free register: move the temps of the register used furthest in
 * the future (and not by the current op) to the spill area in env. */
static int spill_some_reg(struct ra *ra, bool callee_saved_only)
{
	int victim = NO_REG, k;
	unsigned best = 0;

	for (int i = 0; i < N_ALLOC; i++) {
		int r = alloc_order[i];
		unsigned far = 0;

		if ((callee_saved_only && caller_saved(r)) ||
		    (ra->locked & (1u << r)))
			continue;
		for (ir_temp t = 0; t < ra->blk->n_temps; t++)
			if (ra->temp_reg[t] == r && ra->last_use[t] > far)
				far = ra->last_use[t];
		if (victim == NO_REG || far > best) {
			victim = r;
			best = far;
		}
	}
	if (victim == NO_REG || ra->spill_used == ~0ull >> (64 - ra->cfg->n_spill))
		fatalx("out of host registers at guest pc %#llx",
		       (unsigned long long)ra->cur_guest_pc);
	k = __builtin_ctzll(~ra->spill_used);
	ra->spill_used |= 1ull << k;
	drop_reg_slots(ra, victim);
	asm_store(&ra->e, H_RBP, spill_offset(ra, k), victim, 8);
	for (ir_temp t = 0; t < ra->blk->n_temps; t++)
		if (ra->temp_reg[t] == victim) {
			ra->temp_reg[t] = NO_REG;
			ra->temp_spill[t] = (int8_t)k;
		}
	ra->reg_temps[victim] = 0;
	ra->locked |= 1u << victim;
	return victim;
}

static int alloc_reg_from(struct ra *ra, bool callee_saved_only)
{
	/* A register handed out during this op is locked until the op is
	 * done: it looks free until its result is bound. */
	for (int i = 0; i < N_ALLOC; i++) {
		int r = alloc_order[i];

		if ((callee_saved_only && caller_saved(r)) ||
		    (ra->locked & (1u << r)))
			continue;
		if (ra->reg_temps[r] == 0 && ra->reg_slots[r] == 0) {
			ra->locked |= 1u << r;
			return r;
		}
	}
	/* Evict a register that only caches slots. */
	for (int k = 0; k < N_ALLOC; k++) {
		int r = alloc_order[(ra->evict_cursor + k) % N_ALLOC];

		if ((callee_saved_only && caller_saved(r)) ||
		    (ra->locked & (1u << r)))
			continue;
		if (ra->reg_temps[r] == 0) {
			ra->evict_cursor = (ra->evict_cursor + k + 1) % N_ALLOC;
			drop_reg_slots(ra, r);
			ra->locked |= 1u << r;
			return r;
		}
	}
	return spill_some_reg(ra, callee_saved_only);
}

static int alloc_reg(struct ra *ra)
{
	return alloc_reg_from(ra, false);
}

static void bind_temp(struct ra *ra, ir_temp t, int r)
{
	ra->temp_reg[t] = (int8_t)r;
	ra->reg_temps[r]++;
}

static bool is_const(const struct ra *ra, ir_temp t, int64_t *v)
{
	return ir_is_const(ra->blk, t, v);
}

/* Host register holding T; constants go to SCRATCH. */
static int use(struct ra *ra, ir_temp t, int scratch)
{
	int64_t v;

	int r;

	if (ra->temp_reg[t] != NO_REG) {
		ra->locked |= 1u << ra->temp_reg[t];
		return ra->temp_reg[t];
	}
	if (is_const(ra, t, &v)) {
		asm_mov_ri(&ra->e, scratch, v);
		return scratch;
	}
	if (ra->temp_spill[t] == NO_REG)
		fatalx("temp t%u used before definition", t);
	r = alloc_reg(ra);
	asm_load(&ra->e, r, H_RBP, spill_offset(ra, ra->temp_spill[t]), 8);
	bind_temp(ra, t, r);
	ra->locked |= 1u << r;
	return r;
}

/* Like use() but never allocates: spilled temps go to SCRATCH. */
static int use_noalloc(struct ra *ra, ir_temp t, int scratch)
{
	if (ra->temp_reg[t] == NO_REG && ra->temp_spill[t] != NO_REG) {
		asm_load(&ra->e, scratch, H_RBP,
			 spill_offset(ra, ra->temp_spill[t]), 8);
		return scratch;
	}
	return use(ra, t, scratch);
}

/* T's register or spill slot, if this op was its last use. */
static void release_temp(struct ra *ra, ir_temp t)
{
	if (ra->temp_spill[t] != NO_REG && ra->last_use[t] <= ra->cur_op) {
		ra->spill_used &= ~(1ull << ra->temp_spill[t]);
		ra->temp_spill[t] = NO_REG;
	}
	if (ra->temp_reg[t] != NO_REG && ra->last_use[t] <= ra->cur_op) {
		ra->reg_temps[ra->temp_reg[t]]--;
		ra->temp_reg[t] = NO_REG;
	}
}

static void release_dead(struct ra *ra, const struct ir_op *op)
{
	ir_temp ts[3 + IR_MAX_ARGS];
	unsigned n = 0;

	ts[n++] = op->a;
	ts[n++] = op->b;
	ts[n++] = op->c;
	if (op->opc == IR_CALL)
		for (unsigned i = 0; i < op->aux; i++)
			ts[n++] = op->args[i];
	for (unsigned i = 0; i < n; i++)
		if (ts[i] != IR_NO_TEMP)
			release_temp(ra, ts[i]);
}

/* A register for the result of a two-address operation whose first
 * operand is A: A's own register if this is A's last use and nothing
 * else lives there, else a fresh register with A copied in. */
static int dst_from(struct ra *ra, ir_temp a)
{
	int64_t v;
	int r, d;

	if (ra->temp_reg[a] == NO_REG && ra->temp_spill[a] != NO_REG)
		use(ra, a, H_R11);	/* reload */
	r = ra->temp_reg[a];
	if (r != NO_REG && ra->last_use[a] <= ra->cur_op &&
	    ra->reg_temps[r] == 1 && ra->reg_slots[r] == 0) {
		ra->reg_temps[r]--;
		ra->temp_reg[a] = NO_REG;
		return r;
	}
	d = alloc_reg(ra);
	if (r != NO_REG)
		asm_mov_rr(&ra->e, d, r);
	else if (is_const(ra, a, &v))
		asm_mov_ri(&ra->e, d, v);
	else
		fatalx("temp t%u used before definition", a);
	return d;
}

/* dst_from(A) would have to copy A: A is used later or shares its
 * register, and it is in a register now. */
static bool first_operand_survives(const struct ra *ra, ir_temp a)
{
	int r = ra->temp_reg[a];

	return r != NO_REG && !(ra->last_use[a] <= ra->cur_op &&
				ra->reg_temps[r] == 1 && ra->reg_slots[r] == 0);
}

/* ---- ops ---- */

/* Slot S is pinned and its home register holds nothing now. */
static bool home_free(const struct ra *ra, unsigned s)
{
	int h = pin_home[s];

	return h != NO_REG && ra->reg_temps[h] == 0 && ra->reg_slots[h] == 0;
}

static void emit_get(struct ra *ra, const struct ir_op *op)
{
	unsigned s = (unsigned)op->imm / 8;
	int r;

	if (cacheable(op->imm) && ra->slot_reg[s] != NO_REG) {
		bind_temp(ra, op->dst, ra->slot_reg[s]);
		return;
	}
	if (cacheable(op->imm) && home_free(ra, s))
		r = pin_home[s];
	else
		r = alloc_reg(ra);
	asm_load(&ra->e, r, H_RBP, (int32_t)op->imm, 8);
	bind_temp(ra, op->dst, r);
	if (cacheable(op->imm)) {
		ra->slot_reg[s] = (int8_t)r;
		ra->slot_dirty &= ~(1u << s);
		ra->reg_slots[r] |= 1u << s;
	}
}

static void emit_set(struct ra *ra, const struct ir_op *op)
{
	unsigned s = (unsigned)op->imm / 8;
	int64_t v;
	int r;

	if (cacheable(op->imm))
		slot_unbind(ra, s);
	if (ra->temp_reg[op->a] == NO_REG && is_const(ra, op->a, &v)) {
		if (cacheable(op->imm) && home_free(ra, s)) {
			r = pin_home[s];
			asm_mov_ri(&ra->e, r, v);
			ra->slot_const_known[s] = false;
			ra->slot_reg[s] = (int8_t)r;
			ra->slot_dirty |= 1u << s;
			ra->reg_slots[r] |= 1u << s;
			return;
		}
		if (cacheable(op->imm)) {
			if (ra->slot_const_known[s] && ra->slot_const[s] == v)
				return;
			ra->slot_const_known[s] = true;
			ra->slot_const[s] = v;
		}
		if (fits_i32(v)) {
			asm_store_imm32(&ra->e, H_RBP, (int32_t)op->imm,
					(int32_t)v);
		} else {
			asm_mov_ri(&ra->e, H_R11, v);
			asm_store(&ra->e, H_RBP, (int32_t)op->imm, H_R11, 8);
		}
		return;
	}
	r = use(ra, op->a, H_R11);
	if (cacheable(op->imm))
		ra->slot_const_known[s] = false;
	if (!cacheable(op->imm)) {
		asm_store(&ra->e, H_RBP, (int32_t)op->imm, r, 8);
	} else {
		ra->slot_reg[s] = (int8_t)r;
		ra->slot_dirty |= 1u << s;
		ra->reg_slots[r] |= 1u << s;
	}
	release_dead(ra, op);
}

static void emit_binop(struct ra *ra, const struct ir_op *op)
{
	static const enum asm_alu alu[] = {
		[IR_ADD] = A_ADD, [IR_SUB] = A_SUB, [IR_AND] = A_AND,
		[IR_OR] = A_OR, [IR_XOR] = A_XOR,
	};
	static const enum asm_shift sh[] = {
		[IR_SHL] = S_SHL, [IR_SHR] = S_SHR, [IR_SAR] = S_SAR,
		[IR_ROL] = S_ROL, [IR_ROR] = S_ROR,
	};
	struct emitter *e = &ra->e;
	unsigned sz = op->aux == IR_W32 ? 4 : 8;
	int64_t vb;
	bool cb = ra->temp_reg[op->b] == NO_REG && is_const(ra, op->b, &vb);
	int d, rb = NO_REG;

	/* A 32-bit operation only sees the low half of an immediate. */
	if (cb && sz == 4)
		vb = (int32_t)vb;
	if (!cb)
		rb = use(ra, op->b, H_R11);
	if (op->opc >= IR_SHL && op->opc <= IR_ROR && !cb)
		asm_mov_rr(e, H_RCX, rb);
	/* The first operand lives on: a three-address lea saves a copy. */
	if ((op->opc == IR_ADD || (op->opc == IR_SUB && cb && vb != INT64_MIN)) &&
	    (!cb || fits_i32(op->opc == IR_SUB ? -vb : vb)) &&
	    first_operand_survives(ra, op->a)) {
		int a = use(ra, op->a, H_R11);

		d = alloc_reg(ra);
		asm_lea(e, d, a, cb ? -1 : rb,
			cb ? (int32_t)(op->opc == IR_SUB ? -vb : vb) : 0, sz);
		release_dead(ra, op);
		bind_temp(ra, op->dst, d);
		return;
	}
	d = dst_from(ra, op->a);
	switch (op->opc) {
	case IR_ADD: case IR_SUB: case IR_AND: case IR_OR: case IR_XOR:
		if (cb && fits_i32(vb)) {
			asm_alu_ri_sz(e, alu[op->opc], d, (int32_t)vb, sz);
		} else {
			if (cb) {
				asm_mov_ri(e, H_R11, vb);
				rb = H_R11;
			}
			asm_alu_rr_sz(e, alu[op->opc], d, rb, sz);
		}
		break;
	case IR_MUL:
		if (cb && fits_i32(vb)) {
			asm_imul_rri_sz(e, d, d, (int32_t)vb, sz);
		} else {
			if (cb) {
				asm_mov_ri(e, H_R11, vb);
				rb = H_R11;
			}
			asm_imul_rr_sz(e, d, rb, sz);
		}
		break;
	default:
		if (cb)
			asm_shift_ri_sz(e, sh[op->opc], d, (uint8_t)vb, sz);
		else
			asm_shift_rcl_sz(e, sh[op->opc], d, sz);
		break;
	}
	release_dead(ra, op);
	bind_temp(ra, op->dst, d);
}

static void emit_unop(struct ra *ra, const struct ir_op *op)
{
	struct emitter *e = &ra->e;
	int d, a;

	switch (op->opc) {
	case IR_NEG: case IR_NOT: case IR_MOV:
		d = dst_from(ra, op->a);
		if (op->opc != IR_MOV)
			asm_unary_sz(e, op->opc == IR_NEG ? 3 : 2, d,
				     op->aux == IR_W32 ? 4 : 8);
		break;
	case IR_BSWAP:
		d = dst_from(ra, op->a);
		asm_bswap(e, d, op->aux);
		break;
	default: {
		static const unsigned sizes[] = { 1, 2, 4, 1, 2, 4 };
		unsigned k = op->opc - IR_ZEXT8;

		a = use(ra, op->a, H_R11);
		d = alloc_reg(ra);
		asm_extend(e, d, a, sizes[k], k >= 3);
		break;
	}
	}
	release_dead(ra, op);
	bind_temp(ra, op->dst, d);
}

static uint8_t host_cc(enum ir_cond c)
{
	static const uint8_t map[] = {
		[IR_EQ] = HCC_E, [IR_NE] = HCC_NE, [IR_LTU] = HCC_B,
		[IR_LEU] = HCC_BE, [IR_GTU] = HCC_A, [IR_GEU] = HCC_AE,
		[IR_LT] = HCC_L, [IR_LE] = HCC_LE, [IR_GT] = HCC_G,
		[IR_GE] = HCC_GE,
	};
	return map[c];
}

/* A comparison whose only use is the conditional exit or select right
 * after it stays in the host flags: cmp + jcc instead of setcc + test +
 * jcc, cmp + cmov instead of setcc + test + cmov.  (The select's operands
 * must not be constants: materializing 0 would clobber the flags.) */
static bool setcc_feeds_branch(const struct ra *ra, const struct ir_op *op)
{
	const struct ir_block *blk = ra->blk;

	for (unsigned j = ra->cur_op + 1; j < blk->n_ops; j++) {
		const struct ir_op *n = &blk->ops[j];

		if (n->opc == IR_NOP || n->opc == IR_CONST ||
		    n->opc == IR_INSN_START)
			continue;
		if (n->opc == IR_SELECT && n->c == op->dst &&
		    ra->last_use[op->dst] == j)
			return !is_const(ra, n->a, NULL) &&
			       !is_const(ra, n->b, NULL);
		return n->opc == IR_BRCOND && n->a == op->dst &&
		       ra->last_use[op->dst] == j;
	}
	return false;
}

static void emit_setcc(struct ra *ra, const struct ir_op *op)
{
	struct emitter *e = &ra->e;
	int64_t vb;
	int a = use(ra, op->a, H_R11), d;
	bool cb = ra->temp_reg[op->b] == NO_REG && is_const(ra, op->b, &vb);

	if (setcc_feeds_branch(ra, op)) {
		if (cb && fits_i32(vb))
			asm_alu_ri(e, A_CMP, a, (int32_t)vb);
		else
			asm_alu_rr(e, A_CMP, a, use(ra, op->b, H_RCX));
		release_dead(ra, op);
		ra->flags_temp = op->dst;
		ra->flags_cc = host_cc(op->aux);
		return;
	}
	d = alloc_reg(ra);
	if (cb && fits_i32(vb)) {
		asm_alu_ri(e, A_CMP, a, (int32_t)vb);
	} else {
		int b = use(ra, op->b, H_RCX);

		asm_alu_rr(e, A_CMP, a, b);
	}
	asm_setcc(e, host_cc(op->aux), d);
	release_dead(ra, op);
	bind_temp(ra, op->dst, d);
}

static void emit_select(struct ra *ra, const struct ir_op *op)
{
	struct emitter *e = &ra->e;
	int d = alloc_reg(ra), c, a, b;

	b = use(ra, op->b, H_R11);
	asm_mov_rr(e, d, b);
	a = use(ra, op->a, H_R11);
	if (ra->flags_temp == op->c) {
		/* Only moves since the comparison: its flags are intact. */
		asm_cmov(e, ra->flags_cc, d, a);
		ra->flags_temp = IR_NO_TEMP;
	} else {
		c = use(ra, op->c, H_RCX);
		asm_test_rr(e, c, c);
		asm_cmov(e, HCC_NE, d, a);
	}
	release_dead(ra, op);
	bind_temp(ra, op->dst, d);
}

/* The guest memory access about to be emitted may fault: record its
 * guest pc and where the dirty guest state is, so that the fault handler
 * can rebuild the precise state (x86_64_restore_state) and the access
 * needs no write-back.  With more dirty slots than the record holds,
 * they are written back instead. */
static void record_pc(struct ra *ra)
{
	struct tr_code_info *info = ra->info;
	struct tr_pc_state st = { 0, 0 };
	unsigned n = 0;

	if (info->n_pcmap >= TR_MAX_PCMAP) {
		ra->e.overflow = true;	/* caller retries with a smaller block */
		return;
	}
	/* A dirty slot is always bound to a register. */
	if (__builtin_popcount(ra->slot_dirty) > 16) {
		sync_all(ra);
	} else {
		st.dirty = ra->slot_dirty;
		for (uint32_t m = ra->slot_dirty; m; m &= m - 1)
			st.regs |= (uint64_t)ra->slot_reg[__builtin_ctz(m)]
				   << (4 * n++);
	}
	info->pcmap_host[info->n_pcmap] = (uint32_t)ra->e.pos;
	info->pcmap_guest[info->n_pcmap] = ra->cur_guest_pc;
	info->pcmap_state[info->n_pcmap] = st;
	info->n_pcmap++;
}

void x86_64_restore_state(const struct tr_pc_state *st, const void *ucontext,
			  uint64_t *env)
{
	static const int greg[16] = {
		[H_RAX] = REG_RAX, [H_RCX] = REG_RCX, [H_RDX] = REG_RDX,
		[H_RBX] = REG_RBX, [H_RSP] = REG_RSP, [H_RBP] = REG_RBP,
		[H_RSI] = REG_RSI, [H_RDI] = REG_RDI, [H_R8] = REG_R8,
		[H_R9] = REG_R9, [H_R10] = REG_R10, [H_R11] = REG_R11,
		[H_R12] = REG_R12, [H_R13] = REG_R13, [H_R14] = REG_R14,
		[H_R15] = REG_R15,
	};
	const ucontext_t *uc = ucontext;
	unsigned n = 0;

	for (unsigned s = 0; s < 32; s++)
		if (st->dirty & (1u << s)) {
			unsigned r = (st->regs >> (4 * n++)) & 15;

			env[s] = (uint64_t)uc->uc_mcontext.gregs[greg[r]];
		}
}

/* The guest address operand (op->a) of the access OP, folded or not. */
static void access_address(struct ra *ra, const struct ir_op *op,
			   struct asm_mem *m)
{
	const struct folded_addr *fa = &ra->fold[ra->cur_op];

	m->index = -1;
	m->scale = 0;
	m->disp = 0;
	if (fa->base != IR_NO_TEMP) {
		m->base = use(ra, fa->base, H_R11);
		if (fa->index != IR_NO_TEMP)
			m->index = use(ra, fa->index, H_RCX);
		m->scale = fa->scale;
		m->disp = fa->disp;
	} else {
		m->base = use(ra, op->a, H_R11);
	}
}

/* After the access OP: free its address temps if this was their end. */
static void access_done(struct ra *ra, const struct ir_op *op)
{
	const struct folded_addr *fa = &ra->fold[ra->cur_op];

	release_dead(ra, op);
	if (fa->base != IR_NO_TEMP)
		release_temp(ra, fa->base);
	if (fa->index != IR_NO_TEMP)
		release_temp(ra, fa->index);
}

static void emit_memory(struct ra *ra, const struct ir_op *op)
{
	const struct tr_mem_lowering *mem = ra->cfg->mem;
	struct asm_mem m;
	int val, d = NO_REG;

	access_address(ra, op, &m);
	if (op->opc == IR_LOAD) {
		d = alloc_reg(ra);
		record_pc(ra);
		mem->emit_load(&ra->e, d, &m, op->aux);
	} else {
		val = use(ra, op->b, H_RCX);
		record_pc(ra);
		mem->emit_store(&ra->e, &m, val, op->aux);
	}
	access_done(ra, op);
	if (op->opc == IR_LOAD)
		bind_temp(ra, op->dst, d);
}

/* Caller-saved registers holding temps that outlive op CUR. */
static uint32_t live_caller_saved(struct ra *ra)
{
	uint32_t mask = 0;

	for (ir_temp t = 0; t < ra->blk->n_temps; t++) {
		int r = ra->temp_reg[t];

		if (r != NO_REG && caller_saved(r) && ra->last_use[t] > ra->cur_op)
			mask |= 1u << r;
	}
	return mask;
}

/* Helper call.  Temps living across it in caller-saved registers are
 * saved on the host stack around it (helpers are the slow path; the
 * allocator prefers callee-saved registers to make this rare). */
static void emit_call(struct ra *ra, const struct ir_op *op)
{
	static const int argreg[] = { H_RDI, H_RSI, H_RDX, H_RCX, H_R8 };
	struct emitter *e = &ra->e;
	bool with_env = op->helper_flags != IR_HELPER_PURE;
	unsigned n = op->aux, first = with_env ? 1 : 0, pushed = 0;
	uint32_t keep;
	int d;

	/* Vector-state helpers leave cached registers and flags alone. */
	if (op->helper_flags & (IR_HELPER_READS_ENV | IR_HELPER_WRITES_ENV |
				IR_HELPER_MEMORY))
		sync_all(ra);
	for (int r = 0; r < 16; r++)
		if (caller_saved(r))
			drop_reg_slots(ra, r);
	keep = live_caller_saved(ra);
	for (int r = 0; r < 16; r++)
		if (keep & (1u << r)) {
			asm_push(e, r);
			pushed++;
		}
	if (pushed & 1)
		asm_alu_ri(e, A_SUB, H_RSP, 8);
	/* Arguments through the stack to avoid parallel-move puzzles. */
	for (unsigned i = 0; i < n; i++)
		asm_push(e, use_noalloc(ra, op->args[i], H_R11));
	for (unsigned i = n; i-- > 0;)
		asm_pop(e, argreg[first + i]);
	if (with_env)
		asm_mov_rr(e, H_RDI, H_RBP);
	asm_call_abs(e, (uint64_t)(uintptr_t)op->helper);
	if (keep & (1u << H_RAX))
		asm_mov_rr(e, H_R11, H_RAX);
	if (pushed & 1)
		asm_alu_ri(e, A_ADD, H_RSP, 8);
	for (int r = 16; r-- > 0;)
		if (keep & (1u << r))
			asm_pop(e, r);
	release_dead(ra, op);
	if (op->helper_flags & IR_HELPER_WRITES_ENV) {
		for (unsigned s = 0; s < CACHED_SLOTS; s++)
			slot_unbind(ra, s);
		memset(ra->slot_const_known, 0, sizeof(ra->slot_const_known));
	}
	if (keep & (1u << H_RAX)) {
		d = alloc_reg(ra);
		asm_mov_rr(e, d, H_R11);
	} else {
		if (ra->reg_temps[H_RAX] != 0 || ra->reg_slots[H_RAX] != 0)
			fatalx("rax busy after helper call");
		d = H_RAX;
	}
	bind_temp(ra, op->dst, d);
}

/* ---- vector ops (IR_VEC) ----
 * Guest vector state stays in env: each op loads host xmm0 (destination)
 * and xmm1 (source) from env, runs the guest's SSE instruction on them
 * and stores xmm0 back.  Generated code keeps nothing in host xmm
 * registers (helpers clobber them), so both are free scratch. */

/* movdqu xmmX, [rbp + off] (LOAD) or movdqu [rbp + off], xmmX. */
static void emit_movdqu_env(struct emitter *e, bool load, unsigned x,
			    unsigned off)
{
	asm_byte(e, 0xf3);
	asm_byte(e, 0x0f);
	asm_byte(e, load ? 0x6f : 0x7f);
	if (off < 128) {
		asm_byte(e, (uint8_t)(0x45 | x << 3));
		asm_byte(e, (uint8_t)off);
	} else {
		asm_byte(e, (uint8_t)(0x85 | x << 3));
		asm_u32(e, off);
	}
}

/* The SSE instruction of ENC with ModRM reg = REG, rm = xmm RM. */
static void emit_vec_insn(struct emitter *e, uint32_t enc, unsigned reg,
			  unsigned rm)
{
	static const uint8_t pfx[4] = { 0, 0x66, 0xf3, 0xf2 };
	unsigned map = (enc >> 8) & 3;

	uint8_t rex = (uint8_t)(0x40 | (enc & IR_VEC_W ? 8 : 0) |
				(reg & 8) >> 1 | (rm & 8) >> 3);

	if ((enc >> 10) & 3)
		asm_byte(e, pfx[(enc >> 10) & 3]);
	if (rex != 0x40)
		asm_byte(e, rex);
	asm_byte(e, 0x0f);
	if (map)
		asm_byte(e, map == 1 ? 0x38 : 0x3a);
	asm_byte(e, (uint8_t)enc);
	asm_byte(e, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
	if (enc & (1u << 12))
		asm_byte(e, (uint8_t)(enc >> 16));
}

/* stmxcsr / ldmxcsr [rsp + DISP] (the red zone: free in generated code,
 * kept by the kernel's signal frames). */
static void emit_mxcsr_rsp(struct emitter *e, bool load, int8_t disp)
{
	asm_byte(e, 0x0f);
	asm_byte(e, 0xae);
	asm_byte(e, load ? 0x54 : 0x5c);	/* /2 ldmxcsr, /3 stmxcsr */
	asm_byte(e, 0x24);
	asm_byte(e, (uint8_t)disp);
}

/* r11d op= [rsp + DISP] (ALU opcode OPC: 0x23 and, 0x33 xor). */
static void emit_r11_alu_rsp(struct emitter *e, uint8_t opc, int8_t disp)
{
	asm_byte(e, 0x44);
	asm_byte(e, opc);
	asm_byte(e, 0x5c);
	asm_byte(e, 0x24);
	asm_byte(e, (uint8_t)disp);
}

static void emit_test_r11(struct emitter *e, uint32_t imm)
{
	asm_byte(e, 0x41);
	asm_byte(e, 0xf7);
	asm_byte(e, 0xc3);
	asm_u32(e, imm);
}

/* Before an IR_VEC_MXCSR op, the same policy as x86_helper_sse: the
 * host MXCSR (saved at [rsp - 16]: the op's pushfq writes [rsp - 8]) is
 * reloaded with the guest's rounding
 * control, DAZ and FTZ and all exceptions masked only if its control bits
 * differ or it holds exception flags the guest lacks.  Uses r11. */
static void emit_mxcsr_enter(struct ra *ra)
{
	struct emitter *e = &ra->e;
	int32_t mx = (int32_t)ra->cfg->env_mxcsr_off;
	size_t slow, fast;

	emit_mxcsr_rsp(e, false, -16);
	asm_load(e, H_R11, H_RBP, mx, 4);
	asm_alu_ri_sz(e, A_OR, H_R11, 0x1f80, 4);
	emit_r11_alu_rsp(e, 0x33, -16);		/* host ^ wanted */
	emit_test_r11(e, 0xffc0);
	slow = asm_jcc_fwd(e, HCC_NE);
	emit_r11_alu_rsp(e, 0x23, -16);		/* host & ~guest */
	emit_test_r11(e, 0x3f);
	fast = asm_jcc_fwd(e, HCC_E);
	asm_patch_fwd(e, slow);
	asm_load(e, H_R11, H_RBP, mx, 4);
	asm_alu_ri_sz(e, A_AND, H_R11, 0xffc0, 4);
	asm_alu_ri_sz(e, A_OR, H_R11, 0x1f80, 4);
	asm_store(e, H_RSP, -24, H_R11, 4);
	emit_mxcsr_rsp(e, true, -24);
	asm_patch_fwd(e, fast);
}

/* After it: the flags it raised go to the guest MXCSR; the host control
 * bits come back if they were changed. */
static void emit_mxcsr_leave(struct ra *ra)
{
	struct emitter *e = &ra->e;
	int32_t mx = (int32_t)ra->cfg->env_mxcsr_off;
	size_t same;

	emit_mxcsr_rsp(e, false, -24);
	asm_load(e, H_R11, H_RSP, -24, 4);
	asm_alu_ri_sz(e, A_AND, H_R11, 0x3f, 4);
	asm_byte(e, 0x44);			/* or [rbp + mx], r11d */
	asm_byte(e, 0x09);
	asm_byte(e, 0x9d);
	asm_u32(e, (uint32_t)mx);
	asm_load(e, H_R11, H_RSP, -24, 4);
	emit_r11_alu_rsp(e, 0x33, -16);
	emit_test_r11(e, 0xffc0);
	same = asm_jcc_fwd(e, HCC_E);
	emit_mxcsr_rsp(e, true, -16);
	asm_patch_fwd(e, same);
}

static void emit_vec_body(struct ra *ra, const struct ir_op *op)
{
	struct emitter *e = &ra->e;
	unsigned d_off = (unsigned)(op->imm & 0xffff);
	unsigned s_off = (unsigned)((uint64_t)op->imm >> 16 & 0xffff);
	uint32_t enc = (uint32_t)((uint64_t)op->imm >> 32);
	struct asm_mem m;
	int r;

	switch (op->aux) {
	case IR_VEC_XMM:
	case IR_VEC_FLAGS:
		emit_movdqu_env(e, true, 0, d_off);
		emit_movdqu_env(e, true, 1, s_off);
		emit_vec_insn(e, enc, 0, 1);
		if (op->aux == IR_VEC_XMM) {
			emit_movdqu_env(e, false, 0, d_off);
			return;
		}
		r = alloc_reg(ra);
		asm_byte(e, 0x9c);	/* pushfq */
		asm_pop(e, r);
		asm_alu_ri_sz(e, A_AND, r, 0x45, 4);	/* CF | PF | ZF */
		bind_temp(ra, op->dst, r);
		return;
	case IR_VEC_SHIFT:
		emit_movdqu_env(e, true, 0, d_off);
		emit_vec_insn(e, enc, (enc >> 13) & 7, 0);
		emit_movdqu_env(e, false, 0, d_off);
		return;
	case IR_VEC_LOAD:	/* one 16-byte guest access: faults whole */
		access_address(ra, op, &m);
		record_pc(ra);
		ra->cfg->mem->emit_vload(e, 0, &m);
		access_done(ra, op);
		emit_movdqu_env(e, false, 0, d_off);
		return;
	case IR_VEC_STORE:
		access_address(ra, op, &m);
		emit_movdqu_env(e, true, 0, d_off);
		record_pc(ra);
		ra->cfg->mem->emit_vstore(e, &m, 0);
		access_done(ra, op);
		return;
	case IR_VEC_FROM_GPR:
		emit_movdqu_env(e, true, 0, d_off);
		r = use(ra, op->b, H_R11);
		emit_vec_insn(e, enc, 0, (unsigned)r);
		emit_movdqu_env(e, false, 0, d_off);
		release_dead(ra, op);
		return;
	default:	/* IR_VEC_TO_GPR */
		emit_movdqu_env(e, true, 1, s_off);
		r = alloc_reg(ra);
		emit_vec_insn(e, enc, (unsigned)r, 1);
		bind_temp(ra, op->dst, r);
		return;
	}
}

static void emit_vec(struct ra *ra, const struct ir_op *op)
{
	bool mxcsr = ((uint64_t)op->imm >> 32) & IR_VEC_MXCSR;

	if (mxcsr)
		emit_mxcsr_enter(ra);
	emit_vec_body(ra, op);
	if (mxcsr)
		emit_mxcsr_leave(ra);
}

/* Leaving the block (code only, the allocator state is left alone: a
 * side exit's block goes on): dirty unpinned slots to env, pinned slots
 * to their home registers.  The moves between homes are a parallel move:
 * a home is written once no pending move reads it, cycles go through r11.
 * Unbound pinned slots are up to date in env and are loaded from there. */
static void emit_exit_state(struct ra *ra)
{
	struct emitter *e = &ra->e;
	int src[16];
	unsigned slot_of[16];
	uint32_t pending = 0;

	for (uint32_t m = ra->slot_dirty & ~pin_mask; m; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctz(m);

		asm_store(e, H_RBP, (int32_t)(s * 8), ra->slot_reg[s], 8);
	}
	for (uint32_t m = pin_mask; m; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctz(m);
		int h = pin_home[s];

		if (ra->slot_reg[s] == h)
			continue;
		src[h] = ra->slot_reg[s];
		slot_of[h] = s;
		pending |= 1u << h;
	}
	while (pending) {
		uint32_t read = 0, ready;

		for (uint32_t m = pending; m; m &= m - 1) {
			int g = __builtin_ctz(m);

			if (src[g] != NO_REG)
				read |= 1u << src[g];
		}
		ready = pending & ~read;
		if (!ready) {
			/* Only cycles are left: free one home via r11. */
			int h = __builtin_ctz(pending);

			asm_mov_rr(e, H_R11, h);
			for (uint32_t m = pending; m; m &= m - 1) {
				int g = __builtin_ctz(m);

				if (src[g] == h)
					src[g] = H_R11;
			}
			continue;
		}
		for (; ready; ready &= ready - 1) {
			int h = __builtin_ctz(ready);

			if (src[h] == NO_REG)
				asm_load(e, h, H_RBP, (int32_t)(slot_of[h] * 8), 8);
			else
				asm_mov_rr(e, h, src[h]);
			pending &= ~(1u << h);
		}
	}
}

/* Chainable exit: [jmp rel32 (patched when chained)] store pc, return
 * the exit token to the runtime. */
static void emit_chain_exit(struct ra *ra, uint64_t target)
{
	struct emitter *e = &ra->e;
	struct tr_code_info *info = ra->info;
	unsigned k = info->n_exits;
	size_t at;

	if (k >= TR_MAX_CHAIN_EXITS)
		fatalx("more than %d chainable exits in a block",
		       TR_MAX_CHAIN_EXITS);
	asm_align_jump(e);
	at = asm_jmp_exec(e, e->exec_base + e->pos + 5);
	info->exit_jmp_off[k] = (uint32_t)at;
	info->exit_target[k] = target;
	info->n_exits++;
	if (fits_i32((int64_t)target)) {
		asm_store_imm32(e, H_RBP, (int32_t)ra->cfg->env_rip_off,
				(int32_t)target);
	} else {
		asm_mov_ri(e, H_R11, (int64_t)target);
		asm_store(e, H_RBP, (int32_t)ra->cfg->env_rip_off, H_R11, 8);
	}
	asm_mov_ri(e, H_RAX, (int64_t)(ra->cfg->exit_token + k));
	asm_jmp_exec(e, ra->cfg->epilogue);
}

static void emit_exit_special(struct ra *ra, unsigned reason, uint64_t pc)
{
	struct emitter *e = &ra->e;

	asm_mov_ri(e, H_R11, (int64_t)pc);
	asm_store(e, H_RBP, (int32_t)ra->cfg->env_rip_off, H_R11, 8);
	asm_store_imm32(e, H_RBP, (int32_t)ra->cfg->env_exception_off,
			(int32_t)reason);
	asm_mov_ri(e, H_RAX, 0);
	asm_jmp_exec(e, ra->cfg->epilogue);
}

static void emit_brcond(struct ra *ra, const struct ir_op *op)
{
	struct emitter *e = &ra->e;
	int c;
	size_t skip;

	if (ra->flags_temp == op->a) {
		skip = asm_jcc_fwd(e, ra->flags_cc ^ 1);
		ra->flags_temp = IR_NO_TEMP;
	} else {
		c = use(ra, op->a, H_R11);
		asm_test_rr(e, c, c);
		skip = asm_jcc_fwd(e, HCC_E);
	}
	/* Only the leaving path writes dirty guest state back: the block
	 * goes on with it in registers. */
	emit_exit_state(ra);
	if (op->aux)
		emit_exit_special(ra, op->aux, (uint64_t)op->imm);
	else
		emit_chain_exit(ra, (uint64_t)op->imm);
	asm_patch_fwd(e, skip);
	release_dead(ra, op);
}

/* Indirect jump to the guest pc in rcx (the exit state is in place):
 * look the target up in the thread's jump cache inline and jump straight
 * to its code; fall back to the runtime on a miss. */
static void emit_exit_indirect(struct ra *ra)
{
	const struct tr_backend_config *cfg = ra->cfg;
	struct emitter *e = &ra->e;
	size_t miss1, miss2, miss3;
	int r = H_RCX;

	asm_store(e, H_RBP, (int32_t)cfg->env_rip_off, r, 8);
	if (cfg->jc_mask) {
		/* Only the homes of pinned slots are live at an exit: rdx
		 * keeps the target, rax and rcx are scratch. */
		asm_mov_rr(e, H_RDX, r);
		r = H_RDX;
		asm_mov_rr(e, H_RCX, r);
		asm_shift_ri(e, S_SHR, H_RCX, 12);
		asm_alu_rr(e, A_XOR, H_RCX, r);
		asm_alu_ri(e, A_AND, H_RCX, (int32_t)cfg->jc_mask);
		asm_shift_ri(e, S_SHL, H_RCX, 3);
		asm_alu_rr(e, A_ADD, H_RCX, H_RBP);
		asm_load(e, H_RCX, H_RCX, (int32_t)cfg->jc_off, 8);
		asm_test_rr(e, H_RCX, H_RCX);
		miss1 = asm_jcc_fwd(e, HCC_E);
		asm_load(e, H_RAX, H_RCX, (int32_t)cfg->desc_pc_off, 8);
		asm_alu_rr(e, A_CMP, H_RAX, r);
		miss2 = asm_jcc_fwd(e, HCC_NE);
		asm_load(e, H_RAX, H_RCX, (int32_t)cfg->desc_valid_off, 1);
		asm_test_rr(e, H_RAX, H_RAX);
		miss3 = asm_jcc_fwd(e, HCC_E);
		asm_load(e, H_RAX, H_RCX, (int32_t)cfg->desc_code_off, 8);
		asm_byte(e, 0xff);		/* jmp rax */
		asm_byte(e, 0xe0);
		asm_patch_fwd(e, miss1);
		asm_patch_fwd(e, miss2);
		asm_patch_fwd(e, miss3);
	}
	asm_mov_ri(e, H_RAX, 0);
	asm_jmp_exec(e, cfg->epilogue);
}

static void emit_exit(struct ra *ra, const struct ir_op *op)
{
	/* rcx is never allocated: the target survives the exit moves. */
	if (op->opc == IR_EXIT_INDIRECT)
		asm_mov_rr(&ra->e, H_RCX, use(ra, op->a, H_R11));
	emit_exit_state(ra);
	switch (op->opc) {
	case IR_EXIT:
		emit_chain_exit(ra, (uint64_t)op->imm);
		break;
	case IR_EXIT_INDIRECT:
		emit_exit_indirect(ra);
		break;
	default:
		emit_exit_special(ra, op->aux, (uint64_t)op->imm);
		break;
	}
	release_dead(ra, op);
}

static void count_use(struct ra *ra, ir_temp t, unsigned i)
{
	ra->last_use[t] = (uint16_t)i;
	if (ra->n_uses[t] < 255)
		ra->n_uses[t]++;
}

/* The op defining T if it is OPC (64-bit), before op I, and T's only
 * use is the op being folded. */
static const struct ir_op *sole_def(const struct ra *ra, ir_temp t,
				    unsigned i, enum ir_opcode opc)
{
	unsigned k = ra->blk->def[t];
	const struct ir_op *d;

	if (k >= i || ra->n_uses[t] != 1)
		return NULL;
	d = &ra->blk->ops[k];
	return d->opc == opc && d->aux == 0 && d->dst == t ? d : NULL;
}

/* Guest memory accesses whose address is base [+ index << scale] [+
 * constant], computed only for them: address with the host's modes and
 * skip the adds and the shift. */
static void fold_address(struct ra *ra, unsigned i)
{
	const struct ir_block *blk = ra->blk;
	const struct ir_op *d, *skip[4];
	ir_temp stack[4], terms[2];
	unsigned n_stack = 0, n_terms = 0, n_skip = 0;
	struct folded_addr *fa = &ra->fold[i];
	int64_t disp = 0, v;

	stack[n_stack++] = blk->ops[i].a;
	while (n_stack) {
		ir_temp t = stack[--n_stack];

		if (is_const(ra, t, &v)) {
			disp += v;
		} else if (n_skip < 3 && (d = sole_def(ra, t, i, IR_ADD))) {
			skip[n_skip++] = d;
			stack[n_stack++] = d->a;
			stack[n_stack++] = d->b;
		} else if (n_terms < 2) {
			terms[n_terms++] = t;
		} else {
			return;
		}
	}
	if (n_skip == 0 || n_terms == 0 || !fits_i32(disp) ||
	    !fits_i32(disp + ra->cfg->mem->guest_base))
		return;
	fa->index = IR_NO_TEMP;
	fa->scale = 0;
	for (unsigned k = 0; k < n_terms && n_terms == 2; k++) {
		d = sole_def(ra, terms[k], i, IR_SHL);
		if (d && is_const(ra, d->b, &v) && v >= 1 && v <= 3 &&
		    !is_const(ra, d->a, NULL)) {
			skip[n_skip++] = d;
			fa->index = d->a;
			fa->scale = (uint8_t)v;
			terms[k] = terms[1 - k];
			break;
		}
	}
	if (n_terms == 2 && fa->index == IR_NO_TEMP)
		fa->index = terms[1];
	fa->base = terms[0];
	fa->disp = (int32_t)disp;
	for (unsigned k = 0; k < n_skip; k++)
		ra->fold_skip[skip[k] - blk->ops] = true;
	if (ra->last_use[fa->base] < i)
		ra->last_use[fa->base] = (uint16_t)i;
	if (fa->index != IR_NO_TEMP && ra->last_use[fa->index] < i)
		ra->last_use[fa->index] = (uint16_t)i;
}

static void fold_addresses(struct ra *ra)
{
	const struct ir_block *blk = ra->blk;

	for (unsigned i = 0; i < blk->n_ops; i++) {
		ra->fold[i].base = IR_NO_TEMP;
		ra->fold[i].index = IR_NO_TEMP;
		ra->fold_skip[i] = false;
	}
	for (unsigned i = 0; i < blk->n_ops; i++)
		if (blk->ops[i].opc == IR_LOAD || blk->ops[i].opc == IR_STORE ||
		    (blk->ops[i].opc == IR_VEC &&
		     blk->ops[i].aux >= IR_VEC_LOAD))
			fold_address(ra, i);
}

static void compute_last_use(struct ra *ra)
{
	const struct ir_block *blk = ra->blk;

	memset(ra->last_use, 0, sizeof(uint16_t) * blk->n_temps);
	memset(ra->n_uses, 0, blk->n_temps);
	for (unsigned i = 0; i < blk->n_ops; i++) {
		const struct ir_op *op = &blk->ops[i];

		if (op->opc == IR_NOP)
			continue;
		if (op->dst != IR_NO_TEMP)
			ra->last_use[op->dst] = (uint16_t)i;
		if (op->a != IR_NO_TEMP)
			count_use(ra, op->a, i);
		if (op->b != IR_NO_TEMP)
			count_use(ra, op->b, i);
		if (op->c != IR_NO_TEMP)
			count_use(ra, op->c, i);
		if (op->opc == IR_CALL)
			for (unsigned k = 0; k < op->aux; k++)
				count_use(ra, op->args[k], i);
	}
	fold_addresses(ra);
}

static void emit_op(struct ra *ra, const struct ir_op *op)
{
	switch (op->opc) {
	case IR_NOP:
	case IR_CONST:		/* materialized where used */
		break;
	case IR_INSN_START:
		ra->cur_guest_pc = (uint64_t)op->imm;
		break;
	case IR_GET: emit_get(ra, op); break;
	case IR_SET: emit_set(ra, op); break;
	case IR_ADD: case IR_SUB: case IR_AND: case IR_OR: case IR_XOR:
	case IR_SHL: case IR_SHR: case IR_SAR: case IR_ROL: case IR_ROR:
	case IR_MUL:
		emit_binop(ra, op);
		break;
	case IR_MOV: case IR_NEG: case IR_NOT: case IR_BSWAP:
	case IR_ZEXT8: case IR_ZEXT16:
	case IR_ZEXT32: case IR_SEXT8: case IR_SEXT16: case IR_SEXT32:
		emit_unop(ra, op);
		break;
	case IR_SETCC: emit_setcc(ra, op); break;
	case IR_SELECT: emit_select(ra, op); break;
	case IR_LOAD: case IR_STORE: emit_memory(ra, op); break;
	case IR_CALL: emit_call(ra, op); break;
	case IR_VEC: emit_vec(ra, op); break;
	case IR_BRCOND: emit_brcond(ra, op); break;
	default: emit_exit(ra, op); break;
	}
}

/* MICA_PERF_MAP=1: name every block by its guest pc in /tmp/perf-PID.map
 * so that `perf report` attributes time in generated code to guest code. */
static void perf_map_add(uint64_t exec_addr, uint32_t size, uint64_t guest_pc)
{
	static int enabled = -1;
	static FILE *map;
	static pid_t map_pid;
	char path[64];

	if (enabled < 0)
		enabled = getenv("MICA_PERF_MAP") != NULL;
	if (!enabled)
		return;
	if (!map || map_pid != getpid()) {
		/* A forked child writes its own map. */
		map_pid = getpid();
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)map_pid);
		map = fopen(path, "a");
		if (!map) {
			enabled = 0;
			return;
		}
	}
	fprintf(map, "%llx %x guest_%llx\n", (unsigned long long)exec_addr,
		size, (unsigned long long)guest_pc);
	fflush(map);
}

int x86_64_emit_block(const struct ir_block *blk, uint8_t *buf, size_t cap,
		      uint64_t exec_addr, const struct tr_backend_config *cfg,
		      struct tr_code_info *info)
{
	static struct ra ra;
	size_t interrupt_stub = 0;

	memset(&ra.e, 0, sizeof(ra.e));
	ra.e.buf = buf;
	ra.e.cap = cap;
	ra.e.exec_base = exec_addr;
	ra.blk = blk;
	ra.cfg = cfg;
	ra.info = info;
	ra.cur_guest_pc = blk->guest_pc;
	ra.evict_cursor = 0;
	memset(ra.temp_reg, NO_REG, sizeof(int8_t) * blk->n_temps);
	memset(ra.temp_spill, NO_REG, sizeof(int8_t) * blk->n_temps);
	ra.spill_used = 0;
	ra.flags_temp = IR_NO_TEMP;
	memset(ra.slot_reg, NO_REG, sizeof(ra.slot_reg));
	ra.slot_dirty = 0;
	memset(ra.slot_const_known, 0, sizeof(ra.slot_const_known));
	memset(ra.reg_slots, 0, sizeof(ra.reg_slots));
	memset(ra.reg_temps, 0, sizeof(ra.reg_temps));
	pin_init();
	for (uint32_t m = pin_mask; m; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctz(m);

		ra.slot_reg[s] = pin_home[s];
		ra.reg_slots[(int)pin_home[s]] |= 1u << s;
		ra.slot_dirty |= 1u << s;
	}
	info->n_exits = 0;
	info->n_pcmap = 0;
	compute_last_use(&ra);
	/* The interrupt exit is out of line at the end of the block: the
	 * check falls through (branch not taken) into the body. */
	if (cfg->env_interrupt_off) {
		asm_cmp_mem8_imm(&ra.e, H_RBP, (int32_t)cfg->env_interrupt_off,
				 0);
		interrupt_stub = asm_jcc_fwd(&ra.e, HCC_NE);
	}
	for (unsigned i = 0; i < blk->n_ops && !ra.e.overflow; i++) {
		const struct ir_op *op = &blk->ops[i];

		ra.cur_op = i;
		ra.locked = 0;
		if (ra.fold_skip[i])
			continue;
		emit_op(&ra, op);
		/* A result nobody reads (a helper's unused return value). */
		if (op->dst != IR_NO_TEMP && ra.temp_reg[op->dst] != NO_REG &&
		    ra.last_use[op->dst] <= i) {
			ra.reg_temps[ra.temp_reg[op->dst]]--;
			ra.temp_reg[op->dst] = NO_REG;
		}
	}
	if (cfg->env_interrupt_off) {
		/* Pinned slots are home at block entry: nothing to move. */
		asm_patch_fwd(&ra.e, interrupt_stub);
		emit_exit_special(&ra, cfg->interrupt_reason, blk->guest_pc);
	}
	if (ra.e.overflow)
		return -ENOSPC;
	info->size = (uint32_t)ra.e.pos;
	perf_map_add(exec_addr, info->size, blk->guest_pc);
	return 0;
}

/* ---- trampolines and chaining ---- */

size_t x86_64_emit_trampolines(uint8_t *buf, uint64_t exec_addr,
			       uint64_t *epilogue)
{
	static const int saved[] = { H_RBX, H_RBP, H_R12, H_R13, H_R14,
				     H_R15 };
	struct emitter e = { .buf = buf, .cap = 256, .exec_base = exec_addr };

	pin_init();
	/* tr_enter(env = rdi, code = rsi): pinned slots to their homes */
	for (int i = 0; i < 6; i++)
		asm_push(&e, saved[i]);
	asm_alu_ri(&e, A_SUB, H_RSP, 8);	/* 16-byte aligned calls */
	asm_mov_rr(&e, H_RBP, H_RDI);
	asm_mov_rr(&e, H_R11, H_RSI);
	for (uint32_t m = pin_mask; m; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctz(m);

		asm_load(&e, pin_home[s], H_RBP, (int32_t)(s * 8), 8);
	}
	asm_byte(&e, 0x41);			/* jmp r11 */
	asm_byte(&e, 0xff);
	asm_byte(&e, 0xe3);
	while (e.pos & 15)
		asm_byte(&e, 0xcc);
	*epilogue = exec_addr + e.pos;
	for (uint32_t m = pin_mask; m; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctz(m);

		asm_store(&e, H_RBP, (int32_t)(s * 8), pin_home[s], 8);
	}
	asm_alu_ri(&e, A_ADD, H_RSP, 8);
	for (int i = 6; i-- > 0;)
		asm_pop(&e, saved[i]);
	asm_byte(&e, 0xc3);
	while (e.pos & 15)
		asm_byte(&e, 0xcc);
	return e.pos;
}

void x86_64_patch_jump(uint8_t *jmp, uint64_t jmp_exec, uint64_t target_exec)
{
	uint64_t next = jmp_exec + 5;
	int32_t rel = target_exec ? (int32_t)(int64_t)(target_exec - next) : 0;

	/* One aligned 32-bit store: another thread may be executing it. */
	__atomic_store_n((uint32_t *)(void *)(jmp + 1), (uint32_t)rel,
			 __ATOMIC_RELEASE);
}

/* ---- user-mode memory lowering: host address = guest address ---- */

/* The backend only folds displacements for which disp + guest_base
 * fits in 32 bits. */
static void user_load(struct emitter *e, int dst, const struct asm_mem *addr,
		      unsigned size)
{
	struct asm_mem m = *addr;

	m.disp = (int32_t)(m.disp + tr_mem_user.guest_base);
	asm_load_m(e, dst, &m, size);
}

static void user_store(struct emitter *e, const struct asm_mem *addr, int val,
		       unsigned size)
{
	struct asm_mem m = *addr;

	m.disp = (int32_t)(m.disp + tr_mem_user.guest_base);
	asm_store_m(e, &m, val, size);
}

static void user_vload(struct emitter *e, int xmm, const struct asm_mem *addr)
{
	struct asm_mem m = *addr;

	m.disp = (int32_t)(m.disp + tr_mem_user.guest_base);
	asm_movdqu_m(e, true, xmm, &m);
}

static void user_vstore(struct emitter *e, const struct asm_mem *addr, int xmm)
{
	struct asm_mem m = *addr;

	m.disp = (int32_t)(m.disp + tr_mem_user.guest_base);
	asm_movdqu_m(e, false, xmm, &m);
}

const struct tr_mem_lowering tr_mem_user = {
	.emit_load = user_load,
	.emit_store = user_store,
	.emit_vload = user_vload,
	.emit_vstore = user_vstore,
	.guest_base = 0,
};
