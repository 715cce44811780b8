/* mica-legacy: legacy PC devices (8250 UART on COM1, i8042, CMOS RTC,
 * 0xCF9 reset control, ACPI sleep registers) for the runner.
 *
 * The runner forwards each guest access to these ports over the legacy
 * channel (forward.h): as a datagram, or through a shared-memory slot
 * with eventfd doorbells.  Serial output goes to the console fd; the ISA
 * lines are eventfds the runner registered as irqfds, so interrupts do
 * not pass through the runner; a reset or power-off is returned with the
 * access that caused it and the runner ends the VM.
 *
 * Console input comes from a pipe `mica` fills from its stdin; we read no
 * more than COM1's receive FIFO has room for, so input waits in the pipe
 * while the guest is slow.  The devices' guest-visible state is kept in a
 * page `mica` holds for us (FD_LEGACY_STATE) after every access that
 * changed it; a restarted mica-legacy starts from it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "forward.h"
#include "legacy.h"

extern const struct jail_policy legacy_policy;

#define ISA_IRQS 16

struct legacy {
	struct daemon *d;
	int console_fd;
	int channel_fd;
	int irq_fds[ISA_IRQS];
	struct legacy_bus bus;
	struct legacy_host host;
	struct legacy_dev *rtc;
	int rtc_timer;
	uint32_t access_flags;		/* reset/poweroff by the current access */
	int console_in_fd;
	bool console_in_watched;
	struct legacy_state_page *state;
	/* Each device's state as last written to the page, so that an access
	 * that changed nothing costs one small save and compare. */
	uint8_t dev_state[LEGACY_BUS_MAX][LEGACY_STATE_MAX];
	size_t dev_state_len[LEGACY_BUS_MAX];
	bool console_broken;
	bool bad_access_logged;
	enum legacy_fwd_mode mode;
	/* ring transport */
	struct legacy_fwd_ring *ring;
	int req_efd, reply_efd;
	uint64_t accesses;
};

static struct legacy legacy = {
	.console_fd = -1, .console_in_fd = -1, .channel_fd = -1, .rtc_timer = -1,
	.req_efd = -1, .reply_efd = -1,
};

/* ---- host callbacks for the device models -------------------------------- */

static void host_set_irq(void *opaque, unsigned irq, int level)
{
	struct legacy *l = opaque;
	uint64_t one = 1;

	/* The ISA lines are edge-triggered: the irqfd pulses on 0->1. */
	if (level && irq < ISA_IRQS && l->irq_fds[irq] >= 0 &&
	    write(l->irq_fds[irq], &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("IRQ %u", irq);
}

static void host_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct legacy *l = opaque;

	while (len > 0 && !l->console_broken) {
		ssize_t n = write(l->console_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("console output lost from here on");
			l->console_broken = true;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void host_reset(void *opaque)
{
	((struct legacy *)opaque)->access_flags |= LEGACY_FWD_RESET;
}

static void host_poweroff(void *opaque)
{
	((struct legacy *)opaque)->access_flags |= LEGACY_FWD_POWEROFF;
}

/* ---- device state kept by mica -------------------------------------------- */

/* Two slots: the one gen points at is complete; the other is written and
 * then published by bumping gen, so a kill -9 mid-update loses only that
 * update. */
#define STATE_MAGIC	0x74736c6du	/* "mlst" */
#define STATE_VERSION	1		/* bump when a device's state changes */
#define STATE_SLOT	2000

struct legacy_state_page {
	uint32_t magic, version, gen, reserved;
	struct {
		uint32_t len, sum;
		uint8_t data[STATE_SLOT];
	} slot[2];
};

_Static_assert(sizeof(struct legacy_state_page) <= 4096, "state page");

static uint32_t state_sum(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;		/* FNV-1a */

	while (n-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static void state_save(struct legacy *l)
{
	struct legacy_state_page *p = l->state;
	uint8_t buf[STATE_SLOT];
	uint32_t gen, next;
	size_t n;

	if (p == NULL)
		return;
	for (unsigned i = 0; i < l->bus.nr; i++) {
		const struct legacy_dev *d = l->bus.dev[i];

		l->dev_state_len[i] = d->ops->save != NULL ?
				      d->ops->save(d, l->dev_state[i]) : 0;
	}
	n = legacy_bus_save(&l->bus, buf, sizeof(buf));
	gen = p->gen;
	if (p->magic == STATE_MAGIC && p->slot[gen & 1].len == n &&
	    memcmp(p->slot[gen & 1].data, buf, n) == 0)
		return;
	next = (gen + 1) & 1;
	memcpy(p->slot[next].data, buf, n);
	p->slot[next].len = (uint32_t)n;
	p->slot[next].sum = state_sum(buf, n);
	p->magic = STATE_MAGIC;
	p->version = STATE_VERSION;
	__atomic_store_n(&p->gen, gen + 1, __ATOMIC_RELEASE);
}

/* After an access to dev (NULL: an unclaimed port): write the page if
 * the device's state changed. */
static void state_touch(struct legacy *l, const struct legacy_dev *dev)
{
	uint8_t now[LEGACY_STATE_MAX];
	size_t n;

	if (l->state == NULL || dev == NULL)
		return;
	for (unsigned i = 0; i < l->bus.nr; i++) {
		if (l->bus.dev[i] != dev)
			continue;
		if (dev->ops->save == NULL)
			return;
		n = dev->ops->save(dev, now);
		if (n == l->dev_state_len[i] && memcmp(now, l->dev_state[i], n) == 0)
			return;
		break;
	}
	state_save(l);
}

/* What a restarted mica-legacy finds; returns what the status line says. */
static const char *state_restore(struct legacy *l)
{
	const struct legacy_state_page *p = l->state;
	char why[128];
	uint32_t len;
	const uint8_t *data;

	if (p == NULL)
		return "device state reset (no state page)";
	if (p->magic != STATE_MAGIC)
		return "device state reset (none saved)";
	if (p->version != STATE_VERSION) {
		log_warnx("saved device state has version %u, not %u; devices start "
			  "from reset", p->version, STATE_VERSION);
		return "device state reset (other version)";
	}
	len = p->slot[p->gen & 1].len;
	data = p->slot[p->gen & 1].data;
	if (len > STATE_SLOT || p->slot[p->gen & 1].sum != state_sum(data, len)) {
		log_warnx("saved device state is damaged (length %u or checksum); "
			  "devices start from reset", len);
		return "device state reset (damaged)";
	}
	if (legacy_bus_load(&l->bus, data, len, why, sizeof(why)) < 0) {
		log_warnx("saved device state: %s; the rest starts from reset", why);
		return "device state partly reset";
	}
	log_info("restarted: UART, CMOS and i8042 state restored (%u bytes)", len);
	return "device state restored";
}

static int state_map(struct legacy *l, int fd)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct legacy_state_page)) {
		log_warnx("device state memfd is too small");
		close(fd);
		return -EINVAL;
	}
	p = mmap(NULL, sizeof(struct legacy_state_page), PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	l->state = p;
	return 0;
}

/* ---- console input -------------------------------------------------------- */

static void on_console_in(struct evloop *loop, int fd, uint32_t events, void *arg);

/* Watch the input pipe only while COM1 can take a byte. */
static void console_in_update(struct legacy *l)
{
	bool want = l->console_in_fd >= 0 && uart8250_rx_room(l->bus.com1) > 0;

	if (want == l->console_in_watched)
		return;
	if (want && evloop_add(l->d->loop, l->console_in_fd, EPOLLIN, on_console_in, l) < 0)
		return;
	if (!want)
		evloop_del(l->d->loop, l->console_in_fd);
	l->console_in_watched = want;
}

static void on_console_in(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct legacy *l = arg;
	uint8_t buf[64];
	size_t room = uart8250_rx_room(l->bus.com1);
	ssize_t n;

	n = read(fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			log_warn("console input");
		evloop_del(loop, fd);
		close(fd);
		l->console_in_fd = -1;
		l->console_in_watched = false;
		return;
	}
	uart8250_receive(l->bus.com1, buf, (size_t)n);
	state_touch(l, l->bus.com1);
	console_in_update(l);
}

/* ---- the RTC's timer ------------------------------------------------------ */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void rtc_rearm(struct legacy *l)
{
	uint64_t now = mono_ns(), next;

	if (l->rtc == NULL || l->rtc_timer < 0)
		return;
	next = rtc_poll(l->rtc, now);
	if (next == UINT64_MAX)
		evloop_timer_set(l->rtc_timer, 0, 0);
	else
		evloop_timer_set(l->rtc_timer,
				 next > now + 1000000 ? (next - now) / 1000000 : 1, 0);
}

static void on_rtc_timer(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("RTC timer");
	rtc_rearm(arg);
	state_touch(arg, ((struct legacy *)arg)->rtc);
}

/* ---- one forwarded access ------------------------------------------------- */

static uint32_t legacy_access(struct legacy *l, uint16_t port, unsigned size,
			      bool write, uint32_t value, uint32_t *flags)
{
	const struct legacy_dev *dev;

	l->access_flags = 0;
	l->accesses++;
	if (size != 1 && size != 2 && size != 4) {
		if (!l->bad_access_logged)
			log_warnx("runner sent a %u-byte access to port %#x; "
				  "answering all ones", size, port);
		l->bad_access_logged = true;
		*flags = 0;
		return 0xffffffffu;
	}
	if (write)
		legacy_bus_write(&l->bus, port, size, value);
	else
		value = legacy_bus_read(&l->bus, port, size);
	dev = legacy_bus_find(&l->bus, port);
	if (l->rtc != NULL && dev == l->rtc)
		rtc_rearm(l);
	state_touch(l, dev);
	console_in_update(l);
	*flags = l->access_flags;
	return value;
}

/* ---- ring transport ------------------------------------------------------- */

static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

static void ring_serve_one(struct legacy *l, uint32_t seq)
{
	struct legacy_fwd_ring *r = l->ring;
	uint32_t flags, value;
	uint64_t one = 1;

	value = legacy_access(l, r->port, r->size, r->write, r->value, &flags);
	r->reply_value = value;
	r->reply_flags = flags;
	__atomic_store_n(&r->done_seq, seq, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->runner_sleeping, __ATOMIC_SEQ_CST) &&
	    write(l->reply_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("reply doorbell");
}

/* Serve requests, spinning a little for the next one (a guest printing
 * makes one exit after another), then announce that we sleep. */
static void ring_serve(struct legacy *l)
{
	struct legacy_fwd_ring *r = l->ring;
	uint64_t deadline = mono_ns() + LEGACY_FWD_LEGACY_SPIN_NS;
	unsigned spins = 0;

	__atomic_store_n(&r->legacy_sleeping, 0, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t seq = __atomic_load_n(&r->req_seq, __ATOMIC_ACQUIRE);

		if (seq != __atomic_load_n(&r->done_seq, __ATOMIC_RELAXED)) {
			ring_serve_one(l, seq);
			deadline = mono_ns() + LEGACY_FWD_LEGACY_SPIN_NS;
			continue;
		}
		if ((++spins & 63) == 0 && mono_ns() > deadline) {
			__atomic_store_n(&r->legacy_sleeping, 1, __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&r->req_seq, __ATOMIC_SEQ_CST) ==
			    __atomic_load_n(&r->done_seq, __ATOMIC_RELAXED))
				return;
			__atomic_store_n(&r->legacy_sleeping, 0, __ATOMIC_SEQ_CST);
		}
		cpu_relax();
	}
}

static void on_ring_doorbell(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct legacy *l = arg;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("request doorbell");
	if (l->ring != NULL)
		ring_serve(l);
}

static void ring_drop(struct legacy *l)
{
	if (l->req_efd >= 0) {
		evloop_del(l->d->loop, l->req_efd);
		close(l->req_efd);
	}
	if (l->reply_efd >= 0)
		close(l->reply_efd);
	if (l->ring != NULL)
		munmap(l->ring, LEGACY_FWD_RING_SIZE);
	l->ring = NULL;
	l->req_efd = l->reply_efd = -1;
}

/* fds: ring memfd, request eventfd, reply eventfd (taken over). */
static int ring_start(struct legacy *l, int fds[3])
{
	struct stat st;
	void *p;
	int err;

	if (fstat(fds[0], &st) < 0 || st.st_size < LEGACY_FWD_RING_SIZE) {
		log_warnx("ring memfd is too small");
		return -EINVAL;
	}
	p = mmap(NULL, LEGACY_FWD_RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fds[0], 0);
	if (p == MAP_FAILED)
		return -errno;
	close(fds[0]);
	ring_drop(l);
	l->ring = p;
	l->req_efd = fds[1];
	l->reply_efd = fds[2];
	fds[0] = fds[1] = fds[2] = -1;
	err = evloop_add(l->d->loop, l->req_efd, EPOLLIN, on_ring_doorbell, l);
	if (err < 0)
		return err;
	if (l->ring->magic != LEGACY_FWD_MAGIC) {
		log_warnx("ring has the wrong magic");
		return -EPROTO;
	}
	/* A request may already wait: serve, then sleep properly. */
	ring_serve(l);
	return 0;
}

/* ---- the channel ---------------------------------------------------------- */

static void channel_close(struct legacy *l)
{
	if (l->channel_fd >= 0) {
		evloop_del(l->d->loop, l->channel_fd);
		close(l->channel_fd);
	}
	l->channel_fd = -1;
	ring_drop(l);
}

/* Receive one datagram with up to 3 fds.  Returns its length (0 on EOF)
 * or a negative errno; *nfds says how many fds came (all closed by the
 * caller when it does not take them). */
static ssize_t channel_recv(int fd, struct legacy_fwd_msg *m, int fds[3],
			    unsigned *nfds)
{
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	*nfds = 0;
	n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int rfd;

			memcpy(&rfd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*nfds < 3)
				fds[(*nfds)++] = rfd;
			else
				close(rfd);
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EMSGSIZE;
	return n;
}

static int channel_handle(struct legacy *l, struct legacy_fwd_msg *m, ssize_t n,
			  int fds[3], unsigned nfds)
{
	struct legacy_fwd_msg rep = {
		.magic = LEGACY_FWD_MAGIC, .type = LEGACY_FWD_REPLY,
	};

	if ((size_t)n != sizeof(*m) || m->magic != LEGACY_FWD_MAGIC)
		return -EPROTO;
	if (m->type == LEGACY_FWD_HELLO && m->value == LEGACY_FWD_RING) {
		if (nfds != 3)
			return -EPROTO;
		l->mode = LEGACY_FWD_RING;
		return ring_start(l, fds);
	}
	if (nfds != 0)
		return -EPROTO;
	if (m->type == LEGACY_FWD_HELLO && m->value == LEGACY_FWD_MSG) {
		ring_drop(l);
		l->mode = LEGACY_FWD_MSG;
		return 0;
	}
	if (m->type != LEGACY_FWD_IO || l->mode != LEGACY_FWD_MSG)
		return -EPROTO;
	rep.seq = m->seq;
	rep.value = legacy_access(l, m->port, m->size, m->write != 0, m->value,
				  &rep.flags);
	if (send(l->channel_fd, &rep, sizeof(rep), MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static void on_channel(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct legacy *l = arg;
	struct legacy_fwd_msg m;
	int fds[3] = { -1, -1, -1 };
	unsigned nfds;
	ssize_t n;
	int err;

	n = channel_recv(fd, &m, fds, &nfds);
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n == 0 || (n < 0 && n != -EMSGSIZE)) {
		/* The runner is gone: the VM is ending (mica stops us). */
		log_debug("legacy", "runner channel closed");
		channel_close(l);
		return;
	}
	err = n < 0 ? (int)n : channel_handle(l, &m, n, fds, nfds);
	for (unsigned i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (err < 0) {
		/* The runner parses guest data; a broken peer is not obeyed. */
		log_warnx("bad message from the runner (%s); dropping the channel",
			  strerror(-err));
		channel_close(l);
	}
}

static int channel_start(struct legacy *l, int fd)
{
	channel_close(l);
	l->channel_fd = fd;
	return evloop_add(l->d->loop, fd, EPOLLIN, on_channel, l);
}

/* ---- daemon hooks --------------------------------------------------------- */

static int legacy_setup(struct daemon *d, struct ipc_msg *msg)
{
	struct legacy *l = &legacy;
	int fd, err;

	l->d = d;
	const char *restored = "";

	l->console_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_CONSOLE, 0);
	l->console_in_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_CONSOLE_IN, 0);
	if (l->console_fd < 0 || daemon_setup_find(msg->env->setup,
			MICA__FD_KIND__FD_LEGACY_CHANNEL, 0) < 0) {
		log_warnx("setup lacks the console fd or the runner channel");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < ISA_IRQS; i++)
		l->irq_fds[i] = daemon_take_fd(msg, MICA__FD_KIND__FD_IRQ_LINE, i);
	l->host = (struct legacy_host){
		.set_irq = host_set_irq, .output = host_output,
		.reset = host_reset, .poweroff = host_poweroff, .opaque = l,
	};
	err = legacy_bus_create_pc(&l->bus, &l->host);
	if (err < 0)
		return err;
	fd = daemon_take_fd(msg, MICA__FD_KIND__FD_LEGACY_STATE, 0);
	if (fd >= 0 && (err = state_map(l, fd)) < 0)
		return err;
	if (msg->env->setup->restarted)
		restored = state_restore(l);
	state_save(l);
	fd = daemon_take_fd(msg, MICA__FD_KIND__FD_LEGACY_CHANNEL, 0);
	l->rtc = legacy_bus_find(&l->bus, LEGACY_RTC_PORT);
	l->rtc_timer = evloop_timer_new(d->loop, on_rtc_timer, l);
	if (l->rtc_timer < 0)
		return l->rtc_timer;
	err = channel_start(l, fd);
	if (err < 0)
		return err;
	console_in_update(l);
	daemon_set_detail(d, "COM1 8250 <-> console (input %s), i8042, CMOS RTC, reset "
			  "0xcf9, ACPI sleep 0x600; IRQs %s; state %s%s%s",
			  l->console_in_fd >= 0 ? "from mica's stdin" : "none",
			  l->irq_fds[LEGACY_COM1_IRQ] >= 0 ? "1/4/8 by irqfd" : "not wired",
			  l->state != NULL ? "kept by mica" : "not kept",
			  restored[0] ? "; restarted: " : "", restored);
	return 0;
}

static int legacy_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	if (info->kind != MICA__FD_KIND__FD_LEGACY_CHANNEL) {
		close(fd);
		return -EINVAL;
	}
	return channel_start(&legacy, fd);
}

static const struct daemon_ops legacy_ops = {
	.program = "mica-legacy",
	.role = MICA__ROLE__ROLE_LEGACY,
	.policy = &legacy_policy,
	.setup = legacy_setup,
	.attach = legacy_attach,
};

int main(int argc, char **argv)
{
	for (unsigned i = 0; i < ISA_IRQS; i++)
		legacy.irq_fds[i] = -1;
	return daemon_main(argc, argv, &legacy_ops);
}
