#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "evloop.h"

struct evloop_handler {
	evloop_fn fn;
	void *arg;
	uint32_t gen;
};

struct evloop {
	int epfd;
	bool stopped;
	int status;
	uint32_t next_gen;
	struct evloop_handler *handlers;   /* indexed by fd */
	size_t nhandlers;
};

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));

	if (loop == NULL)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->next_gen = 1;
	return loop;
}

void evloop_free(struct evloop *loop)
{
	if (loop == NULL)
		return;
	close(loop->epfd);
	free(loop->handlers);
	free(loop);
}

static int evloop_reserve(struct evloop *loop, int fd)
{
	size_t want;
	struct evloop_handler *h;

	if ((size_t)fd < loop->nhandlers)
		return 0;
	want = loop->nhandlers ? loop->nhandlers : 64;
	while (want <= (size_t)fd)
		want *= 2;
	h = realloc(loop->handlers, want * sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	memset(h + loop->nhandlers, 0, (want - loop->nhandlers) * sizeof(*h));
	loop->handlers = h;
	loop->nhandlers = want;
	return 0;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn fn, void *arg)
{
	struct epoll_event ev = { .events = events };
	struct evloop_handler *h;
	int err;

	if (fd < 0 || fn == NULL)
		return -EINVAL;
	err = evloop_reserve(loop, fd);
	if (err < 0)
		return err;
	h = &loop->handlers[fd];
	if (h->fn != NULL)
		return -EEXIST;
	h->fn = fn;
	h->arg = arg;
	h->gen = loop->next_gen++;
	ev.data.u64 = (uint64_t)h->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = -errno;
		memset(h, 0, sizeof(*h));
		return err;
	}
	return 0;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	if (fd < 0 || (size_t)fd >= loop->nhandlers || loop->handlers[fd].fn == NULL)
		return -ENOENT;
	ev.data.u64 = (uint64_t)loop->handlers[fd].gen << 32 | (uint32_t)fd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int evloop_del(struct evloop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nhandlers || loop->handlers[fd].fn == NULL)
		return -ENOENT;
	memset(&loop->handlers[fd], 0, sizeof(loop->handlers[fd]));
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
		return -errno;
	return 0;
}

int evloop_run(struct evloop *loop)
{
	struct epoll_event events[32];

	while (!loop->stopped) {
		int n = epoll_wait(loop->epfd, events, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !loop->stopped; i++) {
			int fd = (int)(uint32_t)events[i].data.u64;
			uint32_t gen = events[i].data.u64 >> 32;
			struct evloop_handler *h;

			if ((size_t)fd >= loop->nhandlers)
				continue;
			h = &loop->handlers[fd];
			if (h->fn == NULL || h->gen != gen)
				continue;   /* deleted earlier in this batch */
			h->fn(loop, fd, events[i].events, h->arg);
		}
	}
	return loop->status;
}

void evloop_stop(struct evloop *loop, int status)
{
	loop->stopped = true;
	loop->status = status;
}

int evloop_timer_new(struct evloop *loop, evloop_fn fn, void *arg)
{
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int err;

	if (tfd < 0)
		return -errno;
	err = evloop_add(loop, tfd, EPOLLIN, fn, arg);
	if (err < 0) {
		close(tfd);
		return err;
	}
	return tfd;
}

int evloop_timer_set(int tfd, uint64_t first_ms, uint64_t interval_ms)
{
	struct itimerspec its = {
		.it_value = { first_ms / 1000, (first_ms % 1000) * 1000000 },
		.it_interval = { interval_ms / 1000, (interval_ms % 1000) * 1000000 },
	};
	uint64_t ticks;

	/* Drain an expiry that is already pending so it does not fire early. */
	if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return -errno;
	if (first_ms == 0 && interval_ms == 0)
		its.it_value.tv_nsec = 0;   /* disarm */
	if (timerfd_settime(tfd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

void evloop_timer_free(struct evloop *loop, int tfd)
{
	if (tfd < 0)
		return;
	evloop_del(loop, tfd);
	close(tfd);
}

int evloop_add_signals(struct evloop *loop, const sigset_t *set,
		       evloop_fn fn, void *arg)
{
	int sfd, err;

	if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
		return -errno;
	sfd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return -errno;
	err = evloop_add(loop, sfd, EPOLLIN, fn, arg);
	if (err < 0) {
		close(sfd);
		return err;
	}
	return sfd;
}
