/* glibc string/memory functions (SSE2 paths), malloc, setjmp, sorting. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf env;

static void jump(int n)
{
	if (n == 0)
		longjmp(env, 42);
	jump(n - 1);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	char *words[200];
	char buf[4096];
	unsigned h = 5381;
	int r;

	for (int i = 0; i < 200; i++) {
		words[i] = malloc(32 + i);
		snprintf(words[i], 32 + i, "w%07d-%x", (i * 7919) % 1000, i);
	}
	qsort(words, 200, sizeof(words[0]), cmp);
	for (int i = 0; i < 200; i++)
		for (const char *p = words[i]; *p; p++)
			h = h * 33 + (unsigned char)*p;
	printf("%s %s %u\n", words[0], words[199], h);
	memset(buf, 'x', sizeof(buf));
	buf[sizeof(buf) - 1] = 0;
	buf[1234] = 'y';
	printf("%zu %td %d\n", strlen(buf), strchr(buf, 'y') - buf,
	       memcmp(buf, buf + 1, 1000));
	memmove(buf + 3, buf, 2000);
	printf("%d %s\n", (int)(strstr(buf, "y") - buf), strrchr(words[5], '-'));
	r = setjmp(env);
	if (r == 0)
		jump(50);
	printf("longjmp %d\n", r);
	for (int i = 0; i < 200; i++)
		free(words[i]);
	return 0;
}
