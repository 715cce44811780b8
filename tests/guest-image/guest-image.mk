# make guest-image: the Linux test guest in $(BUILD)/guest (vmlinuz and
# initramfs.cpio.gz), from Debian packages; see tests/guest-image/README.md.
# The kernel .deb is cached in $(BUILD)/guest/cache; suites that boot the
# guest call build.sh themselves (cheap when up to date).  (GUEST_DIR is
# taken: tests/guests, the runner's bare-metal guests.)
GUEST_IMAGE_DIR := $(BUILD)/guest
GUEST_IMAGE_SRCS := tests/guest-image/build.sh tests/guest-image/init \
	$(wildcard tests/guest-image/tests/*)

.PHONY: guest-image
guest-image: $(GUEST_IMAGE_DIR)/initramfs.cpio.gz

$(GUEST_IMAGE_DIR)/initramfs.cpio.gz: $(GUEST_IMAGE_SRCS)
	$(call msg,GUEST,$(GUEST_IMAGE_DIR))
	$(Q)tests/guest-image/build.sh $(GUEST_IMAGE_DIR)
