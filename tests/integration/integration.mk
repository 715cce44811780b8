# End-to-end suites of the launcher and the jailed process set.
INTEGRATION_SUITES += tests/integration/test-manifest-errors.sh \
	tests/integration/test-foundation.sh tests/integration/test-netd.sh
