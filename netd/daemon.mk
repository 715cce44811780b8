$(eval $(call daemon_program,mica-netd,netd/main.c netd/policy.c))
