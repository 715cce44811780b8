# The runner's virtio-net function against scripted back-ends (the pattern
# rule is tests/vcpu/vcpu.mk's).
UNIT_SUITES += $(BUILD)/tests/test-vcpu-virtio-net
