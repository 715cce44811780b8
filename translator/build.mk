# translator/: libmica-translator.a (JIT) and mica-x86_64 (user mode).

TRANSLATOR_SRCS := translator/ir.c translator/tb.c translator/codebuf.c \
	translator/smc.c \
	translator/x86/decode.c translator/x86/frontend.c \
	translator/x86/ops_int.c translator/x86/ops_0f.c \
	translator/x86/flags.c translator/x86/helpers.c \
	translator/x86/ops_sse.c translator/x86/sse_helpers.c \
	translator/x86/sse_ext.c \
	translator/x86/x87.c translator/x86/atomic.c \
	translator/host/x86_64_asm.c translator/host/x86_64_emit.c
TRANSLATOR_USER_SRCS := translator/user/main.c translator/user/elf.c \
	translator/user/syscall.c translator/user/signal.c

TRANSLATOR_LIB := $(BUILD)/lib/libmica-translator.a
MICA_X86_64 := $(BUILD)/bin/mica-x86_64

$(TRANSLATOR_LIB): $(call objs,$(TRANSLATOR_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(MICA_X86_64): $(call objs,$(TRANSLATOR_USER_SRCS) ipc/log.c) $(TRANSLATOR_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lm

ALL += $(TRANSLATOR_LIB) $(MICA_X86_64)
