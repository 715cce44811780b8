/* x86-64 guest frontend: guest code -> IR for one translation block. */
#ifndef MICA_X86_FRONTEND_H
#define MICA_X86_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#include "translator/ir.h"

/* Copy up to LEN guest code bytes at PC into BUF; returns the number of
 * bytes readable (0 when PC itself is not mapped executable). */
typedef size_t (*x86_fetch_fn)(void *opaque, uint64_t pc, uint8_t *buf,
			       size_t len);

struct x86_frontend_config {
	x86_fetch_fn fetch;
	void *fetch_opaque;
	unsigned max_insns;	/* per block */
};

/* Translate the block starting at PC into BLK.  Always produces a block
 * that ends in an exit; an undecodable or unimplemented instruction
 * becomes an IR_EXIT_SPECIAL(X86_EXIT_ILLEGAL) at its address, and an
 * unreadable PC an X86_EXIT_SEGV.  blk->guest_end is the first byte after
 * the last instruction read (for write-protecting the source pages). */
void x86_translate_block(struct ir_block *blk, uint64_t pc,
			 const struct x86_frontend_config *cfg);

/* Unimplemented-opcode statistics (MICA_TRANSLATOR_STATS). */
void x86_frontend_print_missing(void);

#endif
