/* The KVM accelerator through its ops table, with a few bytes of
 * real-mode code per test.  Skips when /dev/kvm is not usable. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cutest.h"
#include "accel.h"

#define RAM 0x10000
#define CODE 0x1000

static const struct accel_ops *ops = &accel_kvm_ops;
static struct accel_vm *vm;
static struct accel_vcpu *vcpu;
static uint8_t *ram;

static void kick_handler(int sig)
{
	(void)sig;
}

/* A one-vCPU VM with 64 KiB of RAM at 0 and code at 0:CODE.  Returns 0
 * or skips the calling test. */
static int vm_with_code(const void *code, size_t len)
{
	struct accel_vm_config cfg = { .nr_vcpus = 1 };
	struct accel_sregs s;
	struct accel_regs r = { .rip = CODE, .rflags = 2, .rsp = CODE };
	void *hva;
	int fd;

	if (ops->probe() < 0)
		return -ENODEV;
	fd = memfd_create("test-ram", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, RAM) < 0)
		return -errno;
	CU_ASSERT_EQUAL_FATAL(ops->vm_create(&cfg, &vm), 0);
	CU_ASSERT_EQUAL_FATAL(ops->map_memory(vm, 0, RAM, fd, 0, &hva), 0);
	close(fd);
	ram = hva;
	memcpy(ram + CODE, code, len);
	CU_ASSERT_EQUAL_FATAL(ops->vcpu_create(vm, 0, &vcpu), 0);
	CU_ASSERT_EQUAL_FATAL(ops->get_sregs(vcpu, &s), 0);
	s.cs.base = 0;
	s.cs.selector = 0;
	CU_ASSERT_EQUAL_FATAL(ops->set_sregs(vcpu, &s), 0);
	CU_ASSERT_EQUAL_FATAL(ops->set_regs(vcpu, &r), 0);
	return 0;
}

#define NEED_VM(code) \
	do { \
		if (vm_with_code(code, sizeof(code)) < 0) \
			CUTEST_SKIP("/dev/kvm not usable"); \
	} while (0)

static void vm_done(void)
{
	ops->vm_destroy(vm);
	vm = NULL;
	vcpu = NULL;
}

static void test_port_out_and_in(void)
{
	/* mov $0x42,%al; out %al,$0x10; in $0x11,%al; out %al,$0x12; hlt */
	static const uint8_t code[] = { 0xb0, 0x42, 0xe6, 0x10, 0xe4, 0x11,
					0xe6, 0x12, 0xf4 };
	struct accel_exit e;

	NEED_VM(code);
	CU_ASSERT_EQUAL_FATAL(ops->vcpu_run(vcpu, &e), 0);
	CU_ASSERT_EQUAL(e.reason, ACCEL_EXIT_IO);
	CU_ASSERT_EQUAL(e.io.port, 0x10);
	CU_ASSERT(e.io.write);
	CU_ASSERT_EQUAL(e.io.size, 1);
	CU_ASSERT_EQUAL(e.io.count, 1);
	CU_ASSERT_EQUAL(e.io.data[0], 0x42);
	CU_ASSERT_EQUAL_FATAL(ops->vcpu_run(vcpu, &e), 0);
	CU_ASSERT_EQUAL(e.io.port, 0x11);
	CU_ASSERT(!e.io.write);
	e.io.data[0] = 0x99;
	CU_ASSERT_EQUAL_FATAL(ops->vcpu_run(vcpu, &e), 0);
	CU_ASSERT_EQUAL(e.io.port, 0x12);
	CU_ASSERT_EQUAL(e.io.data[0], 0x99);
	vm_done();
}

static void test_mmio_exit(void)
{
	/* mov $0x5678,%ax; mov %ax,(0x8000) with DS base 0x10000: beyond RAM */
	static const uint8_t code[] = { 0xb8, 0x78, 0x56, 0xa3, 0x00, 0x80,
					0xa1, 0x00, 0x80, 0xe6, 0x10 };
	struct accel_sregs s;
	struct accel_exit e;
	struct accel_regs r;

	NEED_VM(code);
	ops->get_sregs(vcpu, &s);
	s.ds.base = 0x10000;
	s.ds.selector = 0x1000;
	ops->set_sregs(vcpu, &s);
	CU_ASSERT_EQUAL_FATAL(ops->vcpu_run(vcpu, &e), 0);
	CU_ASSERT_EQUAL(e.reason, ACCEL_EXIT_MMIO);
	CU_ASSERT_EQUAL(e.mmio.addr, 0x18000);
	CU_ASSERT(e.mmio.write);
	CU_ASSERT_EQUAL(e.mmio.size, 2);
	CU_ASSERT_EQUAL(e.mmio.data[0] | e.mmio.data[1] << 8, 0x5678);
	CU_ASSERT_EQUAL_FATAL(ops->vcpu_run(vcpu, &e), 0);
	CU_ASSERT_EQUAL(e.reason, ACCEL_EXIT_MMIO);
	CU_ASSERT(!e.mmio.write);
	e.mmio.data[0] = 0x34;
	e.mmio.data[1] = 0x12;
	CU_ASSERT_EQUAL_FATAL(ops->vcpu_run(vcpu, &e), 0);
	CU_ASSERT_EQUAL(e.reason, ACCEL_EXIT_IO);
	CU_ASSERT_EQUAL(ops->get_regs(vcpu, &r), 0);
	CU_ASSERT_EQUAL(r.rax & 0xffff, 0x1234);
	vm_done();
}

static void test_doorbell_skips_exit(void)
{
	/* out %al,$0x20 (doorbell); out %al,$0x10 */
	static const uint8_t code[] = { 0xe6, 0x20, 0xe6, 0x10 };
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct accel_exit e;
	uint64_t n = 0;

	NEED_VM(code);
	CU_ASSERT_EQUAL_FATAL(ops->doorbell_add(vm, 0x20, 1, 0, ACCEL_DOORBELL_PIO,
						efd), 0);
	CU_ASSERT_EQUAL_FATAL(ops->vcpu_run(vcpu, &e), 0);
	CU_ASSERT_EQUAL(e.reason, ACCEL_EXIT_IO);
	CU_ASSERT_EQUAL(e.io.port, 0x10);
	CU_ASSERT_EQUAL(read(efd, &n, sizeof(n)), sizeof(n));
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(ops->doorbell_del(vm, 0x20, 1, 0, ACCEL_DOORBELL_PIO,
					  efd), 0);
	vm_done();
	close(efd);
}

struct kicker {
	struct accel_vcpu *vcpu;
};

static void *kick_later(void *arg)
{
	struct kicker *k = arg;

	usleep(50000);
	ops->vcpu_kick(k->vcpu);
	return NULL;
}

static void test_kick_interrupts_run(void)
{
	static const uint8_t code[] = { 0xeb, 0xfe };	/* jmp . */
	struct sigaction sa = { .sa_handler = kick_handler };
	struct kicker k;
	struct accel_exit e;
	pthread_t t;

	NEED_VM(code);
	sigaction(SIGUSR1, &sa, NULL);
	k.vcpu = vcpu;
	/* Kick before run: the next run returns at once. */
	ops->vcpu_kick(vcpu);
	CU_ASSERT_EQUAL(ops->vcpu_run(vcpu, &e), 0);
	CU_ASSERT_EQUAL(e.reason, ACCEL_EXIT_INTR);
	/* Kick from another thread while spinning in the guest. */
	pthread_create(&t, NULL, kick_later, &k);
	CU_ASSERT_EQUAL(ops->vcpu_run(vcpu, &e), 0);
	CU_ASSERT_EQUAL(e.reason, ACCEL_EXIT_INTR);
	pthread_join(t, NULL);
	vm_done();
}

static void test_triple_fault_is_shutdown(void)
{
	static const uint8_t code[] = { 0x0f, 0x0b };	/* ud2, no IDT */
	struct accel_segment flat = { .limit = 0xffffffff, .type = 0xb,
				      .present = 1, .s = 1, .db = 1, .g = 1 };
	struct accel_sregs s;
	struct accel_exit e;

	NEED_VM(code);
	/* Protected mode with an empty IDT: #UD -> #GP -> #DF -> shutdown.
	 * (Real mode does not check the IVT limit the same way.) */
	ops->get_sregs(vcpu, &s);
	s.cs = flat;
	s.cs.selector = 0x8;
	flat.type = 0x3;
	s.ds = s.es = s.ss = flat;
	s.cr0 |= 1;
	s.idt.limit = 0;
	ops->set_sregs(vcpu, &s);
	CU_ASSERT_EQUAL(ops->vcpu_run(vcpu, &e), 0);
	if (e.reason != ACCEL_EXIT_SHUTDOWN)
		printf("reason %d code %u detail %#llx\n", e.reason, e.error.code,
		       (unsigned long long)e.error.detail);
	CU_ASSERT_EQUAL(e.reason, ACCEL_EXIT_SHUTDOWN);
	vm_done();
}

static void test_map_memory_errors(void)
{
	static const uint8_t code[] = { 0xf4 };
	int fd = memfd_create("more", MFD_CLOEXEC);
	void *hva;

	NEED_VM(code);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, 0x4000) == 0);
	CU_ASSERT_EQUAL(ops->map_memory(vm, 0x100100, 0x1000, fd, 0, &hva), -EINVAL);
	CU_ASSERT_EQUAL(ops->map_memory(vm, 0x100000, 0x1001, fd, 0, &hva), -EINVAL);
	CU_ASSERT_EQUAL(ops->map_memory(vm, 0x8000, 0x1000, fd, 0, &hva), -EEXIST);
	CU_ASSERT_EQUAL(ops->map_memory(vm, 0x100000, 0x4000, fd, 0, &hva), 0);
	close(fd);
	vm_done();
}

static void test_vm_config_errors(void)
{
	struct accel_vm_config cfg = { .nr_vcpus = 0 };
	struct accel_vm *v;

	if (ops->probe() < 0)
		CUTEST_SKIP("/dev/kvm not usable");
	CU_ASSERT_EQUAL(ops->vm_create(&cfg, &v), -EINVAL);
	cfg.nr_vcpus = ACCEL_MAX_VCPUS + 1;
	CU_ASSERT_EQUAL(ops->vm_create(&cfg, &v), -EINVAL);
	cfg.nr_vcpus = 2;
	CU_ASSERT_EQUAL_FATAL(ops->vm_create(&cfg, &v), 0);
	CU_ASSERT_EQUAL(ops->vcpu_create(v, 2, &vcpu), -EINVAL);
	CU_ASSERT_EQUAL(ops->msi_route(v, 3, 0xfee00000, 0x40), -EINVAL);
	CU_ASSERT_EQUAL(ops->msi_route(v, 24, 0xfee00000, 0x40), 0);
	CU_ASSERT_EQUAL(ops->msi_route(v, 24, 0xfee00000, 0x41), 0);
	ops->vm_destroy(v);
	CU_ASSERT_PTR_NOT_NULL(accel_find("kvm"));
	CU_ASSERT_EQUAL(accel_kvm_ops.caps & ACCEL_CAP_IRQFD, ACCEL_CAP_IRQFD);
	CU_ASSERT_PTR_NULL(accel_find("translator"));
}

CUTEST_MAIN("vcpu-kvm",
	CUTEST(test_port_out_and_in),
	CUTEST(test_mmio_exit),
	CUTEST(test_doorbell_skips_exit),
	CUTEST(test_kick_interrupts_run),
	CUTEST(test_triple_fault_is_shutdown),
	CUTEST(test_map_memory_errors),
	CUTEST(test_vm_config_errors));
