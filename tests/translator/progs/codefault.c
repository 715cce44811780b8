/* Executing code that is not there: a call to an unmapped address, an
 * instruction cut short by an inaccessible page (both SIGSEGV, the
 * translator must not fault itself while reading the code), and the
 * same code again once the page is made accessible (nothing stale may
 * be kept from the failed attempt). */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf jb;
static volatile uintptr_t fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(jb, 1);
}

int main(void)
{
	struct sigaction sa;
	uint8_t *m;
	uint64_t (*fn)(void);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);

	fn = (uint64_t (*)(void))(uintptr_t)0x10000;
	if (sigsetjmp(jb, 1) == 0)
		fn();
	printf("call to unmapped: fault at %#lx\n", (unsigned long)fault_addr);

	m = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	/* movabs rax, imm64 starting 2 bytes before the second page, ret. */
	memset(m + 4096, 0x11, 8);
	m[4094] = 0x48;
	m[4095] = 0xb8;
	m[4104] = 0xc3;
	mprotect(m + 4096, 4096, PROT_NONE);
	fn = (uint64_t (*)(void))(uintptr_t)(m + 4094);
	for (int i = 0; i < 2; i++) {
		fault_addr = 0;
		if (sigsetjmp(jb, 1) == 0)
			fn();
		printf("cut-short instruction: fault %s\n",
		       fault_addr == (uintptr_t)(m + 4096) ? "at the page" :
		       fault_addr ? "elsewhere" : "none");
	}
	mprotect(m + 4096, 4096, PROT_READ | PROT_EXEC);
	printf("after mprotect: %#llx\n", (unsigned long long)fn());
	munmap(m + 4096, 4096);
	if (sigsetjmp(jb, 1) == 0)
		fn();
	printf("after munmap: fault %s\n",
	       fault_addr == (uintptr_t)(m + 4096) ? "at the page" : "elsewhere");
	return 0;
}
