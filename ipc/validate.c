/* Validation of decoded control messages.
 *
 * Two layers: a generic walk over the protobuf-c descriptors (string and
 * bytes lengths, repeated counts, enum values, nesting depth) so that no
 * field escapes checking when the schema grows, then per-message rules
 * (fd counts, protocol version, required fields).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"

#define MAX_DEPTH 4


static int check_string(const char *s, const char *where, char *reason, size_t rlen)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, IPC_MAX_STRING + 1);
	if (n > IPC_MAX_STRING)
		return ipc_bad(reason, rlen, "%s: string longer than %d bytes",
			   where, IPC_MAX_STRING);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c < 0x20 || c == 0x7f)
			return ipc_bad(reason, rlen, "%s: control character 0x%02x at %zu",
				   where, c, i);
	}
	return 0;
}

static int check_message(const ProtobufCMessage *m, int depth,
			 char *reason, size_t rlen);

/* Check one value of field f stored at p. */
static int check_value(const ProtobufCFieldDescriptor *f, const void *p,
		       int depth, char *reason, size_t rlen)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return check_string(*(char *const *)p, f->name, reason, rlen);
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		if (b->len > IPC_MAX_STRING)
			return ipc_bad(reason, rlen, "%s: %zu bytes, limit %d",
				   f->name, b->len, IPC_MAX_STRING);
		return 0;
	}
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;

		if (protobuf_c_enum_descriptor_get_value(f->descriptor, v) == NULL)
			return ipc_bad(reason, rlen, "%s: unknown enum value %d",
				   f->name, v);
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;

		if (sub == NULL)
			return 0;
		if (depth >= MAX_DEPTH)
			return ipc_bad(reason, rlen, "%s: nested too deep", f->name);
		return check_message(sub, depth + 1, reason, rlen);
	}
	default:
		return 0;
	}
}

static size_t value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_ENUM:
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT: return 4;
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	default: return 8;
	}
}

static int check_message(const ProtobufCMessage *m, int depth,
			 char *reason, size_t rlen)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = base + f->offset;
		int err;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);

			if (which != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)p;

			if (n > IPC_MAX_REPEATED)
				return ipc_bad(reason, rlen, "%s: %zu entries, limit %d",
					   f->name, n, IPC_MAX_REPEATED);
			for (size_t k = 0; k < n; k++) {
				err = check_value(f, arr + k * value_size(f), depth,
						  reason, rlen);
				if (err < 0)
					return err;
			}
			continue;
		}
		err = check_value(f, p, depth, reason, rlen);
		if (err < 0)
			return err;
	}
	return 0;
}

static int check_setup(const Mica__Setup *s, size_t nfds, char *reason, size_t rlen)
{
	if (s->n_fds != nfds)
		return ipc_bad(reason, rlen, "setup describes %zu fds but %zu arrived",
			   s->n_fds, nfds);
	if (s->vm_name == NULL || s->vm_name[0] == '\0')
		return ipc_bad(reason, rlen, "setup: empty vm_name");
	for (size_t i = 0; i < s->n_fds; i++)
		if (s->fds[i]->kind == MICA__FD_KIND__FD_UNSPECIFIED)
			return ipc_bad(reason, rlen, "setup: fd %zu has no kind", i);
	if (s->machine != NULL) {
		if (s->machine->cpus == 0 || s->machine->cpus > 255)
			return ipc_bad(reason, rlen, "setup: cpus %u out of range 1..255",
				   s->machine->cpus);
		if (s->machine->memory_bytes == 0)
			return ipc_bad(reason, rlen, "setup: memory_bytes is 0");
	}
	for (size_t i = 0; i < s->n_nets; i++)
		if (s->nets[i]->mac.len != 0 && s->nets[i]->mac.len != 6)
			return ipc_bad(reason, rlen, "setup: nets[%zu].mac is %zu bytes",
				   i, s->nets[i]->mac.len);
	for (size_t i = 0; i < s->n_nets; i++)
		if (s->nets[i]->queues > 16 || (s->nets[i]->mtu != 0 &&
						 (s->nets[i]->mtu < 68 || s->nets[i]->mtu > 65535)))
			return ipc_bad(reason, rlen, "setup: nets[%zu]: %u queues (at most 16), "
				   "MTU %u (68..65535)", i, s->nets[i]->queues, s->nets[i]->mtu);
	return 0;
}

int ipc_validate(const ipc_envelope *env, size_t nfds, char *reason,
		 size_t reason_len)
{
	int err;

	if (env->nfds != nfds)
		return ipc_bad(reason, reason_len,
			   "message says %u fds but %zu arrived", env->nfds, nfds);
	err = check_message(&env->base, 0, reason, reason_len);
	if (err < 0)
		return err;

	switch (env->body_case) {
	case MICA__ENVELOPE__BODY_HELLO:
		if (env->hello->protocol_version != IPC_PROTOCOL_VERSION)
			return ipc_bad(reason, reason_len,
				   "hello: protocol version %u, expected %d",
				   env->hello->protocol_version, IPC_PROTOCOL_VERSION);
		if (env->hello->role == MICA__ROLE__ROLE_UNSPECIFIED)
			return ipc_bad(reason, reason_len, "hello: no role");
		break;
	case MICA__ENVELOPE__BODY_SETUP:
		return check_setup(env->setup, nfds, reason, reason_len);
	case MICA__ENVELOPE__BODY_ATTACH:
		if (env->attach->fd == NULL || nfds != 1)
			return ipc_bad(reason, reason_len, "attach: needs exactly one fd");
		return 0;
	case MICA__ENVELOPE__BODY_NET_OPEN:
		if (env->net_open->queues == 0 || env->net_open->queues > 16)
			return ipc_bad(reason, reason_len, "net_open: %u queues, 1..16",
				       env->net_open->queues);
		break;
	case MICA__ENVELOPE__BODY_NET_OPENED:
		if (env->net_opened->queues != nfds || nfds == 0)
			return ipc_bad(reason, reason_len, "net_opened: %u queues but %zu fds",
				       env->net_opened->queues, nfds);
		return 0;
	case MICA__ENVELOPE__BODY_BLOCK_OPENED:
		if (nfds != 1 || env->block_opened->size_bytes == 0 ||
		    env->block_opened->size_bytes % 512 != 0)
			return ipc_bad(reason, reason_len,
				       "block_opened: %zu fds, size %llu", nfds,
				       (unsigned long long)env->block_opened->size_bytes);
		return 0;
	case MICA__ENVELOPE__BODY_MACVTAP_OPEN:
		if (env->macvtap_open->ifindex == 0 || env->macvtap_open->ifindex > INT32_MAX ||
		    env->macvtap_open->queues == 0 || env->macvtap_open->queues > 16)
			return ipc_bad(reason, reason_len, "macvtap_open: ifindex %u, %u queues "
				       "(1..16)", env->macvtap_open->ifindex,
				       env->macvtap_open->queues);
		break;
	case MICA__ENVELOPE__BODY_MACVTAP_OPENED:
		if (env->macvtap_opened->queues != nfds || nfds == 0)
			return ipc_bad(reason, reason_len, "macvtap_opened: %u queues but %zu fds",
				       env->macvtap_opened->queues, nfds);
		return 0;
	case MICA__ENVELOPE__BODY_BLOCK_OPEN:
	case MICA__ENVELOPE__BODY_READY:
	case MICA__ENVELOPE__BODY_STATUS_REQUEST:
	case MICA__ENVELOPE__BODY_STATUS_REPLY:
	case MICA__ENVELOPE__BODY_STOP_REQUEST:
	case MICA__ENVELOPE__BODY_SHUTDOWN:
	case MICA__ENVELOPE__BODY_DEBUG:
	case MICA__ENVELOPE__BODY_RESULT:
		break;
	default:
		return ipc_bad(reason, reason_len, "no message body");
	}
	if (nfds != 0)
		return ipc_bad(reason, reason_len, "%s carries %zu unexpected fds",
			   ipc_body_name(env), nfds);
	return 0;
}
