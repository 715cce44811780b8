# mica-vcpu: the daemon around the runner library; links libmica-vcpu.a
# (accelerator, machine, loaders, PCI), so it has its own link rule.
MICA_VCPU_SRCS := vcpu-runner/main.c vcpu-runner/policy.c vcpu-runner/legacy-forward.c

$(BUILD)/bin/mica-vcpu: $(call objs,$(MICA_VCPU_SRCS)) $(VCPU_LIB) $(DAEMON_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call objs,$(MICA_VCPU_SRCS)) $(VCPU_LIB) $(DAEMON_LINK) $(DAEMON_LDLIBS) -lpthread

ALL += $(BUILD)/bin/mica-vcpu
