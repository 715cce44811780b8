$(eval $(call daemon_program,mica-net,dev-virtio-net/main.c dev-virtio-net/policy.c))
