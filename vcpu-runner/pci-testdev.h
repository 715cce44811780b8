/* pci-testdev (1b36:0005 at 00:03.0) for the test guests; see
 * pci-testdev.c.  One instance per process. */
#ifndef MICA_PCI_TESTDEV_H
#define MICA_PCI_TESTDEV_H

#include "machine.h"
#include "pci.h"

/* 0 or a negative errno. */
int pci_testdev_init(struct pci_host *host, struct machine *m);
void pci_testdev_fini(void);

#endif
