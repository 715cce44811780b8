# blockd tests: CUnit units, the qemu interop suite, the fuzz harness.

BLK_IO := $(BUILD)/tests/blk-io

$(BLK_IO): $(call objs,tests/blockd/blk-io.c ipc/log.c) $(BLOCK_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call objs,tests/blockd/blk-io.c ipc/log.c) \
		$(BLOCK_LIB) $(BLOCK_LIBS)

ALL += $(BLK_IO)

# The interop suite runs blk-io and mica-img against qemu-img/qemu-io.
INTEGRATION_SUITES += tests/blockd/qemu-interop.sh
