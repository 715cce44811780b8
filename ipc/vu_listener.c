#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "vu_listener.h"

int vu_listen_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_warnx("--socket-path: '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int err = -errno;

		log_warn("--socket-path %s", path);
		close(fd);
		return err;
	}
	return fd;
}

static void on_accept(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vu_listener *l = arg;
	int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (conn < 0)
		return;
	if (l->connected) {
		log_warnx("a front-end is already connected; refusing another");
		close(conn);
		return;
	}
	if (l->serve(l->arg, loop, conn) < 0) {
		close(conn);
		return;
	}
	l->connected = true;
	log_info("front-end connected");
}

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) > 0)
		evloop_stop(loop, 0);
}

int vu_listener_start(struct vu_listener *l, struct evloop *loop, int listen_fd,
		      vu_serve_fn serve, void *arg)
{
	sigset_t sigs;
	int err;

	l->listen_fd = listen_fd;
	l->serve = serve;
	l->arg = arg;
	l->connected = false;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	err = evloop_add_signals(loop, &sigs, on_signal, l);
	if (err < 0)
		return err;
	return evloop_add(loop, listen_fd, EPOLLIN, on_accept, l);
}

void vu_listener_disconnected(struct vu_listener *l)
{
	l->connected = false;
}
