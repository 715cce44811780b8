$(eval $(call daemon_program,mica-blk,dev-virtio-blk/main.c dev-virtio-blk/policy.c))
