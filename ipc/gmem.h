/* Guest memory as a device process sees it: a few regions, each a mapping
 * of a memfd the frontend sent (vhost-user SET_MEM_TABLE) or memory the
 * process already has.  Every guest-controlled address goes through
 * gmem_gpa()/gmem_uva(), which return a host pointer only when
 * the whole range lies inside one region. */
#ifndef MICA_GMEM_H
#define MICA_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 8

struct gmem_region {
	uint64_t gpa;            /* guest physical address of the first byte */
	uint64_t size;
	uint64_t uva;            /* frontend's virtual address of the first byte */
	uint8_t *host;           /* our address of the first byte */
	void *map_base;          /* what to munmap (NULL: not ours) */
	size_t map_len;
};

struct gmem {
	struct gmem_region r[GMEM_MAX_REGIONS];
	unsigned n;
};

/* Map size bytes of fd starting at mmap_offset as the region at gpa/uva.
 * Returns 0, -EINVAL (zero size, wrap-around, overlap with a region
 * already there), -E2BIG (too many regions) or the mmap error. */
int gmem_map(struct gmem *m, int fd, uint64_t gpa, uint64_t size,
		  uint64_t uva, uint64_t mmap_offset);

/* Add memory this process already has (not unmapped by clear). */
int gmem_add_host(struct gmem *m, void *host, uint64_t gpa, uint64_t size,
		       uint64_t uva);

/* Unmap every region we mapped and forget all. */
void gmem_clear(struct gmem *m);

/* Host pointer for [gpa, gpa+len) if it lies in one region, else NULL. */
void *gmem_gpa(const struct gmem *m, uint64_t gpa, uint64_t len);

/* The same for a frontend virtual address (vhost-user ring addresses). */
void *gmem_uva(const struct gmem *m, uint64_t uva, uint64_t len);

/* The region holding gpa, or NULL; *room is how many bytes from gpa to
 * the region's end.  Used to split a buffer that spans regions. */
const struct gmem_region *gmem_find(const struct gmem *m, uint64_t gpa,
					      uint64_t *room);

#endif
