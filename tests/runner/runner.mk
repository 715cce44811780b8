# `mica run` end to end on KVM with the test guests (tests/guests/).
INTEGRATION_SUITES += tests/runner/runner.sh tests/runner/virtio-blk.sh

# Informational: forwarded vs in-runner exit cost, both transports.
.PHONY: bench-exit-latency
bench-exit-latency: all
	@tests/bench/exit-latency
