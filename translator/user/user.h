/* mica-x86_64 user-mode emulation: internal interfaces. */
#ifndef MICA_USER_H
#define MICA_USER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "translator/translator.h"

struct user_image {
	uint64_t entry;		/* where execution starts (ld.so or exe) */
	uint64_t exe_entry;	/* AT_ENTRY */
	uint64_t load_bias;
	uint64_t phdr, phnum;	/* AT_PHDR, AT_PHNUM */
	uint64_t interp_base;	/* AT_BASE, 0 if static */
	uint64_t brk;		/* first byte after the highest segment */
};

/* Load PATH (and its interpreter).  Returns 0, or -ENOENT/-EACCES...,
 * -ENOEXEC when not ELF, -EXDEV for a foreign architecture or class
 * (*why gets a short reason). */
int user_load_elf(const char *path, struct user_image *img, const char **why);

/* Build argv/envp/auxv on a new guest stack; returns the initial rsp. */
uint64_t user_setup_stack(const struct user_image *img, int argc,
			  char **argv, char **envp, const char *execfn);

struct user_process {
	const char *exe_path;		/* guest's view of /proc/self/exe */
	const char *host_self;		/* our own binary, for execve */
	uint64_t brk_start, brk_cur;
};

extern struct user_process user_proc;

/* Handle the syscall in cpu->env (number in rax); result in rax. */
void user_do_syscall(struct tr_cpu *cpu);
/* MICA_TRANSLATOR_STATS: keep a copy of stderr (guests such as
 * coreutils close theirs before exiting), and print the statistics to
 * it at exit. */
void user_stats_init(void);
void user_print_stats(void);

/* Signals (signal.c). */
int64_t user_rt_sigaction(uint64_t sig, const uint64_t *act, uint64_t *oldact);
int64_t user_sigaltstack(const stack_t *ss, stack_t *old);
bool user_deliver_signal(struct tr_cpu *cpu, int sig, const siginfo_t *info);
void user_deliver_pending(struct tr_cpu *cpu);
void user_rt_sigreturn(struct tr_cpu *cpu);
static inline struct tr_cpu *user_current_cpu(void)
{
	return tr_current_cpu();
}

/* Run a guest thread until it exits (main.c). */
_Noreturn void user_run(struct tr_cpu *cpu);

#endif
