# Freestanding test guests: 32-bit PVH ELF images (C + start.S) and one
# real-mode flat binary.  Own flags: no libc, no PIE, no stack protector.
GUEST_DIR := $(BUILD)/guests
GUEST_CFLAGS := -m32 -march=i686 -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -O2 -g \
	-std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Itests/guests
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
	-Wl,-T,tests/guests/guest.ld
GUEST_NAMES := hello reset pci smp
GUEST_COMMON := start.S lib.c
GUEST_ELFS := $(patsubst %,$(GUEST_DIR)/%.elf,$(GUEST_NAMES))

$(GUEST_DIR)/%.elf: tests/guests/%.c $(addprefix tests/guests/,$(GUEST_COMMON)) \
		tests/guests/guest.h tests/guests/guest.ld
	$(call msg,GUEST,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ \
		$(addprefix tests/guests/,$(GUEST_COMMON)) $<

$(GUEST_DIR)/realmode.bin: tests/guests/realmode.S
	$(call msg,GUEST,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -m32 -c -o $(GUEST_DIR)/realmode.o $<
	$(Q)objcopy -O binary -j .text $(GUEST_DIR)/realmode.o $@

# A hand-made bzImage with a 64-bit payload, for the 64-bit boot protocol.
$(GUEST_DIR)/bzimage64.bin: tests/guests/bzimage64.S
	$(call msg,GUEST,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -c -o $(GUEST_DIR)/bzimage64.o $<
	$(Q)objcopy -O binary -j .text $(GUEST_DIR)/bzimage64.o $@

# The smp guest also carries the AP trampoline.
$(GUEST_DIR)/smp.elf: GUEST_COMMON += trampoline.S
$(GUEST_DIR)/smp.elf: tests/guests/trampoline.S

ALL += $(GUEST_ELFS) $(GUEST_DIR)/realmode.bin $(GUEST_DIR)/bzimage64.bin
