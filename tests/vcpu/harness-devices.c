/* The legacy device models and the test exit port on the runner's I/O
 * bus.  The mica-vcpu daemon will forward these ports to mica-legacy
 * instead; the callbacks below are what that process provides. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "harness.h"
#include "dev-legacy/legacy.h"
#include "layout.h"
#include "pci.h"
#include "pci-msix.h"

static struct machine *harness_machine;
static struct legacy_bus legacy;
static struct pci_host pci;

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

static int testdev_init(struct pci_host *host, struct machine *m)
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

static void testdev_fini(void)
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

static void host_set_irq(void *opaque, unsigned irq, int level)
{
	struct machine *m = opaque;

	m->ops->irq_line(m->vm, irq, level);
}

static void host_output(void *opaque, const uint8_t *buf, size_t len)
{
	fwrite(buf, 1, len, stdout);
	if (len > 0 && buf[len - 1] == '\n')
		fflush(stdout);
}

static void host_reset(void *opaque)
{
	machine_request_stop(opaque, MACHINE_RESET, 0);
}

static void host_poweroff(void *opaque)
{
	machine_request_stop(opaque, MACHINE_POWEROFF, 0);
}

static struct legacy_host host = {
	.set_irq = host_set_irq,
	.output = host_output,
	.reset = host_reset,
	.poweroff = host_poweroff,
};

/* Console input for COM1 (guest-run -r): fed as the FIFO drains, on
 * guest reads only, so bytes are not thrown away by the FIFO reset of a
 * driver that is still initialising the UART. */
static const char *console_input;
static size_t console_input_left;

static void console_feed(void)
{
	size_t n;

	if (console_input_left == 0 || legacy.com1 == NULL)
		return;
	n = uart8250_rx_room(legacy.com1);
	if (n > console_input_left)
		n = console_input_left;
	n = uart8250_receive(legacy.com1, (const uint8_t *)console_input, n);
	console_input += n;
	console_input_left -= n;
}

void harness_console_input(const char *text)
{
	console_input = text;
	console_input_left = strlen(text);
}

static uint64_t legacy_io_read(void *opaque, uint64_t addr, unsigned size)
{
	struct legacy_dev *dev = opaque;
	uint64_t val = dev->ops->read(dev, (uint16_t)addr, size);

	if (dev == legacy.com1)
		console_feed();
	return val;
}

static void legacy_io_write(void *opaque, uint64_t addr, unsigned size,
			    uint64_t val)
{
	struct legacy_dev *dev = opaque;

	dev->ops->write(dev, (uint16_t)addr, size, (uint32_t)val);
}

static const struct io_handler legacy_io = {
	.read = legacy_io_read,
	.write = legacy_io_write,
};

static void exit_port_write(void *opaque, uint64_t addr, unsigned size,
			    uint64_t val)
{
	fflush(stdout);
	machine_request_stop(opaque, MACHINE_EXIT, (int)(val & 0xff));
}

static const struct io_handler exit_port = { .write = exit_port_write };

/* Port 0xf5: the guest marks phase boundaries; the harness prints the
 * time since the previous mark ("guest-run: mark N: T us"). */
static double mark_last;

static void mark_port_write(void *opaque, uint64_t addr, unsigned size,
			    uint64_t val)
{
	struct timespec ts;
	double now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
	if (val != 0)
		fprintf(stderr, "guest-run: mark %u: %.0f us\n",
			(unsigned)val, now - mark_last);
	mark_last = now;
}

static const struct io_handler mark_port = { .write = mark_port_write };

int harness_devices_init(struct machine *m, unsigned nr_vcpus)
{
	int err;

	harness_machine = m;
	host.opaque = m;
	/* The legacy devices outlive a machine across reboots, as
	 * mica-legacy outlives a restarted mica-vcpu. */
	if (legacy.nr == 0 && (err = legacy_bus_create_pc(&legacy, &host)) < 0)
		return err;
	for (unsigned i = 0; i < legacy.nr; i++) {
		struct legacy_dev *dev = legacy.dev[i];

		for (unsigned r = 0; r < dev->nr_ports; r++) {
			err = iobus_register(&m->pio, dev->ports[r].base,
					     dev->ports[r].len, &legacy_io, dev);
			if (err < 0)
				return err;
		}
	}
	err = pci_host_init(&pci, &m->pio, &m->mmio);
	pci_host_set_mmio64(&pci, guest_mem_pci_mmio64(&m->mem),
			    LAYOUT_PCI_MMIO64_SIZE);
	if (err == 0)
		err = testdev_init(&pci, m);
	if (err < 0)
		return err;
	err = iobus_register(&m->pio, HARNESS_MARK_PORT, 1, &mark_port, m);
	if (err < 0)
		return err;
	return iobus_register(&m->pio, HARNESS_EXIT_PORT, 1, &exit_port, m);
}

void harness_devices_detach(void)
{
	pci_host_fini(&pci);
	testdev_fini();
}

void harness_devices_fini(void)
{
	harness_devices_detach();
	legacy_bus_destroy(&legacy);
}
