$(eval $(call daemon_program,mica-legacy,dev-legacy/main.c dev-legacy/policy.c))
