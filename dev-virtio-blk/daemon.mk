$(eval $(call daemon_program,mica-blk,dev-virtio-blk/main.c dev-virtio-blk/policy.c dev-virtio-blk/blk.c dev-virtio-blk/blk_raw.c))
