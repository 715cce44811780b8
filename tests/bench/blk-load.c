/* vhost-user-blk load generator: acts as the guest's virtio-blk driver on
 * shared memory (tests/lib/vu_frontend), no guest needed, so any backend
 * (mica-blk, qemu-storage-daemon) can be measured the same way.
 *
 *   blk-load SOCKET --rw randread|randwrite --bs 4096 --qd 32 --queues 2
 *            --seconds 5 --size BYTES
 *
 * Prints one line: "rw=... bs=... qd=... queues=... iops=N p50_us=N p99_us=N".
 * Requests are spread over the queues round-robin; each queue keeps qd/queues
 * requests in flight; offsets are random, bs-aligned, over --size bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dev-virtio-blk/virtio_blk.h"
#include "tests/lib/vu_frontend.h"

#define MAX_QD 256

struct slot {
	uint64_t started_ns;
	bool busy;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct vu_frontend fe;
static struct slot slots[VUF_MAX_QUEUES][MAX_QD];
static uint64_t *lat;
static size_t nlat, maxlat;

/* Request buffers of queue q, slot s: header, data, status, at fixed
 * places in guest memory. */
static uint64_t slot_gpa(unsigned q, unsigned s, unsigned bs)
{
	return vuf_data_gpa(&fe) + ((uint64_t)q * MAX_QD + s) * (bs + 4096);
}

static int submit(unsigned q, unsigned s, bool write, unsigned bs, uint64_t size)
{
	uint64_t base = slot_gpa(q, s, bs);
	struct virtio_blk_outhdr *h = vuf_gpa(&fe, base);
	struct vqdrv_buf b[3] = {
		{ base, sizeof(*h), false },
		{ base + 512, bs, !write },
		{ base + 512 + bs, 1, true },
	};

	h->type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	h->ioprio = 0;
	h->sector = ((uint64_t)random() % (size / bs)) * (bs / 512);
	slots[q][s].started_ns = now_ns();
	slots[q][s].busy = true;
	return vqdrv_add(&fe.q[q], b, 3, s, NULL, 0);   /* the head, or -1 */
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rw", required_argument, NULL, 'r' }, { "bs", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'q' }, { "queues", required_argument, NULL, 'Q' },
		{ "seconds", required_argument, NULL, 's' }, { "size", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rw = "randread";
	unsigned bs = 4096, qd = 1, queues = 1, seconds = 5;
	uint64_t size = 1ULL << 30, done = 0, deadline;
	uint16_t head_slot[VUF_MAX_QUEUES][32768];
	struct pollfd pfd[VUF_MAX_QUEUES];
	bool write;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rw = optarg; break;
		case 'b': bs = atoi(optarg); break;
		case 'q': qd = atoi(optarg); break;
		case 'Q': queues = atoi(optarg); break;
		case 's': seconds = atoi(optarg); break;
		case 'S': {
			char *end;

			size = strtoull(optarg, &end, 0);
			size <<= *end == 'G' ? 30 : *end == 'M' ? 20 : *end == 'K' ? 10 : 0;
			break;
		}
		default: return 2;
		}
	}
	write = strcmp(rw, "randwrite") == 0;
	if (optind != argc - 1 || queues < 1 || queues > VUF_MAX_QUEUES || qd < queues ||
	    qd > MAX_QD * queues || bs % 512 || bs == 0 || size < bs ||
	    (!write && strcmp(rw, "randread"))) {
		fprintf(stderr, "usage: blk-load SOCKET [--rw randread|randwrite] [--bs N] "
			"[--qd N] [--queues N] [--seconds N] [--size BYTES]\n");
		return 2;
	}
	srandom(1);
	if (vuf_connect(&fe, argv[optind], 5000) < 0 ||
	    vuf_start(&fe, vuf_data_gpa(&fe) + (uint64_t)VUF_MAX_QUEUES * MAX_QD * (bs + 4096) +
		      (1 << 20), queues, 256, false, ~0ULL) < 0) {
		fprintf(stderr, "blk-load: cannot start the device on %s\n", argv[optind]);
		return 1;
	}
	maxlat = 4000000;
	lat = malloc(maxlat * sizeof(*lat));
	for (unsigned q = 0; q < queues; q++) {
		for (unsigned s = 0; s < qd / queues; s++) {
			int head = submit(q, s, write, bs, size);

			if (head < 0)
				return 1;
			head_slot[q][head] = s;
		}
		vuf_kick(&fe, q);
		pfd[q].fd = fe.call[q];
		pfd[q].events = POLLIN;
	}
	deadline = now_ns() + (uint64_t)seconds * 1000000000ULL;
	while (now_ns() < deadline) {
		bool any = false;

		for (unsigned q = 0; q < queues; q++) {
			uint16_t id;
			uint32_t len;
			bool kicked = false;

			while (vqdrv_get_used(&fe.q[q], &id, &len) == 1) {
				unsigned s = head_slot[q][id];
				int head;

				if (nlat < maxlat)
					lat[nlat++] = now_ns() - slots[q][s].started_ns;
				done++;
				head = submit(q, s, write, bs, size);
				if (head < 0)
					return 1;
				head_slot[q][head] = s;
				kicked = any = true;
			}
			if (kicked)
				vuf_kick(&fe, q);
		}
		if (!any) {
			uint64_t count;

			poll(pfd, queues, 100);
			for (unsigned q = 0; q < queues; q++)
				if (pfd[q].revents & POLLIN)
					if (read(pfd[q].fd, &count, 8) < 0)
						break;
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	printf("rw=%s bs=%u qd=%u queues=%u iops=%.0f p50_us=%.1f p99_us=%.1f\n", rw, bs, qd,
	       queues, (double)done / seconds, nlat ? lat[nlat / 2] / 1000.0 : 0,
	       nlat ? lat[nlat * 99 / 100] / 1000.0 : 0);
	vuf_close(&fe);
	return 0;
}
