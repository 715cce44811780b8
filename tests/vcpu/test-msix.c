/* MSI-X model against a recording accelerator: routes and irqfds follow
 * enable, function mask and vector mask; pending shows in the PBA. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cutest.h"
#include "pci-msix.h"

static struct {
	unsigned routes, adds, dels;
	unsigned last_gsi;
	uint64_t last_addr;
	uint32_t last_data;
	int attached[PCI_MSIX_MAX_VECTORS];
} rec;

static int rec_msi_route(struct accel_vm *vm, unsigned gsi, uint64_t addr,
			 uint32_t data)
{
	rec.routes++;
	rec.last_gsi = gsi;
	rec.last_addr = addr;
	rec.last_data = data;
	return 0;
}

static int rec_irqfd_add(struct accel_vm *vm, unsigned gsi, int fd, int rfd)
{
	rec.adds++;
	rec.attached[gsi - 24] = 1;
	return 0;
}

static int rec_irqfd_del(struct accel_vm *vm, unsigned gsi, int fd)
{
	rec.dels++;
	rec.attached[gsi - 24] = 0;
	return 0;
}

static const struct accel_ops rec_ops = {
	.name = "recorder",
	.msi_route = rec_msi_route,
	.irqfd_add = rec_irqfd_add,
	.irqfd_del = rec_irqfd_del,
};

static struct pci_device dev;
static struct pci_msix msix;

static void setup(void)
{
	memset(&rec, 0, sizeof(rec));
	pci_device_init(&dev, "msix-dev", 0x1af4, 0x1041, 0x020000, 1);
	CU_ASSERT_EQUAL_FATAL(pci_msix_init(&msix, &dev, 4, 1, 0, 0x800,
					    &rec_ops, NULL, 24), 0);
}

static void ctl_write(uint16_t v)
{
	memcpy(&dev.cfg[msix.cap + 2], &v, 2);
	pci_msix_config_written(&msix, msix.cap + 2, 2);
}

static void test_capability_layout(void)
{
	uint32_t table, pba;
	uint16_t ctl;

	setup();
	CU_ASSERT_EQUAL(dev.cfg[PCI_CAPABILITY_LIST], msix.cap);
	CU_ASSERT_EQUAL(dev.cfg[msix.cap], PCI_CAP_ID_MSIX);
	memcpy(&ctl, &dev.cfg[msix.cap + 2], 2);
	memcpy(&table, &dev.cfg[msix.cap + 4], 4);
	memcpy(&pba, &dev.cfg[msix.cap + 8], 4);
	CU_ASSERT_EQUAL(ctl, 3);		/* 4 vectors */
	CU_ASSERT_EQUAL(table, 0x000 | 1);	/* BIR 1 */
	CU_ASSERT_EQUAL(pba, 0x800 | 1);
	CU_ASSERT_EQUAL(dev.wmask[msix.cap + 3], 0xc0);
	CU_ASSERT(pci_msix_vector_fd(&msix, 3) >= 0);
	CU_ASSERT_EQUAL(pci_msix_vector_fd(&msix, 4), -1);
	pci_msix_fini(&msix);
}

static void test_route_follows_masks(void)
{
	uint64_t v;

	setup();
	/* Entries start masked. */
	CU_ASSERT(pci_msix_bar_read(&msix, 12, 4, &v));
	CU_ASSERT_EQUAL(v, 1);
	pci_msix_bar_write(&msix, 0x10, 4, 0xfee01000);	/* vector 1 */
	pci_msix_bar_write(&msix, 0x18, 4, 0x45);
	pci_msix_bar_write(&msix, 0x1c, 4, 0);		/* unmask */
	CU_ASSERT_EQUAL(rec.adds, 0);			/* MSI-X still off */
	ctl_write(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	CU_ASSERT_EQUAL(rec.adds, 0);
	ctl_write(PCI_MSIX_FLAGS_ENABLE);
	CU_ASSERT_EQUAL(rec.adds, 1);
	CU_ASSERT(rec.attached[1]);
	CU_ASSERT_EQUAL(rec.last_gsi, 25);
	CU_ASSERT_EQUAL(rec.last_addr, 0xfee01000);
	CU_ASSERT_EQUAL(rec.last_data, 0x45);
	/* Reprogramming a live vector reroutes without re-attaching. */
	pci_msix_bar_write(&msix, 0x18, 4, 0x46);
	CU_ASSERT_EQUAL(rec.last_data, 0x46);
	CU_ASSERT_EQUAL(rec.adds, 1);
	/* Vector mask detaches; function disable too. */
	pci_msix_bar_write(&msix, 0x1c, 4, 1);
	CU_ASSERT(!rec.attached[1]);
	pci_msix_bar_write(&msix, 0x1c, 4, 0);
	CU_ASSERT(rec.attached[1]);
	ctl_write(0);
	CU_ASSERT(!rec.attached[1]);
	CU_ASSERT_EQUAL(rec.dels, 2);
	pci_msix_fini(&msix);
}

static void test_pba_shows_pending(void)
{
	uint64_t v, one = 1;

	setup();
	CU_ASSERT(pci_msix_bar_read(&msix, 0x800, 8, &v));
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(write(pci_msix_vector_fd(&msix, 2), &one, 8), 8);
	pci_msix_bar_read(&msix, 0x800, 8, &v);
	CU_ASSERT_EQUAL(v, 1u << 2);
	/* PBA is read-only; accesses outside table/PBA are not ours. */
	CU_ASSERT(pci_msix_bar_write(&msix, 0x800, 4, 0));
	CU_ASSERT(!pci_msix_bar_read(&msix, 0x400, 4, &v));
	/* Unaligned table access is ignored, reads zero. */
	CU_ASSERT(pci_msix_bar_read(&msix, 2, 4, &v));
	CU_ASSERT_EQUAL(v, 0);
	pci_msix_fini(&msix);
}

static void test_init_errors(void)
{
	struct pci_msix x;

	pci_device_init(&dev, "d", 1, 2, 0, 0);
	CU_ASSERT_EQUAL(pci_msix_init(&x, &dev, 0, 0, 0, 0x800, &rec_ops, NULL,
				      24), -EINVAL);
	CU_ASSERT_EQUAL(pci_msix_init(&x, &dev, 65, 0, 0, 0x800, &rec_ops, NULL,
				      24), -EINVAL);
	CU_ASSERT_EQUAL(pci_msix_init(&x, &dev, 2, 6, 0, 0x800, &rec_ops, NULL,
				      24), -EINVAL);
	CU_ASSERT_EQUAL(pci_msix_init(&x, &dev, 2, 0, 4, 0x800, &rec_ops, NULL,
				      24), -EINVAL);
}

CUTEST_MAIN("vcpu-msix",
	CUTEST(test_capability_layout),
	CUTEST(test_route_follows_masks),
	CUTEST(test_pba_shows_pending),
	CUTEST(test_init_errors));
