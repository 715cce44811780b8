/* Shared between test-oracle.c (generator, random runs, main) and
 * oracle-isa-tests.c (targeted ISA tests). */
#ifndef MICA_TEST_ORACLE_TESTS_H
#define MICA_TEST_ORACLE_TESTS_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/translator/oracle.h"

/* ISA extensions the host has: instructions it lacks are not compared. */
enum ext_feature { F_SSE3, F_SSSE3, F_SSE41, F_SSE42, F_COUNT };
extern bool host_has[F_COUNT];

/* The generator's xorshift state, a draw below N, a random start state
 * (registers, xmm, flags, MXCSR; rbx = data, rsp = stack). */
extern uint64_t rng_state;
unsigned rnd_below(unsigned n);
void rnd_state(struct oracle_state *st);

void test_oracle_sse42_strings(void);
void test_oracle_ssse3_mmx(void);
void test_oracle_mmx_sse_mixed(void);
void test_oracle_x87_control(void);
void test_oracle_ldmxcsr(void);
void test_oracle_cmpxchg16b(void);
void test_oracle_sse_page_end(void);
void test_oracle_sse_fp_host_mxcsr(void);
void test_oracle_fxsave(void);
void test_oracle_encoding_sweep(void);
void test_cpuid_leaves(void);
void test_rdtscp_fsgsbase(void);

#endif
