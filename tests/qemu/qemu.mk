# QEMU as the front-end of Mica's vhost-user backends, booting the test
# guest (tests/guest-image) under TCG.
#  blk-frontend.sh  mica-blk (raw, qcow2, 2 queues + packed ring), each
#                   over two QEMU runs: about a minute
#  guest-shell.sh   the guest's shell over the serial console: ~10 s
#  blk-compare.sh   (slow) the same three times over beside
#                   qemu-storage-daemon, median timings: ~6 min
INTEGRATION_SUITES += tests/qemu/blk-frontend.sh tests/qemu/guest-shell.sh
SLOW_SUITES += tests/qemu/blk-compare.sh
# net-*.sh: QEMU with -netdev vhost-user on a standalone mica-net, each in
# a network namespace of its own (tests/qemu/net-lib.sh).
#  net-user.sh      --user: DHCP, NAT to the namespace's loopback, hostfwd,
#                   kill -9 and reconnect: ~15 s
#  net-tap.sh       --tap on a bridge: DHCP, features, ping, TCP, kill -9 and
#                   reconnect: ~20 s
#  net-macvtap.sh   --macvtap on a veth, then --tap-fd: ~25 s
#  net-vhost-net.sh skips without /dev/vhost-net (here)
#  net-mq.sh        (slow) --tap --queues 2, 2 vCPUs, four streams each way: ~25 s
#  net-variants.sh  (slow) five boots: mrg_rxbuf=off, packed ring, no event
#                   index/indirect, MTU, a reset by the guest: ~50 s
INTEGRATION_SUITES += tests/qemu/net-user.sh tests/qemu/net-tap.sh \
	tests/qemu/net-macvtap.sh tests/qemu/net-vhost-net.sh
SLOW_SUITES += tests/qemu/net-mq.sh tests/qemu/net-variants.sh
