/* Accelerator registry: pick KVM (or, later, the translator) by name. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "accel.h"

static const struct accel_ops *const accel_table[] = {
	&accel_kvm_ops,
};

const struct accel_ops *accel_find(const char *name)
{
	for (size_t i = 0; i < sizeof(accel_table) / sizeof(accel_table[0]); i++) {
		const struct accel_ops *ops = accel_table[i];
		int err;

		if (name != NULL && strcmp(name, ops->name) != 0)
			continue;
		err = ops->probe();
		if (err == 0)
			return ops;
		log_warnx("accelerator %s unusable: %s", ops->name, strerror(-err));
		if (name != NULL)
			return NULL;
	}
	if (name != NULL)
		log_warnx("accelerator %s not supported yet", name);
	return NULL;
}
