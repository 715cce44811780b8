# mica-net driven by the test front-end, in a network namespace of its own.
NET_TEST_OBJS := $(BUILD)/obj/tests/net/test_vhost_user_net.o $(BUILD)/obj/tests/net/frames.o $(BUILD)/obj/tests/lib/testutil.o \
	$(BUILD)/obj/tests/lib/vu_frontend.o $(BUILD)/obj/tests/lib/vqdriver.o

$(BUILD)/tests/test_vhost_user_net: $(NET_TEST_OBJS) $(DAEMON_LIBS) $(BUILD)/bin/mica-net
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(NET_TEST_OBJS) $(DAEMON_LINK) $(DAEMON_LDLIBS) $(LIB_CUNIT)

UNIT_SUITES += $(BUILD)/tests/test_vhost_user_net

# libFuzzer harness over the device's descriptor and frame handling.
# (tests/fuzz/fuzz.mk, included after this file, defines the variables:
# hence the second expansion.)
$(BUILD)/fuzz/fuzz_net_rxtx: tests/net/fuzz_net_rxtx.c dev-virtio-net/virtio_net.c \
	$$(VHOST_USER_FUZZ_SRCS) $$(IPC_GEN_H)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(IPC_FUZZ_CFLAGS) -Idev-virtio-net -o $@ $(filter %.c,$^) $(LIB_PROTOBUF)

FUZZERS += $(BUILD)/fuzz/fuzz_net_rxtx

# Load generator behind tests/bench/net-pps.sh (not a test suite).
NET_BENCH_OBJS := $(BUILD)/obj/tests/net/bench_net_pps.o $(BUILD)/obj/tests/net/frames.o \
	$(BUILD)/obj/tests/lib/vu_frontend.o $(BUILD)/obj/tests/lib/vqdriver.o
$(BUILD)/tests/bench_net_pps: $(NET_BENCH_OBJS) $(DAEMON_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(NET_BENCH_OBJS) $(DAEMON_LINK) $(DAEMON_LDLIBS)
ALL += $(BUILD)/tests/bench_net_pps
