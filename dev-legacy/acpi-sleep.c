/* Hardware-reduced ACPI sleep registers (ACPI 6.4, 4.8.3.7): the FADT's
 * SLEEP_CONTROL_REG and SLEEP_STATUS_REG.  Writing SLP_EN (bit 5) with
 * SLP_TYP (bits 4:2) equal to \_S5_'s value powers the machine off; other
 * sleep states are not supported and are ignored.  Cloud Hypervisor uses
 * the same two ports. */
#include <stdlib.h>

#include "legacy.h"

#define SLP_TYP_SHIFT	2
#define SLP_TYP_MASK	0x1c
#define SLP_EN		0x20
#define SLP_TYP_S5	5
#define WAK_STS		0x80

struct acpi_sleep {
	struct legacy_dev dev;
	uint8_t status;
};

static uint32_t sleep_read(struct legacy_dev *dev, uint16_t port, unsigned size)
{
	struct acpi_sleep *s = (struct acpi_sleep *)dev;

	return port == LEGACY_SLEEP_PORT + 1 ? s->status : 0;
}

static void sleep_write(struct legacy_dev *dev, uint16_t port, unsigned size,
			uint32_t val)
{
	struct acpi_sleep *s = (struct acpi_sleep *)dev;

	if (port == LEGACY_SLEEP_PORT + 1) {
		s->status &= (uint8_t)~(val & WAK_STS);	/* write 1 to clear */
		return;
	}
	if ((val & SLP_EN) &&
	    ((val & SLP_TYP_MASK) >> SLP_TYP_SHIFT) == SLP_TYP_S5 &&
	    dev->host->poweroff != NULL)
		dev->host->poweroff(dev->host->opaque);
}

static void sleep_destroy(struct legacy_dev *dev)
{
	free(dev);
}

static const struct legacy_dev_ops acpi_sleep_ops = {
	.name = "acpi-sleep",
	.read = sleep_read,
	.write = sleep_write,
	.destroy = sleep_destroy,
};

struct legacy_dev *acpi_sleep_create(const struct legacy_host *host)
{
	struct acpi_sleep *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->dev = (struct legacy_dev){
		.ops = &acpi_sleep_ops, .host = host,
		.ports = { { LEGACY_SLEEP_PORT, 2 } }, .nr_ports = 1,
	};
	return &s->dev;
}
