# mica-legacy: the daemon around libmica-legacy.a (device models).
MICA_LEGACY_SRCS := dev-legacy/main.c dev-legacy/policy.c

$(BUILD)/bin/mica-legacy: $(call objs,$(MICA_LEGACY_SRCS)) $(BUILD)/lib/libmica-legacy.a $(DAEMON_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call objs,$(MICA_LEGACY_SRCS)) $(BUILD)/lib/libmica-legacy.a \
		$(DAEMON_LINK) $(DAEMON_LDLIBS)

ALL += $(BUILD)/bin/mica-legacy
