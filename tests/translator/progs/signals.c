/* Signals: handlers for SIGSEGV (fault recovery with siglongjmp),
 * SIGFPE, SIGALRM interrupting a busy loop, SIGUSR1 via kill, sigaltstack,
 * and sigreturn restoring state. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile sig_atomic_t alarms, usr1;
static volatile int zero;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	printf("caught %d at %p\n", sig, si->si_addr);
	siglongjmp(jb, 1);
}

static void on_fpe(int sig)
{
	(void)sig;
	siglongjmp(jb, 2);
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	char probe;

	(void)sig;
	(void)si;
	(void)uc;
	usr1 = ((unsigned long)&probe & 1) + 1;	/* ran, on some stack */
}

int main(void)
{
	struct sigaction sa;
	stack_t ss;
	volatile unsigned long spin = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(jb, 1) == 0)
		*(volatile int *)16 = 1;
	printf("after segv\n");

	signal(SIGFPE, on_fpe);
	if (sigsetjmp(jb, 1) == 0)
		printf("%d\n", 10 / zero);
	printf("after fpe\n");

	signal(SIGALRM, on_alarm);
	alarm(1);
	while (!alarms)
		spin++;
	printf("alarm handled after spinning: %s\n", spin ? "yes" : "no");

	ss.ss_sp = malloc(65536);
	ss.ss_size = 65536;
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	kill(getpid(), SIGUSR1);
	printf("usr1 %s\n", usr1 ? "handled" : "missed");
	return 0;
}
