/* mica-legacy: legacy PC devices (8250 UART, i8042, CMOS RTC).
 *
 * It holds the console fd and the channel on which the runner will forward
 * port I/O exits.  The device models arrive with the runner work; until
 * then this process says so in its status line.
 */
#include <errno.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

extern const struct jail_policy legacy_policy;

static int console_fd = -1;
static int channel_fd = -1;

static int legacy_setup(struct daemon *d, struct ipc_msg *msg)
{
	console_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_CONSOLE, 0);
	channel_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_LEGACY_CHANNEL, 0);
	if (console_fd < 0 || channel_fd < 0) {
		log_warnx("setup lacks the console fd or the runner channel");
		return -EINVAL;
	}
	daemon_set_detail(d, "console attached; serial, i8042 and RTC models not supported yet");
	return 0;
}

static int legacy_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	if (info->kind != MICA__FD_KIND__FD_LEGACY_CHANNEL) {
		close(fd);
		return -EINVAL;
	}
	if (channel_fd >= 0)
		close(channel_fd);
	channel_fd = fd;
	return 0;
}

static const struct daemon_ops legacy_ops = {
	.program = "mica-legacy",
	.role = MICA__ROLE__ROLE_LEGACY,
	.policy = &legacy_policy,
	.setup = legacy_setup,
	.attach = legacy_attach,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &legacy_ops);
}
