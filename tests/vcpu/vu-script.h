/* Scripted vhost-user back-ends for the runner's front-end tests: replies
 * written ahead of the front-end's requests on a stream socket (which
 * keeps them in order).  Header-only; CUnit asserts the writes. */
#ifndef MICA_TESTS_VU_SCRIPT_H
#define MICA_TESTS_VU_SCRIPT_H

#include <stdint.h>
#include <unistd.h>

#include "cutest.h"
#include "vhost_user.h"

static inline void vu_script_reply(int fd, uint32_t req, const void *payload, uint32_t size)
{
	struct vu_header h = { req, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, size };

	CU_ASSERT_EQUAL(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	if (size)
		CU_ASSERT_EQUAL(write(fd, payload, size), (ssize_t)size);
}

static inline void vu_script_reply_u64(int fd, uint32_t req, uint64_t v)
{
	vu_script_reply(fd, req, &v, sizeof(v));
}

#endif
