$(eval $(call daemon_program,mica-blockd,blockd/main.c blockd/policy.c))
