/* Write protection of guest pages holding translated code (user mode).
 * All functions are called with the translator lock held. */
#ifndef MICA_TRANSLATOR_SMC_H
#define MICA_TRANSLATOR_SMC_H

#include <stdbool.h>
#include <stdint.h>

/* Make the writable pages of [start, end) read-only and remember them. */
void smc_protect_range(uint64_t start, uint64_t end);
/* If ADDR is on a page we protected, restore its permissions and return
 * true (the caller invalidates the page's blocks). */
bool smc_unprotect_page(uint64_t addr);
/* The guest remapped or re-protected [start, end): forget our records. */
void smc_forget_range(uint64_t start, uint64_t end);
bool smc_range_protected(uint64_t start, uint64_t end);

#endif
