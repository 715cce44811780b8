/* mica-net: the vhost-user-net backend.
 *
 * Two ways to run:
 *
 *  - started by `mica run` (no --socket-path/--fd): the daemon frame
 *    jails it and hands it the vhost-user socket end towards the runner
 *    and, for a TAP or macvtap NIC, the channel to mica-netd, which gives
 *    it the interface's queue fds; a user-mode NIC (--net-user) runs
 *    slirp itself.  It then serves vhost-user-net to the runner on that
 *    end, and serves a new end the same way when the runner's old one is
 *    replaced (mica restarted us: the runner reconnects).
 *
 *  - by hand, as a standard vhost-user backend program (vhost-user.rst,
 *    "Backend program conventions"), with QEMU-like netdev options:
 *        mica-net --socket-path S --tap NAME [--queues N] [--mac M]
 *        mica-net --socket-path S --user [--hostfwd tcp::2222-:22]...
 *    It opens the TAP (creating it if needed) or sets up the user-mode
 *    NAT, then confines itself and serves one front-end at a time.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cap-ng.h>
#include <linux/if_tun.h>

#include "backend.h"
#include "netd_client.h"
#include "log.h"
#include "vu_listener.h"
#include "netd/plumb.h"
#include "virtio_net.h"

extern const struct jail_policy net_policy;
extern const struct jail_policy net_user_policy;

/* ---- managed by mica ------------------------------------------------- */

static struct backend_ends ends = {
	.vhost_user_kind = MICA__FD_KIND__FD_VHOST_USER_NET,
	.provider_kind = MICA__FD_KIND__FD_NET_CHANNEL,
	.vhost_user_fd = -1,
	.provider_fd = -1,
	.provider_optional = true,     /* user-mode NAT needs no netd */
};

static struct vnet_dev managed;
static bool serving;
static bool net_user_mode;            /* --net-user: started for a user-mode NIC */

/* Our NIC's entry in the Setup: the manifest's mode, MAC and forwards. */
static const Mica__NetConfig *own_nic(const Mica__Setup *s, uint32_t index)
{
	for (size_t i = 0; i < s->n_nets; i++)
		if (s->nets[i] != NULL && s->nets[i]->index == index)
			return s->nets[i];
	return NULL;
}

/* TAP and macvtap NICs: ask mica-netd for the host side of our NIC. */
static int net_open_tap(struct daemon *d, unsigned pairs, struct netbe **be, char *ifname,
			size_t len)
{
	int fds[VNET_MAX_PAIRS];
	unsigned nfds = 0;
	char why[160] = "";
	int err;

	if (pairs < 1 || pairs > VNET_MAX_PAIRS) {
		log_warnx("NIC %u: %u queue pairs, 1..%d", d->index, pairs, VNET_MAX_PAIRS);
		return -EINVAL;
	}
	err = netd_open_tap(ends.provider_fd, d->index, pairs, 5000, fds, &nfds, ifname, len,
			    why, sizeof(why));
	if (err < 0) {
		log_warnx("NIC %u: mica-netd did not open its host interface: %s", d->index,
			  why[0] ? why : strerror(-err));
		return err;
	}
	err = netbe_tap_new(be, fds, nfds);
	if (err < 0) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
	}
	return err;
}

/* The user-mode NAT: slirp runs here, in the host's network namespace
 * (mica spawns a user-mode mica-net with --net-user, sharing it). */
static int net_open_user(struct daemon *d, const Mica__NetConfig *nc, struct netbe **be)
{
	struct netbe_user_opts opts = { .ipv6 = true };

	if (!net_user_mode) {
		log_warnx("NIC %u: a user-mode NIC, but not started for one (--net-user)",
			  d->index);
		return -EINVAL;
	}
	if (nc->n_hostfwd > 16) {
		log_warnx("NIC %u: %zu host forwards, at most 16", d->index, nc->n_hostfwd);
		return -EINVAL;
	}
	/* Parsed and handed to slirp here; the strings are not kept. */
	for (size_t i = 0; i < nc->n_hostfwd; i++)
		opts.hostfwd[i] = nc->hostfwd[i];
	opts.nhostfwd = nc->n_hostfwd;
	return netbe_user_new(be, d->loop, &opts);
}

static void on_managed_disconnect(struct vnet_dev *n)
{
	log_info("the runner went away: tx %llu frames, rx %llu frames",
		 (unsigned long long)n->stats.tx_frames,
		 (unsigned long long)n->stats.rx_frames);
}

static int net_setup(struct daemon *d, struct ipc_msg *msg)
{
	static const uint8_t default_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	const Mica__NetConfig *nc = own_nic(msg->env->setup, d->index);
	char ifname[32] = "";
	struct netbe *be = NULL;
	uint8_t mac[6];
	int err = backend_take_ends(&ends, d, msg);

	if (err < 0)
		return err;
	if (nc == NULL) {
		log_warnx("Setup has no configuration for NIC %u", d->index);
		return -EINVAL;
	}
	memcpy(mac, nc->mac.len == 6 ? nc->mac.data : default_mac, 6);
	if (strcmp(nc->mode, "user") == 0)
		err = net_open_user(d, nc, &be);
	else if (ends.provider_fd >= 0)
		err = net_open_tap(d, nc->queues > 0 ? nc->queues : 1, &be, ifname,
				   sizeof(ifname));
	else
		err = -EINVAL;
	if (err == 0) {
		err = vnet_init(&managed, be, mac, (uint16_t)nc->mtu);
		if (err < 0 && be->ops->close != NULL)
			be->ops->close(be);
	}
	if (err < 0) {
		/* The VM runs on without this NIC; say why.  Closing our end
		 * tells the runner at once (rather than after its time limit). */
		daemon_set_detail(d, "virtio-net device %u: not served: %s backend: %s",
				  d->index, nc->mode, strerror(-err));
		if (ends.vhost_user_fd >= 0)
			close(ends.vhost_user_fd);
		ends.vhost_user_fd = -1;
		return 0;
	}
	managed.disconnected = on_managed_disconnect;
	err = vnet_serve(&managed, d->loop, ends.vhost_user_fd);
	if (err < 0)
		return err;
	serving = true;
	ends.vhost_user_fd = -1;          /* the vhost-user device owns it now */
	/* Restarted under a running guest: the guest chose its queue pairs
	 * through our predecessor's control queue, which nobody can ask now;
	 * take frames on every pair whose rings the runner starts again (the
	 * ones the driver enabled), or flows the TAP steers to pairs above
	 * the first would stall. */
	if (msg->env->setup->restarted && managed.max_pairs > 1)
		managed.active_pairs = managed.max_pairs;
	if (strcmp(nc->mode, "user") == 0)
		daemon_set_detail(d, "virtio-net device %u: user-mode NAT (%zu host "
				  "forward%s), serving vhost-user to the runner", d->index,
				  nc->n_hostfwd, nc->n_hostfwd == 1 ? "" : "s");
	else
		daemon_set_detail(d, "virtio-net device %u: %s %s (%u queue pair%s) from "
				  "mica-netd, serving vhost-user to the runner", d->index,
				  strcmp(nc->mode, "macvtap") == 0 ? "macvtap" : "TAP", ifname,
				  be->npairs, be->npairs == 1 ? "" : "s");
	return 0;
}

static int net_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	/* A new runner end: serve it instead of the old one. */
	if (info->kind == MICA__FD_KIND__FD_VHOST_USER_NET && serving) {
		vu_dev_detach(&managed.vu);
		return vnet_serve(&managed, d->loop, fd);
	}
	return backend_attach(&ends, info, fd);
}

/* Not const: a user-mode NIC gets net_user_policy (main). */
static struct daemon_ops net_ops = {
	.program = "mica-net",
	.role = MICA__ROLE__ROLE_NET,
	.policy = &net_policy,
	.setup = net_setup,
	.attach = net_attach,
};

/* ---- standalone ------------------------------------------------------- */

struct standalone {
	struct evloop *loop;
	struct vnet_dev net;
	struct vu_listener listener;
	int listen_fd;
};

static struct standalone standalone = { .listen_fd = -1 };

static void on_disconnect(struct vnet_dev *n)
{
	vu_listener_disconnected(&standalone.listener);
	log_info("front-end gone: tx %llu frames (%llu dropped, %llu malformed), "
		 "rx %llu frames (%llu dropped)",
		 (unsigned long long)n->stats.tx_frames, (unsigned long long)n->stats.tx_dropped,
		 (unsigned long long)n->stats.tx_malformed,
		 (unsigned long long)n->stats.rx_frames, (unsigned long long)n->stats.rx_dropped);
}

static int serve_frontend(void *arg, struct evloop *loop, int conn)
{
	return vnet_serve(arg, loop, conn);
}

/* Open (or create) the TAP called name with one queue per pair, up, at
 * mtu; a TAP we created goes away when we exit, as QEMU's do. */
static int open_tap(const char *name, unsigned pairs, unsigned mtu, int *fds)
{
	struct plumb_tap_result res;
	struct plumb *p;
	int err;

	err = plumb_open(&p, "mica-net", -1);
	if (err < 0) {
		log_warnx("--tap %s: netlink: %s", name, strerror(-err));
		return err;
	}
	err = plumb_tap_open(p, name, pairs, true, fds, &res);
	if (err < 0) {
		log_warnx("--tap %s: %s", name, strerror(-err));
		goto out;
	}
	if (mtu != 0 && (err = plumb_link_set_mtu(p, res.ifindex, mtu)) < 0)
		log_warnx("--tap %s: MTU %u: %s", name, mtu, strerror(-err));
	if (err == 0 && (err = plumb_link_set_up(p, res.ifindex, true)) < 0)
		log_warnx("--tap %s: link up: %s", name, strerror(-err));
	if (err == 0 && res.created && ioctl(fds[0], TUNSETPERSIST, 0UL) < 0)
		log_warn("--tap %s: TUNSETPERSIST", name);
	if (err < 0) {
		for (unsigned i = 0; i < res.nqueues; i++)
			close(fds[i]);
	}
out:
	plumb_close(p);
	return err;
}

/* --tap-fd N[,N...]: fds handed to us (QEMU's fds=). */
static int parse_fds(const char *s, int *fds, unsigned max)
{
	unsigned n = 0;
	char *end;

	for (;;) {
		long v = strtol(s, &end, 10);

		if (end == s || v < 0 || v > 65535 || n == max)
			return -EINVAL;
		fds[n++] = (int)v;
		if (*end == '\0')
			return (int)n;
		if (*end != ',')
			return -EINVAL;
		s = end + 1;
	}
}

/* The user backend keeps the network namespace (its sockets are the way
 * out); everything else is as jail_sandbox_self. */
static int sandbox_user(void)
{
	if (geteuid() == 0) {
		if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0) {
			log_warn("unshare");
			return -errno;
		}
		if (jail_enter_empty_root() < 0)
			return -EPERM;
		capng_clear(CAPNG_SELECT_BOTH);
		if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
			log_warnx("cannot drop capabilities");
			return -EPERM;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return jail_load_seccomp(&net_user_policy, JAIL_SECCOMP_KILL);
}

static void usage(FILE *out)
{
	fprintf(out,
"usage: mica-net --socket-path PATH | --fd N  BACKEND [options]\n"
"       mica-net --print-capabilities\n"
"backends:\n"
"  --tap NAME            TAP NAME (created if missing, removed at exit if so)\n"
"  --tap-fd N[,N...]     TAP queue fds already open, one per queue pair\n"
"  --macvtap NAME        the macvtap link NAME (its /dev/tapN)\n"
"  --user                user-mode NAT (slirp): 10.0.2.0/24, DHCP, DNS at 10.0.2.3\n"
"options:\n"
"  --queues N            queue pairs (default 1, at most %d; tap only)\n"
"  --mac MAC             guest MAC (default 52:54:00:12:34:56)\n"
"  --mtu N               MTU the guest is told (and the TAP gets)\n"
"  --hostfwd RULE        user: [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport\n"
"  --restrict            user: the guest reaches nothing but the forwards\n"
"  --no-ipv6             user: IPv4 only\n"
"  --no-sandbox          do not confine the process (debugging)\n", VNET_MAX_PAIRS);
}

struct net_args {
	const char *socket_path, *tap_name, *tap_fds, *macvtap;
	bool user, sandbox;
	unsigned pairs, mtu;
	uint8_t mac[6];
	struct netbe_user_opts user_opts;
};

static int parse_args(int argc, char **argv, struct net_args *a, int *listen_fd)
{
	static const struct option longopts[] = {
		{ "socket-path", required_argument, NULL, 's' },
		{ "fd", required_argument, NULL, 'f' },
		{ "tap", required_argument, NULL, 't' },
		{ "tap-fd", required_argument, NULL, 'T' },
		{ "macvtap", required_argument, NULL, 'v' },
		{ "user", no_argument, NULL, 'u' },
		{ "queues", required_argument, NULL, 'q' },
		{ "mac", required_argument, NULL, 'm' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "hostfwd", required_argument, NULL, 'H' },
		{ "restrict", no_argument, NULL, 'r' },
		{ "no-ipv6", no_argument, NULL, '6' },
		{ "print-capabilities", no_argument, NULL, 'c' },
		{ "no-sandbox", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': a->socket_path = optarg; break;
		case 'f':
			*listen_fd = strtol(optarg, &end, 10);
			if (*end != '\0' || *listen_fd < 0) {
				log_warnx("--fd: '%s' is not an fd number", optarg);
				return 2;
			}
			break;
		case 't': a->tap_name = optarg; break;
		case 'T': a->tap_fds = optarg; break;
		case 'v': a->macvtap = optarg; break;
		case 'u': a->user = true; break;
		case 'q':
			a->pairs = strtoul(optarg, &end, 10);
			if (*end != '\0' || a->pairs < 1 || a->pairs > VNET_MAX_PAIRS) {
				log_warnx("--queues: '%s' is not 1..%d", optarg, VNET_MAX_PAIRS);
				return 2;
			}
			break;
		case 'm':
			if (vnet_parse_mac(optarg, a->mac) < 0) {
				log_warnx("--mac: '%s' is not a unicast MAC address", optarg);
				return 2;
			}
			break;
		case 'M':
			a->mtu = strtoul(optarg, &end, 10);
			if (*end != '\0' || a->mtu < 68 || a->mtu > 65535) {
				log_warnx("--mtu: '%s' is not 68..65535", optarg);
				return 2;
			}
			break;
		case 'H':
			if (a->user_opts.nhostfwd == 16) {
				log_warnx("--hostfwd: at most 16");
				return 2;
			}
			a->user_opts.hostfwd[a->user_opts.nhostfwd++] = optarg;
			break;
		case 'r': a->user_opts.restrict_ = true; break;
		case '6': a->user_opts.ipv6 = false; break;
		case 'c':
			printf("{\n  \"type\": \"net\"\n}\n");
			return 0;
		case 'n': a->sandbox = false; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (a->socket_path == NULL) == (*listen_fd < 0) ||
	    (a->tap_name != NULL) + (a->tap_fds != NULL) + (a->macvtap != NULL) + a->user != 1) {
		usage(stderr);
		return 2;
	}
	if (a->user && (a->pairs > 1 || a->mtu > 1500)) {
		log_warnx("--user: one queue pair and an MTU of at most 1500");
		return 2;
	}
	if (!a->user && (a->user_opts.nhostfwd > 0 || a->user_opts.restrict_)) {
		log_warnx("--hostfwd and --restrict go with --user");
		return 2;
	}
	return -1;
}

static int standalone_main(int argc, char **argv)
{
	struct standalone *sp = &standalone;
	struct net_args a = {
		.sandbox = true, .pairs = 1,
		.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
		.user_opts = { .ipv6 = true },
	};
	int fds[VNET_MAX_PAIRS], nfds, rc, err;
	struct netbe *be = NULL;

	rc = parse_args(argc, argv, &a, &sp->listen_fd);
	if (rc >= 0)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	sp->loop = evloop_new();
	if (sp->loop == NULL)
		return 1;
	if (a.tap_fds != NULL) {
		nfds = parse_fds(a.tap_fds, fds, VNET_MAX_PAIRS);
		if (nfds < 0) {
			log_warnx("--tap-fd: '%s' is not a list of fd numbers", a.tap_fds);
			return 2;
		}
		a.pairs = nfds;
		err = netbe_tap_new(&be, fds, nfds);
	} else if (a.macvtap != NULL) {
		err = netbe_macvtap_open(a.macvtap, a.pairs, fds);
		if (err == 0)
			err = netbe_tap_new(&be, fds, a.pairs);
	} else if (a.tap_name != NULL) {
		err = open_tap(a.tap_name, a.pairs, a.mtu, fds);
		if (err == 0)
			err = netbe_tap_new(&be, fds, a.pairs);
	} else {
		err = netbe_user_new(&be, sp->loop, &a.user_opts);
	}
	if (err < 0) {
		log_warnx("backend: %s", strerror(-err));
		return 1;
	}
	if (a.socket_path != NULL && (sp->listen_fd = vu_listen_path(a.socket_path)) < 0)
		return 1;
	if (vnet_init(&sp->net, be, a.mac, a.mtu) < 0)
		return 1;
	sp->net.disconnected = on_disconnect;
	if (vu_listener_start(&sp->listener, sp->loop, sp->listen_fd, serve_frontend,
			      &sp->net) < 0)
		return 1;
	if (a.sandbox && (a.user ? sandbox_user() : jail_sandbox_self(&net_policy,
								       JAIL_SECCOMP_KILL)) < 0) {
		log_warnx("cannot confine the process (use --no-sandbox to run anyway)");
		return 1;
	}
	log_info("serving %s%s (%u queue pair%s) on %s",
		 a.user ? "user-mode NAT" : a.macvtap ? "macvtap " : "TAP ",
		 a.user ? "" : a.tap_name ? a.tap_name : a.macvtap ? a.macvtap : "fds",
		 a.pairs, a.pairs > 1 ? "s" : "",
		 a.socket_path != NULL ? a.socket_path : "the given fd");
	err = evloop_run(sp->loop);
	vnet_free(&sp->net);
	return err < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	log_init("mica-net");
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--socket-path", 13) == 0 || strcmp(argv[i], "--fd") == 0 ||
		    strcmp(argv[i], "--print-capabilities") == 0 || strcmp(argv[i], "--help") == 0)
			return standalone_main(argc, argv);
	}
	/* --net-user (first, from mica) is ours; the frame parses the rest.
	 * A user-mode NIC opens the guest's connections as its own sockets,
	 * so it gets the wider seccomp list, chosen before lockdown. */
	if (argc > 1 && strcmp(argv[1], "--net-user") == 0) {
		net_user_mode = true;
		net_ops.policy = &net_user_policy;
		argv[1] = argv[0];
		return daemon_main(argc - 1, argv + 1, &net_ops);
	}
	return daemon_main(argc, argv, &net_ops);
}
