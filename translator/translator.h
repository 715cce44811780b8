/* libmica-translator: run x86-64 guest code through the JIT.
 *
 * One struct tr_cpu per guest thread.  tr_cpu_exec() runs translated
 * blocks until the guest needs the runtime (syscall, fault, illegal
 * instruction...) and returns why; the caller handles it and calls again.
 *
 * All functions returning int return 0 or a negative errno.
 */
#ifndef MICA_TRANSLATOR_H
#define MICA_TRANSLATOR_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "translator/x86/cpu.h"

#define TR_JUMP_CACHE_SIZE 131072

struct tb;

struct tr_cpu {
	struct x86_cpu env;		/* first: generated code's env, and
					 * jump_cache is reached from it */
	struct tb *jump_cache[TR_JUMP_CACHE_SIZE];
	sigjmp_buf fault_jmp;
	bool in_exec;
	/* Next block: one instruction, not cached, page left writable (the
	 * instruction that just hit write-protected code). */
	bool smc_step;
	uint64_t pending_signals;	/* bit sig-1: arrived, not delivered */
	int in_code;			/* executing translated code */
};

struct tr_config {
	size_t code_size;	/* bytes of code cache (0: default 256 MiB) */
	unsigned max_block_insns;	/* 0: default */
	/* User mode: write-protect guest pages holding translated code so
	 * that self-modifying code invalidates exactly what it changes. */
	bool protect_code_pages;
};

struct tr_stats {
	unsigned long blocks_translated;
	unsigned long chain_links;
	unsigned long jump_cache_hits;
	unsigned long dispatches;
	unsigned long cache_flushes;
	unsigned long invalidations;
	unsigned long smc_faults;
	/* Exits to the runtime by an indirect jump whose target missed the
	 * inline jump-cache probe, and lookups the hash table answered. */
	unsigned long indirect_exits;
	unsigned long hash_hits;
	/* Translation work: guest bytes in, host bytes out, and time.
	 * Times are measured only with MICA_TRANSLATOR_STATS set. */
	unsigned long guest_bytes;
	unsigned long host_bytes;
	unsigned long long translate_ns;
	unsigned long long frontend_ns, optimize_ns, emit_ns;
};

/* Set up the code cache and fault handling; once per process. */
int tr_init(const struct tr_config *cfg);
void tr_cpu_init(struct tr_cpu *cpu);
/* The guest thread running CPU is gone. */
void tr_cpu_exit(struct tr_cpu *cpu);
/* Run until the guest leaves; returns enum x86_exit_reason.  For
 * X86_EXIT_SEGV, env.rip is the faulting instruction and
 * env.exception_addr the address. */
int tr_cpu_exec(struct tr_cpu *cpu);
/* Guest code in [start, start+len) changed or went away (the guest
 * remapped or re-protected it). */
void tr_invalidate_range(uint64_t start, uint64_t len);
/* The runtime (e.g. a read() syscall) is about to write guest memory in
 * [start, start+len): drop write protection and blocks there first. */
void tr_guest_write_range(uint64_t start, uint64_t len);
/* Drop every translation (also done automatically when full). */
void tr_flush_all(void);
/* Bracket a fork of the emulating process: tr_fork_prepare() before,
 * then tr_fork_parent() in the parent or tr_after_fork_child() in the
 * child (which gets its own copy of the code cache). */
void tr_fork_prepare(void);
void tr_fork_parent(void);
void tr_after_fork_child(void);
const struct tr_stats *tr_get_stats(void);
/* The CPU the calling thread runs (NULL outside guest threads). */
struct tr_cpu *tr_current_cpu(void);
void tr_print_stats(void);	/* to stderr, with missing opcodes */

#endif
