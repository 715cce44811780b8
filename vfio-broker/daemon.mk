$(eval $(call daemon_program,mica-vfio,vfio-broker/main.c vfio-broker/policy.c))
