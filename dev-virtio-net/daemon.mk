# mica-net: the vhost-user-net backend.  Links the netd plumbing library
# (standalone --tap NAME opens the TAP itself) and libslirp (--user).
MICA_NET_SRCS := dev-virtio-net/main.c dev-virtio-net/policy.c \
	dev-virtio-net/virtio_net.c dev-virtio-net/tap.c \
	dev-virtio-net/backend_tap.c dev-virtio-net/backend_user.c
SLIRP_CFLAGS := $(shell pkg-config --cflags slirp 2>/dev/null)
SLIRP_LIBS := $(shell pkg-config --libs slirp 2>/dev/null || echo -lslirp)
EXTRA_CFLAGS_dev-virtio-net/ := -D_GNU_SOURCE $(SLIRP_CFLAGS)

$(BUILD)/bin/mica-net: $(call objs,$(MICA_NET_SRCS)) $(DAEMON_LIBS) $$(LIBMICA_NETPLUMB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call objs,$(MICA_NET_SRCS)) $(LIBMICA_NETPLUMB) \
		$(DAEMON_LINK) $(DAEMON_LDLIBS) $(NETPLUMB_LDLIBS) $(SLIRP_LIBS)
ALL += $(BUILD)/bin/mica-net
