/* Console input: `mica run`'s stdin goes to the guest's COM1.
 *
 * We read stdin and write it into a pipe whose read end mica-legacy gets
 * (FD_CONSOLE_IN); we keep that end too, so a restarted mica-legacy reads
 * on where the old one stopped.  mica-legacy reads only as much as the
 * UART's receive FIFO has room for, so a full pipe holds stdin back
 * instead of overrunning the guest.
 *
 * A terminal is put into raw mode (output post-processing stays on, as
 * QEMU does) and restored on every way out: the normal return, exit(),
 * and the fatal signals.  On a terminal, Ctrl-A is the escape key:
 * Ctrl-A x stops the VM, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A h lists
 * them.  A pipe or file is passed through as it is. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

#define CONSOLE_ESCAPE 0x01	/* Ctrl-A */

struct console_in {
	struct vm *vm;
	int pipe_w;
	bool tty, regular, escape, drop_said;
	bool src_watched, out_watched;
	uint8_t buf[4096];
	size_t off, len;
};

static struct console_in conin = { .pipe_w = -1 };

/* The terminal as we found it; restored from a signal handler too. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_raw;

void console_restore(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_raw = 0;
	}
}

static void on_fatal_signal(int sig)
{
	console_restore();
	raise(sig);		/* SA_RESETHAND: the default action now */
}

static int tty_make_raw(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL,
				     SIGQUIT, SIGTRAP, SIGSYS };
	struct sigaction sa = { .sa_handler = on_fatal_signal,
				.sa_flags = SA_RESETHAND | SA_NODEFER };
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	atexit(console_restore);
	raw = saved_tty;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST;	/* "\n" still starts a new line on screen */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
		return -errno;
	tty_raw = 1;
	return 0;
}

static void on_stdin(struct evloop *loop, int fd, uint32_t events, void *arg);
static void on_pipe_room(struct evloop *loop, int fd, uint32_t events, void *arg);

/* Watch stdin while the buffer is empty (a terminal: always), and the
 * pipe for room while it is not.  A regular file cannot be polled: it is
 * read whenever the pipe has room. */
static void conin_watch(struct console_in *c)
{
	bool want_src = (c->off == c->len || c->tty) && !c->regular && c->pipe_w >= 0;
	bool want_out = (c->off < c->len || c->regular) && c->pipe_w >= 0;

	if (want_src != c->src_watched) {
		if (want_src)
			evloop_add(c->vm->loop, STDIN_FILENO, EPOLLIN, on_stdin, c);
		else
			evloop_del(c->vm->loop, STDIN_FILENO);
		c->src_watched = want_src;
	}
	if (want_out != c->out_watched) {
		if (want_out)
			evloop_add(c->vm->loop, c->pipe_w, EPOLLOUT, on_pipe_room, c);
		else
			evloop_del(c->vm->loop, c->pipe_w);
		c->out_watched = want_out;
	}
}

static void conin_eof(struct console_in *c)
{
	if (c->src_watched)
		evloop_del(c->vm->loop, STDIN_FILENO);
	if (c->out_watched)
		evloop_del(c->vm->loop, c->pipe_w);
	c->src_watched = c->out_watched = false;
	close(c->pipe_w);		/* mica-legacy sees the end of input */
	c->pipe_w = -1;
	c->off = c->len = 0;
}

static void escape_help(void)
{
	fprintf(stderr, "\r\nmica console: Ctrl-A x  stop the VM\r\n"
			"              Ctrl-A Ctrl-A  send Ctrl-A to the guest\r\n"
			"              Ctrl-A h  this help\r\n");
}

/* Take the escape sequences out of buf[0..n); returns what is left. */
static size_t conin_escape(struct console_in *c, uint8_t *buf, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = buf[i];

		if (!c->escape && b == CONSOLE_ESCAPE) {
			c->escape = true;
			continue;
		}
		if (c->escape) {
			c->escape = false;
			if (b == 'x' || b == 'X') {
				console_restore();
				log_info("console: Ctrl-A x");
				vm_stop(c->vm, 0, "Ctrl-A x on the console");
				return 0;
			}
			if (b == 'h' || b == 'H' || b == '?') {
				escape_help();
				continue;
			}
			if (b != CONSOLE_ESCAPE)
				continue;	/* unknown: dropped, as QEMU does */
		}
		buf[out++] = b;
	}
	return out;
}

/* Read stdin once: escapes taken out (terminal), the rest appended to the
 * buffer.  A terminal is read even while the buffer is full, so that
 * Ctrl-A x always works; what does not fit then is dropped (the guest is
 * not reading).  A pipe or file is read only into an empty buffer, and
 * waits otherwise.  Returns false at the end of input. */
static bool conin_read(struct console_in *c)
{
	uint8_t in[sizeof(c->buf)];
	size_t room, n;
	ssize_t got;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	room = sizeof(c->buf) - c->len;
	got = read(STDIN_FILENO, in, c->tty ? sizeof(in) : room);
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (got <= 0) {
		if (got < 0)
			log_warn("console input");
		conin_eof(c);
		return false;
	}
	n = c->tty ? conin_escape(c, in, (size_t)got) : (size_t)got;
	if (n > room) {
		if (!c->drop_said)
			log_warnx("console: the guest does not read its serial input; "
				  "dropping typed input until it does");
		c->drop_said = true;
		n = room;
	}
	memcpy(c->buf + c->len, in, n);
	c->len += n;
	return true;
}

/* Move bytes from stdin to the pipe until one side would block. */
static void conin_pump(struct console_in *c, bool src_ready)
{
	while (c->pipe_w >= 0 && !c->vm->stopping) {
		ssize_t n;

		if (src_ready || (c->regular && c->off == c->len)) {
			src_ready = false;
			if (!conin_read(c))
				return;
			continue;
		}
		if (c->off == c->len)
			break;
		n = write(c->pipe_w, c->buf + c->off, c->len - c->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			log_warn("console input to mica-legacy");
			conin_eof(c);
			return;
		}
		c->off += (size_t)n;
	}
	if (!c->vm->stopping)
		conin_watch(c);
}

static void on_stdin(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	conin_pump(arg, true);
}

static void on_pipe_room(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	conin_pump(arg, false);
}

/* Console input for the stdio console: the pipe, and raw mode on a
 * terminal we own (a background job neither reads nor configures it). */
int console_open(struct vm *vm)
{
	struct console_in *c = &conin;
	struct stat st;
	int p[2];

	vm->console_in_fd = -1;
	/* fd 0 with close-on-exec is one of ours (stdin was closed): none. */
	if (vm->cfg->console != CONSOLE_STDIO || fstat(STDIN_FILENO, &st) < 0 ||
	    (fcntl(STDIN_FILENO, F_GETFD) & FD_CLOEXEC))
		return 0;
	c->tty = isatty(STDIN_FILENO);
	if (c->tty && tcgetpgrp(STDIN_FILENO) != getpgrp()) {
		log_info("console: stdin is a terminal we do not own (background); "
			 "no console input");
		return 0;
	}
	c->regular = S_ISREG(st.st_mode);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) < 0) {
		int err = -errno;

		close(p[0]);
		close(p[1]);
		return err;
	}
	vm->console_in_fd = p[0];
	c->pipe_w = p[1];
	c->vm = vm;
	return 0;
}

int console_start(struct vm *vm)
{
	struct console_in *c = &conin;
	int err;

	if (c->pipe_w < 0)
		return 0;
	if (c->tty) {
		err = tty_make_raw();
		if (err < 0) {
			errno = -err;
			log_warn("console: raw mode");
		} else {
			log_info("console: Ctrl-A x stops the VM, Ctrl-A h for help");
		}
	}
	conin_pump(c, false);
	return 0;
}

void console_close(struct vm *vm)
{
	struct console_in *c = &conin;

	console_restore();
	if (c->pipe_w >= 0) {
		if (c->src_watched)
			evloop_del(vm->loop, STDIN_FILENO);
		if (c->out_watched)
			evloop_del(vm->loop, c->pipe_w);
		close(c->pipe_w);
	}
	*c = (struct console_in){ .pipe_w = -1 };
	if (vm->console_in_fd >= 0)
		close(vm->console_in_fd);
	vm->console_in_fd = -1;
}
