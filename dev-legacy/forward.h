/* Forwarded port I/O between mica-vcpu (the runner) and mica-legacy.
 *
 * The runner owns the exits: for a port that belongs to the legacy
 * devices it sends one request and waits for the reply before it resumes
 * the vCPU.  Two transports carry the same request, chosen by the runner
 * in its HELLO on the legacy channel (SOCK_SEQPACKET):
 *
 *   LEGACY_FWD_MSG   each request and reply is one fixed-size datagram
 *                    (struct legacy_fwd_msg) on the channel.
 *   LEGACY_FWD_RING  the HELLO carries three fds: a memfd holding struct
 *                    legacy_fwd_ring (one request slot), an eventfd the
 *                    runner signals when a request is posted and mica-legacy
 *                    sleeps, and one mica-legacy signals when a reply is done
 *                    and the runner sleeps.  Either side may spin before it
 *                    sleeps (LEGACY_FWD_*_SPIN_NS) so that a burst of exits
 *                    needs no syscall.
 *
 * LEGACY_FWD_MSG is the default: on the 2-core PVM build hosts the two tie
 * within noise (about +10 us over an exit served inside the runner; see
 * tests/bench/exit-latency), and datagrams share no memory between the
 * two processes.
 *
 * This is a data path, not control: fixed binary records, size-checked,
 * no protobuf.  The runner sends one request at a time (its vCPU threads
 * take turns), so the ring has a single slot.  mica-legacy trusts nothing
 * in it: a bad size or port is answered with all ones.
 */
#ifndef MICA_LEGACY_FORWARD_H
#define MICA_LEGACY_FORWARD_H

#include <stdint.h>

#define LEGACY_FWD_MAGIC	0x3146574cu	/* "LWF1" */

enum legacy_fwd_mode {
	LEGACY_FWD_MSG = 1,
	LEGACY_FWD_RING = 2,
};

enum legacy_fwd_type {
	LEGACY_FWD_HELLO = 1,	/* runner -> legacy: value = mode */
	LEGACY_FWD_IO = 2,	/* runner -> legacy */
	LEGACY_FWD_REPLY = 3,	/* legacy -> runner */
};

/* What the access did to the machine, in a reply. */
#define LEGACY_FWD_RESET	(1u << 0)	/* the guest asked for a reset */
#define LEGACY_FWD_POWEROFF	(1u << 1)	/* the guest entered S5 */

struct legacy_fwd_msg {
	uint32_t magic;
	uint32_t type;
	uint32_t seq;		/* echoed in the reply */
	uint16_t port;
	uint8_t size;		/* 1, 2 or 4 */
	uint8_t write;
	uint32_t value;		/* data written, or read back in the reply */
	uint32_t flags;		/* LEGACY_FWD_RESET/POWEROFF, replies only */
};

/* The shared page of the ring transport.  Requests and replies are
 * published by bumping req_seq / done_seq (release) after the fields;
 * *_sleeping say who needs an eventfd kick (set, full fence, re-check). */
struct legacy_fwd_ring {
	uint32_t magic;
	uint32_t req_seq;		/* runner: request posted */
	uint32_t done_seq;		/* legacy: reply for req_seq ready */
	uint32_t legacy_sleeping;	/* legacy waits on the request eventfd */
	uint32_t runner_sleeping;	/* runner waits on the reply eventfd */
	uint16_t port;
	uint8_t size;
	uint8_t write;
	uint32_t value;
	uint32_t reply_value;
	uint32_t reply_flags;
};

#define LEGACY_FWD_RING_SIZE 4096

/* How long each side spins for the other before it sleeps, in ns.  On
 * the 2-core PVM build hosts spinning made things worse (50 us on both
 * sides: ~100 us per forwarded exit against ~20 us for LEGACY_FWD_MSG),
 * so both sleep at once; see tests/bench/exit-latency. */
#define LEGACY_FWD_RUNNER_SPIN_NS	0
#define LEGACY_FWD_LEGACY_SPIN_NS	0

#endif
