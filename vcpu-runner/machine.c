#include <errno.h>
#include <signal.h>
#include <string.h>

#include "log.h"
#include "machine.h"

int machine_create(struct machine *m, const struct accel_ops *ops, int memfd,
		   uint64_t ram_size, unsigned nr_vcpus)
{
	struct accel_vm_config cfg = { .nr_vcpus = nr_vcpus };
	uint64_t offset = 0;
	int err;

	memset(m, 0, sizeof(*m));
	m->ops = ops;
	m->nr_vcpus = nr_vcpus;
	pthread_mutex_init(&m->io_lock, NULL);
	err = ops->vm_create(&cfg, &m->vm);
	if (err < 0)
		return err;
	guest_mem_layout(ram_size, &m->mem);
	for (unsigned i = 0; i < m->mem.nr; i++) {
		struct guest_mem_region *r = &m->mem.region[i];
		void *hva;

		err = ops->map_memory(m->vm, r->gpa, r->size, memfd, offset, &hva);
		if (err < 0)
			goto fail;
		r->hva = hva;
		offset += r->size;
	}
	for (unsigned i = 0; i < nr_vcpus; i++) {
		err = ops->vcpu_create(m->vm, i, &m->vcpu[i]);
		if (err < 0)
			goto fail;
	}
	return 0;
fail:
	machine_destroy(m);
	return err;
}

void machine_destroy(struct machine *m)
{
	if (m->vm != NULL)
		m->ops->vm_destroy(m->vm);
	m->vm = NULL;
	memset(m->vcpu, 0, sizeof(m->vcpu));
	pthread_mutex_destroy(&m->io_lock);
}

void machine_request_stop(struct machine *m, enum machine_stop why, int status)
{
	if (__atomic_exchange_n(&m->stopping, 1, __ATOMIC_SEQ_CST) == 0) {
		m->stop_reason = why;
		m->exit_status = status;
	}
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		if (m->vcpu[i] != NULL)
			m->ops->vcpu_kick(m->vcpu[i]);
}

const char *machine_stop_name(enum machine_stop why)
{
	static const char *const names[] = {
		[MACHINE_RUNNING] = "running", [MACHINE_EXIT] = "exit",
		[MACHINE_RESET] = "reset", [MACHINE_POWEROFF] = "poweroff",
		[MACHINE_SHUTDOWN] = "shutdown",
		[MACHINE_HALT] = "halt", [MACHINE_ERROR] = "error",
	};

	return why <= MACHINE_ERROR ? names[why] : "?";
}

static void machine_pio(struct machine *m, struct accel_exit *e)
{
	uint8_t *p = e->io.data;

	pthread_mutex_lock(&m->io_lock);
	for (uint32_t i = 0; i < e->io.count; i++, p += e->io.size) {
		uint64_t val = 0;

		if (e->io.write) {
			memcpy(&val, p, e->io.size);
			iobus_write(&m->pio, e->io.port, e->io.size, val);
		} else {
			iobus_read(&m->pio, e->io.port, e->io.size, &val);
			memcpy(p, &val, e->io.size);
		}
	}
	pthread_mutex_unlock(&m->io_lock);
}

static void machine_mmio(struct machine *m, struct accel_exit *e)
{
	uint64_t val = 0;

	pthread_mutex_lock(&m->io_lock);
	if (e->mmio.write) {
		memcpy(&val, e->mmio.data, e->mmio.size);
		iobus_write(&m->mmio, e->mmio.addr, e->mmio.size, val);
	} else {
		iobus_read(&m->mmio, e->mmio.addr, e->mmio.size, &val);
		memcpy(e->mmio.data, &val, e->mmio.size);
	}
	pthread_mutex_unlock(&m->io_lock);
}

/* Where a vCPU was when it died: enough to find the code in System.map. */
static void machine_log_state(struct machine *m, unsigned index)
{
	struct accel_regs r;
	struct accel_sregs s;

	if (m->ops->get_regs(m->vcpu[index], &r) < 0 ||
	    m->ops->get_sregs(m->vcpu[index], &s) < 0)
		return;
	log_warnx("vCPU %u: rip %#llx rsp %#llx rflags %#llx cr0 %#llx "
		  "cr3 %#llx cr4 %#llx efer %#llx", index,
		  (unsigned long long)r.rip, (unsigned long long)r.rsp,
		  (unsigned long long)r.rflags, (unsigned long long)s.cr0,
		  (unsigned long long)s.cr3, (unsigned long long)s.cr4,
		  (unsigned long long)s.efer);
}

struct vcpu_thread {
	struct machine *m;
	unsigned index;
	pthread_t thread;
};

static void *machine_vcpu_loop(void *arg)
{
	struct vcpu_thread *t = arg;
	struct machine *m = t->m;
	struct accel_vcpu *vcpu = m->vcpu[t->index];
	struct accel_exit e;
	int err;

	if (m->vcpu_thread_init != NULL &&
	    (err = m->vcpu_thread_init(m, t->index)) != 0) {
		log_warnx("vCPU %u: thread set-up: %s", t->index, strerror(-err));
		machine_request_stop(m, MACHINE_ERROR, 1);
		return NULL;
	}
	while (!m->stopping) {
		err = m->ops->vcpu_run(vcpu, &e);
		if (err < 0) {
			log_warnx("vCPU %u: run: %s", t->index, strerror(-err));
			machine_request_stop(m, MACHINE_ERROR, 1);
			break;
		}
		__atomic_add_fetch(&m->nr_exits, 1, __ATOMIC_RELAXED);
		switch (e.reason) {
		case ACCEL_EXIT_IO:
			machine_pio(m, &e);
			break;
		case ACCEL_EXIT_MMIO:
			machine_mmio(m, &e);
			break;
		case ACCEL_EXIT_INTR:
			break;
		case ACCEL_EXIT_HALT:
			machine_request_stop(m, MACHINE_HALT, 0);
			break;
		case ACCEL_EXIT_RESET:
			machine_request_stop(m, MACHINE_RESET, 0);
			break;
		case ACCEL_EXIT_SHUTDOWN:
			log_warnx("vCPU %u: shutdown (triple fault?)", t->index);
			machine_request_stop(m, MACHINE_SHUTDOWN, 1);
			break;
		case ACCEL_EXIT_ERROR:
			log_warnx("vCPU %u: accelerator error %u (detail %#llx)",
				  t->index, e.error.code,
				  (unsigned long long)e.error.detail);
			machine_log_state(m, t->index);
			machine_request_stop(m, MACHINE_ERROR, 1);
			break;
		}
	}
	return NULL;
}

static void machine_kick_handler(int sig)
{
	(void)sig;
}

enum machine_stop machine_run(struct machine *m)
{
	struct vcpu_thread threads[ACCEL_MAX_VCPUS];
	struct sigaction sa = { .sa_handler = machine_kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		threads[i] = (struct vcpu_thread){ .m = m, .index = i };
		if (pthread_create(&threads[i].thread, NULL, machine_vcpu_loop,
				   &threads[i]) != 0) {
			log_warnx("cannot start vCPU %u thread", i);
			machine_request_stop(m, MACHINE_ERROR, 1);
			for (unsigned j = 0; j < i; j++)
				pthread_join(threads[j].thread, NULL);
			return m->stop_reason;
		}
	}
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		pthread_join(threads[i].thread, NULL);
	return m->stop_reason;
}
