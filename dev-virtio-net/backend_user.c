/* The user backend: user-mode NAT with libslirp, as QEMU's `-netdev user`.
 *
 * slirp plays the rest of the network (gateway 10.0.2.2, DNS 10.0.2.3,
 * DHCP handing out 10.0.2.15 onwards) and turns the guest's connections
 * into ordinary sockets of this process.  Its sockets are watched by the
 * event loop; each time one is ready (or its timer runs out) slirp polls
 * them all without waiting.  Frames slirp sends to the guest queue here
 * until the device puts them into receive buffers; the queue's eventfd is
 * what the device watches.  When the queue is full slirp's frames are
 * dropped (counted), which its TCP recovers from.
 *
 * DNS at 10.0.2.3: libslirp 4.7 forwards it to the first nameserver of
 * the host's /etc/resolv.conf and, when it cannot read that file, refuses
 * the query (EPERM inside sotranslate_out, an ICMP net-unreachable to the
 * guest): it has no loopback fallback.  The sandbox's empty root hides the
 * file, so while it cannot be found here the guest's DNS (UDP and TCP to
 * 10.0.2.3:53) is handed to slirp addressed to the host alias 10.0.2.2:53,
 * which slirp sends to 127.0.0.1:53 of our network namespace; the answers
 * go back to the guest from 10.0.2.3 again (dns_to_host/dns_from_host). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <slirp/libslirp.h>

#include "iov.h"
#include "log.h"
#include "netbe.h"

#define USER_QLEN      256
#define USER_SLOT      2048           /* header + a 1514-byte frame, rounded */
#define USER_MAX_FDS   256
#define USER_MAX_TIMERS 4

#define ALIAS_HOST     0x0a000202     /* 10.0.2.2: slirp's loopback alias */
#define ALIAS_DNS      0x0a000203     /* 10.0.2.3: slirp's DNS alias */
#define DNS_PORT       53

struct user_timer {
	struct user_be *u;
	int fd;
	SlirpTimerId id;
	void *cb_opaque;
};

struct user_be {
	struct netbe be;
	Slirp *slirp;
	struct evloop *loop;
	int efd;                          /* readable: frames queued */
	uint8_t (*q)[USER_SLOT];
	size_t qlen[USER_QLEN];
	unsigned qhead, qcount;
	uint64_t dropped;
	struct pollfd pfd[USER_MAX_FDS];
	unsigned npfd;
	struct { int fd; uint32_t events; } watched[USER_MAX_FDS];
	unsigned nwatched;
	int tick_fd;                      /* slirp's own timeouts */
	struct user_timer timers[USER_MAX_TIMERS];
	/* Guest ports (UDP, TCP) whose DNS went to 10.0.2.2 in place of 10.0.2.3. */
	uint8_t dns_redirected[2][65536 / 8];
	uint8_t linear[65536];
};

static struct user_be *user_of(struct netbe *be)
{
	return be->priv;
}

/* ---- DNS at 10.0.2.3 without a readable /etc/resolv.conf ----------------- */

struct ip4_l4 {
	uint8_t *ip, *l4;
	bool tcp;
	size_t sum_off;                   /* of the UDP/TCP checksum in l4 */
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The IPv4 header and the UDP/TCP header of an unfragmented frame. */
static bool ip4_l4_of(uint8_t *f, size_t len, struct ip4_l4 *o)
{
	size_t ihl;

	if (len < 14 + 20 || get16(f + 12) != 0x0800 || (f[14] >> 4) != 4)
		return false;
	ihl = (f[14] & 0xfu) * 4;
	if (ihl < 20 || (get16(f + 14 + 6) & 0x3fff) != 0)   /* MF or an offset */
		return false;
	o->ip = f + 14;
	o->l4 = o->ip + ihl;
	o->tcp = o->ip[9] == 6;
	o->sum_off = o->tcp ? 16 : 6;
	if (o->ip[9] != 6 && o->ip[9] != 17)
		return false;
	return len >= 14 + ihl + (o->tcp ? 20 : 8);
}

/* Add (new - old) to a 16-bit one's-complement checksum (RFC 1624). */
static void csum_adjust(uint8_t *sum, uint32_t old, uint32_t new)
{
	uint32_t s = (uint16_t)~get16(sum);

	s += (uint16_t)~(old >> 16) + (uint16_t)~(old & 0xffff);
	s += (new >> 16) + (new & 0xffff);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = (uint16_t)~s;
	sum[0] = (uint8_t)(s >> 8);
	sum[1] = (uint8_t)s;
}

/* Replace the IPv4 address at addr (source or destination) by new,
 * keeping the IP and the UDP/TCP checksums right. */
static void ip4_readdress(struct ip4_l4 *p, uint8_t *addr, uint32_t new)
{
	uint32_t old = get32(addr);
	uint8_t *l4sum = p->l4 + p->sum_off;

	addr[0] = (uint8_t)(new >> 24);
	addr[1] = (uint8_t)(new >> 16);
	addr[2] = (uint8_t)(new >> 8);
	addr[3] = (uint8_t)new;
	csum_adjust(p->ip + 10, old, new);
	if (!p->tcp && get16(l4sum) == 0)
		return;                   /* UDP without a checksum */
	csum_adjust(l4sum, old, new);
	if (!p->tcp && get16(l4sum) == 0)
		l4sum[0] = l4sum[1] = 0xff;
}

static bool resolv_conf_visible(void)
{
	struct stat st;

	return stat("/etc/resolv.conf", &st) == 0;
}

static void port_mark(uint8_t *map, uint16_t port, bool on)
{
	if (on)
		map[port / 8] |= (uint8_t)(1u << (port % 8));
	else
		map[port / 8] &= (uint8_t)~(1u << (port % 8));
}

/* A frame from the guest: DNS to 10.0.2.3 goes to 10.0.2.2 while slirp
 * could not name a resolver for it. */
static void dns_to_host(struct user_be *u, uint8_t *f, size_t len)
{
	struct ip4_l4 p;
	uint32_t dst;

	if (!ip4_l4_of(f, len, &p) || get16(p.l4 + 2) != DNS_PORT)
		return;
	dst = get32(p.ip + 16);
	if (dst == ALIAS_HOST)        /* the guest's own 10.0.2.2:53 flow */
		port_mark(u->dns_redirected[p.tcp], get16(p.l4), false);
	if (dst != ALIAS_DNS || resolv_conf_visible())
		return;
	port_mark(u->dns_redirected[p.tcp], get16(p.l4), true);
	ip4_readdress(&p, p.ip + 16, ALIAS_HOST);
}

/* A frame for the guest: answers to redirected DNS come from 10.0.2.3. */
static void dns_from_host(struct user_be *u, uint8_t *f, size_t len)
{
	struct ip4_l4 p;
	uint16_t port;

	if (!ip4_l4_of(f, len, &p) || get16(p.l4) != DNS_PORT || get32(p.ip + 12) != ALIAS_HOST)
		return;
	port = get16(p.l4 + 2);
	if (u->dns_redirected[p.tcp][port / 8] & (1u << (port % 8)))
		ip4_readdress(&p, p.ip + 12, ALIAS_DNS);
}

/* ---- frames to the guest ----------------------------------------------- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct user_be *u = opaque;
	unsigned tail;
	uint64_t one = 1;

	if (u->qcount == USER_QLEN || len + TAP_VNET_HDR_LEN > USER_SLOT) {
		u->dropped++;
		return len;
	}
	tail = (u->qhead + u->qcount) % USER_QLEN;
	memset(u->q[tail], 0, TAP_VNET_HDR_LEN);
	memcpy(u->q[tail] + TAP_VNET_HDR_LEN, buf, len);
	dns_from_host(u, u->q[tail] + TAP_VNET_HDR_LEN, len);
	u->qlen[tail] = TAP_VNET_HDR_LEN + len;
	if (u->qcount++ == 0 && write(u->efd, &one, sizeof(one)) < 0)
		log_warn("eventfd");
	return len;
}

static int user_recv(struct netbe *be, unsigned pair, struct tap_rx *bufs, unsigned n)
{
	struct user_be *u = user_of(be);
	unsigned i;
	uint64_t count;

	for (i = 0; i < n && u->qcount > 0; i++) {
		size_t room = iov_size(bufs[i].iov, bufs[i].iovcnt);
		size_t len = u->qlen[u->qhead];

		bufs[i].len = iov_from_buf(bufs[i].iov, bufs[i].iovcnt, 0, u->q[u->qhead], len);
		bufs[i].truncated = len > room;
		u->qhead = (u->qhead + 1) % USER_QLEN;
		u->qcount--;
	}
	if (u->qcount == 0 && read(u->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("eventfd");
	return (int)i;
}

/* ---- polling slirp's sockets ------------------------------------------- */

static void user_poll(struct user_be *u);

static void on_slirp_fd(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	user_poll(arg);
}

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct user_be *u = opaque;
	short ev = 0;

	if (u->npfd == USER_MAX_FDS) {
		log_warnx("more than %d sockets; some are not polled", USER_MAX_FDS);
		return -1;
	}
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	u->pfd[u->npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return (int)u->npfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct user_be *u = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || (unsigned)idx >= u->npfd)
		return 0;
	r = u->pfd[idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static void unwatch(struct user_be *u, unsigned i)
{
	evloop_del(u->loop, u->watched[i].fd);
	u->watched[i] = u->watched[--u->nwatched];
}

/* Make the event loop watch exactly the fds slirp asked for. */
static void sync_watch(struct user_be *u)
{
	for (unsigned i = 0; i < u->nwatched;) {
		bool wanted = false;

		for (unsigned k = 0; k < u->npfd && !wanted; k++)
			wanted = u->pfd[k].fd == u->watched[i].fd;
		if (!wanted)
			unwatch(u, i);
		else
			i++;
	}
	for (unsigned k = 0; k < u->npfd; k++) {
		uint32_t ev = ((u->pfd[k].events & POLLIN) ? EPOLLIN : 0) |
			      ((u->pfd[k].events & POLLOUT) ? EPOLLOUT : 0) |
			      ((u->pfd[k].events & POLLPRI) ? EPOLLPRI : 0);
		unsigned i;

		for (i = 0; i < u->nwatched && u->watched[i].fd != u->pfd[k].fd; i++)
			;
		if (i < u->nwatched) {
			if (u->watched[i].events != ev &&
			    evloop_mod(u->loop, u->watched[i].fd, ev) == 0)
				u->watched[i].events = ev;
			continue;
		}
		if (u->nwatched == USER_MAX_FDS ||
		    evloop_add(u->loop, u->pfd[k].fd, ev, on_slirp_fd, u) < 0)
			continue;
		u->watched[u->nwatched].fd = u->pfd[k].fd;
		u->watched[u->nwatched++].events = ev;
	}
}

static void fill(struct user_be *u, uint32_t *timeout)
{
	u->npfd = 0;
	*timeout = 1000;
	slirp_pollfds_fill(u->slirp, timeout, cb_add_poll, u);
}

/* Let slirp look at its sockets (without waiting), then watch what it
 * wants watched next and wake up when its timers are due. */
static void user_poll(struct user_be *u)
{
	uint32_t timeout;
	int rc;

	fill(u, &timeout);
	rc = poll(u->pfd, u->npfd, 0);
	slirp_pollfds_poll(u->slirp, rc < 0, cb_get_revents, u);
	fill(u, &timeout);
	sync_watch(u);
	evloop_timer_set(u->tick_fd, timeout > 0 ? timeout : 1, 0);
}

static void on_tick(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	user_poll(arg);
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
	struct user_be *u = opaque;

	/* slirp closes it next: forget it before the number is reused. */
	for (unsigned i = 0; i < u->nwatched; i++) {
		if (u->watched[i].fd == fd) {
			unwatch(u, i);
			return;
		}
	}
}

static void cb_register_poll_fd(int fd, void *opaque)
{
}

/* ---- slirp's timers and clock ------------------------------------------ */

static int64_t cb_clock_get_ns(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_slirp_timer(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct user_timer *t = arg;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	slirp_handle_timer(t->u->slirp, t->id, t->cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct user_be *u = opaque;

	for (unsigned i = 0; i < USER_MAX_TIMERS; i++) {
		struct user_timer *t = &u->timers[i];

		if (t->u != NULL)
			continue;
		t->fd = evloop_timer_new(u->loop, on_slirp_timer, t);
		if (t->fd < 0)
			return NULL;
		t->u = u;
		t->id = id;
		t->cb_opaque = cb_opaque;
		return t;
	}
	log_warnx("slirp wants more than %d timers", USER_MAX_TIMERS);
	return NULL;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct user_timer *t = timer;

	if (t == NULL)
		return;
	evloop_timer_free(t->u->loop, t->fd);
	memset(t, 0, sizeof(*t));
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct user_timer *t = timer;
	int64_t now = cb_clock_get_ns(NULL) / 1000000;

	if (t != NULL)
		evloop_timer_set(t->fd, expire_ms > now ? (uint64_t)(expire_ms - now) : 1, 0);
}

static void cb_guest_error(const char *msg, void *opaque)
{
	log_debug("net", "slirp: guest error: %s", msg);
}

static void cb_notify(void *opaque)
{
}

static const SlirpCb user_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* ---- frames from the guest ----------------------------------------------- */

static int user_send(struct netbe *be, unsigned pair, const struct tap_tx *frames, unsigned n)
{
	struct user_be *u = user_of(be);

	for (unsigned i = 0; i < n; i++) {
		size_t len = iov_to_buf(frames[i].iov, frames[i].iovcnt, 0, u->linear,
					sizeof(u->linear));

		/* The device offers no offloads here: every frame is whole. */
		dns_to_host(u, u->linear, len);
		slirp_input(u->slirp, u->linear, (int)len);
	}
	user_poll(u);          /* new connections, replies already queued */
	return (int)n;
}

static uint64_t user_offload_features(struct netbe *be)
{
	return 0;
}

static int user_rx_fd(struct netbe *be, unsigned pair)
{
	return user_of(be)->efd;
}

static int user_tx_fd(struct netbe *be, unsigned pair)
{
	return -1;
}

static int user_set_offload(struct netbe *be, uint64_t features)
{
	return 0;
}

static void user_close(struct netbe *be)
{
	struct user_be *u = user_of(be);

	if (u->slirp != NULL)
		slirp_cleanup(u->slirp);
	while (u->nwatched > 0)
		unwatch(u, 0);
	if (u->tick_fd >= 0)
		evloop_timer_free(u->loop, u->tick_fd);
	close(u->efd);
	free(u->q);
	free(u);
}

static const struct netbe_ops user_ops = {
	.name = "user",
	.offload_features = user_offload_features,
	.send = user_send,
	.recv = user_recv,
	.rx_fd = user_rx_fd,
	.tx_fd = user_tx_fd,
	.set_offload = user_set_offload,
	.close = user_close,
};

/* ---- set-up ---------------------------------------------------------------- */

static int parse_addr(const char *s, size_t len, uint32_t *addr)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (len == 0) {
		*addr = 0;
		return 0;
	}
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*addr = a.s_addr;
	return 0;
}

static int parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

int netbe_parse_hostfwd(const char *spec, bool *udp, uint32_t *host_addr,
			uint16_t *host_port, uint32_t *guest_addr, uint16_t *guest_port)
{
	const char *c1 = strchr(spec, ':'), *dash, *c2, *c3;

	if (c1 == NULL)
		return -EINVAL;
	if ((c1 - spec == 3 && strncmp(spec, "tcp", 3) == 0) || c1 == spec)
		*udp = false;
	else if (c1 - spec == 3 && strncmp(spec, "udp", 3) == 0)
		*udp = true;
	else
		return -EINVAL;
	c2 = strchr(c1 + 1, ':');
	if (c2 == NULL || (dash = strchr(c2 + 1, '-')) == NULL ||
	    (c3 = strchr(dash + 1, ':')) == NULL || strchr(c3 + 1, ':') != NULL)
		return -EINVAL;
	if (parse_addr(c1 + 1, c2 - c1 - 1, host_addr) < 0 ||
	    parse_port(c2 + 1, dash - c2 - 1, host_port) < 0 ||
	    parse_addr(dash + 1, c3 - dash - 1, guest_addr) < 0 ||
	    parse_port(c3 + 1, strlen(c3 + 1), guest_port) < 0)
		return -EINVAL;
	return 0;
}

static void slirp_config(SlirpConfig *c, const struct netbe_user_opts *opts)
{
	memset(c, 0, sizeof(*c));
	c->version = 4;
	c->restricted = opts->restrict_;
	c->in_enabled = true;
	inet_pton(AF_INET, "10.0.2.0", &c->vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &c->vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &c->vhost);
	inet_pton(AF_INET, "10.0.2.15", &c->vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &c->vnameserver);
	c->in6_enabled = opts->ipv6;
	inet_pton(AF_INET6, "fec0::", &c->vprefix_addr6);
	c->vprefix_len = 64;
	inet_pton(AF_INET6, "fec0::2", &c->vhost6);
	inet_pton(AF_INET6, "fec0::3", &c->vnameserver6);
	c->vhostname = "mica";
}

int netbe_user_new(struct netbe **out, struct evloop *loop, const struct netbe_user_opts *opts)
{
	struct user_be *u = calloc(1, sizeof(*u));
	SlirpConfig cfg;
	int err = -ENOMEM;

	if (u == NULL)
		return -ENOMEM;
	u->loop = loop;
	u->tick_fd = -1;
	u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	u->q = calloc(USER_QLEN, USER_SLOT);
	if (u->efd < 0 || u->q == NULL)
		goto fail;
	u->be = (struct netbe){ .ops = &user_ops, .npairs = 1, .priv = u };
	slirp_config(&cfg, opts);
	u->slirp = slirp_new(&cfg, &user_callbacks, u);
	if (u->slirp == NULL)
		goto fail;
	for (unsigned i = 0; i < opts->nhostfwd; i++) {
		struct in_addr h, g;
		uint16_t hp, gp;
		bool udp;

		err = netbe_parse_hostfwd(opts->hostfwd[i], &udp, &h.s_addr, &hp, &g.s_addr, &gp);
		if (err < 0) {
			log_warnx("--hostfwd %s: expected [tcp|udp]:[hostaddr]:hostport-"
				  "[guestaddr]:guestport", opts->hostfwd[i]);
			goto fail;
		}
		if (slirp_add_hostfwd(u->slirp, udp, h, hp, g, gp) < 0) {
			err = errno ? -errno : -EADDRINUSE;
			log_warn("--hostfwd %s", opts->hostfwd[i]);
			goto fail;
		}
	}
	u->tick_fd = evloop_timer_new(loop, on_tick, u);
	if (u->tick_fd < 0) {
		err = u->tick_fd;
		goto fail;
	}
	user_poll(u);
	*out = &u->be;
	return 0;
fail:
	user_close(&u->be);
	return err;
}
