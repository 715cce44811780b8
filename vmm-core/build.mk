# mica: the launcher and supervisor.
CORE_SRCS := vmm-core/main.c vmm-core/config.c vmm-core/manifest.c \
	vmm-core/vm.c vmm-core/setup.c vmm-core/control.c vmm-core/netdev.c \
	vmm-core/console.c

$(BUILD)/bin/mica: $(call objs,$(CORE_SRCS)) $(DAEMON_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call objs,$(CORE_SRCS)) $(DAEMON_LINK) \
		$(DAEMON_LDLIBS) $(LIB_JSON)

ALL += $(BUILD)/bin/mica
