/* Translation blocks: cache, chaining, invalidation, the execution loop
 * and host-fault to guest-fault mapping. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "log.h"
#include "translator/backend.h"
#include "translator/codebuf.h"
#include "translator/smc.h"
#include "translator/translator.h"
#include "translator/x86/decode.h"
#include "translator/x86/frontend.h"
#include "translator/x86/helpers.h"

#define TB_MAX 262144
#define TB_HASH_BITS 17
#define TB_HASH_SIZE (1u << TB_HASH_BITS)
#define PCMAP_MAX (4u << 20)
#define MIN_FREE_CODE (256u << 10)
/* 64 KiB chunks of guest address space holding translated code: lets
 * munmap/mprotect of data (most of them) skip the scan of all TBs. */
#define CHUNK_SHIFT 16
#define CHUNK_SLOTS 65536	/* open addressing, power of two */
#define CHUNK_SCAN_MAX 4096	/* bigger ranges: just scan the TBs */

struct tb {
	uint64_t pc, pc_end;
	uint64_t code_exec;	/* exec address (inline jump-cache lookups) */
	uint32_t code_off, code_size;
	struct tb *hash_next;
	bool valid;
	unsigned n_exits;
	uint32_t exit_off[TR_MAX_CHAIN_EXITS];
	uint64_t exit_target[TR_MAX_CHAIN_EXITS];
	struct tb *exit_dest[TR_MAX_CHAIN_EXITS];
	/* Incoming chained jumps: (tb | exit) list threaded through the
	 * source TB's exit_next[]. */
	uintptr_t jmp_in;
	uintptr_t exit_next[TR_MAX_CHAIN_EXITS];
	uint32_t pcmap_first, pcmap_count;
} __attribute__((aligned(8)));

static struct {
	struct codebuf code;
	struct tb *tbs;
	unsigned n_tbs;
	struct tb **hash;		/* TB_HASH_SIZE chains */
	uint32_t *pcmap_host;
	uint64_t *pcmap_guest;
	struct tr_pc_state *pcmap_state;
	uint32_t pcmap_used;
	struct ir_block *blk;
	struct tr_code_info info;
	uint64_t epilogue;
	uint64_t (*enter)(struct x86_cpu *env, uint64_t code);
	unsigned max_insns;
	bool protect_code;
	bool time_phases;		/* MICA_TRANSLATOR_STATS set */
	bool dump_ir;			/* MICA_DEBUG=ir */
	bool no_chain;			/* MICA_NO_CHAIN set */
	struct tr_backend_config bcfg;	/* exit_token set per block */
	uint64_t fetch_short_at;	/* see fetch_user */
	unsigned long generation;	/* bumped by every flush */
	int flush_requested;		/* other threads: stay out of code */
	struct tr_cpu *cpus[64];
	unsigned n_cpus;
	struct tr_stats stats;
	uint32_t *chunks;	/* CHUNK_SLOTS: chunk number + 1, 0 = empty */
	unsigned n_chunks;
	uint64_t last_chunk;		/* + 1: the one marked last */
} tr;

static __thread struct tr_cpu *tr_current;

/* One lock for translation, chaining, invalidation and the CPU list.
 * Lookups through a thread's jump cache take no lock.  Recursive
 * because a translation may flush.  A flush first gets every other
 * thread out of translated code (see flush_stop_others). */
static pthread_mutex_t tr_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull +
	       (unsigned long long)ts.tv_nsec;
}

static unsigned hash_pc(uint64_t pc)
{
	return (unsigned)((pc * 0x9e3779b97f4a7c15ull) >> (64 - TB_HASH_BITS));
}

static unsigned jc_index(uint64_t pc)
{
	return (unsigned)((pc ^ (pc >> 12)) & (TR_JUMP_CACHE_SIZE - 1));
}

static unsigned chunk_slot(uint64_t chunk)
{
	return (unsigned)((chunk * 0x9e3779b1u) >> 8) & (CHUNK_SLOTS - 1);
}

/* True if a TB may start or end in CHUNK (or the set overflowed). */
static bool chunk_has_code(uint64_t chunk)
{
	if (tr.n_chunks >= CHUNK_SLOTS / 2)
		return true;
	for (unsigned i = chunk_slot(chunk);; i = (i + 1) & (CHUNK_SLOTS - 1)) {
		if (tr.chunks[i] == 0)
			return false;
		if (tr.chunks[i] == chunk + 1)
			return true;
	}
}

static void chunk_mark(uint64_t chunk)
{
	unsigned i;

	if (chunk + 1 == tr.last_chunk || tr.n_chunks >= CHUNK_SLOTS / 2)
		return;
	tr.last_chunk = chunk + 1;
	for (i = chunk_slot(chunk); tr.chunks[i];
	     i = (i + 1) & (CHUNK_SLOTS - 1))
		if (tr.chunks[i] == chunk + 1)
			return;
	tr.chunks[i] = (uint32_t)(chunk + 1);
	tr.n_chunks++;
}

static void chunks_clear(void)
{
	memset(tr.chunks, 0, CHUNK_SLOTS * sizeof(*tr.chunks));
	tr.n_chunks = 0;
	tr.last_chunk = 0;
}

/* Could [start, end) overlap a TB?  A TB is shorter than a chunk, so
 * every chunk it touches is marked (its first and last), and a TB
 * overlapping the range touches a chunk of the range. */
static bool range_may_have_code(uint64_t start, uint64_t end)
{
	uint64_t first = start >> CHUNK_SHIFT, last = (end - 1) >> CHUNK_SHIFT;

	if (end <= start)
		return false;
	if (last - first >= CHUNK_SCAN_MAX)
		return true;
	for (uint64_t c = first; c <= last; c++)
		if (chunk_has_code(c))
			return true;
	return false;
}

/* Set while fetch_user copies guest code: a fault there (unmapped or
 * unreadable guest page) jumps back instead of being a guest fault. */
static __thread sigjmp_buf *volatile fetch_recover;

static size_t copy_guarded(uint8_t *dst, const uint8_t *src, size_t len)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0)) {
		fetch_recover = NULL;
		return 0;
	}
	fetch_recover = &jb;
	__asm__ volatile("" ::: "memory");	/* the copy stays inside */
	memcpy(dst, src, len);
	__asm__ volatile("" ::: "memory");
	fetch_recover = NULL;
	return len;
}

/* Copy up to LEN bytes of guest code at PC: as many as are readable
 * (the decoder asks for more when an instruction is cut short).  A
 * plain copy guarded by the fault handler: no system call per
 * instruction.  OPAQUE, if not NULL, is a uint64_t that receives the
 * first unreadable address (if it is still 0). */
static size_t fetch_user(void *opaque, uint64_t pc, uint8_t *buf, size_t len)
{
	size_t page_left = 4096 - (pc & 4095), n;
	uint64_t *short_at = opaque;

	if (len <= page_left)
		n = copy_guarded(buf, x86_g2h(pc), len);
	else if ((n = copy_guarded(buf, x86_g2h(pc), page_left)) == page_left)
		n += copy_guarded(buf + n, x86_g2h(pc + n), len - n);
	if (n < len && short_at && !*short_at)
		*short_at = pc + n;
	return n;
}

static void fault_handler(int sig, siginfo_t *si, void *uc_void);

int tr_init(const struct tr_config *cfg)
{
	struct sigaction sa;
	size_t size = cfg && cfg->code_size ? cfg->code_size : 256u << 20;

	if (size < 2 * MIN_FREE_CODE)
		size = 2 * MIN_FREE_CODE;
	size_t n;
	int rc;

	rc = codebuf_init(&tr.code, size);
	if (rc < 0)
		return rc;
	tr.tbs = calloc(TB_MAX, sizeof(*tr.tbs));
	tr.pcmap_host = calloc(PCMAP_MAX, sizeof(*tr.pcmap_host));
	tr.pcmap_guest = calloc(PCMAP_MAX, sizeof(*tr.pcmap_guest));
	tr.pcmap_state = calloc(PCMAP_MAX, sizeof(*tr.pcmap_state));
	tr.blk = malloc(sizeof(*tr.blk));
	tr.hash = calloc(TB_HASH_SIZE, sizeof(*tr.hash));
	tr.chunks = calloc(CHUNK_SLOTS, sizeof(*tr.chunks));
	if (!tr.tbs || !tr.pcmap_host || !tr.pcmap_guest || !tr.pcmap_state ||
	    !tr.blk || !tr.hash || !tr.chunks)
		return -ENOMEM;
	tr.max_insns = cfg && cfg->max_block_insns ? cfg->max_block_insns : 64;
	tr.protect_code = cfg && cfg->protect_code_pages;
	tr.time_phases = getenv("MICA_TRANSLATOR_STATS") != NULL;
	tr.dump_ir = log_debug_enabled("ir");
	tr.no_chain = getenv("MICA_NO_CHAIN") != NULL;
	tr.bcfg = (struct tr_backend_config){
		.mem = &tr_mem_user,
		.env_rip_off = X86_ENV_OFF(rip),
		.env_exception_off = X86_ENV_OFF(exception),
		.env_spill_off = X86_ENV_OFF(spill),
		.env_interrupt_off = X86_ENV_OFF(interrupt_request),
		.env_mxcsr_off = X86_ENV_OFF(mxcsr),
		.interrupt_reason = X86_EXIT_INTERRUPT,
		.n_spill = 64,
		.jc_off = offsetof(struct tr_cpu, jump_cache),
		.jc_mask = getenv("MICA_NO_INLINE_JC") ? 0 :
			   TR_JUMP_CACHE_SIZE - 1,
		.desc_pc_off = offsetof(struct tb, pc),
		.desc_valid_off = offsetof(struct tb, valid),
		.desc_code_off = offsetof(struct tb, code_exec),
	};
	n = x86_64_emit_trampolines(tr.code.rw, codebuf_exec_addr(&tr.code, 0),
				    &tr.epilogue);
	tr.bcfg.epilogue = tr.epilogue;
	tr.enter = (uint64_t (*)(struct x86_cpu *, uint64_t))(uintptr_t)
		   codebuf_exec_addr(&tr.code, 0);
	tr.code.reserved = tr.code.used = n;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) < 0 || sigaction(SIGBUS, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* Zero LEN bytes at P (private anonymous memory: heap or .bss); whole
 * pages are dropped rather than written, so that a big jump cache costs
 * page faults only where it is used. */
static void zero_lazily(void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, e = a + len;
	uintptr_t pa = (a + 4095) & ~(uintptr_t)4095, pe = e & ~(uintptr_t)4095;

	if (pe < pa + 16 * 4096 ||
	    madvise((void *)pa, pe - pa, MADV_DONTNEED) < 0) {
		memset(p, 0, len);
		return;
	}
	memset(p, 0, pa - a);
	memset((void *)pe, 0, e - pe);
}

void tr_cpu_init(struct tr_cpu *cpu)
{
	size_t jc = offsetof(struct tr_cpu, jump_cache);
	size_t after = jc + sizeof(cpu->jump_cache);

	memset(cpu, 0, jc);
	zero_lazily(cpu->jump_cache, sizeof(cpu->jump_cache));
	memset((char *)cpu + after, 0, sizeof(*cpu) - after);
	cpu->env.df = 1;
	cpu->env.cc_op = CC_OP(CC_EFLAGS, 3);
	cpu->env.mxcsr = 0x1f80;
	cpu->env.fcw = 0x37f;
	cpu->env.fp_empty = 0xff;
	cpu->env.runtime = cpu;
	pthread_mutex_lock(&tr_lock);
	if (tr.n_cpus < sizeof(tr.cpus) / sizeof(tr.cpus[0]))
		tr.cpus[tr.n_cpus++] = cpu;
	else
		fatalx("too many guest threads for this build");
	pthread_mutex_unlock(&tr_lock);
}

void tr_cpu_exit(struct tr_cpu *cpu)
{
	pthread_mutex_lock(&tr_lock);
	for (unsigned i = 0; i < tr.n_cpus; i++)
		if (tr.cpus[i] == cpu) {
			tr.cpus[i] = tr.cpus[--tr.n_cpus];
			break;
		}
	pthread_mutex_unlock(&tr_lock);
}

/* Before the code buffer is reused, no other thread may be inside it:
 * ask them to leave at their next block entry and wait.  A thread
 * re-entering sees flush_requested and waits (exec_loop); the
 * in_code / flush_requested pair is a Dekker handshake (seq_cst). */
static void flush_stop_others(void)
{
	__atomic_store_n(&tr.flush_requested, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < tr.n_cpus; i++)
		if (tr.cpus[i] != tr_current)
			tr.cpus[i]->env.interrupt_request = 1;
	for (unsigned i = 0; i < tr.n_cpus; i++)
		while (tr.cpus[i] != tr_current &&
		       __atomic_load_n(&tr.cpus[i]->in_code, __ATOMIC_SEQ_CST))
			sched_yield();
}

void tr_flush_all(void)
{
	pthread_mutex_lock(&tr_lock);
	if (tr.n_cpus > 1)
		flush_stop_others();
	tr.n_tbs = 0;
	tr.pcmap_used = 0;
	memset(tr.hash, 0, TB_HASH_SIZE * sizeof(*tr.hash));
	chunks_clear();
	for (unsigned i = 0; i < tr.n_cpus; i++)
		zero_lazily(tr.cpus[i]->jump_cache,
			    sizeof(tr.cpus[i]->jump_cache));
	codebuf_reset(&tr.code);
	__atomic_add_fetch(&tr.generation, 1, __ATOMIC_SEQ_CST);
	tr.stats.cache_flushes++;
	__atomic_store_n(&tr.flush_requested, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&tr_lock);
}

static struct tb *tb_lookup(uint64_t pc)
{
	for (struct tb *tb = tr.hash[hash_pc(pc)]; tb; tb = tb->hash_next)
		if (tb->pc == pc && tb->valid)
			return tb;
	return NULL;
}

static int tb_emit(struct tb *tb, unsigned max_insns)
{
	struct x86_frontend_config fcfg = {
		.fetch = fetch_user, .fetch_opaque = &tr.fetch_short_at,
		.max_insns = max_insns,
	};
	struct tr_backend_config *bcfg = &tr.bcfg;
	size_t off = (tr.code.used + 15) & ~(size_t)15;
	unsigned long long ts = 0, t0 = 0, t1 = 0, t2 = 0;
	int rc;

	if (tr.time_phases)
		ts = now_ns();
	bcfg->exit_token = (uint64_t)(uintptr_t)tb;
	tr.fetch_short_at = 0;
	x86_translate_block(tr.blk, tb->pc, &fcfg);
	if (tr.time_phases)
		t0 = now_ns();
	ir_optimize(tr.blk);
	if (tr.dump_ir)
		ir_dump(tr.blk);
	if (tr.time_phases)
		t1 = now_ns();
	rc = x86_64_emit_block(tr.blk, tr.code.rw + off, tr.code.size - off,
			       codebuf_exec_addr(&tr.code, off), bcfg,
			       &tr.info);
	if (tr.time_phases) {
		t2 = now_ns();
		tr.stats.frontend_ns += t0 - ts;
		tr.stats.optimize_ns += t1 - t0;
		tr.stats.emit_ns += t2 - t1;
	}
	if (rc < 0)
		return rc;
	if (tr.pcmap_used + tr.info.n_pcmap > PCMAP_MAX)
		return -ENOSPC;
	tb->pc_end = tr.blk->guest_end;
	/* The decoder looked at unreadable bytes: the block depends on
	 * them staying unreadable (it may be a SEGV exit). */
	if (tr.fetch_short_at >= tb->pc_end)
		tb->pc_end = tr.fetch_short_at + 1;
	tb->code_off = (uint32_t)off;
	tb->code_exec = codebuf_exec_addr(&tr.code, off);
	tb->code_size = tr.info.size;
	tb->n_exits = tr.info.n_exits;
	for (unsigned k = 0; k < tb->n_exits; k++) {
		tb->exit_off[k] = tr.info.exit_jmp_off[k];
		tb->exit_target[k] = tr.info.exit_target[k];
		tb->exit_dest[k] = NULL;
	}
	tb->jmp_in = 0;
	tb->pcmap_first = tr.pcmap_used;
	tb->pcmap_count = tr.info.n_pcmap;
	for (unsigned i = 0; i < tr.info.n_pcmap; i++) {
		tr.pcmap_host[tr.pcmap_used] = tr.info.pcmap_host[i];
		tr.pcmap_state[tr.pcmap_used] = tr.info.pcmap_state[i];
		tr.pcmap_guest[tr.pcmap_used++] = tr.info.pcmap_guest[i];
	}
	tr.code.used = off + tr.info.size;
	return 0;
}

static struct tb *tb_translate(uint64_t pc, bool smc_step)
{
	struct tb *tb;
	unsigned max = smc_step ? 1 : tr.max_insns;
	unsigned long long t0 = tr.time_phases ? now_ns() : 0;
	int rc;

	for (int attempt = 0;; attempt++) {
		if (tr.n_tbs >= TB_MAX ||
		    tr.code.size - tr.code.used < MIN_FREE_CODE)
			tr_flush_all();
		tb = &tr.tbs[tr.n_tbs];
		memset(tb, 0, sizeof(*tb));
		tb->pc = pc;
		rc = tb_emit(tb, max);
		if (rc == 0)
			break;
		if (attempt == 2)
			fatalx("cannot translate block at %#llx: %s",
			       (unsigned long long)pc, strerror(-rc));
		tr_flush_all();
		max = smc_step ? 1 : 8;
	}
	tr.n_tbs++;
	tr.stats.blocks_translated++;
	tr.stats.guest_bytes += tb->pc_end - tb->pc;
	tr.stats.host_bytes += tb->code_size;
	if (!smc_step) {	/* else run once: never valid, not hashed */
		if (tr.protect_code)
			smc_protect_range(tb->pc, tb->pc_end);
		chunk_mark(tb->pc >> CHUNK_SHIFT);
		chunk_mark((tb->pc_end - 1) >> CHUNK_SHIFT);
		tb->valid = true;
		tb->hash_next = tr.hash[hash_pc(pc)];
		tr.hash[hash_pc(pc)] = tb;
	}
	if (tr.time_phases)
		tr.stats.translate_ns += now_ns() - t0;
	return tb;
}

static void tb_chain(struct tb *from, unsigned k, struct tb *to)
{
	if (tr.no_chain)
		return;
	if (from->exit_dest[k] || from->exit_target[k] != to->pc ||
	    !from->valid || !to->valid)
		return;
	if (tr.code.rw[from->code_off + from->exit_off[k]] != 0xe9 ||
	    (to->code_off & 15) != 0)
		fatalx("chaining a non-jump: tb %#llx exit %u off %#x target %#x",
		       (unsigned long long)from->pc, k, from->exit_off[k],
		       to->code_off);
	x86_64_patch_jump(tr.code.rw + from->code_off + from->exit_off[k],
			  codebuf_exec_addr(&tr.code, from->code_off +
					    from->exit_off[k]),
			  codebuf_exec_addr(&tr.code, to->code_off));
	from->exit_dest[k] = to;
	from->exit_next[k] = to->jmp_in;
	to->jmp_in = (uintptr_t)from | k;
	tr.stats.chain_links++;
}

static void tb_unchain_exit(struct tb *from, unsigned k)
{
	x86_64_patch_jump(tr.code.rw + from->code_off + from->exit_off[k],
			  codebuf_exec_addr(&tr.code, from->code_off +
					    from->exit_off[k]), 0);
	from->exit_dest[k] = NULL;
}

/* Remove (from, k) from the incoming list of its destination. */
static void tb_unlink_outgoing(struct tb *from, unsigned k)
{
	struct tb *to = from->exit_dest[k];
	uintptr_t *p, me = (uintptr_t)from | k;

	if (!to)
		return;
	for (p = &to->jmp_in; *p;) {
		struct tb *t = (struct tb *)(*p & ~(uintptr_t)3);
		unsigned idx = *p & 3;

		if (*p == me) {
			*p = from->exit_next[k];
			break;
		}
		p = &t->exit_next[idx];
	}
	from->exit_dest[k] = NULL;
}

static void tb_invalidate(struct tb *tb)
{
	uintptr_t l = tb->jmp_in;

	tb->valid = false;
	while (l) {
		struct tb *from = (struct tb *)(l & ~(uintptr_t)3);
		unsigned k = l & 3;

		l = from->exit_next[k];
		tb_unchain_exit(from, k);
	}
	tb->jmp_in = 0;
	for (unsigned k = 0; k < tb->n_exits; k++)
		tb_unlink_outgoing(tb, k);
	for (unsigned i = 0; i < tr.n_cpus; i++) {
		struct tb **slot = &tr.cpus[i]->jump_cache[jc_index(tb->pc)];

		if (*slot == tb)
			*slot = NULL;
	}
	tr.stats.invalidations++;
}

static void invalidate_locked(uint64_t start, uint64_t end)
{
	if (!range_may_have_code(start, end))
		return;
	for (unsigned i = 0; i < tr.n_tbs; i++) {
		struct tb *tb = &tr.tbs[i];

		if (tb->valid && tb->pc < end && tb->pc_end > start)
			tb_invalidate(tb);
	}
}

void tr_invalidate_range(uint64_t start, uint64_t len)
{
	pthread_mutex_lock(&tr_lock);
	invalidate_locked(start, start + len);
	if (tr.protect_code)
		smc_forget_range(start, start + len);
	pthread_mutex_unlock(&tr_lock);
}

/* A write hit a page we protected: its blocks go, the page becomes
 * writable again.  Returns false if the page was not ours. */
static bool smc_write_fault(uint64_t addr)
{
	uint64_t page = addr & ~4095ull;
	bool ours;

	pthread_mutex_lock(&tr_lock);
	ours = tr.protect_code && smc_unprotect_page(addr);
	if (ours) {
		/* A block may extend into this page from the previous one. */
		invalidate_locked(page >= 4096 ? page - 4096 + 1 : 0,
				  page + 4096);
		tr.stats.smc_faults++;
	}
	pthread_mutex_unlock(&tr_lock);
	return ours;
}

void tr_guest_write_range(uint64_t start, uint64_t len)
{
	if (!tr.protect_code || len == 0)
		return;
	pthread_mutex_lock(&tr_lock);
	if (smc_range_protected(start, start + len))
		for (uint64_t p = start & ~4095ull; p < start + len; p += 4096)
			smc_write_fault(p);
	pthread_mutex_unlock(&tr_lock);
}

/* The block for PC, translated if need be; also chains exit LAST_EXIT
 * of LAST (the block that just ran, if any) to it, under the same lock
 * when translation takes it anyway.  GEN is the generation seen before
 * LAST ran: after a flush LAST is gone. */
static struct tb *tb_find(struct tr_cpu *cpu, uint64_t pc, struct tb *last,
			  unsigned last_exit, unsigned long gen)
{
	unsigned j = jc_index(pc);
	struct tb *tb = cpu->jump_cache[j];

	if (tb && tb->pc == pc && tb->valid && !cpu->smc_step) {
		tr.stats.jump_cache_hits++;
		if (last && !last->exit_dest[last_exit]) {
			pthread_mutex_lock(&tr_lock);
			if (gen == tr.generation)
				tb_chain(last, last_exit, tb);
			pthread_mutex_unlock(&tr_lock);
		}
		return tb;
	}
	pthread_mutex_lock(&tr_lock);
	if (cpu->smc_step) {
		cpu->smc_step = false;
		tb = tb_translate(pc, true);
		pthread_mutex_unlock(&tr_lock);
		return tb;
	}
	tb = tb_lookup(pc);
	if (tb)
		tr.stats.hash_hits++;
	else
		tb = tb_translate(pc, false);
	cpu->jump_cache[j] = tb;
	if (last && gen == tr.generation && !last->exit_dest[last_exit])
		tb_chain(last, last_exit, tb);
	pthread_mutex_unlock(&tr_lock);
	return tb;
}

static __attribute__((noinline)) int exec_loop(struct tr_cpu *cpu)
{
	struct x86_cpu *env = &cpu->env;
	struct tb *last = NULL, *tb;
	unsigned last_exit = 0;
	unsigned long gen, last_gen = 0;
	uint64_t ret;
	int reason;

	for (;;) {
		gen = tr.generation;
		if (gen != last_gen)
			last = NULL;	/* flushed since LAST ran: gone */
		tb = tb_find(cpu, env->rip, last, last_exit, gen);
		tr.stats.dispatches++;
		__atomic_store_n(&cpu->in_code, 1, __ATOMIC_SEQ_CST);
		/* A flush between the lookup and here (by anyone, including
		 * this thread's own translation) makes TB stale. */
		if (__atomic_load_n(&tr.flush_requested, __ATOMIC_SEQ_CST) ||
		    __atomic_load_n(&tr.generation, __ATOMIC_SEQ_CST) != gen) {
			__atomic_store_n(&cpu->in_code, 0, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&tr.flush_requested,
					       __ATOMIC_SEQ_CST))
				sched_yield();
			last = NULL;
			continue;	/* TB may be gone: look it up again */
		}
		last_gen = gen;
		ret = tr.enter(env, codebuf_exec_addr(&tr.code, tb->code_off));
		__atomic_store_n(&cpu->in_code, 0, __ATOMIC_RELEASE);
		if (env->exception != X86_EXIT_NONE) {
			cpu->in_exec = false;
			reason = (int)env->exception;
			/* Leaving normally with SEGV because the code at rip
			 * could not be fetched: the fault is at its first
			 * unreadable byte, as for a native fetch. */
			if (reason == X86_EXIT_SEGV) {
				uint8_t probe[X86_MAX_INSN_LEN];
				struct x86_insn insn;
				size_t n = fetch_user(NULL, env->rip, probe,
						      sizeof(probe));

				if (x86_decode(&insn, probe, n, env->rip) ==
				    -EFAULT)
					env->exception_addr = env->rip + n;
			}
			env->exception = X86_EXIT_NONE;
			return reason;
		}
		if (!ret)
			tr.stats.indirect_exits++;
		last = ret ? (struct tb *)(uintptr_t)(ret & ~3ull) : NULL;
		last_exit = ret & 3;
	}
}

int tr_cpu_exec(struct tr_cpu *cpu)
{
	int reason;

	tr_current = cpu;
	for (;;) {
		if (sigsetjmp(cpu->fault_jmp, 1)) {
			__atomic_store_n(&cpu->in_code, 0, __ATOMIC_SEQ_CST);
			cpu->in_exec = false;
			x86_helper_in_guest_memory = 0;
			reason = (int)cpu->env.exception;
			cpu->env.exception = X86_EXIT_NONE;
			if (reason == X86_EXIT_RESTART)
				continue;
			return reason;
		}
		cpu->in_exec = true;
		return exec_loop(cpu);
	}
}

/* Host PC inside generated code -> guest PC of the faulting access; the
 * guest state still in host registers (UC) goes to ENV. */
static bool host_pc_to_guest(uint64_t host_pc, const ucontext_t *uc,
			     struct x86_cpu *env, uint64_t *guest_pc)
{
	uint64_t base = codebuf_exec_addr(&tr.code, 0);
	uint32_t off = (uint32_t)(host_pc - base);
	unsigned lo = 0, hi = tr.n_tbs;

	/* TBs are laid out in allocation order: binary search. */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (tr.tbs[mid].code_off + tr.tbs[mid].code_size <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= tr.n_tbs || tr.tbs[lo].code_off > off)
		return false;
	for (uint32_t i = 0; i < tr.tbs[lo].pcmap_count; i++) {
		uint32_t k = tr.tbs[lo].pcmap_first + i;

		if (tr.tbs[lo].code_off + tr.pcmap_host[k] == off) {
			*guest_pc = tr.pcmap_guest[k];
			x86_64_restore_state(&tr.pcmap_state[k], uc,
					     (uint64_t *)(void *)env);
			return true;
		}
	}
	return false;
}

static void fault_handler(int sig, siginfo_t *si, void *uc_void)
{
	ucontext_t *uc = uc_void;
	struct tr_cpu *cpu = tr_current;
	uint64_t pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP], guest_pc;

	if (fetch_recover && si->si_code > 0)	/* reading guest code */
		siglongjmp(*fetch_recover, 1);
	if (sig == SIGSEGV && si->si_code == SEGV_ACCERR &&
	    smc_write_fault((uint64_t)(uintptr_t)si->si_addr)) {
		/* Self-modifying code.  In the emulator's own code: retry
		 * the write.  In a block or helper: the guest state is
		 * precise at the writing instruction, so restart there with
		 * fresh translations. */
		if (!cpu || !cpu->in_exec)
			return;
		if (codebuf_contains(&tr.code, pc)) {
			if (!host_pc_to_guest(pc, uc, &cpu->env, &guest_pc))
				goto host_bug;
			cpu->env.rip = guest_pc;
		} else if (!x86_helper_in_guest_memory) {
			return;
		}
		cpu->env.exception = X86_EXIT_RESTART;
		cpu->smc_step = true;
		siglongjmp(cpu->fault_jmp, 1);
	}
	if (cpu && cpu->in_exec) {
		if (codebuf_contains(&tr.code, pc) &&
		    host_pc_to_guest(pc, uc, &cpu->env, &guest_pc)) {
			cpu->env.rip = guest_pc;
		} else if (!x86_helper_in_guest_memory) {
			goto host_bug;
		}
		cpu->env.exception = X86_EXIT_SEGV;
		cpu->env.exception_addr = (uint64_t)(uintptr_t)si->si_addr;
		siglongjmp(cpu->fault_jmp, 1);
	}
host_bug:
	/* A fault in the emulator itself: say where, die with the signal. */
	{
		char msg[200];
		int n = snprintf(msg, sizeof(msg),
				 "mica: internal fault: signal %d at host pc "
				 "%#llx, address %#llx (code cache %s, guest "
				 "rip %#llx)\n", sig,
				 (unsigned long long)pc,
				 (unsigned long long)(uintptr_t)si->si_addr,
				 codebuf_contains(&tr.code, pc) ? "yes" : "no",
				 cpu ? (unsigned long long)cpu->env.rip : 0ull);

		if (n > 0)
			(void)!write(2, msg, (size_t)n);
		if (codebuf_contains(&tr.code, pc)) {
			uint32_t off = (uint32_t)(pc - codebuf_exec_addr(&tr.code, 0));

			for (unsigned i = 0; i < tr.n_tbs; i++) {
				struct tb *t = &tr.tbs[i];

				if (off < t->code_off || off >= t->code_off + t->code_size)
					continue;
				n = snprintf(msg, sizeof(msg),
					     "  in block for guest %#llx (host offset %#x "
					     "+ %#x)\n", (unsigned long long)t->pc,
					     t->code_off, off - t->code_off);
				if (n > 0)
					(void)!write(2, msg, (size_t)n);
			}
		}
	}
	signal(sig, SIG_DFL);
}

static int fork_snapshot_fd = -1;

void tr_fork_prepare(void)
{
	/* The child's copy of the code must be taken while nothing can
	 * translate or chain, and before the parent runs on. */
	pthread_mutex_lock(&tr_lock);
	fork_snapshot_fd = codebuf_snapshot(&tr.code);
	if (fork_snapshot_fd < 0) {
		errno = -fork_snapshot_fd;
		fatal("cannot copy the code cache for a forked child");
	}
}

void tr_fork_parent(void)
{
	close(fork_snapshot_fd);
	fork_snapshot_fd = -1;
	pthread_mutex_unlock(&tr_lock);
}

void tr_after_fork_child(void)
{
	static const pthread_mutex_t fresh =
		PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
	int rc = codebuf_adopt(&tr.code, fork_snapshot_fd);

	fork_snapshot_fd = -1;
	if (rc < 0) {
		errno = -rc;
		fatal("cannot give the forked child its own code cache");
	}
	/* The lock was taken by the parent's thread: start afresh. */
	memcpy(&tr_lock, &fresh, sizeof(tr_lock));
	for (unsigned i = 0; i < tr.n_cpus; i++)
		if (tr.cpus[i] == tr_current) {
			tr.cpus[0] = tr_current;
			tr.n_cpus = 1;
			break;
		}
}

struct tr_cpu *tr_current_cpu(void)
{
	return tr_current;
}

const struct tr_stats *tr_get_stats(void)
{
	return &tr.stats;
}

void tr_print_stats(void)
{
	const char *dump = getenv("MICA_DUMP_CODE");

	if (dump) {	/* the code buffer, for offline disassembly */
		int fd = open(dump, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);

		if (fd >= 0) {
			(void)!write(fd, tr.code.rw, tr.code.used);
			close(fd);
		}
	}
	fprintf(stderr,
		"mica-x86_64 stats: blocks translated %lu, chain links %lu, "
		"dispatches %lu, jump-cache hits %lu, cache flushes %lu, "
		"invalidations %lu, self-modifying-code faults %lu\n",
		tr.stats.blocks_translated, tr.stats.chain_links,
		tr.stats.dispatches, tr.stats.jump_cache_hits,
		tr.stats.cache_flushes, tr.stats.invalidations,
		tr.stats.smc_faults);
	fprintf(stderr,
		"mica-x86_64 stats: indirect exits %lu, hash hits %lu\n",
		tr.stats.indirect_exits, tr.stats.hash_hits);
	/* One line of key=value for tests/bench/translator.sh. */
	fprintf(stderr,
		"mica-x86_64 translation: blocks=%lu guest_bytes=%lu "
		"host_bytes=%lu translate_ms=%.1f frontend_ms=%.1f "
		"optimize_ms=%.1f emit_ms=%.1f us_per_block=%.2f\n",
		tr.stats.blocks_translated, tr.stats.guest_bytes,
		tr.stats.host_bytes, tr.stats.translate_ns / 1e6,
		tr.stats.frontend_ns / 1e6, tr.stats.optimize_ns / 1e6,
		tr.stats.emit_ns / 1e6,
		tr.stats.blocks_translated ?
		tr.stats.translate_ns / 1e3 / (double)tr.stats.blocks_translated :
		0.0);
	x86_frontend_print_missing();
}
