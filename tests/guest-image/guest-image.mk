# make guest-image: the Linux test guest in $(BUILD)/guest (vmlinuz and
# initramfs.cpio.gz), from Debian packages; see tests/guest-image/README.md.
# The kernel .deb is cached in $(BUILD)/guest/cache; suites that boot the
# guest call build.sh themselves (cheap when up to date).
GUEST_DIR := $(BUILD)/guest
GUEST_SRCS := tests/guest-image/build.sh tests/guest-image/init \
	$(wildcard tests/guest-image/tests/*)

.PHONY: guest-image
guest-image: $(GUEST_DIR)/initramfs.cpio.gz

$(GUEST_DIR)/initramfs.cpio.gz: $(GUEST_SRCS)
	$(call msg,GUEST,$(GUEST_DIR))
	$(Q)tests/guest-image/build.sh $(GUEST_DIR)
