# CUnit suites for the foundation: one binary per area.
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(filter %.a,$^) \
		-Wl,--end-group $(TEST_LDLIBS_$(notdir $@)) $(LIB_CUNIT)

$(BUILD)/tests/test_ipc: $(BUILD)/obj/tests/unit/test_ipc.o $(DAEMON_LIBS)
TEST_LDLIBS_test_ipc := $(DAEMON_LDLIBS)

UNIT_SUITES += $(BUILD)/tests/test_ipc

$(BUILD)/tests/test_config: $(BUILD)/obj/tests/unit/test_config.o \
	$(call objs,vmm-core/config.c vmm-core/manifest.c)
TEST_LDLIBS_test_config := $(LIB_JSON)
UNIT_SUITES += $(BUILD)/tests/test_config

JAIL_TEST_POLICIES := vcpu-runner/policy.c dev-legacy/policy.c \
	dev-virtio-blk/policy.c blockd/policy.c dev-virtio-net/policy.c \
	netd/policy.c vfio-broker/policy.c
$(BUILD)/tests/test_jail: $(BUILD)/obj/tests/unit/test_jail.o \
	$(call objs,$(JAIL_TEST_POLICIES)) $(DAEMON_LIBS)
TEST_LDLIBS_test_jail := $(DAEMON_LDLIBS)
UNIT_SUITES += $(BUILD)/tests/test_jail

$(BUILD)/tests/test_virtq: $(BUILD)/obj/tests/unit/test_virtq.o \
	$(BUILD)/obj/tests/lib/vqdriver.o $(DAEMON_LIBS)
TEST_LDLIBS_test_virtq := $(DAEMON_LDLIBS)
UNIT_SUITES += $(BUILD)/tests/test_virtq
