#!/usr/bin/env python3
"""Drive `mica run` on a pseudo-terminal, as a user at a terminal would.

pty-console.py MODE LOG -- mica run ARGS...
MODE escape: wait for the echo guest's prompt, check the terminal is raw,
             type a line and see it echoed, then Ctrl-A x.
MODE sigterm: wait for the prompt, then SIGTERM mica.
MODE stuck: the guest (ticker) never reads COM1: type 100 KiB, more than
             the pipe and buffers hold, then Ctrl-A x must still work.
Either way mica must exit 0 and leave the terminal as it found it.
Prints what failed and exits 1, or exits 0.
"""
import os, select, signal, subprocess, sys, termios, time, fcntl

mode, log = sys.argv[1], sys.argv[2]
cmd = sys.argv[sys.argv.index("--") + 1:]
master, slave = os.openpty()
before = termios.tcgetattr(slave)


def own_tty():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


with open(log, "wb") as errf:
    p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=errf,
                         preexec_fn=own_tty, close_fds=True)
seen = b""


def expect(what, limit=30):
    global seen
    end = time.time() + limit
    while what not in seen:
        left = end - time.time()
        if left <= 0 or p.poll() is not None:
            return False
        r, _, _ = select.select([master], [], [], min(left, 0.5))
        if r:
            try:
                seen += os.read(master, 4096)
            except OSError:
                return False
    return True


def fail(why):
    print("    " + why)
    print("    terminal output: %r" % seen[-300:])
    if p.poll() is None:
        p.kill()
        p.wait()
    sys.exit(1)


prompt = b"tick 5" if mode == "stuck" else b"echo: ready"
if not expect(prompt):
    fail("no %r from the guest" % prompt)
raw = termios.tcgetattr(slave)
if raw[3] & (termios.ICANON | termios.ECHO | termios.ISIG):
    fail("terminal not in raw mode while the guest runs (lflag %#x)" % raw[3])
if not raw[1] & termios.OPOST:
    fail("output post-processing was turned off")
if mode == "escape":
    os.write(master, b"typed at a terminal\n")
    if not expect(b"echo: typed at a terminal"):
        fail("the typed line was not echoed")
    os.write(master, b"\x01x")
elif mode == "stuck":
    typed = b"y" * 4096
    for _ in range(25):
        os.write(master, typed)
    os.write(master, b"\x01x")
else:
    p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(30)
except subprocess.TimeoutExpired:
    fail("mica did not exit")
if rc != 0:
    fail("mica exited %d" % rc)
after = termios.tcgetattr(slave)
if after != before:
    fail("terminal settings not restored: %r != %r" % (after, before))
print("    %s: raw while running, restored after, status 0" % mode)
