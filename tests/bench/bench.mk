# Benchmark programs (run by the scripts in tests/bench/, never by make test).
$(BUILD)/bench/blk-load: $(BUILD)/obj/tests/bench/blk-load.o $(BUILD)/obj/tests/lib/vu_frontend.o \
	$(BUILD)/obj/tests/lib/vqdriver.o $(DAEMON_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(DAEMON_LINK) $(DAEMON_LDLIBS)

ALL += $(BUILD)/bench/blk-load
