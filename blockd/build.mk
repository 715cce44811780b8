# blockd: libmica-block.a (image formats) and mica-img.
# (mica-blockd, the daemon, is built by blockd/daemon.mk.)

BLOCK_LIB_SRCS := blockd/block.c blockd/io.c blockd/lock.c blockd/raw.c \
	blockd/qcow2.c blockd/qcow2-cache.c blockd/qcow2-refcount.c \
	blockd/qcow2-cluster.c blockd/qcow2-write.c blockd/qcow2-grant.c blockd/qcow2-compress.c \
	blockd/qcow2-snapshot.c blockd/qcow2-check.c blockd/qcow2-create.c
BLOCK_LIB := $(BUILD)/lib/libmica-block.a
BLOCK_LIBS := -lz -lzstd

MICA_IMG_SRCS := blockd/img/main.c blockd/img/info.c blockd/img/convert.c \
	blockd/img/cmds.c
MICA_IMG := $(BUILD)/bin/mica-img

$(BLOCK_LIB): $(call objs,$(BLOCK_LIB_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(MICA_IMG): $(call objs,$(MICA_IMG_SRCS) ipc/log.c) $(BLOCK_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call objs,$(MICA_IMG_SRCS) ipc/log.c) \
		$(BLOCK_LIB) $(BLOCK_LIBS)

ALL += $(BLOCK_LIB) $(MICA_IMG)
