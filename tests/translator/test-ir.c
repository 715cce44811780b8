/* IR builders and passes: constant folding, GET forwarding, dead SET
 * (dead flag) elimination, dead pure helper calls, vector ops as
 * barriers for vector state. */
#include <string.h>

#include "tests/lib/cutest.h"
#include "translator/ir.h"

static struct ir_block blk;

static unsigned count_ops(enum ir_opcode opc)
{
	unsigned n = 0;

	for (unsigned i = 0; i < blk.n_ops; i++)
		n += blk.ops[i].opc == opc;
	return n;
}

static uint64_t dummy_helper(uint64_t a)
{
	return a;
}

static void test_ir_constant_folding(void)
{
	ir_temp a, b, c;
	int64_t v;

	ir_init(&blk, 0x1000);
	a = ir_const(&blk, 40);
	b = ir_const(&blk, 2);
	c = ir_add(&blk, a, b);
	CU_ASSERT_TRUE(ir_is_const(&blk, c, &v));
	CU_ASSERT_EQUAL(v, 42);
	c = ir_shl(&blk, c, ir_const(&blk, 4));
	CU_ASSERT_TRUE(ir_is_const(&blk, c, &v));
	CU_ASSERT_EQUAL(v, 42 << 4);
	c = ir_unop(&blk, IR_SEXT8, ir_const(&blk, 0x80));
	CU_ASSERT_TRUE(ir_is_const(&blk, c, &v));
	CU_ASSERT_EQUAL(v, -128);
	c = ir_setcc(&blk, IR_LTU, ir_const(&blk, -1), ir_const(&blk, 1));
	CU_ASSERT_TRUE(ir_is_const(&blk, c, &v));
	CU_ASSERT_EQUAL(v, 0);
	/* Identities: x + 0 and x ^ x. */
	a = ir_get(&blk, 8);
	CU_ASSERT_EQUAL(ir_add(&blk, a, ir_const(&blk, 0)), a);
	c = ir_xor(&blk, a, a);
	CU_ASSERT_TRUE(ir_is_const(&blk, c, &v));
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(count_ops(IR_ADD), 0);
}

static void test_ir_get_forwarding(void)
{
	ir_temp a, b;

	ir_init(&blk, 0x1000);
	a = ir_get(&blk, 16);
	b = ir_add(&blk, a, ir_const(&blk, 1));
	ir_set(&blk, 16, b);
	a = ir_get(&blk, 16);		/* must become b */
	ir_set(&blk, 24, a);
	ir_exit(&blk, 0x2000);
	ir_optimize(&blk);
	CU_ASSERT_EQUAL(count_ops(IR_GET), 1);
	for (unsigned i = 0; i < blk.n_ops; i++)
		if (blk.ops[i].opc == IR_SET && blk.ops[i].imm == 24)
			CU_ASSERT_EQUAL(blk.ops[i].a, b);
}

/* Two flag-setting instructions in a row: the first one's flag state
 * never reaches anything, so its SETs disappear. */
static void test_ir_dead_flags(void)
{
	ir_temp x = IR_NO_TEMP;

	ir_init(&blk, 0x1000);
	for (int k = 0; k < 2; k++) {
		x = ir_add(&blk, ir_get(&blk, 0), ir_const(&blk, k + 1));
		ir_set(&blk, 0, x);
		ir_set(&blk, 136, ir_const(&blk, 5));	/* cc_op */
		ir_set(&blk, 144, x);			/* cc_dst */
	}
	ir_exit(&blk, 0x2000);
	ir_optimize(&blk);
	CU_ASSERT_EQUAL(count_ops(IR_SET), 3);
	/* A load in between keeps them (precise state at the access). */
	ir_init(&blk, 0x1000);
	ir_set(&blk, 144, ir_get(&blk, 0));
	ir_load(&blk, ir_get(&blk, 8), 8);
	ir_set(&blk, 144, ir_get(&blk, 16));
	ir_exit(&blk, 0x2000);
	ir_optimize(&blk);
	CU_ASSERT_EQUAL(count_ops(IR_SET), 2);
}

static void test_ir_dead_pure_call(void)
{
	ir_temp arg;

	ir_init(&blk, 0x1000);
	arg = ir_get(&blk, 0);
	ir_call(&blk, (const void *)dummy_helper, IR_HELPER_PURE, 1, &arg);
	ir_call(&blk, (const void *)dummy_helper, IR_HELPER_READS_ENV, 1,
		&arg);
	ir_exit(&blk, 0x2000);
	ir_optimize(&blk);
	CU_ASSERT_EQUAL(count_ops(IR_CALL), 1);
}

/* IR_VEC reads and writes vector slots: a SET of a slot before it is
 * observed (not dead), a GET after it is not forwarded from before it,
 * and an unused IR_VEC stays (it writes env). */
static void test_ir_vec_barrier(void)
{
	const unsigned x0 = IR_VECTOR_STATE_OFF, x1 = IR_VECTOR_STATE_OFF + 16;
	ir_temp a;

	ir_init(&blk, 0x1000);
	ir_set(&blk, x1, ir_get(&blk, 0));
	a = ir_get(&blk, x0);
	ir_vec(&blk, IR_VEC_XMM, x0, x1, IR_VEC_ENC(0xef, 0, 1, 0, 0, 0));
	ir_set(&blk, x1, ir_get(&blk, x0));
	ir_set(&blk, 8, a);
	ir_vec_mem(&blk, IR_VEC_STORE, ir_get(&blk, 16), x0);
	ir_exit(&blk, 0x2000);
	ir_optimize(&blk);
	CU_ASSERT_EQUAL(count_ops(IR_SET), 3);
	CU_ASSERT_EQUAL(count_ops(IR_VEC), 2);
	CU_ASSERT_EQUAL(count_ops(IR_GET), 4);	/* 0, x0 twice, 16 */
}

/* zext32(a op b) becomes the 32-bit op on the unextended operands; a
 * zero extension of a value already known to be 32-bit clean vanishes. */
static void test_ir_width_folding(void)
{
	ir_temp a, b, s, r;
	int64_t v;

	ir_init(&blk, 0x1000);
	a = ir_unop(&blk, IR_ZEXT32, ir_get(&blk, 8));
	b = ir_unop(&blk, IR_ZEXT32, ir_get(&blk, 16));
	s = ir_unop(&blk, IR_ZEXT32, ir_add(&blk, a, b));
	CU_ASSERT_EQUAL(blk.ops[blk.def[s]].opc, IR_ADD);
	CU_ASSERT_EQUAL(blk.ops[blk.def[s]].aux, IR_W32);
	/* The operands are the GETs, not their zero extensions. */
	CU_ASSERT_EQUAL(blk.ops[blk.def[blk.ops[blk.def[s]].a]].opc, IR_GET);
	CU_ASSERT_EQUAL(blk.ops[blk.def[blk.ops[blk.def[s]].b]].opc, IR_GET);
	CU_ASSERT_EQUAL(ir_unop(&blk, IR_ZEXT32, s), s);
	/* Logic on clean values is 32-bit without extensions either. */
	r = ir_xor(&blk, s, ir_load(&blk, a, 4));
	CU_ASSERT_EQUAL(blk.ops[blk.def[r]].aux, IR_W32);
	CU_ASSERT_EQUAL(ir_unop(&blk, IR_ZEXT32, r), r);
	/* A 64-bit shift by an unknown count may shift by 32..63: its
	 * zero extension is not the 32-bit shift (which masks by 31). */
	r = ir_unop(&blk, IR_ZEXT32, ir_shl(&blk, a, ir_get(&blk, 24)));
	CU_ASSERT_EQUAL(blk.ops[blk.def[r]].opc, IR_ZEXT32);
	r = ir_unop(&blk, IR_ZEXT32,
		    ir_shl(&blk, a, ir_and(&blk, ir_get(&blk, 24),
					   ir_const(&blk, 31))));
	CU_ASSERT_EQUAL(blk.ops[blk.def[r]].opc, IR_SHL);
	CU_ASSERT_EQUAL(blk.ops[blk.def[r]].aux, IR_W32);
	/* 32-bit folding wraps and masks shift counts by 31. */
	r = ir_binop32(&blk, IR_ADD, ir_const(&blk, 0xffffffff),
		       ir_const(&blk, 2));
	CU_ASSERT_TRUE(ir_is_const(&blk, r, &v));
	CU_ASSERT_EQUAL(v, 1);
	r = ir_binop32(&blk, IR_ROL, ir_const(&blk, 0x80000001),
		       ir_const(&blk, 33));
	CU_ASSERT_TRUE(ir_is_const(&blk, r, &v));
	CU_ASSERT_EQUAL(v, 3);
	r = ir_bswap(&blk, ir_const(&blk, 0x11223344), 4);
	CU_ASSERT_TRUE(ir_is_const(&blk, r, &v));
	CU_ASSERT_EQUAL(v, 0x44332211);
}

CUTEST_MAIN("translator-ir",
	    CUTEST(test_ir_width_folding),
	    CUTEST(test_ir_constant_folding),
	    CUTEST(test_ir_get_forwarding),
	    CUTEST(test_ir_dead_flags),
	    CUTEST(test_ir_dead_pure_call),
	    CUTEST(test_ir_vec_barrier));
