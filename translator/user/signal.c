/* Guest signals: dispositions, delivery on the guest stack with a
 * kernel-compatible rt_sigframe, rt_sigreturn, sigaltstack.
 *
 * Asynchronous signals for which the guest installed a handler get a
 * host handler that only marks them pending and raises the CPU's
 * interrupt request; translated blocks check it on entry, so delivery
 * happens between blocks with exact guest state.  Faults raised by guest
 * instructions (SIGSEGV, SIGILL, SIGFPE, SIGTRAP) are delivered from the
 * exit that reported them.  The host signal mask mirrors the guest's,
 * except that SIGSEGV/SIGBUS are never blocked (the translator needs
 * them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "log.h"
#include "translator/user/user.h"

#define GUEST_SA_RESTORER 0x04000000ull

struct guest_sigaction {
	uint64_t handler, flags, restorer, mask;
};

static struct guest_sigaction guest_sigact[65];
static __thread stack_t guest_altstack = { .ss_flags = SS_DISABLE };

/* Kernel rt_sigframe layout: return address, then ucontext, siginfo. */
struct guest_frame {
	uint64_t restorer;
	ucontext_t uc;
	siginfo_t info;
	struct _libc_fpstate fp __attribute__((aligned(16)));
};

static uint64_t unblockable(void)
{
	return (1ull << (SIGSEGV - 1)) | (1ull << (SIGBUS - 1));
}

static void host_handler(int sig, siginfo_t *si, void *uc)
{
	struct tr_cpu *cpu = user_current_cpu();

	(void)si;
	(void)uc;
	if (!cpu)
		return;
	__atomic_or_fetch(&cpu->pending_signals, 1ull << (sig - 1),
			  __ATOMIC_SEQ_CST);
	cpu->env.interrupt_request = 1;
}

int64_t user_rt_sigaction(uint64_t sig, const uint64_t *act, uint64_t *oldact)
{
	struct sigaction sa;

	if (sig < 1 || sig > 64 || ((sig == SIGKILL || sig == SIGSTOP) && act))
		return -EINVAL;
	if (oldact) {
		oldact[0] = guest_sigact[sig].handler;
		oldact[1] = guest_sigact[sig].flags;
		oldact[2] = guest_sigact[sig].restorer;
		oldact[3] = guest_sigact[sig].mask;
	}
	if (!act)
		return 0;
	guest_sigact[sig].handler = act[0];
	guest_sigact[sig].flags = act[1];
	guest_sigact[sig].restorer = act[2];
	guest_sigact[sig].mask = act[3];
	/* The translator keeps its own SIGSEGV/SIGBUS handler; guest
	 * handlers for them are called from the fault exits. */
	if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
	    sig == SIGFPE || sig == SIGTRAP) {
		if (sig != SIGSEGV && sig != SIGBUS)
			signal((int)sig, act[0] == (uint64_t)(uintptr_t)SIG_IGN ?
			       SIG_IGN : SIG_DFL);
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sigfillset(&sa.sa_mask);
	if (act[0] == (uint64_t)(uintptr_t)SIG_IGN) {
		sa.sa_handler = SIG_IGN;
	} else if (act[0] == (uint64_t)(uintptr_t)SIG_DFL) {
		sa.sa_handler = SIG_DFL;
	} else {
		sa.sa_sigaction = host_handler;
		sa.sa_flags = SA_SIGINFO | (act[1] & SA_RESTART);
	}
	if (sigaction((int)sig, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int64_t user_sigaltstack(const stack_t *ss, stack_t *old)
{
	if (old)
		*old = guest_altstack;
	if (ss) {
		if (ss->ss_flags & SS_DISABLE) {
			guest_altstack.ss_flags = SS_DISABLE;
		} else {
			if (ss->ss_size < 2048)
				return -ENOMEM;
			guest_altstack = *ss;
			guest_altstack.ss_flags = 0;
		}
	}
	return 0;
}

static void save_fpstate(const struct x86_cpu *env, struct _libc_fpstate *fp)
{
	memset(fp, 0, sizeof(*fp));
	fp->cwd = (uint16_t)env->fcw;
	fp->swd = (uint16_t)(env->fsw | env->fp_top << 11);
	fp->ftw = (uint16_t)(uint8_t)~env->fp_empty;
	fp->mxcsr = (uint32_t)env->mxcsr;
	fp->mxcr_mask = 0xffbf;
	for (unsigned i = 0; i < 8; i++)
		memcpy(&fp->_st[i], &env->fpr[(env->fp_top + i) & 7], 10);
	memcpy(fp->_xmm, env->xmm, sizeof(fp->_xmm));
}

static void load_fpstate(struct x86_cpu *env, const struct _libc_fpstate *fp)
{
	env->fcw = fp->cwd;
	env->fp_top = (fp->swd >> 11) & 7;
	env->fsw = fp->swd & ~(7u << 11);
	env->fp_empty = (uint8_t)~fp->ftw;
	env->mxcsr = fp->mxcsr;
	for (unsigned i = 0; i < 8; i++) {
		long double v = 0;

		memcpy(&v, &fp->_st[i], 10);
		env->fpr[(env->fp_top + i) & 7] = v;
	}
	memcpy(env->xmm, fp->_xmm, sizeof(fp->_xmm));
}

static const int greg_of[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

/* Build the frame and point the CPU at the handler.  Returns false if
 * the signal's action is the default (caller applies it). */
bool user_deliver_signal(struct tr_cpu *cpu, int sig, const siginfo_t *info)
{
	struct guest_sigaction *ga = &guest_sigact[sig];
	struct x86_cpu *env = &cpu->env;
	struct guest_frame *fr;
	uint64_t sp = env->regs[4], newmask;
	sigset_t old, set;

	if (ga->handler == (uint64_t)(uintptr_t)SIG_DFL)
		return false;
	if (ga->handler == (uint64_t)(uintptr_t)SIG_IGN)
		return true;
	if ((ga->flags & SA_ONSTACK) &&
	    !(guest_altstack.ss_flags & SS_DISABLE) &&
	    !(sp > (uint64_t)(uintptr_t)guest_altstack.ss_sp &&
	      sp <= (uint64_t)(uintptr_t)guest_altstack.ss_sp +
		    guest_altstack.ss_size))
		sp = (uint64_t)(uintptr_t)guest_altstack.ss_sp +
		     guest_altstack.ss_size;
	else
		sp -= 128;	/* red zone */
	sp -= sizeof(*fr);
	sp &= ~15ull;
	sp -= 8;		/* handler entry: rsp + 8 is 16-aligned */
	fr = (struct guest_frame *)(uintptr_t)sp;

	memset(fr, 0, offsetof(struct guest_frame, fp));
	fr->restorer = ga->restorer;
	fr->info = *info;
	for (int i = 0; i < 16; i++)
		fr->uc.uc_mcontext.gregs[greg_of[i]] = (greg_t)env->regs[i];
	fr->uc.uc_mcontext.gregs[REG_RIP] = (greg_t)env->rip;
	fr->uc.uc_mcontext.gregs[REG_EFL] = (greg_t)x86_cpu_get_rflags(env);
	fr->uc.uc_mcontext.gregs[REG_CSGSFS] = 0x33;
	fr->uc.uc_mcontext.gregs[REG_ERR] = 0;
	fr->uc.uc_mcontext.gregs[REG_TRAPNO] = 0;
	fr->uc.uc_mcontext.gregs[REG_CR2] =
		(greg_t)(uintptr_t)info->si_addr;
	save_fpstate(env, &fr->fp);
	fr->uc.uc_mcontext.fpregs = &fr->fp;
	fr->uc.uc_stack.ss_sp = guest_altstack.ss_sp;
	fr->uc.uc_stack.ss_size = guest_altstack.ss_size;
	fr->uc.uc_stack.ss_flags = guest_altstack.ss_flags;

	/* Block sa_mask and (unless SA_NODEFER) the signal itself. */
	sigprocmask(SIG_BLOCK, NULL, &old);
	memcpy(&fr->uc.uc_sigmask, &old, 8);
	memcpy(&newmask, &old, 8);
	newmask |= ga->mask;
	if (!(ga->flags & SA_NODEFER))
		newmask |= 1ull << (sig - 1);
	newmask &= ~unblockable();
	sigemptyset(&set);
	memcpy(&set, &newmask, 8);
	sigprocmask(SIG_SETMASK, &set, NULL);

	if (ga->flags & SA_RESETHAND)
		ga->handler = (uint64_t)(uintptr_t)SIG_DFL;
	env->regs[4] = sp;
	env->regs[7] = (uint64_t)sig;
	env->regs[6] = (uint64_t)(uintptr_t)&fr->info;
	env->regs[2] = (uint64_t)(uintptr_t)&fr->uc;
	env->regs[0] = 0;
	env->rip = ga->handler;
	env->df = 1;
	return true;
}

/* rt_sigreturn: the frame's ucontext is at rsp - 8 + 8 (the handler's
 * ret popped the restorer address). */
void user_rt_sigreturn(struct tr_cpu *cpu)
{
	struct x86_cpu *env = &cpu->env;
	struct guest_frame *fr =
		(struct guest_frame *)(uintptr_t)(env->regs[4] - 8);
	uint64_t mask;
	sigset_t set;

	for (int i = 0; i < 16; i++)
		env->regs[i] = (uint64_t)fr->uc.uc_mcontext.gregs[greg_of[i]];
	env->rip = (uint64_t)fr->uc.uc_mcontext.gregs[REG_RIP];
	x86_cpu_set_rflags(env, (uint64_t)fr->uc.uc_mcontext.gregs[REG_EFL]);
	if (fr->uc.uc_mcontext.fpregs)
		load_fpstate(env, fr->uc.uc_mcontext.fpregs);
	memcpy(&mask, &fr->uc.uc_sigmask, 8);
	mask &= ~unblockable();
	sigemptyset(&set);
	memcpy(&set, &mask, 8);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

/* Deliver every pending asynchronous signal that is not blocked. */
void user_deliver_pending(struct tr_cpu *cpu)
{
	uint64_t pending = __atomic_exchange_n(&cpu->pending_signals, 0,
					       __ATOMIC_SEQ_CST);

	for (int sig = 1; sig <= 64; sig++) {
		siginfo_t info;

		if (!(pending & (1ull << (sig - 1))))
			continue;
		memset(&info, 0, sizeof(info));
		info.si_signo = sig;
		info.si_code = SI_USER;
		if (!user_deliver_signal(cpu, sig, &info)) {
			signal(sig, SIG_DFL);
			raise(sig);
		}
	}
}
