# Tests of the network plumbing (netd/) and the TAP data path
# (dev-virtio-net/tap.c).  Tests that touch networking run in network
# namespaces of their own.

# $(call netd_test,NAME,OBJECTS...): CUnit binary $(BUILD)/tests/netd/NAME.
define netd_test
$(BUILD)/tests/netd/$(1): $(BUILD)/obj/tests/netd/$(1).o $(2) $$(LIBMICA_NETPLUMB) $$(DAEMON_LIBS)
	$$(call msg,LD,$$@)
	@mkdir -p $$(dir $$@)
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) -Wl,--start-group \
		$$(filter %.a,$$^) -Wl,--end-group $$(NETPLUMB_LDLIBS) \
		$$(DAEMON_LDLIBS) $$(LIB_CUNIT)
UNIT_SUITES += $(BUILD)/tests/netd/$(1)
endef

NETD_TAP_OBJ := $(call objs,dev-virtio-net/tap.c)

$(eval $(call netd_test,test_netallow,))
$(eval $(call netd_test,test_tap,$(NETD_TAP_OBJ)))
$(eval $(call netd_test,test_netplumb,$(NETD_TAP_OBJ)))

# The library behind a command line, for the shell suite.
NETPLUMB_CLI := $(BUILD)/tests/netd/netplumb-cli
$(NETPLUMB_CLI): $(BUILD)/obj/tests/netd/netplumb_cli.o $(LIBMICA_NETPLUMB) $(DAEMON_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(filter %.a,$^) \
		-Wl,--end-group $(NETPLUMB_LDLIBS) $(DAEMON_LDLIBS)
ALL += $(NETPLUMB_CLI)
INTEGRATION_SUITES += tests/netd/test-netplumb.sh
