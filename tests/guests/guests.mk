# Freestanding test guests: 32-bit PVH ELF images (C + start.S) and one
# real-mode flat binary.  Own flags: no libc, no PIE, no stack protector.
GUEST_DIR := $(BUILD)/guests
GUEST_CFLAGS := -m32 -march=i686 -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -O2 -g \
	-std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Itests/guests
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
	-Wl,-T,tests/guests/guest.ld
GUEST_NAMES := hello reset pci smp poweroff reboot
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

# 64-bit C guests, wrapped in a bzImage header (bzheader.S) and booted
# through the 64-bit boot protocol.  Needed where 32-bit code is only
# emulated (PVM): the emulator cannot IRET in protected mode.
GUEST64_CFLAGS := -m64 -mno-red-zone -mgeneral-regs-only -mcmodel=small \
	-ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -O2 -g -std=gnu11 -Wall -Wextra \
	-Werror -Wno-unused-parameter -Itests/guests
GUEST64_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -Wl,-T,tests/guests/guest64.ld
GUEST64_NAMES := irq bench triple cpuid echo ticker virtio-blk virtio-net legacy-state highmem
GUEST64_IMAGES := $(patsubst %,$(GUEST_DIR)/%.bz,$(GUEST64_NAMES))

$(GUEST_DIR)/%.payload.elf: tests/guests/%.c tests/guests/start64.S \
		tests/guests/lib.c tests/guests/guest.h tests/guests/guest64.ld
	$(call msg,GUEST,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GUEST64_CFLAGS) $(GUEST64_LDFLAGS) -o $@ \
		tests/guests/start64.S tests/guests/lib.c $<

$(GUEST_DIR)/%.payload: $(GUEST_DIR)/%.payload.elf
	$(Q)objcopy -O binary $< $@

$(GUEST_DIR)/%.bz: $(GUEST_DIR)/%.payload tests/guests/bzheader.S
	$(call msg,GUEST,$@)
	$(Q)$(CC) -c -DPAYLOAD='"$<"' -o $@.o tests/guests/bzheader.S
	$(Q)objcopy -O binary -j .text $@.o $@

$(GUEST_DIR)/virtio-net.payload.elf $(GUEST_DIR)/virtio-blk.payload.elf: tests/guests/virtio.h

.SECONDARY: $(patsubst %,$(GUEST_DIR)/%.payload.elf,$(GUEST64_NAMES)) \
	$(patsubst %,$(GUEST_DIR)/%.payload,$(GUEST64_NAMES))

ALL += $(GUEST64_IMAGES)
ALL += $(GUEST_ELFS) $(GUEST_DIR)/realmode.bin $(GUEST_DIR)/bzimage64.bin
