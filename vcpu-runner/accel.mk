# libmica-vcpu.a: accelerator ops (KVM), machine + I/O buses, the
# accelerator-neutral Linux loader (boot/), the PCI host bridge.
VCPU_LIB_SRCS := \
	vcpu-runner/accel.c vcpu-runner/kvm.c vcpu-runner/kvm-cpuid.c \
	vcpu-runner/machine.c vcpu-runner/calibrate.c \
	vcpu-runner/iobus.c vcpu-runner/guest-mem.c vcpu-runner/pci.c vcpu-runner/pci-msix.c vcpu-runner/pci-testdev.c \
	vcpu-runner/virtio-pci.c vcpu-runner/virtio-net.c vcpu-runner/vhost-user-frontend.c \
	$(sort $(wildcard vcpu-runner/boot/*.c))
VCPU_LIB := $(BUILD)/lib/libmica-vcpu.a

EXTRA_CFLAGS_vcpu-runner/ += -Ivcpu-runner
EXTRA_CFLAGS_vcpu-runner/boot/ += -Ivcpu-runner

$(VCPU_LIB): $(call objs,$(VCPU_LIB_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

ALL += $(VCPU_LIB)
