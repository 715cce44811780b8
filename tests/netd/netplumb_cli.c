/* netplumb-cli: drive the plumbing library from shell tests, the way netd
 * will: create and hold links for a "VM", remove them on SIGTERM (a clean
 * stop), leave them on SIGKILL (a crash) for a later "sweep".
 *
 *   netplumb-cli TAG hold TAP [-q QUEUES] [-b BRIDGE] [-B NEW_BRIDGE] [-m PARENT]
 *   netplumb-cli TAG sweep
 *
 * "hold" prints "ready" once everything is set up, then waits. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netd/plumb.h"

static int usage(void)
{
	fprintf(stderr, "usage: netplumb-cli TAG hold TAP [-q N] [-b BRIDGE] "
		"[-B NEW_BRIDGE] [-m PARENT]\n       netplumb-cli TAG sweep\n");
	return 2;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "netplumb-cli: %s: %s\n", what, strerror(-err));
	return 1;
}

static int hold(struct plumb *p, int argc, char **argv)
{
	const char *tap = argv[0], *bridge = NULL, *new_bridge = NULL, *parent = NULL;
	struct plumb_tap_result res;
	int fds[PLUMB_MAX_QUEUES], mfds[1], err, opt, queues = 1, mvt, sig;
	sigset_t set;

	while ((opt = getopt(argc, argv, "q:b:B:m:")) != -1) {
		switch (opt) {
		case 'q': queues = atoi(optarg); break;
		case 'b': bridge = optarg; break;
		case 'B': new_bridge = optarg; break;
		case 'm': parent = optarg; break;
		default: return usage();
		}
	}
	/* Signals arrive through sigwait only, so the handler is the code below. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (new_bridge) {
		err = plumb_bridge_create(p, new_bridge, NULL);
		if (err < 0)
			return fail(new_bridge, err);
		bridge = new_bridge;
	}
	err = plumb_tap_open(p, tap, (unsigned)queues, true, fds, &res);
	if (err < 0)
		return fail(tap, err);
	if (bridge && (err = plumb_bridge_attach(p, res.ifindex, bridge)) < 0)
		return fail(bridge, err);
	if ((err = plumb_link_set_up(p, res.ifindex, true)) < 0)
		return fail("link up", err);
	if (parent) {
		err = plumb_macvtap_create(p, parent, NULL, NULL, &mvt);
		if (err == 0)
			err = plumb_macvtap_open(p, mvt, 1, -1, mfds);
		if (err < 0)
			return fail(parent, err);
	}
	printf("ready %s%s\n", tap, res.created ? " created" : " attached");
	fflush(stdout);

	sigwait(&set, &sig);
	err = plumb_remove_owned(p);
	printf("removed %d\n", err);
	return err < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct plumb *p;
	int err, rc;

	log_init("netplumb-cli");
	if (argc < 3)
		return usage();
	err = plumb_open(&p, argv[1], -1);
	if (err < 0)
		return fail("plumb_open", err);
	if (!strcmp(argv[2], "hold") && argc >= 4) {
		rc = hold(p, argc - 3, argv + 3);
		if (rc)		/* undo a half-done set-up, as netd will */
			plumb_remove_owned(p);
	} else if (!strcmp(argv[2], "sweep")) {
		err = plumb_sweep_tag(p);
		printf("swept %d\n", err);
		rc = err < 0;
	} else {
		rc = usage();
	}
	plumb_close(p);
	return rc;
}
