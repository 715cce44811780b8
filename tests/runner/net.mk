# virtio-net under `mica run` (tap on a bridge, kill -9 mica-net, user mode).
INTEGRATION_SUITES += tests/runner/net.sh
