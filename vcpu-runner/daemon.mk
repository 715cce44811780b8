# mica-vcpu: the daemon around the runner library.
$(eval $(call daemon_program,mica-vcpu,vcpu-runner/main.c vcpu-runner/policy.c))
