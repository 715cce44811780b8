# mica-blk: the vhost-user-blk backend; links the image formats for its
# standalone mode.
MICA_BLK_SRCS := dev-virtio-blk/main.c dev-virtio-blk/policy.c \
	dev-virtio-blk/virtio_blk.c dev-virtio-blk/backend_raw.c \
	dev-virtio-blk/backend_image.c dev-virtio-blk/backend_mapped.c \
	dev-virtio-blk/aio_uring.c
EXTRA_CFLAGS_dev-virtio-blk/ := -D_GNU_SOURCE

$(BUILD)/bin/mica-blk: $(call objs,$(MICA_BLK_SRCS)) $(DAEMON_LIBS) $(BUILD)/lib/libmica-block.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call objs,$(MICA_BLK_SRCS)) $(BUILD)/lib/libmica-block.a \
		$(DAEMON_LINK) $(DAEMON_LDLIBS) $(LIB_URING) -lz -lzstd
ALL += $(BUILD)/bin/mica-blk
