# Console input under mica run (pipe and pty), and legacy device state
# across a mica-legacy restart.
INTEGRATION_SUITES += tests/runner/console.sh
