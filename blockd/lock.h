/* Image locking against a second writer, compatible with QEMU's scheme
 * (OFD byte-range locks: byte 100+n = "I use permission n", byte 200+n =
 * "I do not let others use permission n"; n=0 consistent read, n=1 write),
 * so Mica and QEMU processes see each other's locks. */
#ifndef MICA_BLOCK_LOCK_H
#define MICA_BLOCK_LOCK_H

#include <stdbool.h>

/* Lock FD for reading (others may read, nobody may write) or for writing
 * (others may not write; readers that want consistency are refused too).
 * Returns 0, or -EAGAIN when another open file holds a conflicting lock. */
int blk_lock_image(int fd, bool writer);

#endif
