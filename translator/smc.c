/* Self-modifying code in user mode: guest pages holding translated code
 * are made read-only; a write to one faults, and the fault handler
 * (tb.c) invalidates the blocks of that page, gives the page its write
 * permission back and restarts the writing instruction.
 *
 * Guest memory is host memory here, so "read-only" is a host mprotect.
 * Whether a page was writable in the first place comes from
 * /proc/self/maps, read again whenever a page is not found in the copy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "translator/smc.h"

#define PAGE 4096ull
#define MAX_MAPS 4096
#define PROTECTED_SLOTS 65536	/* open addressing, power of two */

struct map_range {
	uint64_t start, end;
	int prot;
};

static struct map_range maps[MAX_MAPS];
static unsigned n_maps;

/* page | prot (low 3 bits): pages we write-protected and their prot. */
static uint64_t protected_pages[PROTECTED_SLOTS];
static unsigned n_protected;

static void read_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512], perms[8];
	unsigned long long s, e;

	n_maps = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && n_maps < MAX_MAPS) {
		if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) != 3)
			continue;
		maps[n_maps].start = s;
		maps[n_maps].end = e;
		maps[n_maps].prot = (perms[0] == 'r' ? PROT_READ : 0) |
				    (perms[1] == 'w' ? PROT_WRITE : 0) |
				    (perms[2] == 'x' ? PROT_EXEC : 0);
		n_maps++;
	}
	fclose(f);
}

static int page_prot(uint64_t page, bool reread)
{
	static unsigned last;	/* consecutive blocks: mostly the same map */

	if (last < n_maps && page >= maps[last].start && page < maps[last].end)
		return maps[last].prot;
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < n_maps; i++)
			if (page >= maps[i].start && page < maps[i].end) {
				last = i;
				return maps[i].prot;
			}
		if (!reread)
			break;
		read_maps();
	}
	return -1;
}

static unsigned slot_of(uint64_t page)
{
	return (unsigned)((page >> 12) * 0x9e3779b1u) & (PROTECTED_SLOTS - 1);
}

static int find_protected(uint64_t page)
{
	for (unsigned i = slot_of(page), n = 0; n < PROTECTED_SLOTS;
	     i = (i + 1) & (PROTECTED_SLOTS - 1), n++) {
		if (protected_pages[i] == 0)
			return -1;
		if ((protected_pages[i] & ~(PAGE - 1)) == page)
			return (int)i;
	}
	return -1;
}

/* Remove slot I keeping probe chains intact (re-insert followers). */
static void remove_slot(unsigned i)
{
	protected_pages[i] = 0;
	n_protected--;
	for (unsigned j = (i + 1) & (PROTECTED_SLOTS - 1);
	     protected_pages[j]; j = (j + 1) & (PROTECTED_SLOTS - 1)) {
		uint64_t v = protected_pages[j];
		unsigned k;

		protected_pages[j] = 0;
		for (k = slot_of(v & ~(PAGE - 1)); protected_pages[k];
		     k = (k + 1) & (PROTECTED_SLOTS - 1))
			;
		protected_pages[k] = v;
	}
}

void smc_protect_range(uint64_t start, uint64_t end)
{
	for (uint64_t page = start & ~(PAGE - 1); page < end; page += PAGE) {
		int prot;
		unsigned i;

		if (find_protected(page) >= 0)
			continue;
		prot = page_prot(page, true);
		if (prot < 0 || !(prot & PROT_WRITE))
			continue;
		if (n_protected >= PROTECTED_SLOTS / 2)
			return;	/* table full: stop protecting (documented) */
		if (mprotect((void *)(uintptr_t)page, PAGE,
			     prot & ~PROT_WRITE) < 0)
			continue;
		for (i = slot_of(page); protected_pages[i];
		     i = (i + 1) & (PROTECTED_SLOTS - 1))
			;
		protected_pages[i] = page | (uint64_t)prot;
		n_protected++;
	}
}

bool smc_unprotect_page(uint64_t addr)
{
	uint64_t page = addr & ~(PAGE - 1);
	int i = find_protected(page);
	int prot;

	if (i < 0)
		return false;
	prot = (int)(protected_pages[i] & (PAGE - 1));
	mprotect((void *)(uintptr_t)page, PAGE, prot);
	remove_slot((unsigned)i);
	return true;
}

void smc_forget_range(uint64_t start, uint64_t end)
{
	if (n_protected)
		for (uint64_t page = start & ~(PAGE - 1); page < end;
		     page += PAGE) {
			int i = find_protected(page);

			if (i >= 0)
				remove_slot((unsigned)i);
		}
	n_maps = 0;	/* mappings changed: read them again */
}

bool smc_range_protected(uint64_t start, uint64_t end)
{
	if (!n_protected)
		return false;
	for (uint64_t page = start & ~(PAGE - 1); page < end; page += PAGE)
		if (find_protected(page) >= 0)
			return true;
	return false;
}
