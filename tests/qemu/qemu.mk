# QEMU as the front-end of Mica's vhost-user backends, booting the test
# guest (tests/guest-image) under TCG.  About a minute: mica-blk and
# qemu-storage-daemon, raw and qcow2, each over two QEMU runs.
INTEGRATION_SUITES += tests/qemu/blk-frontend.sh
INTEGRATION_SUITES += tests/qemu/guest-shell.sh
