# libmica-ipc: control-message schema and framing, event loop, daemon frame,
# logging.
IPC_GEN_C := $(BUILD)/gen/ipc/mica.pb-c.c
IPC_GEN_H := $(BUILD)/gen/ipc/mica.pb-c.h
GENERATED_HEADERS += $(IPC_GEN_H)

$(IPC_GEN_C) $(IPC_GEN_H) &: ipc/mica.proto
	$(call msg,PROTOC,$<)
	@mkdir -p $(BUILD)/gen
	$(Q)$(PROTOC_C) --c_out=$(BUILD)/gen $<

IPC_SRCS := ipc/frame.c ipc/validate.c ipc/evloop.c ipc/log.c ipc/daemon.c \
	ipc/backend.c ipc/gmem.c ipc/virtq.c ipc/vhost_user.c ipc/iov.c \
	ipc/netd_client.c ipc/vu_listener.c
IPC_OBJS := $(call objs,$(IPC_SRCS)) $(BUILD)/obj/gen/mica.pb-c.o

$(BUILD)/obj/gen/mica.pb-c.o: $(IPC_GEN_C) $(IPC_GEN_H)
	$(call msg,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(BUILD)/lib/libmica-ipc.a: $(IPC_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

ALL += $(BUILD)/lib/libmica-ipc.a
LIBMICA_IPC := $(BUILD)/lib/libmica-ipc.a
