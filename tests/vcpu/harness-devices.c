#define _GNU_SOURCE
/* The legacy device models and the test exit port on the runner's I/O
 * bus.  The mica-vcpu daemon will forward these ports to mica-legacy
 * instead; the callbacks below are what that process provides. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "harness.h"
#include "dev-legacy/legacy.h"
#include "layout.h"
#include "pci.h"
#include "pci-testdev.h"
#include "virtio-pci.h"

static struct machine *harness_machine;
static struct legacy_bus legacy;
static struct pci_host pci;
/* guest-run -b: a virtio-blk function on a vhost-user back-end's socket */
static const char *vhost_user_blk_path;
static int guest_ram_fd = -1;
static struct virtio_pci *virtio_blk;
static pthread_t watch_thread;
static int watch_stop_fd = -1;
#define VIRTIO_BLK_SLOT 4

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

void harness_vhost_user_blk(const char *socket_path, int memfd)
{
	vhost_user_blk_path = socket_path;
	guest_ram_fd = memfd;
}

/* Connect to the back-end's socket, retrying for up to 5 s (it may be
 * starting or restarting).  The socket or a negative errno. */
static int connect_backend(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock = -1, err = -ENOENT;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", vhost_user_blk_path);
	for (int tries = 0; tries < 500; tries++) {
		sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sock < 0)
			return -errno;
		if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			err = 0;
			break;
		}
		err = -errno;
		close(sock);
		usleep(10000);
	}
	if (err < 0) {
		log_warnx("cannot connect to %s: %s", vhost_user_blk_path,
			  strerror(-err));
		return err;
	}
	return sock;
}

/* When the back-end goes away (killed, restarted), connect to its
 * successor on the same path and let the device resume, as mica-vcpu does
 * when mica hands it the restarted mica-blk's channel end. */
static void *watch_backend(void *arg)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = virtio_pci_socket(virtio_blk), .events = POLLRDHUP },
			{ .fd = watch_stop_fd, .events = POLLIN },
		};
		int sock;

		if (poll(p, 2, -1) < 0 || (p[1].revents & POLLIN))
			return NULL;
		if (!(p[0].revents & (POLLRDHUP | POLLHUP | POLLERR)))
			continue;
		fprintf(stderr, "guest-run: vhost-user back-end went away, reconnecting\n");
		/* A dying back-end may still accept: try a few times. */
		for (int tries = 0;; tries++) {
			sock = connect_backend();
			if (sock < 0)
				return NULL;
			if (virtio_pci_reconnect(virtio_blk, sock) == 0)
				break;
			if (tries == 20)
				return NULL;
			usleep(100000);
		}
	}
}

/* A fresh connection for each machine, as a restarted runner would. */
static int attach_virtio_blk(struct machine *m)
{
	int sock, err;

	if (vhost_user_blk_path == NULL)
		return 0;
	sock = connect_backend();
	if (sock < 0)
		return sock;
	err = virtio_pci_vhost_user_create(&pci, m, guest_ram_fd,
					   VIRTIO_BLK_SLOT, VIRTIO_ID_BLOCK,
					   "virtio-blk", sock, 5000, &virtio_blk);
	if (err < 0)
		return err;
	watch_stop_fd = eventfd(0, EFD_CLOEXEC);
	if (watch_stop_fd < 0)
		return -errno;
	if (pthread_create(&watch_thread, NULL, watch_backend, NULL) != 0)
		return -EAGAIN;
	return 0;
}

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
		err = pci_testdev_init(&pci, m);
	if (err == 0)
		err = attach_virtio_blk(m);
	if (err < 0)
		return err;
	err = iobus_register(&m->pio, HARNESS_MARK_PORT, 1, &mark_port, m);
	if (err < 0)
		return err;
	return iobus_register(&m->pio, HARNESS_EXIT_PORT, 1, &exit_port, m);
}

void harness_devices_detach(void)
{
	if (watch_stop_fd >= 0) {
		uint64_t one = 1;

		if (write(watch_stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(watch_thread, NULL);
		close(watch_stop_fd);
		watch_stop_fd = -1;
	}
	virtio_pci_destroy(virtio_blk);
	virtio_blk = NULL;
	pci_host_fini(&pci);
	pci_testdev_fini();
}

void harness_devices_fini(void)
{
	harness_devices_detach();
	legacy_bus_destroy(&legacy);
}
