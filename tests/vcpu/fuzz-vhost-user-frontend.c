/* libFuzzer: whatever a back-end may answer, as the runner's vhost-user
 * front-end reads it: negotiation, GET_CONFIG, starting a ring (memory
 * table, inflight fd), stopping it (GET_VRING_BASE).  The input is the
 * byte stream from the back-end; the connection ends after it. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vhost-user-frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	static int memfd = -1;
	struct vhost_user_ring ring = { .size = 16, .desc = 0x1000, .avail = 0x2000,
					.used = 0x3000, .kick_fd = 0, .call_fd = 0 };
	struct vhost_user_frontend f;
	uint8_t cfg[16];
	int sv[2];

	if (memfd < 0) {
		log_init("fuzz-vhost-user-frontend");
		memfd = memfd_create("ram", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, 1 << 20) < 0)
			abort();
		mem.nr = 1;
		mem.ram_size = mem.region[0].size = 1 << 20;
		mem.region[0].hva = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
					 MAP_SHARED, memfd, 0);
		if (mem.region[0].hva == MAP_FAILED)
			abort();
	}
	if (size > 4096 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (write(sv[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR);
	if (vhost_user_frontend_init(&f, "fuzz", sv[0], 0) == 0) {
		vhost_user_frontend_get_config(&f, 0, cfg, sizeof(cfg));
		if (vhost_user_frontend_start(&f, 1ULL << 32, &mem, memfd, &ring, 1, 256) == 0)
			vhost_user_frontend_stop(&f, NULL);
	}
	vhost_user_frontend_fini(&f);
	close(sv[1]);
	return 0;
}
