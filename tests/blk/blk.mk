# mica-blk driven by a test front-end (and qemu-storage-daemon as the peer).
$(BUILD)/tests/test_vhost_user_blk: $(BUILD)/obj/tests/blk/test_vhost_user_blk.o \
	$(BUILD)/obj/tests/lib/vu_frontend.o $(BUILD)/obj/tests/lib/vqdriver.o \
	$(BUILD)/obj/tests/lib/testutil.o $(DAEMON_LIBS) $(BUILD)/bin/mica-blk
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(DAEMON_LINK) $(DAEMON_LDLIBS) $(LIB_CUNIT)

UNIT_SUITES += $(BUILD)/tests/test_vhost_user_blk

$(BUILD)/tests/test_crash: $(BUILD)/obj/tests/blk/test_crash.o \
	$(BUILD)/obj/tests/lib/vu_frontend.o $(BUILD)/obj/tests/lib/vqdriver.o \
	$(BUILD)/obj/tests/lib/testutil.o $(DAEMON_LIBS) $(BUILD)/bin/mica-blk
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(DAEMON_LINK) $(DAEMON_LDLIBS) $(LIB_CUNIT)

UNIT_SUITES += $(BUILD)/tests/test_crash

# make test-slow: 50 kill -9 of mica-blockd/mica-blk under mica run.
SLOW_SUITES += tests/blk/crash-mica-run.sh

# mica-blk's parked requests across a mica-blockd restart (backend_mapped.c),
# with forked blockds; includes virtio_blk.c.
$(BUILD)/tests/test_mapped_takeover: $(BUILD)/obj/tests/blk/test_mapped_takeover.o \
	$(BUILD)/obj/dev-virtio-blk/backend_mapped.o $(BUILD)/obj/dev-virtio-blk/backend_raw.o \
	$(BUILD)/obj/dev-virtio-blk/aio_uring.o $(DAEMON_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(DAEMON_LINK) $(DAEMON_LDLIBS) \
		$(LIB_URING) $(LIB_CUNIT)

UNIT_SUITES += $(BUILD)/tests/test_mapped_takeover
