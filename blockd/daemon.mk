# mica-blockd: the daemon around the image formats.
MICA_BLOCKD_SRCS := blockd/main.c blockd/mapsvc.c blockd/policy.c

$(BUILD)/bin/mica-blockd: $(call objs,$(MICA_BLOCKD_SRCS)) $(DAEMON_LIBS) \
	$(BUILD)/lib/libmica-block.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call objs,$(MICA_BLOCKD_SRCS)) \
		$(BUILD)/lib/libmica-block.a $(DAEMON_LINK) $(DAEMON_LDLIBS) -lz -lzstd
ALL += $(BUILD)/bin/mica-blockd
