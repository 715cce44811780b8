/* Differential oracle harness.  See oracle.h. */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "tests/translator/oracle.h"
#include "translator/translator.h"

struct native_result {
	struct oracle_state st;
	uint8_t data[ORACLE_DATA_SIZE];
};

_Static_assert(offsetof(struct oracle_state, xmm) == 144, "oracle_enter");
_Static_assert(offsetof(struct oracle_state, mxcsr) == 404, "oracle_enter");

static struct native_result *shared;	/* MAP_SHARED with the child */
static int last_native_signal, last_translated_signal;
bool oracle_quiet;
static uint8_t *code_page, *data_page;
static struct tr_cpu cpu;

/* Child side: load every register from *rdi and jump to the code.  The
 * x87/MMX state starts as after FNINIT with all registers zero (the
 * translated side starts the same way). */
uint64_t oracle_target;
uint8_t oracle_fx_init[512] __attribute__((aligned(16)));
void oracle_enter(const struct oracle_state *st);
__asm__(".text\n"
	".globl oracle_enter\n"
	"oracle_enter:\n"
	"  fxrstor oracle_fx_init(%rip)\n"
	"  ldmxcsr 404(%rdi)\n"
	"  movdqu 144(%rdi), %xmm0\n"
	"  movdqu 160(%rdi), %xmm1\n"
	"  movdqu 176(%rdi), %xmm2\n"
	"  movdqu 192(%rdi), %xmm3\n"
	"  movdqu 208(%rdi), %xmm4\n"
	"  movdqu 224(%rdi), %xmm5\n"
	"  movdqu 240(%rdi), %xmm6\n"
	"  movdqu 256(%rdi), %xmm7\n"
	"  movdqu 272(%rdi), %xmm8\n"
	"  movdqu 288(%rdi), %xmm9\n"
	"  movdqu 304(%rdi), %xmm10\n"
	"  movdqu 320(%rdi), %xmm11\n"
	"  movdqu 336(%rdi), %xmm12\n"
	"  movdqu 352(%rdi), %xmm13\n"
	"  movdqu 368(%rdi), %xmm14\n"
	"  movdqu 384(%rdi), %xmm15\n"
	"  mov 136(%rdi), %rax\n"
	"  push %rax\n"
	"  popfq\n"
	"  mov 0(%rdi), %rax\n"
	"  mov 8(%rdi), %rcx\n"
	"  mov 16(%rdi), %rdx\n"
	"  mov 24(%rdi), %rbx\n"
	"  mov 32(%rdi), %rsp\n"
	"  mov 40(%rdi), %rbp\n"
	"  mov 48(%rdi), %rsi\n"
	"  mov 64(%rdi), %r8\n"
	"  mov 72(%rdi), %r9\n"
	"  mov 80(%rdi), %r10\n"
	"  mov 88(%rdi), %r11\n"
	"  mov 96(%rdi), %r12\n"
	"  mov 104(%rdi), %r13\n"
	"  mov 112(%rdi), %r14\n"
	"  mov 120(%rdi), %r15\n"
	"  mov 56(%rdi), %rdi\n"
	"  jmp *oracle_target(%rip)\n");

static void child_handler(int sig, siginfo_t *si, void *uc_void)
{
	static const int map[16] = {
		REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI,
		REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13,
		REG_R14, REG_R15,
	};
	ucontext_t *uc = uc_void;

	for (int i = 0; i < 16; i++)
		shared->st.r[i] = (uint64_t)uc->uc_mcontext.gregs[map[i]];
	shared->st.rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	shared->st.rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
	shared->st.signal = sig == SIGTRAP ? 0 : sig;
	memcpy(shared->st.xmm, uc->uc_mcontext.fpregs->_xmm,
	       sizeof(shared->st.xmm));
	shared->st.mxcsr = uc->uc_mcontext.fpregs->mxcsr;
	memcpy(shared->data, data_page, ORACLE_DATA_SIZE);
	_exit(0);
}

static void fill_data(uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < ORACLE_DATA_SIZE; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(data_page + i, &x, 8);
	}
}

bool oracle_init(void)
{
	code_page = mmap((void *)ORACLE_CODE_ADDR, 4096,
			 PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
			 0);
	data_page = mmap((void *)ORACLE_DATA_ADDR, ORACLE_DATA_SIZE,
			 PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
			 0);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (code_page == MAP_FAILED || data_page == MAP_FAILED ||
	    shared == MAP_FAILED)
		return false;
	if (tr_init(NULL) < 0)
		return false;
	tr_cpu_init(&cpu);
	oracle_target = ORACLE_CODE_ADDR;
	oracle_fx_init[0] = 0x7f;		/* FCW 0x37f */
	oracle_fx_init[1] = 0x03;
	oracle_fx_init[24] = 0x80;		/* MXCSR 0x1f80 */
	oracle_fx_init[25] = 0x1f;
	return true;
}

static bool run_native(const struct oracle_state *in, uint64_t seed)
{
	pid_t pid;
	int status;

	memset(&shared->st, 0, sizeof(shared->st));
	shared->st.signal = -1;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		static uint8_t altstack[65536];
		stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
		struct sigaction sa;

		sigaltstack(&ss, NULL);
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = child_handler;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigaction(SIGTRAP, &sa, NULL);
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		sigaction(SIGILL, &sa, NULL);
		sigaction(SIGFPE, &sa, NULL);
		fill_data(seed);
		oracle_enter(in);
		_exit(1);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return false;
	return shared->st.signal >= 0;
}

static int exit_to_signal(int reason)
{
	switch (reason) {
	case X86_EXIT_TRAP: return 0;
	case X86_EXIT_SEGV: case X86_EXIT_HLT: return SIGSEGV;
	case X86_EXIT_DIVIDE: return SIGFPE;
	case X86_EXIT_ILLEGAL: return SIGILL;
	default: return -1;
	}
}

static void run_translated(const struct oracle_state *in, uint64_t seed,
			   struct oracle_state *out)
{
	int reason;

	fill_data(seed);
	tr_flush_all();
	memcpy(cpu.env.regs, in->r, sizeof(in->r));
	memcpy(cpu.env.xmm, in->xmm, sizeof(in->xmm));
	cpu.env.mxcsr = in->mxcsr;
	memset(cpu.env.fpr, 0, sizeof(cpu.env.fpr));
	cpu.env.fp_top = 0;
	cpu.env.fp_empty = 0xff;
	cpu.env.fcw = 0x37f;
	cpu.env.fsw = 0;
	cpu.env.rip = ORACLE_CODE_ADDR;
	x86_cpu_set_rflags(&cpu.env, in->rflags);
	reason = tr_cpu_exec(&cpu);
	memcpy(out->r, cpu.env.regs, sizeof(out->r));
	memcpy(out->xmm, cpu.env.xmm, sizeof(out->xmm));
	out->rip = cpu.env.rip;
	out->rflags = x86_cpu_get_rflags(&cpu.env);
	out->mxcsr = (uint32_t)cpu.env.mxcsr;
	out->signal = exit_to_signal(reason);
}

int oracle_run_translated(const uint8_t *code, size_t len,
			  const struct oracle_state *in,
			  struct oracle_state *out)
{
	memset(code_page, 0xcc, 4096);
	memcpy(code_page, code, len);
	run_translated(in, 0, out);
	return out->signal;
}

static void report(const char *label, const uint8_t *code, size_t len,
		   const struct oracle_state *in, const struct oracle_state *n,
		   const struct oracle_state *t, uint64_t fmask)
{
	printf("oracle mismatch: %s\n  code:", label);
	for (size_t i = 0; i < len; i++)
		printf(" %02x", code[i]);
	printf("\n  signal native %d translated %d, rip %#llx / %#llx\n",
	       n->signal, t->signal, (unsigned long long)n->rip,
	       (unsigned long long)t->rip);
	printf("  flags in %#llx native %#llx translated %#llx (mask %#llx)\n",
	       (unsigned long long)in->rflags, (unsigned long long)n->rflags,
	       (unsigned long long)t->rflags, (unsigned long long)fmask);
	for (int i = 0; i < 16 && getenv("MICA_ORACLE_VERBOSE"); i++)
		printf("  xmm%d in %016llx%016llx\n", i,
		       (unsigned long long)in->xmm[i][1],
		       (unsigned long long)in->xmm[i][0]);
	for (int i = 0; i < 16; i++)
		if (n->r[i] != t->r[i])
			printf("  r%d in %#llx native %#llx translated %#llx\n",
			       i, (unsigned long long)in->r[i],
			       (unsigned long long)n->r[i],
			       (unsigned long long)t->r[i]);
}

bool oracle_compare(const char *label, const uint8_t *code, size_t len,
		    const struct oracle_state *in, uint64_t undef_flags,
		    uint64_t data_seed)
{
	struct oracle_state t;
	uint64_t fmask = 0x8d5 & ~undef_flags;
	bool ok = true;

	memset(code_page, 0xcc, 4096);
	memcpy(code_page, code, len);
	if (!run_native(in, data_seed)) {
		printf("oracle: native run of %s failed to report\n", label);
		return false;
	}
	run_translated(in, data_seed, &t);
	if (t.signal != shared->st.signal || t.rip != shared->st.rip)
		ok = false;
	if (t.signal == 0 && ((t.rflags ^ shared->st.rflags) & fmask))
		ok = false;
	/* After a fault the flags may be mid-update natively; registers and
	 * memory must still match. */
	for (int i = 0; i < 16; i++)
		if (t.r[i] != shared->st.r[i])
			ok = false;
	for (int i = 0; i < 16; i++)
		if (memcmp(t.xmm[i], shared->st.xmm[i], 16) != 0) {
			if (!oracle_quiet)
				printf("  xmm%d in %016llx%016llx native %016llx%016llx "
			       "translated %016llx%016llx\n", i,
			       (unsigned long long)in->xmm[i][1],
			       (unsigned long long)in->xmm[i][0],
			       (unsigned long long)shared->st.xmm[i][1],
			       (unsigned long long)shared->st.xmm[i][0],
			       (unsigned long long)t.xmm[i][1],
			       (unsigned long long)t.xmm[i][0]);
			ok = false;
		}
	if (t.mxcsr != shared->st.mxcsr) {
		if (!oracle_quiet)
			printf("  mxcsr in %#x native %#x translated %#x\n", in->mxcsr,
		       shared->st.mxcsr, t.mxcsr);
		ok = false;
	}
	if (memcmp(shared->data, data_page, ORACLE_DATA_SIZE) != 0) {
		unsigned shown = 0;

		if (!oracle_quiet)
			printf("oracle: memory differs\n");
		for (size_t i = 0; i < ORACLE_DATA_SIZE && shown < 6 &&
		     !oracle_quiet; i += 8) {
			uint64_t a, b;

			memcpy(&a, shared->data + i, 8);
			memcpy(&b, data_page + i, 8);
			if (a != b && ++shown)
				printf("  [%#llx] native %016llx translated "
				       "%016llx\n", (unsigned long long)
				       (ORACLE_DATA_ADDR + i),
				       (unsigned long long)a,
				       (unsigned long long)b);
		}
		ok = false;
	}
	last_native_signal = shared->st.signal;
	last_translated_signal = t.signal;
	if (!ok && !oracle_quiet)
		report(label, code, len, in, &shared->st, &t, fmask);
	return ok;
}

void oracle_last_signals(int *native, int *translated)
{
	*native = last_native_signal;
	*translated = last_translated_signal;
}
