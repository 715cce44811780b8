# Console input under mica run (pipe and pty); Linux under mica run where
# the calibration says KVM is fast enough (a skip saying why elsewhere).
INTEGRATION_SUITES += tests/runner/console.sh tests/runner/linux-boot.sh
