# Translator tests: CUnit suites and integration scripts.

TEST_TR_DECODE := $(BUILD)/tests/test-translator-decode
TEST_TR_ORACLE := $(BUILD)/tests/test-translator-oracle
TEST_TR_IR := $(BUILD)/tests/test-translator-ir

$(TEST_TR_IR): $(call objs,tests/translator/test-ir.c ipc/log.c) $(BUILD)/lib/libmica-translator.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CUNIT) -lm

$(TEST_TR_DECODE): $(call objs,tests/translator/test-decode.c ipc/log.c) $(BUILD)/lib/libmica-translator.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CUNIT) -lm

$(TEST_TR_ORACLE): $(call objs,tests/translator/test-oracle.c tests/translator/oracle-isa-tests.c tests/translator/oracle.c ipc/log.c) $(BUILD)/lib/libmica-translator.a
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CUNIT) -lm

UNIT_SUITES += $(TEST_TR_DECODE) $(TEST_TR_IR) $(TEST_TR_ORACLE)
INTEGRATION_SUITES += tests/translator/run-programs.sh
SLOW_SUITES += tests/translator/bench-programs.sh
