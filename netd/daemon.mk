# mica-netd: the daemon around the plumbing library.
MICA_NETD_SRCS := netd/main.c netd/policy.c

$(call objs,$(MICA_NETD_SRCS)): CFLAGS += $(NL_CFLAGS)

$(BUILD)/bin/mica-netd: $(call objs,$(MICA_NETD_SRCS)) $(DAEMON_LIBS) \
	$(BUILD)/lib/libmica-netplumb.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call objs,$(MICA_NETD_SRCS)) \
		$(BUILD)/lib/libmica-netplumb.a $(DAEMON_LINK) $(DAEMON_LDLIBS) $(LIB_NL)
ALL += $(BUILD)/bin/mica-netd
