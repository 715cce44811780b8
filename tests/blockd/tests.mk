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

# CUnit suites.  Each includes the .c file it tests (to reach statics) and
# links the rest of the library; the archive member it replaces is then
# never pulled in.
BLOCK_UNIT_TESTS := $(BUILD)/tests/test-block $(BUILD)/tests/test-qcow2

$(BUILD)/tests/test-%: $(BUILD)/obj/tests/blockd/test-%.o \
		$(call objs,ipc/log.c) $(BLOCK_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(call objs,ipc/log.c) $(BLOCK_LIB) \
		$(BLOCK_LIBS) $(LIB_CUNIT)

UNIT_SUITES += $(BLOCK_UNIT_TESTS)
.SECONDARY: $(BUILD)/obj/tests/blockd/test-block.o \
	$(BUILD)/obj/tests/blockd/test-qcow2.o
