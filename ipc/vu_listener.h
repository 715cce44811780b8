/* The serving loop of a standalone vhost-user back-end program (mica-blk,
 * mica-net run by hand): listen on a socket path or a given fd, serve one
 * front-end at a time and take the next when it goes away, stop on
 * SIGINT/SIGTERM.  Functions return 0 (or an fd) or a negative errno. */
#ifndef MICA_VU_LISTENER_H
#define MICA_VU_LISTENER_H

#include <stdbool.h>

#include "evloop.h"

/* Attach the device to a connected front-end socket. */
typedef int (*vu_serve_fn)(void *arg, struct evloop *loop, int conn);

struct vu_listener {
	int listen_fd;
	bool connected;
	vu_serve_fn serve;
	void *arg;
};

/* A listening socket at path (an old socket file there is replaced). */
int vu_listen_path(const char *path);

/* Watch listen_fd for front-ends and the stop signals on loop. */
int vu_listener_start(struct vu_listener *l, struct evloop *loop, int listen_fd,
		      vu_serve_fn serve, void *arg);

/* The device's front-end went away: accept the next one. */
void vu_listener_disconnected(struct vu_listener *l);

#endif
