# Mica top-level Makefile.
#
# Every component folder carries one or more `*.mk` fragments that this file
# includes; a fragment appends to ALL (what `make` builds), UNIT_SUITES and
# INTEGRATION_SUITES (what `make test` runs) and SLOW_SUITES (`make test-slow`).
#
#   make                 build everything into build/
#   make test            deps + build + unit + integration tests
#   make demo            deps + build + start and show the demo VM
#   make deps            install the Debian packages we need (idempotent)
#   make WERROR=0        do not turn warnings into errors
#   make SANITIZE=address,undefined
#   make test-asan       unit suites under ASan+UBSan (build-asan/)
#   make V=1             show full commands
#   make fuzz            libFuzzer harnesses (clang)

BUILD    ?= build
CC       ?= gcc
AR       ?= ar
WERROR   ?= 1
SANITIZE ?=
V        ?= 0
PROTOC_C ?= protoc-c

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2)
endif

WARNINGS := -Wall -Wextra -Wformat=2 -Wformat-security -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition \
	-Wpointer-arith -Wwrite-strings -Wvla -Wimplicit-fallthrough \
	-Wundef -Wnull-dereference -Wno-unused-parameter \
	-Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -pipe $(WARNINGS) $(HARDEN) -MD -MP \
	-I. -Iipc -Ijail -I$(BUILD)/gen
LDFLAGS  += -pie -Wl,-z,relro,-z,now -Wl,--as-needed
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

LIB_SECCOMP  := -lseccomp
LIB_CAPNG    := -lcap-ng
LIB_PROTOBUF := -lprotobuf-c
LIB_JSON     := -ljson-c
LIB_URING    := -luring
LIB_NL       := -lnl-route-3 -lnl-3
LIB_CUNIT    := -lcunit
NL_CFLAGS    := -I/usr/include/libnl3

ALL :=
UNIT_SUITES :=
INTEGRATION_SUITES :=
SLOW_SUITES :=
FUZZERS :=
GENERATED_HEADERS :=

.PHONY: all
all: build-all

.SECONDEXPANSION:

# objs: map source files to object files under $(BUILD)/obj
objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

$(BUILD)/obj/%.o: %.c | $$(GENERATED_HEADERS)
	$(call msg,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS_$(dir $<)) -c -o $@ $<

# The libraries every daemon links, in link order.
DAEMON_LIBS := $(BUILD)/lib/libmica-ipc.a $(BUILD)/lib/libmica-jail.a
DAEMON_LDLIBS := $(LIB_PROTOBUF) $(LIB_SECCOMP) $(LIB_CAPNG)
# ipc and jail call each other (daemon frame <-> lockdown, logging).
DAEMON_LINK := -Wl,--start-group $(DAEMON_LIBS) -Wl,--end-group

# $(call daemon_program,NAME,SOURCES): a subsystem program in build/bin.
define daemon_program
$(BUILD)/bin/$(1): $(call objs,$(2)) $$(DAEMON_LIBS)
	$$(call msg,LD,$$@)
	@mkdir -p $$(dir $$@)
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $(call objs,$(2)) $$(DAEMON_LINK) $$(DAEMON_LDLIBS)
ALL += $(BUILD)/bin/$(1)
endef

include $(sort $(wildcard */*.mk tests/*/*.mk))

.PHONY: build-all
build-all: $(ALL)

.PHONY: deps
deps:
	@tests/deps.sh

.PHONY: unit integration test test-slow test-asan
# Suites that spawn daemons take them from this build (ASan ones under test-asan).
unit: build-all $(UNIT_SUITES)
	@MICA_BIN=$${MICA_BIN:-$(abspath $(BUILD))/bin} tests/run-suites.sh unit $(UNIT_SUITES)

integration: build-all
	@tests/run-suites.sh integration $(INTEGRATION_SUITES)

# test: everything CI runs. One closing line "total: N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory build-all
	@$(MAKE) --no-print-directory $(UNIT_SUITES)
	@tests/run-suites.sh all $(UNIT_SUITES) $(INTEGRATION_SUITES)

# Unit suites again, built with ASan and UBSan into build-asan/.
test-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=address,undefined unit

test-slow: build-all
	@tests/run-suites.sh slow $(SLOW_SUITES)

.PHONY: demo
demo: deps
	@$(MAKE) --no-print-directory build-all
	@tests/demo/demo.sh

.PHONY: fuzz
fuzz: $(FUZZERS)

.PHONY: clean
clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
