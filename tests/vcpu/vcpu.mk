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

VCPU_UNIT_TESTS := boot pci kvm msix iobus vhost-user-frontend
EXTRA_CFLAGS_tests/vcpu/ += -Itests/lib
$(BUILD)/tests/test-vcpu-%: $(BUILD)/obj/tests/vcpu/test-%.o \
		$(call objs,ipc/log.c) $(BUILD)/lib/libmica-vcpu.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CUNIT) -lpthread
.SECONDARY: $(patsubst %,$(BUILD)/obj/tests/vcpu/test-%.o,$(VCPU_UNIT_TESTS))

UNIT_SUITES += $(patsubst %,$(BUILD)/tests/test-vcpu-%,$(VCPU_UNIT_TESTS))

# The runner's legacy forwarding against a fake mica-legacy (includes the
# .c; frame.c from libmica-ipc for fd passing).
$(BUILD)/tests/test-vcpu-legacy-forward: $(BUILD)/obj/tests/vcpu/test-legacy-forward.o \
		$(call objs,ipc/log.c) $(BUILD)/lib/libmica-vcpu.a $(BUILD)/lib/libmica-ipc.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CUNIT) $(LIB_PROTOBUF) -lpthread
UNIT_SUITES += $(BUILD)/tests/test-vcpu-legacy-forward
SLOW_SUITES += tests/vcpu/linux-early.sh

# libFuzzer harnesses (make fuzz; clang).  Built straight from the sources
# with ASan/UBSan, outside the gcc object tree.
FUZZ_CC ?= clang
VCPU_FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 \
	-Wall -Wno-unused-parameter -I. -Iipc -Ivcpu-runner
FUZZ_BOOT_SRCS := tests/vcpu/fuzz-boot.c $(sort $(wildcard vcpu-runner/boot/*.c)) \
	vcpu-runner/guest-mem.c ipc/log.c
FUZZ_DEVICES_SRCS := tests/vcpu/fuzz-devices.c vcpu-runner/iobus.c \
	vcpu-runner/pci.c vcpu-runner/pci-msix.c dev-legacy/uart8250.c \
	dev-legacy/i8042.c dev-legacy/rtc.c ipc/log.c

$(BUILD)/fuzz/fuzz-boot: $(FUZZ_BOOT_SRCS)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(VCPU_FUZZ_CFLAGS) -o $@ $^

$(BUILD)/fuzz/fuzz-devices: $(FUZZ_DEVICES_SRCS)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(VCPU_FUZZ_CFLAGS) -o $@ $^

FUZZ_VU_FRONTEND_SRCS := tests/vcpu/fuzz-vhost-user-frontend.c \
	vcpu-runner/vhost-user-frontend.c vcpu-runner/guest-mem.c ipc/log.c
$(BUILD)/fuzz/fuzz-vhost-user-frontend: $(FUZZ_VU_FRONTEND_SRCS)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(VCPU_FUZZ_CFLAGS) -o $@ $^

FUZZERS += $(BUILD)/fuzz/fuzz-boot $(BUILD)/fuzz/fuzz-devices \
	$(BUILD)/fuzz/fuzz-vhost-user-frontend

# ACPI tables checked by ACPICA's disassembler.
$(BUILD)/tests/acpi-dump: $(call objs,tests/vcpu/acpi-dump.c ipc/log.c) \
		$(BUILD)/lib/libmica-vcpu.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^
ALL += $(BUILD)/tests/acpi-dump
INTEGRATION_SUITES += tests/vcpu/acpi-iasl.sh
