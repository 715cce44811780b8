# guest-run harness, loader/PCI unit tests and the guest integration suite.
EXTRA_CFLAGS_tests/vcpu/ += -Ivcpu-runner

GUEST_RUN := $(BUILD)/tests/guest-run
$(GUEST_RUN): $(call objs,tests/vcpu/guest-run.c tests/vcpu/harness-devices.c \
		ipc/log.c) $(BUILD)/lib/libmica-vcpu.a \
		$(BUILD)/lib/libmica-legacy.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lpthread

ALL += $(GUEST_RUN)
INTEGRATION_SUITES += tests/vcpu/guests.sh

VCPU_UNIT_TESTS := boot pci kvm msix iobus
EXTRA_CFLAGS_tests/vcpu/ += -Itests/lib
$(BUILD)/tests/test-vcpu-%: $(BUILD)/obj/tests/vcpu/test-%.o \
		$(call objs,ipc/log.c) $(BUILD)/lib/libmica-vcpu.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CUNIT) -lpthread
.SECONDARY: $(patsubst %,$(BUILD)/obj/tests/vcpu/test-%.o,$(VCPU_UNIT_TESTS))

UNIT_SUITES += $(patsubst %,$(BUILD)/tests/test-vcpu-%,$(VCPU_UNIT_TESTS))
SLOW_SUITES += tests/vcpu/linux-early.sh
