# libmica-jail: namespaces, empty root, capabilities, seccomp.
JAIL_SRCS := jail/spawn.c jail/lockdown.c jail/seccomp.c jail/base_policy.c

$(BUILD)/lib/libmica-jail.a: $(call objs,$(JAIL_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

ALL += $(BUILD)/lib/libmica-jail.a
LIBMICA_JAIL := $(BUILD)/lib/libmica-jail.a

