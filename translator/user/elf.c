/* ELF loading and the initial guest stack for mica-x86_64. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "translator/user/user.h"
#include "translator/x86/helpers.h"

#define PAGE 4096ull
#define PAGE_DOWN(x) ((x) & ~(PAGE - 1))
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
#define STACK_SIZE (8ull << 20)
#define PIE_BASE 0x555555554000ull

struct loaded {
	uint64_t bias, entry, phdr, phnum, end;
	char interp[256];
};

static int elf_prot(uint32_t flags)
{
	/* Guest code is only ever read by the translator, never executed
	 * by the host: no PROT_EXEC on guest mappings. */
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_READ : 0);
}

static int check_header(const Elf64_Ehdr *eh, ssize_t n, const char **why)
{
	if (n < (ssize_t)sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
		*why = "not an ELF file";
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64) {
		*why = "foreign architecture (not x86-64 ELF64)";
		return -EXDEV;
	}
	if ((eh->e_type != ET_EXEC && eh->e_type != ET_DYN) ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > 64) {
		*why = "unsupported ELF type or program headers";
		return -ENOEXEC;
	}
	return 0;
}

static int map_segment(int fd, const Elf64_Phdr *ph, uint64_t bias)
{
	uint64_t start = PAGE_DOWN(ph->p_vaddr + bias);
	uint64_t file_end = ph->p_vaddr + bias + ph->p_filesz;
	uint64_t mem_end = PAGE_UP(ph->p_vaddr + bias + ph->p_memsz);
	int prot = elf_prot(ph->p_flags);
	void *p;

	if (ph->p_filesz) {
		p = mmap((void *)start, PAGE_UP(file_end) - start,
			 prot | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
			 (off_t)PAGE_DOWN(ph->p_offset));
		if (p == MAP_FAILED)
			return -errno;
		/* Zero the bss part of the last file page. */
		if (ph->p_memsz > ph->p_filesz && (file_end & (PAGE - 1)))
			memset((void *)file_end, 0, PAGE_UP(file_end) - file_end);
	}
	if (mem_end > PAGE_UP(file_end)) {
		uint64_t a = ph->p_filesz ? PAGE_UP(file_end) : start;

		p = mmap((void *)a, mem_end - a, prot | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
	}
	if (!(prot & PROT_WRITE))
		mprotect((void *)start, mem_end - start, prot);
	return 0;
}

static int load_one(const char *path, bool is_interp, struct loaded *out,
		    const char **why)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	uint64_t lo = ~0ull, hi = 0, bias = 0;
	void *res;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*why = strerror(errno);
		return -errno;
	}
	n = pread(fd, &eh, sizeof(eh), 0);
	rc = check_header(&eh, n, why);
	if (rc < 0)
		goto out;
	n = pread(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), (off_t)eh.e_phoff);
	if (n != (ssize_t)(eh.e_phnum * sizeof(Elf64_Phdr))) {
		*why = "truncated program headers";
		rc = -ENOEXEC;
		goto out;
	}
	out->interp[0] = 0;
	out->phdr = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			if (ph[i].p_vaddr < lo)
				lo = ph[i].p_vaddr;
			if (ph[i].p_vaddr + ph[i].p_memsz > hi)
				hi = ph[i].p_vaddr + ph[i].p_memsz;
			if (ph[i].p_offset == 0 && !out->phdr)
				out->phdr = ph[i].p_vaddr + eh.e_phoff;
		} else if (ph[i].p_type == PT_INTERP && !is_interp &&
			   ph[i].p_filesz < sizeof(out->interp)) {
			if (pread(fd, out->interp, ph[i].p_filesz,
				  (off_t)ph[i].p_offset) !=
			    (ssize_t)ph[i].p_filesz) {
				*why = "unreadable PT_INTERP";
				rc = -ENOEXEC;
				goto out;
			}
			out->interp[ph[i].p_filesz] = 0;
		} else if (ph[i].p_type == PT_PHDR) {
			out->phdr = ph[i].p_vaddr;
		}
	}
	if (lo == ~0ull) {
		*why = "no loadable segments";
		rc = -ENOEXEC;
		goto out;
	}
	lo = PAGE_DOWN(lo);
	hi = PAGE_UP(hi);
	/* Reserve the whole span first so segments land together. */
	if (eh.e_type == ET_DYN) {
		void *hint = is_interp ? NULL : (void *)PIE_BASE;

		res = mmap(hint, hi - lo, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (res == MAP_FAILED) {
			rc = -errno;
			*why = "cannot reserve address space";
			goto out;
		}
		bias = (uint64_t)(uintptr_t)res - lo;
	} else {
		res = mmap((void *)lo, hi - lo, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			   -1, 0);
		if (res == MAP_FAILED) {
			rc = -errno;
			*why = "fixed load address is taken";
			goto out;
		}
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		rc = map_segment(fd, &ph[i], bias);
		if (rc < 0) {
			*why = "cannot map segment";
			goto out;
		}
	}
	out->bias = bias;
	out->entry = eh.e_entry + bias;
	out->phdr += bias;
	out->phnum = eh.e_phnum;
	out->end = hi + bias;
out:
	close(fd);
	return rc;
}

int user_load_elf(const char *path, struct user_image *img, const char **why)
{
	struct loaded exe, interp;
	int rc;

	rc = load_one(path, false, &exe, why);
	if (rc < 0)
		return rc;
	memset(img, 0, sizeof(*img));
	img->exe_entry = exe.entry;
	img->entry = exe.entry;
	img->load_bias = exe.bias;
	img->phdr = exe.phdr;
	img->phnum = exe.phnum;
	img->brk = exe.end;
	if (exe.interp[0]) {
		rc = load_one(exe.interp, true, &interp, why);
		if (rc < 0)
			return rc;
		img->entry = interp.entry;
		img->interp_base = interp.bias;
	}
	return 0;
}

static uint64_t push_bytes(uint64_t *sp, const void *data, size_t len)
{
	*sp -= len;
	memcpy((void *)*sp, data, len);
	return *sp;
}

uint64_t user_setup_stack(const struct user_image *img, int argc,
			  char **argv, char **envp, const char *execfn)
{
	uint64_t base, sp, random_at, platform_at, execfn_at;
	uint64_t *argv_at, *envp_at, *vec;
	uint8_t rnd[16];
	size_t envc = 0, n = 0, words;
	void *p;

	p = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	base = (uint64_t)(uintptr_t)p;
	sp = base + STACK_SIZE;
	while (envp[envc])
		envc++;
	argv_at = calloc((size_t)argc + 1, sizeof(uint64_t));
	envp_at = calloc(envc + 1, sizeof(uint64_t));
	if (!argv_at || !envp_at)
		return 0;
	execfn_at = push_bytes(&sp, execfn, strlen(execfn) + 1);
	for (size_t i = envc; i-- > 0;)
		envp_at[i] = push_bytes(&sp, envp[i], strlen(envp[i]) + 1);
	for (int i = argc; i-- > 0;)
		argv_at[i] = push_bytes(&sp, argv[i], strlen(argv[i]) + 1);
	platform_at = push_bytes(&sp, "x86_64", 7);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	random_at = push_bytes(&sp, rnd, sizeof(rnd));
	sp &= ~15ull;

	uint64_t aux[][2] = {
		{ AT_PHDR, img->phdr }, { AT_PHENT, sizeof(Elf64_Phdr) },
		{ AT_PHNUM, img->phnum }, { AT_PAGESZ, PAGE },
		{ AT_BASE, img->interp_base }, { AT_FLAGS, 0 },
		{ AT_ENTRY, img->exe_entry }, { AT_UID, getuid() },
		{ AT_EUID, geteuid() }, { AT_GID, getgid() },
		{ AT_EGID, getegid() }, { AT_SECURE, 0 },
		{ AT_RANDOM, random_at },
		{ AT_HWCAP, x86_cpuid_features_edx() },
		{ AT_CLKTCK, (uint64_t)sysconf(_SC_CLK_TCK) },
		{ AT_PLATFORM, platform_at }, { AT_EXECFN, execfn_at },
		{ AT_NULL, 0 },
	};
	words = 1 + (size_t)argc + 1 + envc + 1 + 2 * (sizeof(aux) / sizeof(aux[0]));
	sp -= words * 8;
	sp &= ~15ull;
	vec = (uint64_t *)(uintptr_t)sp;
	vec[n++] = (uint64_t)argc;
	for (int i = 0; i < argc; i++)
		vec[n++] = argv_at[i];
	vec[n++] = 0;
	for (size_t i = 0; i < envc; i++)
		vec[n++] = envp_at[i];
	vec[n++] = 0;
	for (size_t i = 0; i < sizeof(aux) / sizeof(aux[0]); i++) {
		vec[n++] = aux[i][0];
		vec[n++] = aux[i][1];
	}
	free(argv_at);
	free(envp_at);
	return sp;
}
