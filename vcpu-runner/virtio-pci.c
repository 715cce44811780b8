/* virtio-pci modern transport for vhost-user back-ends (virtio-pci.h).
 *
 * BAR0 (32-bit MMIO, 32 KiB):
 *   0x0000  common configuration (virtio 1.x 4.1.4.3)
 *   0x1000  ISR status
 *   0x2000  device configuration (read from the back-end)
 *   0x3000  notify: queue q at 0x3000 + 4 * q (notify_off_multiplier 4),
 *           each an accelerator doorbell on the queue's kick eventfd
 *   0x4000  MSI-X table, 0x5000 PBA: vector 0 for config changes by
 *           convention, one per queue after it
 *
 * INTx (MSI-X off): the queues' call eventfds are watched by the runner's
 * event loop (virtio_pci_intx_event), which sets ISR bit 0 and raises INTA
 * through an irqfd with a resample eventfd: the line stays asserted until
 * the guest's EOI, and is asserted again then while ISR is still set.
 * Reading ISR clears it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "pci-msix.h"
#include "vhost_user.h"
#include "vhost-user-frontend.h"
#include "virtio-pci.h"
#include "virtq.h"

#define VP_BAR_SIZE		0x8000
#define VP_COMMON		0x0000
#define VP_ISR			0x1000
#define VP_DEVICE		0x2000
#define VP_DEVICE_SIZE		0x100
#define VP_NOTIFY		0x3000
#define VP_NOTIFY_MULT		4
#define VP_MSIX_TABLE		0x4000
#define VP_MSIX_PBA		0x5000

#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4
#define PCI_CAP_ID_VNDR			0x09

#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80
#define VIRTIO_MSI_NO_VECTOR		0xffff

#define VP_QUEUE_MAX_SIZE	256

/* What this transport lets through of the back-end's features: the
 * device-specific bits, indirect descriptors, event index, VERSION_1.
 * Not (yet): packed rings, ACCESS_PLATFORM and the other transport bits. */
#define VP_TRANSPORT_FEATURES \
	(0xffffffULL | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_VERSION_1))

/* Common configuration layout (virtio 1.x struct virtio_pci_common_cfg). */
struct vp_common {
	uint32_t device_feature_select;
	uint32_t device_feature;
	uint32_t driver_feature_select;
	uint32_t driver_feature;
	uint16_t config_msix_vector;
	uint16_t num_queues;
	uint8_t device_status;
	uint8_t config_generation;
	uint16_t queue_select;
	uint16_t queue_size;
	uint16_t queue_msix_vector;
	uint16_t queue_enable;
	uint16_t queue_notify_off;
	uint64_t queue_desc;
	uint64_t queue_driver;
	uint64_t queue_device;
} __attribute__((packed));

struct virtio_pci {
	struct pci_device pci;
	struct pci_msix msix;
	struct machine *m;
	int memfd;
	char name[32];
	struct vhost_user_frontend vu;
	uint64_t device_features;	/* offered to the driver */
	uint64_t driver_features;
	uint32_t device_feature_select, driver_feature_select;
	uint16_t config_vector, queue_select;
	uint8_t status;
	bool started;
	uint64_t bar_addr;		/* where the doorbells are; 0: none */
	uint8_t local_config[VP_DEVICE_SIZE];	/* for back-ends without GET_CONFIG */
	bool has_local_config;
	uint32_t isr;			/* INTx cause bits; atomic, read clears */
	int intx_fd, resample_fd;	/* INTA's irqfd and its resample fd */
	int intx_gsi;
	unsigned num_queues;
	struct vp_queue {
		uint16_t size, vector, enable;
		uint64_t desc, avail, used;
		int kick_fd;		/* doorbell -> back-end */
		int idle_call_fd;	/* call fd of a queue without a vector */
	} q[VHOST_USER_FRONTEND_MAX_QUEUES];
};

/* ---- queues on the back-end ---------------------------------------------- */

static void vp_queue_reset(struct vp_queue *q)
{
	q->size = VP_QUEUE_MAX_SIZE;
	q->vector = VIRTIO_MSI_NO_VECTOR;
	q->enable = 0;
	q->desc = q->avail = q->used = 0;
}

static void vp_stop(struct virtio_pci *vp)
{
	if (vp->started && vhost_user_frontend_stop(&vp->vu, NULL) < 0)
		log_warnx("%s: the back-end did not stop its rings cleanly",
			  vp->name);
	vp->started = false;
}

static void vp_reset(struct virtio_pci *vp)
{
	vp_stop(vp);
	vp->status = 0;
	vp->driver_features = 0;
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	vp->queue_select = 0;
	for (unsigned i = 0; i < vp->num_queues; i++)
		vp_queue_reset(&vp->q[i]);
}

/* An error the guest or the back-end caused: the device needs a reset;
 * the VM goes on. */
static void vp_needs_reset(struct virtio_pci *vp, const char *why)
{
	log_warnx("%s: %s; the device needs a reset", vp->name, why);
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
}

/* resume: each ring continues at its used index (the back-end redoes
 * what the inflight buffer says was in flight). */
static void vp_start(struct virtio_pci *vp, bool resume)
{
	struct vhost_user_ring rings[VHOST_USER_FRONTEND_MAX_QUEUES];
	int err;

	memset(rings, 0, sizeof(rings));
	for (unsigned i = 0; i < vp->num_queues; i++) {
		struct vp_queue *q = &vp->q[i];
		int call = pci_msix_enabled(&vp->msix) ?
			   pci_msix_vector_fd(&vp->msix, q->vector) : -1;

		if (!q->enable)
			continue;
		rings[i] = (struct vhost_user_ring){
			.size = q->size, .desc = q->desc, .avail = q->avail,
			.used = q->used, .kick_fd = q->kick_fd,
			.call_fd = call >= 0 ? call : q->idle_call_fd,
		};
		if (resume) {
			volatile uint16_t *used_idx =
				guest_mem_ptr(&vp->m->mem, q->used + 2, 2);

			rings[i].base = used_idx != NULL ? *used_idx : 0;
		}
	}
	/* Bits the transport added on the back-end's behalf (local config)
	 * are not the back-end's to see. */
	err = vhost_user_frontend_start(&vp->vu, vp->driver_features & vp->vu.features,
					&vp->m->mem, vp->memfd, rings,
					vp->num_queues, VP_QUEUE_MAX_SIZE);
	vp->started = true;	/* whatever did start is stopped on reset */
	if (err < 0) {
		vp_needs_reset(vp, "the back-end did not start the rings");
		return;
	}
	/* Let the back-end look at the avail rings in case the driver
	 * notified while nobody listened. */
	for (unsigned i = 0; resume && i < vp->num_queues; i++) {
		uint64_t one = 1;

		if (vp->q[i].enable && write(vp->q[i].kick_fd, &one, sizeof(one)) < 0)
			log_warn("%s: kick queue %u", vp->name, i);
	}
}

static void vp_set_status(struct virtio_pci *vp, uint8_t val)
{
	uint8_t newly = val & ~vp->status;

	if (val == 0) {
		vp_reset(vp);
		return;
	}
	if (newly & VIRTIO_STATUS_FEATURES_OK) {
		if ((vp->driver_features & ~vp->device_features) ||
		    !(vp->driver_features & (1ULL << VIRTIO_F_VERSION_1)))
			val &= ~VIRTIO_STATUS_FEATURES_OK;	/* refused */
	}
	vp->status = val | (vp->status & VIRTIO_STATUS_NEEDS_RESET);
	if ((newly & VIRTIO_STATUS_DRIVER_OK) && !vp->started &&
	    (vp->status & VIRTIO_STATUS_FEATURES_OK))
		vp_start(vp, false);
}

/* ---- BAR0 ---------------------------------------------------------------- */

static struct vp_queue *vp_selected(struct virtio_pci *vp)
{
	return vp->queue_select < vp->num_queues ? &vp->q[vp->queue_select] : NULL;
}

static uint64_t vp_common_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
	struct vp_queue *q = vp_selected(vp);
	struct vp_common c = {
		.device_feature_select = vp->device_feature_select,
		.device_feature = vp->device_feature_select < 2 ?
			(uint32_t)(vp->device_features >> (32 * vp->device_feature_select)) : 0,
		.driver_feature_select = vp->driver_feature_select,
		.driver_feature = vp->driver_feature_select < 2 ?
			(uint32_t)(vp->driver_features >> (32 * vp->driver_feature_select)) : 0,
		.config_msix_vector = vp->config_vector,
		.num_queues = (uint16_t)vp->num_queues,
		.device_status = vp->status,
		.queue_select = vp->queue_select,
	};
	uint64_t val = 0;

	if (q != NULL) {
		c.queue_size = q->size;
		c.queue_msix_vector = q->vector;
		c.queue_enable = q->enable;
		c.queue_notify_off = vp->queue_select;
		c.queue_desc = q->desc;
		c.queue_driver = q->avail;
		c.queue_device = q->used;
	}
	if (off + size <= sizeof(c))
		memcpy(&val, (uint8_t *)&c + off, size);
	return val;
}

static void set_half(uint64_t *v, unsigned half, uint32_t val)
{
	*v = (*v & ~(0xffffffffULL << (32 * half))) | (uint64_t)val << (32 * half);
}

/* A ring address, written as two 32-bit halves or one 64-bit access. */
static void vp_write_addr(uint64_t *field, uint64_t off, unsigned size,
			  uint64_t val)
{
	if (size == 8)
		*field = val;
	else if (size == 4)
		set_half(field, (off & 4) ? 1 : 0, (uint32_t)val);
}

static uint16_t vp_vector(const struct virtio_pci *vp, uint64_t val)
{
	return val < vp->msix.nr_vectors ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
}

static void vp_common_write(struct virtio_pci *vp, uint64_t off, unsigned size,
			    uint64_t val)
{
	struct vp_queue *q = vp_selected(vp);
	/* Queue fields are frozen once the device runs. */
	bool q_writable = q != NULL && !(vp->status & VIRTIO_STATUS_DRIVER_OK);

	switch (off) {
	case offsetof(struct vp_common, device_feature_select):
		vp->device_feature_select = (uint32_t)val;
		break;
	case offsetof(struct vp_common, driver_feature_select):
		vp->driver_feature_select = (uint32_t)val;
		break;
	case offsetof(struct vp_common, driver_feature):
		if (vp->driver_feature_select < 2 &&
		    !(vp->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&vp->driver_features, vp->driver_feature_select,
				 (uint32_t)val);
		break;
	case offsetof(struct vp_common, config_msix_vector):
		vp->config_vector = vp_vector(vp, val);
		break;
	case offsetof(struct vp_common, device_status):
		vp_set_status(vp, (uint8_t)val);
		break;
	case offsetof(struct vp_common, queue_select):
		vp->queue_select = (uint16_t)val;
		break;
	case offsetof(struct vp_common, queue_size):
		/* Split rings: a power of two up to the maximum. */
		if (q_writable && val != 0 && val <= VP_QUEUE_MAX_SIZE &&
		    (val & (val - 1)) == 0)
			q->size = (uint16_t)val;
		break;
	case offsetof(struct vp_common, queue_msix_vector):
		if (q_writable)
			q->vector = vp_vector(vp, val);
		break;
	case offsetof(struct vp_common, queue_enable):
		if (q != NULL && val == 1 && (vp->status & VIRTIO_STATUS_DRIVER_OK) &&
		    !q->enable)
			log_warnx("%s: enabling a queue after DRIVER_OK: not "
				  "supported yet", vp->name);
		else if (q_writable && val == 1)
			q->enable = 1;
		break;
	case offsetof(struct vp_common, queue_desc):
	case offsetof(struct vp_common, queue_desc) + 4:
		if (q_writable)
			vp_write_addr(&q->desc, off, size, val);
		break;
	case offsetof(struct vp_common, queue_driver):
	case offsetof(struct vp_common, queue_driver) + 4:
		if (q_writable)
			vp_write_addr(&q->avail, off, size, val);
		break;
	case offsetof(struct vp_common, queue_device):
	case offsetof(struct vp_common, queue_device) + 4:
		if (q_writable)
			vp_write_addr(&q->used, off, size, val);
		break;
	default:
		break;			/* read-only or reserved */
	}
}

static uint64_t vp_bar_read(void *opaque, uint64_t addr, unsigned size)
{
	struct virtio_pci *vp = opaque;
	uint64_t off = addr - vp->pci.bar[0].addr, val = 0;

	if (off < VP_ISR)
		return vp_common_read(vp, off - VP_COMMON, size);
	if (off >= VP_DEVICE && off + size <= VP_DEVICE + VP_DEVICE_SIZE) {
		if (vp->has_local_config) {
			memcpy(&val, vp->local_config + (off - VP_DEVICE), size);
			return val;
		}
		/* Not cached: the back-end's config may change (capacity). */
		if (vhost_user_frontend_get_config(&vp->vu, (uint32_t)(off - VP_DEVICE),
						   &val, size) < 0)
			val = 0;
		return val;
	}
	if (off >= VP_MSIX_TABLE && pci_msix_bar_read(&vp->msix, off, size, &val))
		return val;
	/* ISR: set only under INTx (with MSI-X the back-end's signals go
	 * straight to the vectors' irqfds); reading clears it.  The line
	 * itself drops at the guest's EOI (resample). */
	if (off == VP_ISR)
		return __atomic_exchange_n(&vp->isr, 0, __ATOMIC_SEQ_CST);
	return 0;
}

static void vp_bar_write(void *opaque, uint64_t addr, unsigned size, uint64_t val)
{
	struct virtio_pci *vp = opaque;
	uint64_t off = addr - vp->pci.bar[0].addr;

	if (off < VP_ISR) {
		vp_common_write(vp, off - VP_COMMON, size, val);
	} else if (off >= VP_DEVICE && off + size <= VP_DEVICE + VP_DEVICE_SIZE) {
		if (vhost_user_frontend_set_config(&vp->vu, (uint32_t)(off - VP_DEVICE),
						   &val, size) < 0)
			log_debug("virtio", "%s: config write at %#llx ignored",
				  vp->name, (unsigned long long)(off - VP_DEVICE));
	} else if (off >= VP_NOTIFY && off < VP_NOTIFY + VP_NOTIFY_MULT * vp->num_queues) {
		/* A notify the doorbell did not catch (another access size,
		 * or no doorbells): kick the back-end ourselves. */
		uint64_t one = 1;
		unsigned q = (unsigned)((off - VP_NOTIFY) / VP_NOTIFY_MULT);

		if (write(vp->q[q].kick_fd, &one, sizeof(one)) < 0)
			log_warn("%s: kick queue %u", vp->name, q);
	} else if (off >= VP_MSIX_TABLE) {
		pci_msix_bar_write(&vp->msix, off, size, val);
	}
}

static const struct io_handler vp_bar_ops = {
	.read = vp_bar_read, .write = vp_bar_write,
};

/* The doorbells follow BAR0 wherever the guest puts it. */
static void vp_doorbells(struct virtio_pci *vp, uint64_t addr, bool add)
{
	const struct accel_ops *ops = vp->m->ops;

	for (unsigned i = 0; i < vp->num_queues; i++) {
		uint64_t db = addr + VP_NOTIFY + VP_NOTIFY_MULT * i;
		int err = add ? ops->doorbell_add(vp->m->vm, db, 2, 0, 0, vp->q[i].kick_fd)
			      : ops->doorbell_del(vp->m->vm, db, 2, 0, 0, vp->q[i].kick_fd);

		if (err < 0)
			log_warnx("%s: doorbell at %#llx: %s", vp->name,
				  (unsigned long long)db, strerror(-err));
	}
	vp->bar_addr = add ? addr : 0;
}

static void vp_bar_mapped(struct pci_device *d, unsigned idx, uint64_t addr,
			  bool mapped)
{
	struct virtio_pci *vp = d->opaque;

	if (idx != 0)
		return;
	if (vp->bar_addr != 0)
		vp_doorbells(vp, vp->bar_addr, false);
	if (mapped)
		vp_doorbells(vp, addr, true);
}

static void vp_config_written(struct pci_device *d, unsigned off, unsigned size)
{
	struct virtio_pci *vp = d->opaque;

	pci_msix_config_written(&vp->msix, off, size);
}

/* ---- INTx ---------------------------------------------------------------- */

static void vp_intx_assert(struct virtio_pci *vp)
{
	uint64_t one = 1;
	uint16_t cmd;

	memcpy(&cmd, &vp->pci.cfg[PCI_COMMAND], 2);
	if (cmd & PCI_COMMAND_INTX_DISABLE)
		return;
	if (write(vp->intx_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("%s: INTx", vp->name);
}

unsigned virtio_pci_intx_fds(const struct virtio_pci *vp, int *fds, unsigned max)
{
	unsigned n = 0;

	if (vp->intx_fd < 0)
		return 0;
	if (n < max)
		fds[n++] = vp->resample_fd;
	for (unsigned i = 0; i < vp->num_queues && n < max; i++)
		fds[n++] = vp->q[i].idle_call_fd;
	return n;
}

void virtio_pci_intx_event(struct virtio_pci *vp, int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;			/* EAGAIN: taken already */
	if (fd == vp->resample_fd) {
		/* The guest EOI'd and the line dropped: up again while a
		 * cause is left unread. */
		if (__atomic_load_n(&vp->isr, __ATOMIC_SEQ_CST) != 0)
			vp_intx_assert(vp);
		return;
	}
	/* A queue's call fd without an MSI-X vector: INTx while MSI-X is
	 * off; with MSI-X on such a queue has no interrupt (virtio 1.x). */
	if (pci_msix_enabled(&vp->msix))
		return;
	__atomic_fetch_or(&vp->isr, 1, __ATOMIC_SEQ_CST);
	vp_intx_assert(vp);
}

/* INTA on the GSI the slot's pin is wired to, as a resampled irqfd. */
static int vp_intx_init(struct virtio_pci *vp)
{
	int gsi = pci_device_intx_gsi(&vp->pci), err;

	if (gsi < 0)
		return gsi;
	vp->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vp->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vp->intx_fd < 0 || vp->resample_fd < 0)
		return -errno;
	err = vp->m->ops->irqfd_add(vp->m->vm, (unsigned)gsi, vp->intx_fd,
				    vp->resample_fd);
	if (err < 0) {
		log_warnx("%s: INTx on GSI %d: %s; MSI-X only", vp->name, gsi,
			  strerror(-err));
		close(vp->intx_fd);
		close(vp->resample_fd);
		vp->intx_fd = vp->resample_fd = -1;
		return 0;
	}
	vp->intx_gsi = gsi;
	return 0;
}

/* ---- set-up -------------------------------------------------------------- */

static int vp_add_cap(struct pci_device *d, uint8_t type, uint32_t offset,
		      uint32_t length, bool notify)
{
	unsigned len = notify ? 20 : 16;
	int cap = pci_device_add_cap(d, PCI_CAP_ID_VNDR, len);
	uint32_t mult = VP_NOTIFY_MULT;

	if (cap < 0)
		return cap;
	d->cfg[cap + 2] = (uint8_t)len;
	d->cfg[cap + 3] = type;
	d->cfg[cap + 4] = 0;		/* BAR0 */
	memcpy(&d->cfg[cap + 8], &offset, 4);
	memcpy(&d->cfg[cap + 12], &length, 4);
	if (notify)
		memcpy(&d->cfg[cap + 16], &mult, 4);
	return 0;
}

static uint32_t vp_class(unsigned device_type)
{
	switch (device_type) {
	case VIRTIO_ID_NET:	return 0x020000;	/* Ethernet */
	case VIRTIO_ID_BLOCK:	return 0x018000;	/* other mass storage */
	default:		return 0xff0000;
	}
}

static int vp_init_function(struct virtio_pci *vp, unsigned device_type)
{
	struct pci_device *d = &vp->pci;
	int err;

	pci_device_init(d, vp->name, 0x1af4, (uint16_t)(0x1040 + device_type),
			vp_class(device_type), 1);
	d->cfg[PCI_SUBSYSTEM_VENDOR_ID] = 0xf4;
	d->cfg[PCI_SUBSYSTEM_VENDOR_ID + 1] = 0x1a;
	d->cfg[PCI_SUBSYSTEM_ID] = 0x00;
	d->cfg[PCI_SUBSYSTEM_ID + 1] = 0x11;
	d->opaque = vp;
	pci_device_set_intx_pin(d, 1);			/* INTA */
	d->config_written = vp_config_written;
	d->bar_mapped = vp_bar_mapped;
	err = pci_device_add_bar(d, 0, VP_BAR_SIZE, 0, &vp_bar_ops, vp);
	if (err == 0)
		err = vp_add_cap(d, VIRTIO_PCI_CAP_COMMON_CFG, VP_COMMON,
				 sizeof(struct vp_common), false);
	if (err == 0)
		err = vp_add_cap(d, VIRTIO_PCI_CAP_ISR_CFG, VP_ISR, 4, false);
	if (err == 0)
		err = vp_add_cap(d, VIRTIO_PCI_CAP_DEVICE_CFG, VP_DEVICE,
				 VP_DEVICE_SIZE, false);
	if (err == 0)
		err = vp_add_cap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, VP_NOTIFY,
				 VP_NOTIFY_MULT * vp->num_queues, true);
	return err;
}

int virtio_pci_vhost_user_create(struct pci_host *host, struct machine *m,
				 int memfd, unsigned slot,
				 unsigned device_type, const char *name,
				 int sock, int timeout_ms,
				 struct virtio_pci **out)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	int err;

	if (vp == NULL) {
		close(sock);
		return -ENOMEM;
	}
	vp->m = m;
	vp->memfd = memfd;
	vp->intx_fd = vp->resample_fd = -1;
	snprintf(vp->name, sizeof(vp->name), "%s", name);
	for (unsigned i = 0; i < VHOST_USER_FRONTEND_MAX_QUEUES; i++)
		vp->q[i].kick_fd = vp->q[i].idle_call_fd = -1;
	err = vhost_user_frontend_init(&vp->vu, vp->name, sock, timeout_ms);
	if (err < 0)
		goto fail;
	if (!(vp->vu.features & (1ULL << VIRTIO_F_VERSION_1))) {
		log_warnx("%s: the back-end does not offer VIRTIO_F_VERSION_1; "
			  "legacy virtio devices are not supported", name);
		err = -ENOTSUP;
		goto fail;
	}
	vp->device_features = vp->vu.features & VP_TRANSPORT_FEATURES;
	vp->num_queues = vp->vu.num_queues;
	for (unsigned i = 0; i < vp->num_queues; i++) {
		vp->q[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		vp->q[i].idle_call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->q[i].kick_fd < 0 || vp->q[i].idle_call_fd < 0) {
			err = -errno;
			goto fail;
		}
	}
	vp_reset(vp);
	err = vp_init_function(vp, device_type);
	if (err == 0)
		err = pci_msix_init(&vp->msix, &vp->pci, 1 + vp->num_queues, 0,
				    VP_MSIX_TABLE, VP_MSIX_PBA, m->ops, m->vm,
				    32 + 16 * slot);
	if (err == 0)
		err = pci_host_add_device(host, &vp->pci, slot);
	if (err == 0)
		err = vp_intx_init(vp);
	if (err < 0)
		goto fail;
	log_info("%s: virtio-pci 1af4:%04x at 00:%02x.0, vhost-user back-end with "
		 "%u queue%s, features %#llx", name, 0x1040 + device_type, slot,
		 vp->num_queues, vp->num_queues == 1 ? "" : "s",
		 (unsigned long long)vp->device_features);
	*out = vp;
	return 0;
fail:
	virtio_pci_destroy(vp);
	return err;
}

int virtio_pci_reconnect(struct virtio_pci *vp, int sock)
{
	int err;

	pthread_mutex_lock(&vp->m->io_lock);
	err = vhost_user_frontend_reconnect(&vp->vu, sock, vp->driver_features);
	if (err < 0) {
		/* The rings stay marked running: a later connection resumes
		 * them (the caller may retry). */
		log_warnx("%s: the new back-end cannot take over (yet)", vp->name);
	} else if (vp->started) {
		vp->started = false;
		vp_start(vp, true);
	}
	pthread_mutex_unlock(&vp->m->io_lock);
	if (err == 0)
		log_info("%s: reconnected to the vhost-user back-end%s", vp->name,
			 vp->status & VIRTIO_STATUS_DRIVER_OK ?
			 "; rings resumed at their used index" : "");
	return err;
}

bool virtio_pci_local_config(struct virtio_pci *vp, const void *cfg, size_t len,
			     uint64_t features)
{
	if (vp->vu.protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_CONFIG))
		return false;
	memset(vp->local_config, 0, sizeof(vp->local_config));
	memcpy(vp->local_config, cfg, len < sizeof(vp->local_config) ? len
								     : sizeof(vp->local_config));
	vp->has_local_config = true;
	vp->device_features |= features;
	return true;
}

unsigned virtio_pci_num_queues(const struct virtio_pci *vp)
{
	return vp->num_queues;
}

uint64_t virtio_pci_device_features(const struct virtio_pci *vp)
{
	return vp->device_features;
}

int virtio_pci_socket(const struct virtio_pci *vp)
{
	return vp->vu.sock;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (vp == NULL)
		return;
	if (vp->vu.sock >= 0)
		vp_stop(vp);
	if (vp->bar_addr != 0)
		vp_doorbells(vp, vp->bar_addr, false);
	pci_msix_fini(&vp->msix);
	if (vp->intx_fd >= 0)
		vp->m->ops->irqfd_del(vp->m->vm, (unsigned)vp->intx_gsi, vp->intx_fd);
	if (vp->intx_fd >= 0)
		close(vp->intx_fd);
	if (vp->resample_fd >= 0)
		close(vp->resample_fd);
	vhost_user_frontend_fini(&vp->vu);
	for (unsigned i = 0; i < VHOST_USER_FRONTEND_MAX_QUEUES; i++) {
		if (vp->q[i].kick_fd >= 0)
			close(vp->q[i].kick_fd);
		if (vp->q[i].idle_call_fd >= 0)
			close(vp->q[i].idle_call_fd);
	}
	free(vp);
}
