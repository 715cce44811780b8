/* The runner's side of forwarded legacy port I/O (dev-legacy/forward.h):
 * an I/O-bus handler for the legacy ports that sends each access to
 * mica-legacy and waits for the answer.
 *
 * Safe from any number of vCPU threads: one request is in flight at a
 * time.  When mica-legacy dies, the access waits up to
 * LEGACY_FORWARD_RECONNECT_MS for the restarted one (legacy_forward_connect
 * from the Attach) and is retried there; if none comes, reads return all
 * ones and writes are dropped.  Functions return 0 or a negative errno.
 */
#ifndef MICA_LEGACY_FORWARD_RUNNER_H
#define MICA_LEGACY_FORWARD_RUNNER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev-legacy/forward.h"
#include "machine.h"

#define LEGACY_FORWARD_RECONNECT_MS	3000
#define LEGACY_FORWARD_REPLY_MS		1000

struct legacy_forward {
	enum legacy_fwd_mode mode;
	struct machine *m;		/* for reset/poweroff */
	pthread_mutex_t lock;		/* one request at a time; fd changes */
	pthread_cond_t reconnected;
	int channel_fd;			/* -1 while mica-legacy is away */
	bool ever_lost;
	struct timespec lost_at;	/* when the channel went away */
	uint32_t seq;
	/* ring transport */
	int ring_fd, req_efd, reply_efd;
	struct legacy_fwd_ring *ring;
	uint64_t forwarded, lost;	/* counters for the status line */
};

/* Before lockdown: the ring memfd and eventfds (kept for every
 * mica-legacy this runner will see). */
int legacy_forward_init(struct legacy_forward *f, enum legacy_fwd_mode mode);
/* Start (or restart) forwarding on channel_fd, which f now owns: says
 * HELLO with the mode (and the ring fds).  Wakes a vCPU waiting for it. */
int legacy_forward_connect(struct legacy_forward *f, int channel_fd);
/* Claim the legacy ports on m's port-I/O bus. */
int legacy_forward_attach(struct legacy_forward *f, struct machine *m);

const char *legacy_forward_mode_name(enum legacy_fwd_mode mode);

#endif
