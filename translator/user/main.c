/* mica-x86_64: run an x86-64 Linux program through the JIT.
 *
 *   mica-x86_64 [-0 ARGV0] PROGRAM [ARGS...]
 *
 * MICA_TRANSLATOR_STATS=1 prints translation statistics at exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "translator/user/user.h"

extern char **environ;

static void usage(void)
{
	fprintf(stderr, "usage: mica-x86_64 [-0 ARGV0] PROGRAM [ARGS...]\n");
	exit(2);
}

/* Deliver a guest fault the only way we can yet: die of the same signal
 * (guest handlers are not invoked yet), after a one-line explanation. */
static noreturn void guest_fatal_signal(struct tr_cpu *cpu,
							 int sig)
{
	if (sig == SIGSEGV)
		log_warnx("guest SIGSEGV at pc %#llx (address %#llx)",
			  (unsigned long long)cpu->env.rip,
			  (unsigned long long)cpu->env.exception_addr);
	else
		log_warnx("guest %s at pc %#llx", strsignal(sig),
			  (unsigned long long)cpu->env.rip);
	user_print_stats();
	fflush(stderr);
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

/* A fault raised by a guest instruction: its handler, or death. */
static void guest_fault(struct tr_cpu *cpu, int sig, int code, uint64_t addr)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	info.si_signo = sig;
	info.si_code = code;
	info.si_addr = (void *)(uintptr_t)addr;
	if (!user_deliver_signal(cpu, sig, &info))
		guest_fatal_signal(cpu, sig);
}

noreturn void user_run(struct tr_cpu *cpu)
{
	struct x86_cpu *env = &cpu->env;

	for (;;) {
		switch (tr_cpu_exec(cpu)) {
		case X86_EXIT_SYSCALL:
			user_do_syscall(cpu);
			break;
		case X86_EXIT_INTERRUPT:
			env->interrupt_request = 0;
			user_deliver_pending(cpu);
			break;
		case X86_EXIT_SEGV:
			guest_fault(cpu, SIGSEGV, SEGV_MAPERR,
				    env->exception_addr);
			break;
		case X86_EXIT_HLT:
			guest_fault(cpu, SIGSEGV, SI_KERNEL, 0);
			break;
		case X86_EXIT_DIVIDE:
			guest_fault(cpu, SIGFPE, FPE_INTDIV, env->rip);
			break;
		case X86_EXIT_TRAP:
			guest_fault(cpu, SIGTRAP, SI_KERNEL, 0);
			break;
		case X86_EXIT_ILLEGAL:
		default:
			guest_fault(cpu, SIGILL, ILL_ILLOPN, env->rip);
			break;
		}
	}
}

/* A program name without a slash is looked up in PATH, like a shell. */
static const char *find_program(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(name, '/') || !path)
		return name;
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		snprintf(buf, len, "%.*s/%s", (int)(end - p), p, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return name;
}

/* "#!interp [arg]" scripts: returns a new argv (interp, arg, script,
 * args...) or NULL if PATH is not such a script. */
static char **shebang_argv(const char *path, int argc, char **argv,
			   int first, int *new_argc)
{
	static char line[256];
	char *p, *interp, *arg = NULL, **nargv;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), k = 0;

	if (fd < 0)
		return NULL;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return NULL;
	line[n] = 0;
	p = strchr(line, '\n');
	if (p)
		*p = 0;
	for (interp = line + 2; *interp == ' ' || *interp == '\t'; interp++)
		;
	for (p = interp; *p && *p != ' ' && *p != '\t'; p++)
		;
	if (*p) {
		*p++ = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p)
			arg = p;
	}
	nargv = calloc((size_t)(argc - first) + 3, sizeof(char *));
	if (!nargv || !*interp)
		return NULL;
	nargv[k++] = interp;
	if (arg)
		nargv[k++] = arg;
	nargv[k++] = strdup(path);
	for (int i = first + 1; i < argc; i++)
		nargv[k++] = argv[i];
	*new_argc = k;
	return nargv;
}

int main(int argc, char **argv)
{
	struct tr_cpu *cpu;
	static char self[PATH_MAX], exe[PATH_MAX], found[PATH_MAX];
	struct user_image img;
	const char *why = NULL, *argv0 = NULL;
	int first = 1, rc;
	uint64_t sp;

	log_init("mica-x86_64");
	user_stats_init();
	if (argc > 2 && strcmp(argv[1], "-0") == 0) {
		argv0 = argv[2];
		first = 3;
	}
	if (first >= argc)
		usage();
	if (!realpath(find_program(argv[first], found, sizeof(found)), exe)) {
		fprintf(stderr, "mica-x86_64: %s: %s\n", argv[first],
			strerror(errno));
		return 127;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		fatal("readlink /proc/self/exe");
	self[n] = 0;
	user_proc.exe_path = exe;
	user_proc.host_self = self;

	/* MICA_TRANSLATOR_CACHE_KB: a small code cache exercises flushes. */
	rc = tr_init(&(struct tr_config){
		.protect_code_pages = true,
		.code_size = getenv("MICA_TRANSLATOR_CACHE_KB") ?
			     strtoul(getenv("MICA_TRANSLATOR_CACHE_KB"), NULL,
				     0) << 10 : 0,
	});
	if (rc < 0) {
		errno = -rc;
		fatal("translator set-up");
	}
	rc = user_load_elf(exe, &img, &why);
	if (rc == -ENOEXEC) {
		int nargc;
		char **nargv = shebang_argv(exe, argc, argv, first, &nargc);

		if (nargv && realpath(nargv[0], exe)) {
			argv = nargv;
			argc = nargc;
			first = 0;
			argv0 = NULL;
			rc = user_load_elf(exe, &img, &why);
		}
	}
	if (rc < 0) {
		fprintf(stderr, "mica-x86_64: %s: %s\n", argv[first], why);
		return rc == -ENOENT ? 127 : 126;
	}
	user_proc.brk_start = user_proc.brk_cur = img.brk;
	if (argv0)
		argv[first] = (char *)argv0;
	sp = user_setup_stack(&img, argc - first, argv + first, environ,
			      exe);
	if (!sp)
		fatal("cannot set up the guest stack");
	/* On the heap: with its jump cache it is too big for .bss under
	 * valgrind, whose PIE load address is close to 0x400000. */
	cpu = aligned_alloc(64, (sizeof(*cpu) + 63) & ~(size_t)63);
	if (!cpu)
		fatal("cannot allocate the guest CPU");
	tr_cpu_init(cpu);
	cpu->env.rip = img.entry;
	cpu->env.regs[4] = sp;
	user_run(cpu);
}
