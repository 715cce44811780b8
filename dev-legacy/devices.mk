# libmica-legacy.a: 8250 UART, i8042, CMOS RTC, 0xCF9 reset register.
LEGACY_LIB_SRCS := dev-legacy/uart8250.c dev-legacy/i8042.c dev-legacy/rtc.c \
	dev-legacy/legacy-bus.c dev-legacy/acpi-sleep.c
LEGACY_LIB := $(BUILD)/lib/libmica-legacy.a

$(LEGACY_LIB): $(call objs,$(LEGACY_LIB_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

ALL += $(LEGACY_LIB)

# Unit tests, one per model; each #includes its .c to reach the statics.
LEGACY_TESTS := uart8250 i8042 rtc bus
EXTRA_CFLAGS_dev-legacy/tests/ += -Idev-legacy -Itests/lib

$(BUILD)/tests/test-legacy-%: $(BUILD)/obj/dev-legacy/tests/test-%.o \
		$(call objs,ipc/log.c) $(LEGACY_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CUNIT)

UNIT_SUITES += $(patsubst %,$(BUILD)/tests/test-legacy-%,$(LEGACY_TESTS))

# mica-legacy's forwarded-I/O channel (includes main.c; daemon libraries).
$(BUILD)/tests/test-legacy-channel: $(BUILD)/obj/dev-legacy/tests/test-channel.o \
		$(call objs,dev-legacy/policy.c) \
		$(LEGACY_LIB) $(DAEMON_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(call objs,dev-legacy/policy.c) $(LEGACY_LIB) $(DAEMON_LINK) $(DAEMON_LDLIBS) $(LIB_CUNIT)
UNIT_SUITES += $(BUILD)/tests/test-legacy-channel
.SECONDARY: $(patsubst %,$(BUILD)/obj/dev-legacy/tests/test-%.o,$(LEGACY_TESTS))
