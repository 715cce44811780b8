/* pci-testdev: a PCI function with one BAR of each kind, MSI-X and a
 * doorbell, for the test guests (tests/guests/pci.c, irq.c, bench.c).
 * Used by the guest-run harness and by mica-vcpu with --test-hooks. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "pci-testdev.h"
#include "pci-msix.h"

/* pci-testdev: a PCI function with one BAR of each kind.  BAR0 (MMIO,
 * 4 KiB) reads "MICA" at 0 and a scratch register at 4, and has a
 * doorbell at 0x10 (an accelerator doorbell, no exit) and an INTx
 * control at 0x14 (write 1/0 to assert/deassert INTA); BAR1 (I/O, 256
 * bytes) reads the port offset; BAR2 (64-bit MMIO, 1 MiB) holds the
 * MSI-X table (0) and PBA (0x800) for 2 vectors; BAR4 (64-bit
 * prefetchable, 1 MiB) lands in the 64-bit window and reads zero.
 *
 * A "backend" thread waits on the doorbell eventfd and raises MSI-X
 * vector 0 through its eventfd: the vhost-style path where neither the
 * notification nor the interrupt passes through the vCPU thread. */
#define TESTDEV_VENDOR 0x1b36
#define TESTDEV_DEVICE 0x0005
#define TESTDEV_CLASS  0x00ff00

#define TESTDEV_DOORBELL 0x10
#define TESTDEV_INTX     0x14
#define TESTDEV_MSIX_GSI 24

static struct pci_testdev {
	struct pci_device pci;
	struct pci_msix msix;
	uint32_t scratch;
	int doorbell_fd, stop_fd;
	pthread_t backend;
	bool backend_running;
	struct machine *m;
} testdev = { .doorbell_fd = -1, .stop_fd = -1 };

static uint64_t testdev_bar0_read(void *opaque, uint64_t addr, unsigned size)
{
	struct pci_testdev *t = opaque;
	uint64_t off = addr - t->pci.bar[0].addr;

	if (off == 0)
		return 0x4143494d;		/* "MICA" */
	if (off == 4)
		return t->scratch;
	return 0;
}

static void testdev_bar0_write(void *opaque, uint64_t addr, unsigned size,
			       uint64_t val)
{
	struct pci_testdev *t = opaque;
	uint64_t off = addr - t->pci.bar[0].addr;
	int gsi = pci_device_intx_gsi(&t->pci);

	if (off == 4)
		t->scratch = (uint32_t)val;
	else if (off == TESTDEV_INTX && gsi >= 0)
		t->m->ops->irq_line(t->m->vm, (unsigned)gsi, (int)(val & 1));
}

static uint64_t testdev_bar1_read(void *opaque, uint64_t addr, unsigned size)
{
	struct pci_testdev *t = opaque;

	return addr - t->pci.bar[1].addr;
}

static uint64_t testdev_bar2_read(void *opaque, uint64_t addr, unsigned size)
{
	struct pci_testdev *t = opaque;
	uint64_t val = 0;

	pci_msix_bar_read(&t->msix, addr - t->pci.bar[2].addr, size, &val);
	return val;
}

static void testdev_bar2_write(void *opaque, uint64_t addr, unsigned size,
			       uint64_t val)
{
	struct pci_testdev *t = opaque;

	pci_msix_bar_write(&t->msix, addr - t->pci.bar[2].addr, size, val);
}

static uint64_t testdev_bar4_read(void *opaque, uint64_t addr, unsigned size)
{
	return 0;
}

static const struct io_handler testdev_bar4 = { .read = testdev_bar4_read };

static const struct io_handler testdev_bar0 = {
	.read = testdev_bar0_read, .write = testdev_bar0_write,
};
static const struct io_handler testdev_bar1 = { .read = testdev_bar1_read };
static const struct io_handler testdev_bar2 = {
	.read = testdev_bar2_read, .write = testdev_bar2_write,
};

static void testdev_config_written(struct pci_device *d, unsigned off,
				   unsigned size)
{
	pci_msix_config_written(&testdev.msix, off, size);
}

/* The doorbell follows BAR0 wherever the guest puts it. */
static void testdev_bar_mapped(struct pci_device *d, unsigned idx,
			       uint64_t addr, bool mapped)
{
	struct pci_testdev *t = &testdev;
	const struct accel_ops *ops = t->m->ops;
	int err;

	if (idx != 0)
		return;
	if (mapped)
		err = ops->doorbell_add(t->m->vm, addr + TESTDEV_DOORBELL, 4, 0,
					0, t->doorbell_fd);
	else
		err = ops->doorbell_del(t->m->vm, addr + TESTDEV_DOORBELL, 4, 0,
					0, t->doorbell_fd);
	if (err < 0)
		log_warnx("doorbell at %#llx: %s",
			  (unsigned long long)addr + TESTDEV_DOORBELL,
			  strerror(-err));
}

static void *testdev_backend(void *arg)
{
	struct pci_testdev *t = arg;
	struct pollfd p[2] = {
		{ .fd = t->doorbell_fd, .events = POLLIN },
		{ .fd = t->stop_fd, .events = POLLIN },
	};
	uint64_t n;

	while (poll(p, 2, -1) > 0 && !(p[1].revents & POLLIN)) {
		if (read(t->doorbell_fd, &n, sizeof(n)) != sizeof(n))
			continue;
		n = 1;
		if (write(pci_msix_vector_fd(&t->msix, 0), &n, sizeof(n)) < 0)
			log_warn("raise MSI-X vector 0");
	}
	return NULL;
}

int pci_testdev_init(struct pci_host *host, struct machine *m)
{
	struct pci_device *d = &testdev.pci;
	int err;

	testdev.m = m;
	testdev.doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	testdev.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (testdev.doorbell_fd < 0 || testdev.stop_fd < 0)
		return -errno;
	pci_device_init(d, "pci-testdev", TESTDEV_VENDOR, TESTDEV_DEVICE,
			TESTDEV_CLASS, 1);
	d->config_written = testdev_config_written;
	pci_device_set_intx_pin(d, 1);
	d->bar_mapped = testdev_bar_mapped;
	err = pci_device_add_bar(d, 0, 4096, 0, &testdev_bar0, &testdev);
	if (err == 0)
		err = pci_device_add_bar(d, 1, 256, PCI_BAR_IO, &testdev_bar1,
					 &testdev);
	if (err == 0)
		err = pci_device_add_bar(d, 2, 1 << 20, PCI_BAR_MEM64,
					 &testdev_bar2, &testdev);
	if (err == 0)
		err = pci_device_add_bar(d, 4, 1 << 20,
					 PCI_BAR_MEM64 | PCI_BAR_PREFETCH,
					 &testdev_bar4, &testdev);
	if (err == 0)
		err = pci_msix_init(&testdev.msix, d, 2, 2, 0, 0x800, m->ops,
				    m->vm, TESTDEV_MSIX_GSI);
	if (err == 0)
		err = pci_host_add_device(host, d, 3);
	if (err == 0 && pthread_create(&testdev.backend, NULL, testdev_backend,
				       &testdev) == 0)
		testdev.backend_running = true;
	return err;
}

void pci_testdev_fini(void)
{
	uint64_t one = 1;

	if (testdev.backend_running &&
	    write(testdev.stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(testdev.backend, NULL);
	testdev.backend_running = false;
	pci_msix_fini(&testdev.msix);
	if (testdev.doorbell_fd >= 0)
		close(testdev.doorbell_fd);
	if (testdev.stop_fd >= 0)
		close(testdev.stop_fd);
	testdev.doorbell_fd = testdev.stop_fd = -1;
}
