/* Self-modifying code: generate, run, patch and re-run functions in an
 * RWX mapping, including a patch of the running block's own page. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn_t)(int);

int main(void)
{
	unsigned char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* lea eax, [rdi + imm8]; ret */
	unsigned char add[] = { 0x8d, 0x47, 0x05, 0xc3 };
	/* mov byte [rip + 1], 0x2a (patches the imm of the next insn);
	 * mov eax, 0; ret */
	unsigned char selfpatch[] = { 0xc6, 0x05, 0x01, 0, 0, 0, 0x2a,
				      0xb8, 0, 0, 0, 0, 0xc3 };
	fn_t f = (fn_t)m, g = (fn_t)(m + 64);
	int total = 0;

	if (m == MAP_FAILED)
		return 1;
	memcpy(m, add, sizeof(add));
	for (int i = 0; i < 1000; i++)
		total += f(i);
	printf("before patch %d\n", total);
	for (int k = 1; k < 20; k++) {
		m[2] = (unsigned char)k;	/* new immediate */
		total = 0;
		for (int i = 0; i < 100; i++)
			total += f(i);
		printf("imm %d: %d\n", k, total);
	}
	memcpy(m + 64, selfpatch, sizeof(selfpatch));
	printf("self-patching: %d %d\n", g(0), g(0));
	return 0;
}
