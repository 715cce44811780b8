/* The small epoll event loop every Mica daemon runs.
 *
 * Handlers are keyed by fd.  A handler may add or delete any fd, including
 * its own, while events are being dispatched: events for an fd deleted
 * earlier in the same batch are dropped (a generation number guards
 * against the fd number being reused at once).
 *
 * Functions return 0 or a negative errno.
 */
#ifndef MICA_EVLOOP_H
#define MICA_EVLOOP_H

#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>

struct evloop;

typedef void (*evloop_fn)(struct evloop *loop, int fd, uint32_t events, void *arg);

struct evloop *evloop_new(void);
void evloop_free(struct evloop *loop);

/* Watch fd for events (EPOLLIN, EPOLLOUT, ...); EPOLLHUP/ERR always come. */
int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn fn, void *arg);
int evloop_mod(struct evloop *loop, int fd, uint32_t events);
/* Stop watching fd.  Does not close it. */
int evloop_del(struct evloop *loop, int fd);

/* Run until evloop_stop() (which may come before the call); returns the
 * status given to it. */
int evloop_run(struct evloop *loop);
void evloop_stop(struct evloop *loop, int status);

/* One-shot or periodic timer on its own timerfd.  Returns the timer's fd
 * (>= 0), which evloop_timer_set re-arms and evloop_timer_free removes. */
int evloop_timer_new(struct evloop *loop, evloop_fn fn, void *arg);
int evloop_timer_set(int tfd, uint64_t first_ms, uint64_t interval_ms);
void evloop_timer_free(struct evloop *loop, int tfd);

/* Block the signals in set and deliver them through a signalfd; fn gets
 * the signalfd and reads struct signalfd_siginfo from it. */
int evloop_add_signals(struct evloop *loop, const sigset_t *set,
		       evloop_fn fn, void *arg);

#endif
