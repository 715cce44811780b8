/* mica-netd: host network plumbing (TAP, bridge, macvtap over netlink).
 *
 * The only Mica process that keeps a capability (CAP_NET_ADMIN) and the
 * only one left in the host network namespace; it never sees guest
 * frames.  Before lockdown it opens its netlink socket and /dev (the
 * plumbing context).  From Setup it learns the VM's name (its owner tag)
 * and the manifest's NICs (its allow-list); then each mica-net asks, on
 * its own channel, for the TAP of its own NIC, and gets the queue fds if
 * and only if the manifest allowed exactly that.  Everything netd created
 * is removed when the VM stops; what a crashed netd left is swept at the
 * next start, or adopted when netd is restarted under a running VM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "allow.h"
#include "daemon.h"
#include "log.h"
#include "plumb.h"

extern const struct jail_policy netd_policy;

#define NETD_MAX_NETS NET_ALLOW_MAX

struct netd {
	struct plumb *plumb;
	struct net_allow allow;
	int channels[NETD_MAX_NETS];      /* by NIC index; -1: user-mode NIC */
	char ifnames[NETD_MAX_NETS][IFNAMSIZ];
	bool named[NETD_MAX_NETS];       /* the manifest gave the TAP's name */
	uint8_t macs[NETD_MAX_NETS][6];  /* a macvtap's address is its NIC's */
	unsigned mtus[NETD_MAX_NETS];    /* 0: leave the link's */
	unsigned tap_opened;
	/* A mica-net's NetOpen for a macvtap waits for mica to open the
	 * queues (MacvtapOpen): by NIC index. */
	struct macvtap_pending {
		int chan;                /* -1: none pending */
		uint64_t req_seq;        /* mica-net's request */
		uint64_t core_seq;       /* ours to mica */
		int ifindex;
	} pending[NETD_MAX_NETS];
	uint64_t core_seq;
};

static struct netd netd;

static int netd_prelock(struct daemon *d)
{
	for (size_t i = 0; i < NETD_MAX_NETS; i++)
		netd.channels[i] = netd.pending[i].chan = -1;
	/* The real tag (the VM's name) arrives with Setup. */
	return plumb_open(&netd.plumb, "mica:starting", -1);
}

/* A stable TAP name for a NIC the manifest did not name: "mica" + a hash
 * of the VM name + the index, at most 15 characters. */
static void generated_ifname(const char *vm, unsigned index, char *out, size_t len)
{
	uint32_t h = 2166136261u;

	for (const char *p = vm; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, len, "mica%08x%u", h, index);
}

static void on_channel(struct evloop *loop, int fd, uint32_t events, void *arg);

static int netd_setup(struct daemon *d, struct ipc_msg *msg)
{
	const Mica__Setup *s = msg->env->setup;
	char tag[PLUMB_TAG_MAX];
	int err;

	snprintf(tag, sizeof(tag), "mica:%s", s->vm_name);
	err = plumb_set_tag(netd.plumb, tag);
	if (err == 0)
		err = s->restarted ? plumb_adopt_tag(netd.plumb) : plumb_sweep_tag(netd.plumb);
	if (err < 0) {
		log_warnx("owner tag %s: %s", tag, strerror(-err));
		return err;
	}
	net_allow_init(&netd.allow);
	for (size_t i = 0; i < s->n_nets; i++) {
		const Mica__NetConfig *nc = s->nets[i];
		char *name = netd.ifnames[nc->index % NETD_MAX_NETS];

		if (strcmp(nc->mode, "user") == 0)
			continue;
		if (nc->index >= NETD_MAX_NETS) {
			log_warnx("NIC index %u out of range", nc->index);
			return -EINVAL;
		}
		if (nc->mac.len == 6)
			memcpy(netd.macs[nc->index], nc->mac.data, 6);
		netd.mtus[nc->index] = nc->mtu;
		netd.named[nc->index] = nc->ifname[0] != '\0';
		if (netd.named[nc->index])
			snprintf(name, IFNAMSIZ, "%s", nc->ifname);
		else
			generated_ifname(s->vm_name, nc->index, name, IFNAMSIZ);
		err = net_allow_add(&netd.allow, nc->index, nc->mode, name, nc->bridge,
				    nc->parent);
		if (err < 0) {
			log_warnx("NIC %u: manifest entry refused: %s", nc->index, strerror(-err));
			return err;
		}
		netd.channels[nc->index] = daemon_take_fd(msg, MICA__FD_KIND__FD_NET_CHANNEL,
							  nc->index);
		if (netd.channels[nc->index] < 0) {
			log_warnx("NIC %u: no channel to its mica-net", nc->index);
			return -EINVAL;
		}
		err = evloop_add(d->loop, netd.channels[nc->index], EPOLLIN, on_channel, d);
		if (err < 0)
			return err;
	}
	daemon_set_detail(d, "%zu TAP/macvtap NIC(s) allowed, owner tag %s", netd.allow.n, tag);
	return 0;
}

/* Open (or create) the TAP of NIC index and attach it as the manifest
 * says; fds gets one fd per queue. */
static int open_tap(const struct net_allow_rule *rule, unsigned queues, int *fds,
		    char *why, size_t why_len)
{
	struct plumb_tap_result res;
	int idx, err;
	bool may_attach;

	/* An existing TAP is taken when we made it (a restarted mica-net asks
	 * again) or when the manifest named it (the administrator's own);
	 * never when a generated name collides with somebody else's link. */
	idx = plumb_link_index(netd.plumb, rule->ifname);
	may_attach = idx >= 0 && (plumb_owns(netd.plumb, idx) || netd.named[rule->index]);
	err = plumb_tap_open(netd.plumb, rule->ifname, queues, may_attach, fds, &res);
	if (err < 0) {
		snprintf(why, why_len, "open TAP %s: %s", rule->ifname, strerror(-err));
		return err;
	}
	for (unsigned q = 0; q < res.nqueues && err == 0; q++)
		err = plumb_tap_set_vnet_hdr_size(fds[q], PLUMB_VNET_HDR_SIZE);
	if (err == 0 && netd.mtus[rule->index] != 0)
		err = plumb_link_set_mtu(netd.plumb, res.ifindex, netd.mtus[rule->index]);
	if (err == 0 && rule->bridge[0] != '\0')
		err = plumb_bridge_attach(netd.plumb, res.ifindex, rule->bridge);
	if (err == 0)
		err = plumb_link_set_up(netd.plumb, res.ifindex, true);
	if (err < 0) {
		snprintf(why, why_len, "set up TAP %s%s%s: %s", rule->ifname,
			 rule->bridge[0] ? " on bridge " : "", rule->bridge, strerror(-err));
		for (unsigned q = 0; q < res.nqueues; q++)
			close(fds[q]);
		return err;
	}
	return (int)res.nqueues;
}

/* ---- macvtap --------------------------------------------------------------
 * netd makes the macvtap (on the manifest's parent, with the NIC's MAC,
 * owned and tagged like a TAP) but cannot open its character device:
 * /dev/tapN is root's, and netd keeps CAP_NET_ADMIN only.  mica opens it
 * (MacvtapOpen); netd checks the fds are its link's and passes them on. */

static int macvtap_request(struct daemon *d, int chan, const ipc_envelope *env,
			   const struct net_allow_rule *rule)
{
	struct macvtap_pending *pend = &netd.pending[rule->index];
	Mica__Envelope out = MICA__ENVELOPE__INIT;
	Mica__MacvtapOpen open = MICA__MACVTAP_OPEN__INIT;
	int idx, err = 0;

	idx = plumb_link_index(netd.plumb, rule->ifname);
	if (idx >= 0 && !plumb_owns(netd.plumb, idx))
		return ipc_send_result(chan, env->seq, EEXIST, "a link called %s exists and "
				       "is not this VM's macvtap", rule->ifname);
	if (idx < 0)
		err = plumb_macvtap_create(netd.plumb, rule->parent, rule->ifname,
					   netd.macs[rule->index], &idx);
	if (err == 0 && netd.mtus[rule->index] != 0)
		err = plumb_link_set_mtu(netd.plumb, idx, netd.mtus[rule->index]);
	if (err == 0)
		err = plumb_link_set_up(netd.plumb, idx, true);
	if (err < 0) {
		log_warnx("NIC %u: macvtap %s on %s: %s", rule->index, rule->ifname,
			  rule->parent, strerror(-err));
		return ipc_send_result(chan, env->seq, -err, "macvtap %s on %s: %s",
				       rule->ifname, rule->parent, strerror(-err));
	}
	*pend = (struct macvtap_pending){ .chan = chan, .req_seq = env->seq,
					  .core_seq = ++netd.core_seq, .ifindex = idx };
	open.index = rule->index;
	open.ifindex = (uint32_t)idx;
	open.queues = env->net_open->queues;
	out.seq = pend->core_seq;
	out.body_case = MICA__ENVELOPE__BODY_MACVTAP_OPEN;
	out.macvtap_open = &open;
	return ipc_send(d->ctl, &out, NULL, 0);
}

static struct macvtap_pending *macvtap_pending_for(uint64_t core_seq)
{
	for (size_t i = 0; i < NETD_MAX_NETS; i++)
		if (netd.pending[i].chan >= 0 && netd.pending[i].core_seq == core_seq)
			return &netd.pending[i];
	return NULL;
}

/* mica's answer: the queue fds, checked, to the waiting mica-net. */
static int macvtap_opened(struct daemon *d, struct ipc_msg *msg)
{
	const Mica__MacvtapOpened *got = msg->env->macvtap_opened;
	struct macvtap_pending *pend = macvtap_pending_for(msg->env->seq);
	const struct net_allow_rule *rule;
	Mica__Envelope reply = MICA__ENVELOPE__INIT;
	Mica__NetOpened opened = MICA__NET_OPENED__INIT;
	int chan, err;

	if (pend == NULL || got->index != (uint32_t)(pend - netd.pending) ||
	    got->ifindex != (uint32_t)pend->ifindex) {
		log_warnx("macvtap queues from mica that nobody asked for; ignored");
		return 0;
	}
	chan = pend->chan;
	pend->chan = -1;
	rule = net_allow_find(&netd.allow, got->index);
	err = plumb_macvtap_check_fds(netd.plumb, pend->ifindex, msg->fds, msg->nfds);
	if (err < 0 || rule == NULL) {
		log_warnx("NIC %u: the queues mica opened are not macvtap %s's: %s",
			  got->index, rule ? rule->ifname : "?", strerror(-err));
		return ipc_send_result(chan, pend->req_seq, ESTALE, "/dev/tap%d is not "
				       "macvtap %s's (another namespace's link with that "
				       "ifindex?)", pend->ifindex, rule ? rule->ifname : "?");
	}
	opened.index = got->index;
	opened.ifname = (char *)rule->ifname;
	opened.queues = (uint32_t)msg->nfds;
	reply.seq = pend->req_seq;
	reply.body_case = MICA__ENVELOPE__BODY_NET_OPENED;
	reply.net_opened = &opened;
	err = ipc_send(chan, &reply, msg->fds, msg->nfds);
	if (err == 0) {
		netd.tap_opened++;
		log_info("NIC %u: macvtap %s on %s, %zu queue(s) handed to mica-net",
			 got->index, rule->ifname, rule->parent, msg->nfds);
		daemon_set_detail(d, "%zu TAP/macvtap NIC(s) allowed, %u opened",
				  netd.allow.n, netd.tap_opened);
	}
	return 0;      /* a mica-net gone meanwhile is not our failure */
}

/* mica could not open them: tell the waiting mica-net why. */
static int macvtap_refused(struct ipc_msg *msg)
{
	struct macvtap_pending *pend = macvtap_pending_for(msg->env->seq);
	const Mica__Result *res = msg->env->result;

	int chan;

	if (pend == NULL)
		return 0;                  /* an answer to something else */
	chan = pend->chan;
	pend->chan = -1;
	log_warnx("NIC %u: mica did not open the macvtap queues: %s",
		  (unsigned)(pend - netd.pending), res->message);
	ipc_send_result(chan, pend->req_seq, res->errno_value ? (int)res->errno_value : EIO,
			"%s", res->message);
	return 0;
}

static int netd_request(struct daemon *d, struct ipc_msg *msg)
{
	switch (msg->env->body_case) {
	case MICA__ENVELOPE__BODY_MACVTAP_OPENED:
		return macvtap_opened(d, msg);
	case MICA__ENVELOPE__BODY_RESULT:
		return macvtap_refused(msg);
	default:
		return -ENOTSUP;
	}
}

static int serve_net_open(struct daemon *d, int chan, const ipc_envelope *env)
{
	const Mica__NetOpen *req = env->net_open;
	Mica__Envelope reply = MICA__ENVELOPE__INIT;
	Mica__NetOpened opened = MICA__NET_OPENED__INIT;
	const struct net_allow_rule *rule;
	struct net_request nr = { .index = req->index, .mode = NET_ALLOW_TAP };
	int fds[PLUMB_MAX_QUEUES], n, err;
	char why[160] = "";

	/* A mica-net may only ask for its own NIC. */
	if (req->index >= NETD_MAX_NETS || netd.channels[req->index] != chan) {
		log_warnx("refused: NIC %u asked on another NIC's channel", req->index);
		return ipc_send_result(chan, env->seq, EPERM, "not your NIC");
	}
	rule = net_allow_find(&netd.allow, req->index);
	if (rule != NULL) {
		nr.mode = rule->mode;
		nr.ifname = rule->ifname;
		nr.bridge = rule->bridge;
		nr.parent = rule->parent;
	}
	if (rule == NULL || net_allow_check(&netd.allow, &nr, why, sizeof(why)) < 0)
		return ipc_send_result(chan, env->seq, EPERM, "%s", why[0] ? why : "not allowed");
	if (rule->mode == NET_ALLOW_MACVTAP)
		return macvtap_request(d, chan, env, rule);
	n = open_tap(rule, req->queues, fds, why, sizeof(why));
	if (n < 0) {
		log_warnx("NIC %u: %s", req->index, why);
		return ipc_send_result(chan, env->seq, -n, "%s", why);
	}
	opened.index = req->index;
	opened.ifname = (char *)rule->ifname;
	opened.queues = n;
	reply.seq = env->seq;
	reply.body_case = MICA__ENVELOPE__BODY_NET_OPENED;
	reply.net_opened = &opened;
	err = ipc_send(chan, &reply, fds, n);
	for (int q = 0; q < n; q++)
		close(fds[q]);
	if (err == 0) {
		netd.tap_opened++;
		log_info("NIC %u: TAP %s%s%s, %d queue(s) handed to mica-net", req->index,
			 rule->ifname, rule->bridge[0] ? " on bridge " : "", rule->bridge, n);
		daemon_set_detail(d, "%zu TAP NIC(s) allowed, %u opened", netd.allow.n,
				  netd.tap_opened);
	}
	return err;
}

static void drop_channel(struct evloop *loop, int fd)
{
	for (size_t i = 0; i < NETD_MAX_NETS; i++) {
		if (netd.channels[i] == fd)
			netd.channels[i] = -1;
		if (netd.pending[i].chan == fd)
			netd.pending[i].chan = -1;      /* mica's answer finds nobody */
	}
	evloop_del(loop, fd);
	close(fd);
}

static void on_channel(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct ipc_msg msg;
	char why[IPC_REASON_MAX] = "";
	int err = ipc_recv(fd, &msg, why, sizeof(why));

	if (err == -EAGAIN)
		return;
	if (err < 0) {
		/* mica-net died (it gets a new channel by Attach) or sent garbage. */
		if (err == -EBADMSG)
			log_warnx("malformed request from mica-net (%s); dropping its channel",
				  why);
		drop_channel(loop, fd);
		return;
	}
	if (msg.env->body_case == MICA__ENVELOPE__BODY_NET_OPEN)
		err = serve_net_open(arg, fd, msg.env);
	else
		err = ipc_send_result(fd, msg.env->seq, ENOTSUP, "%s not supported yet",
				      ipc_body_name(msg.env));
	ipc_msg_free(&msg);
	if (err < 0)
		drop_channel(loop, fd);
}

static int netd_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	if (info->kind != MICA__FD_KIND__FD_NET_CHANNEL || info->index >= NETD_MAX_NETS ||
	    net_allow_find(&netd.allow, info->index) == NULL) {
		close(fd);
		return -EINVAL;
	}
	if (netd.channels[info->index] >= 0)
		drop_channel(d->loop, netd.channels[info->index]);
	netd.channels[info->index] = fd;
	return evloop_add(d->loop, fd, EPOLLIN, on_channel, d);
}

static void netd_shutdown(struct daemon *d)
{
	int err;

	if (netd.plumb == NULL)
		return;
	err = plumb_remove_owned(netd.plumb);
	if (err < 0)
		log_warnx("removing the interfaces this VM created: %s", strerror(-err));
	plumb_close(netd.plumb);
	netd.plumb = NULL;
}

static const struct daemon_ops netd_ops = {
	.program = "mica-netd",
	.role = MICA__ROLE__ROLE_NETD,
	.policy = &netd_policy,
	.prelock = netd_prelock,
	.setup = netd_setup,
	.attach = netd_attach,
	.request = netd_request,
	.shutdown = netd_shutdown,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &netd_ops);
}
