# libFuzzer harnesses (clang).  `make fuzz` builds them; the
# fuzz-smoke suite runs each for MICA_FUZZ_SECONDS (default 10).
FUZZ_CC ?= clang
IPC_FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iipc -Ijail -I$(BUILD)/gen
# What a harness of the vhost-user back-end library needs besides itself.
VHOST_USER_FUZZ_SRCS := ipc/vhost_user.c ipc/virtq.c ipc/gmem.c ipc/iov.c ipc/evloop.c \
	ipc/log.c ipc/frame.c ipc/validate.c $(IPC_GEN_C)

$(BUILD)/fuzz/fuzz_ipc_decode: tests/fuzz/fuzz_ipc_decode.c ipc/frame.c ipc/validate.c \
	ipc/log.c $(IPC_GEN_C) $(IPC_GEN_H)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(IPC_FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(LIB_PROTOBUF)

FUZZERS += $(BUILD)/fuzz/fuzz_ipc_decode
INTEGRATION_SUITES += tests/fuzz/fuzz-smoke.sh

$(BUILD)/fuzz/fuzz_virtq: tests/fuzz/fuzz_virtq.c ipc/virtq.c ipc/gmem.c ipc/log.c
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(IPC_FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

FUZZERS += $(BUILD)/fuzz/fuzz_virtq

$(BUILD)/fuzz/fuzz_vhost_user: tests/fuzz/fuzz_vhost_user.c $(VHOST_USER_FUZZ_SRCS) $(IPC_GEN_H)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(IPC_FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(LIB_PROTOBUF)

FUZZERS += $(BUILD)/fuzz/fuzz_vhost_user
