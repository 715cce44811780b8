#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "pci-msix.h"

#define MSIX_CAP_LEN		12
#define MSIX_CONTROL		2
#define MSIX_TABLE		4
#define MSIX_PBA		8

static uint16_t msix_control(const struct pci_msix *x)
{
	uint16_t ctl;

	memcpy(&ctl, &x->dev->cfg[x->cap + MSIX_CONTROL], 2);
	return ctl;
}

bool pci_msix_enabled(const struct pci_msix *x)
{
	return x->dev != NULL && (msix_control(x) & PCI_MSIX_FLAGS_ENABLE);
}

static bool msix_vector_live(const struct pci_msix *x, unsigned v)
{
	uint16_t ctl = msix_control(x);

	return (ctl & PCI_MSIX_FLAGS_ENABLE) && !(ctl & PCI_MSIX_FLAGS_MASKALL) &&
	       !(x->table[v].ctrl & PCI_MSIX_ENTRY_MASKED);
}

/* Bring vector v's route and irqfd in line with the guest's view. */
static void msix_update_vector(struct pci_msix *x, unsigned v)
{
	const struct pci_msix_entry *e = &x->table[v];
	unsigned gsi = x->gsi_base + v;
	int err;

	if (!msix_vector_live(x, v)) {
		if (x->routed[v])
			x->ops->irqfd_del(x->vm, gsi, x->fd[v]);
		x->routed[v] = false;
		return;
	}
	err = x->ops->msi_route(x->vm, gsi,
				(uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
	if (err == 0 && !x->routed[v])
		err = x->ops->irqfd_add(x->vm, gsi, x->fd[v], -1);
	if (err < 0) {
		log_warnx("%s: MSI-X vector %u: %s", x->dev->name, v,
			  strerror(-err));
		return;
	}
	x->routed[v] = true;
}

int pci_msix_init(struct pci_msix *x, struct pci_device *dev,
		  unsigned nr_vectors, unsigned bar, uint32_t table_offset,
		  uint32_t pba_offset, const struct accel_ops *ops,
		  struct accel_vm *vm, unsigned gsi_base)
{
	uint16_t ctl = (uint16_t)(nr_vectors - 1);
	uint32_t table = table_offset | bar, pba = pba_offset | bar;
	int cap;

	/* Safe to pci_msix_fini whatever happens below. */
	memset(x, 0, sizeof(*x));
	for (unsigned v = 0; v < PCI_MSIX_MAX_VECTORS; v++)
		x->fd[v] = -1;
	if (nr_vectors == 0 || nr_vectors > PCI_MSIX_MAX_VECTORS || bar > 5 ||
	    (table_offset | pba_offset) & 7)
		return -EINVAL;
	cap = pci_device_add_cap(dev, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);
	if (cap < 0)
		return cap;
	*x = (struct pci_msix){
		.dev = dev, .ops = ops, .vm = vm, .cap = (unsigned)cap,
		.nr_vectors = nr_vectors, .bar = bar, .gsi_base = gsi_base,
		.table_offset = table_offset, .pba_offset = pba_offset,
	};
	memcpy(&dev->cfg[cap + MSIX_CONTROL], &ctl, 2);
	memcpy(&dev->cfg[cap + MSIX_TABLE], &table, 4);
	memcpy(&dev->cfg[cap + MSIX_PBA], &pba, 4);
	dev->wmask[cap + MSIX_CONTROL + 1] = 0xc0;	/* enable, mask all */
	for (unsigned v = 0; v < PCI_MSIX_MAX_VECTORS; v++) {
		x->fd[v] = -1;
		x->table[v].ctrl = PCI_MSIX_ENTRY_MASKED;
	}
	for (unsigned v = 0; v < nr_vectors; v++) {
		x->fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (x->fd[v] < 0) {
			int err = -errno;

			pci_msix_fini(x);
			return err;
		}
	}
	return 0;
}

void pci_msix_fini(struct pci_msix *x)
{
	if (x->dev == NULL)
		return;			/* never initialised */
	for (unsigned v = 0; v < PCI_MSIX_MAX_VECTORS; v++) {
		if (x->routed[v])
			x->ops->irqfd_del(x->vm, x->gsi_base + v, x->fd[v]);
		x->routed[v] = false;
		if (x->fd[v] >= 0)
			close(x->fd[v]);
		x->fd[v] = -1;
	}
}

int pci_msix_vector_fd(const struct pci_msix *x, unsigned v)
{
	return v < x->nr_vectors ? x->fd[v] : -1;
}

/* Pending bit: the vector's eventfd has a signal nobody consumed. */
static bool msix_pending(const struct pci_msix *x, unsigned v)
{
	struct pollfd p = { .fd = x->fd[v], .events = POLLIN };

	return !x->routed[v] && poll(&p, 1, 0) == 1;
}

bool pci_msix_bar_read(struct pci_msix *x, uint64_t off, unsigned size,
		       uint64_t *val)
{
	uint64_t table_len = (uint64_t)x->nr_vectors * PCI_MSIX_ENTRY_SIZE;

	if (off >= x->table_offset && off < x->table_offset + table_len) {
		uint64_t rel = off - x->table_offset;
		const uint8_t *e = (const uint8_t *)&x->table[rel / 16];

		*val = 0;
		if ((size == 4 || size == 8) && rel % size == 0)
			memcpy(val, e + rel % 16, size);
		return true;
	}
	if (off >= x->pba_offset && off < x->pba_offset + 8) {
		uint64_t pba = 0;

		for (unsigned v = 0; v < x->nr_vectors; v++)
			if (msix_pending(x, v))
				pba |= 1ULL << v;
		*val = pba >> (8 * (off - x->pba_offset));
		return true;
	}
	return false;
}

bool pci_msix_bar_write(struct pci_msix *x, uint64_t off, unsigned size,
			uint64_t val)
{
	uint64_t table_len = (uint64_t)x->nr_vectors * PCI_MSIX_ENTRY_SIZE;
	uint64_t rel;
	unsigned v;

	if (off >= x->pba_offset && off < x->pba_offset + 8)
		return true;			/* PBA is read-only */
	if (off < x->table_offset || off >= x->table_offset + table_len)
		return false;
	rel = off - x->table_offset;
	v = (unsigned)(rel / 16);
	if ((size != 4 && size != 8) || rel % size != 0)
		return true;			/* unsupported access: ignore */
	memcpy((uint8_t *)&x->table[v] + rel % 16, &val, size);
	x->table[v].ctrl &= PCI_MSIX_ENTRY_MASKED;
	msix_update_vector(x, v);
	return true;
}

void pci_msix_config_written(struct pci_msix *x, unsigned off, unsigned size)
{
	if (off + size <= x->cap + MSIX_CONTROL || off > x->cap + MSIX_CONTROL + 1)
		return;
	for (unsigned v = 0; v < x->nr_vectors; v++)
		msix_update_vector(x, v);
}
