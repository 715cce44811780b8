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

# make test-slow: random operations through Mica and QEMU side by side
# (5 option sets x 3 seeds x 300 steps, about 75 s).
SLOW_SUITES += tests/blockd/stress-vs-qemu.py

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

# mica-blockd's mapping service over a socketpair: needs the IPC library.
$(BUILD)/tests/test-mapsvc: $(BUILD)/obj/tests/blockd/test-mapsvc.o $(BLOCK_LIB) $(DAEMON_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(BLOCK_LIB) $(DAEMON_LINK) $(DAEMON_LDLIBS) \
		$(BLOCK_LIBS) $(LIB_CUNIT)

UNIT_SUITES += $(BLOCK_UNIT_TESTS) $(BUILD)/tests/test-mapsvc
.SECONDARY: $(BUILD)/obj/tests/blockd/test-block.o \
	$(BUILD)/obj/tests/blockd/test-qcow2.o $(BUILD)/obj/tests/blockd/test-mapsvc.o

# libFuzzer harness (make fuzz): clang, ASan+UBSan, the library compiled in.
FUZZ_CC ?= clang
FUZZ_QCOW2 := $(BUILD)/fuzz/fuzz_qcow2_open

$(FUZZ_QCOW2): tests/blockd/fuzz_qcow2_open.c $(BLOCK_LIB_SRCS) ipc/log.c \
		$(wildcard blockd/*.h)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) -g -O1 -std=gnu11 -I. -Iipc \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $@ tests/blockd/fuzz_qcow2_open.c $(BLOCK_LIB_SRCS) ipc/log.c \
		$(BLOCK_LIBS)

FUZZERS += $(FUZZ_QCOW2)
