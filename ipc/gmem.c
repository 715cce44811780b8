#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "gmem.h"

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check_new_region(const struct gmem *m, uint64_t gpa, uint64_t size,
			    uint64_t uva)
{
	if (m->n == GMEM_MAX_REGIONS)
		return -E2BIG;
	if (size == 0 || gpa + size < gpa || uva + size < uva)
		return -EINVAL;
	for (unsigned i = 0; i < m->n; i++)
		if (ranges_overlap(gpa, size, m->r[i].gpa, m->r[i].size))
			return -EINVAL;
	return 0;
}

int gmem_map(struct gmem *m, int fd, uint64_t gpa, uint64_t size,
		  uint64_t uva, uint64_t mmap_offset)
{
	struct gmem_region *r;
	void *base;
	int err = check_new_region(m, gpa, size, uva);

	if (err < 0)
		return err;
	if (mmap_offset + size < mmap_offset || mmap_offset + size > SIZE_MAX)
		return -EINVAL;
	/* mmap_offset need not be page aligned: map from 0 and step in. */
	base = mmap(NULL, mmap_offset + size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	r = &m->r[m->n++];
	r->gpa = gpa;
	r->size = size;
	r->uva = uva;
	r->host = (uint8_t *)base + mmap_offset;
	r->map_base = base;
	r->map_len = mmap_offset + size;
	return 0;
}

int gmem_add_host(struct gmem *m, void *host, uint64_t gpa, uint64_t size,
		       uint64_t uva)
{
	struct gmem_region *r;
	int err = check_new_region(m, gpa, size, uva);

	if (err < 0)
		return err;
	r = &m->r[m->n++];
	memset(r, 0, sizeof(*r));
	r->gpa = gpa;
	r->size = size;
	r->uva = uva;
	r->host = host;
	return 0;
}

void gmem_clear(struct gmem *m)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->r[i].map_base != NULL)
			munmap(m->r[i].map_base, m->r[i].map_len);
	memset(m, 0, sizeof(*m));
}

const struct gmem_region *gmem_find(const struct gmem *m, uint64_t gpa,
					      uint64_t *room)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct gmem_region *r = &m->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			*room = r->size - (gpa - r->gpa);
			return r;
		}
	}
	return NULL;
}

void *gmem_gpa(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint64_t room;
	const struct gmem_region *r = gmem_find(m, gpa, &room);

	if (r == NULL || len > room)
		return NULL;
	return r->host + (gpa - r->gpa);
}

void *gmem_uva(const struct gmem *m, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct gmem_region *r = &m->r[i];

		if (uva >= r->uva && uva - r->uva < r->size) {
			if (len > r->size - (uva - r->uva))
				return NULL;
			return r->host + (uva - r->uva);
		}
	}
	return NULL;
}
