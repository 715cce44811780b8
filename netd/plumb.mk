# libmica-netplumb: mica-netd's host network plumbing (TAP, bridge, macvtap
# over libnl-route-3) and the manifest allow-list.  netd/daemon.mk links it
# into mica-netd with $(NETPLUMB_LDLIBS).
NETPLUMB_SRCS := netd/plumb.c netd/link.c netd/tun.c netd/macvtap.c netd/allow.c
NETPLUMB_OBJS := $(call objs,$(NETPLUMB_SRCS))
LIBMICA_NETPLUMB := $(BUILD)/lib/libmica-netplumb.a
NETPLUMB_LDLIBS := $(LIB_NL)

$(NETPLUMB_OBJS): CFLAGS += $(NL_CFLAGS)

$(LIBMICA_NETPLUMB): $(NETPLUMB_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

ALL += $(LIBMICA_NETPLUMB)
