/* glibc string functions on the paths CPUID selects (SSE4.2 strcspn,
 * strspn, strpbrk, SSSE3/SSE4 strstr, strcasecmp, memcmp...): many
 * lengths and alignments, strings ending at a page boundary followed by
 * an inaccessible page.  Also prints which ISA extensions the program
 * sees (the translator advertises what the host has for these). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned long long h = 1469598103934665603ull;

static void mix(unsigned long long v)
{
	h = (h ^ v) * 1099511628211ull;
}

static unsigned seed = 12345;

static unsigned rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 16;
}

static void fill(char *s, size_t n, const char *alpha)
{
	size_t k = strlen(alpha);

	for (size_t i = 0; i < n; i++)
		s[i] = alpha[rnd() % k];
	s[n] = 0;
}

static void one(const char *s, const char *t)
{
	mix(strlen(s));
	mix(strcspn(s, t));
	mix(strspn(s, t));
	mix(strpbrk(s, t) ? (unsigned long long)(strpbrk(s, t) - s) : 999);
	mix(strstr(s, t) ? (unsigned long long)(strstr(s, t) - s) : 999);
	mix(strcasestr(s, t) ? (unsigned long long)(strcasestr(s, t) - s) : 999);
	mix((unsigned long long)(strcmp(s, t) > 0) - (strcmp(s, t) < 0));
	mix((unsigned long long)(strcasecmp(s, t) > 0) - (strcasecmp(s, t) < 0));
	mix((unsigned long long)(strncmp(s, t, 7) > 0) - (strncmp(s, t, 7) < 0));
	mix(strchr(s, t[0]) ? (unsigned long long)(strchr(s, t[0]) - s) : 999);
	mix(strrchr(s, t[0]) ? (unsigned long long)(strrchr(s, t[0]) - s) : 999);
	mix(memchr(s, 'q', strlen(s)) ? 1 : 0);
	mix(strnlen(s, 40));
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *buf = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char s[600], t[40];
	unsigned found = 0;

	printf("sse3 %d ssse3 %d sse4.1 %d sse4.2 %d popcnt %d\n",
	       __builtin_cpu_supports("sse3"), __builtin_cpu_supports("ssse3"),
	       __builtin_cpu_supports("sse4.1"), __builtin_cpu_supports("sse4.2"),
	       __builtin_cpu_supports("popcnt"));
	if (buf == MAP_FAILED || mprotect(buf + page, page, PROT_NONE) != 0)
		return 1;
	for (unsigned i = 0; i < 20000; i++) {
		size_t n = rnd() % 300, m = 1 + rnd() % 6, off = rnd() % 64;
		const char *alpha = i & 1 ? "abcAB" : "abcdefghijklmnopqrstuvwxyz ,.";

		fill(s + off, n, alpha);
		fill(t, m, alpha);
		one(s + off, t);
		/* The same string ending exactly at the guard page. */
		if (n < (size_t)page - 1) {
			char *e = buf + page - n - 1;

			memcpy(e, s + off, n + 1);
			one(e, t);
			found += strstr(e, t) != NULL;
		}
	}
	for (unsigned i = 0; i < 2000; i++) {
		size_t n = rnd() % 200;
		char *a = malloc(n + 1), *b = malloc(n + 1);

		fill(a, n, "xyz");
		memcpy(b, a, n + 1);
		if (n)
			b[rnd() % n] ^= (char)(rnd() & 1);
		mix((unsigned long long)(memcmp(a, b, n) > 0) - (memcmp(a, b, n) < 0));
		mix((unsigned long long)(strcmp(a, b) > 0) - (strcmp(a, b) < 0));
		free(a);
		free(b);
	}
	printf("found %u hash %016llx\n", found, h);
	return 0;
}
