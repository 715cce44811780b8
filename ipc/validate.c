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
	for (size_t i = 0; i < s->n_disks; i++)
		if (s->disks[i]->n_backing > 8)
			return ipc_bad(reason, rlen, "setup: disks[%zu] has %zu backing files, "
				       "at most 8", i, s->disks[i]->n_backing);
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

/* ---- block mapping service ---- */

/* A guest byte range: not empty, no wrap-around, sector multiples. */
static int check_block_range(const char *what, uint64_t off, uint64_t len, char *reason,
			     size_t rlen)
{
	if (len == 0 || off + len < off || off % 512 != 0 || len % 512 != 0)
		return ipc_bad(reason, rlen, "%s: range %llu+%llu (not empty, sector "
			       "aligned, no wrap-around)", what, (unsigned long long)off,
			       (unsigned long long)len);
	return 0;
}

static int check_block_opened(const Mica__BlockOpened *o, size_t nfds, char *reason,
			      size_t rlen)
{
	size_t want = o->files != 0 ? o->files : 1;

	if (nfds != want || o->size_bytes == 0 || o->size_bytes % 512 != 0)
		return ipc_bad(reason, rlen, "block_opened: %zu fds for %zu files, size %llu",
			       nfds, want, (unsigned long long)o->size_bytes);
	if (o->cluster_size != 0 &&
	    (o->cluster_size < 512 || (o->cluster_size & (o->cluster_size - 1)) != 0))
		return ipc_bad(reason, rlen, "block_opened: cluster size %u", o->cluster_size);
	return 0;
}

static int check_block_map_reply(const Mica__BlockMapReply *r, char *reason, size_t rlen)
{
	if (r->n_extents == 0)
		return ipc_bad(reason, rlen, "block_map_reply: no extents");
	for (size_t i = 0; i < r->n_extents; i++) {
		const Mica__BlockExtent *e = r->extents[i];
		int err = check_block_range("block_map_reply", e->offset, e->length, reason,
					    rlen);

		if (err < 0)
			return err;
		if (e->kind > BLOCK_EXTENT_KIND_MAX || e->file >= IPC_MAX_FDS ||
		    e->host_offset + e->length < e->host_offset ||
		    (i > 0 && e->offset != r->extents[i - 1]->offset +
					   r->extents[i - 1]->length))
			return ipc_bad(reason, rlen, "block_map_reply: extent %zu (kind %u, "
				       "file %u) is not valid or not contiguous", i, e->kind,
				       e->file);
	}
	return 0;
}

static int check_block_grant(const Mica__BlockWriteGrant *g, char *reason, size_t rlen)
{
	int err = check_block_range("block_write_grant", g->offset, g->length, reason, rlen);

	if (err < 0)
		return err;
	if (g->host_offset + g->length < g->host_offset || (g->grant == 0) != g->in_place ||
	    (!g->in_place && (g->cluster_bytes < g->length || g->cluster_offset > g->offset ||
			      g->cluster_offset + g->cluster_bytes < g->offset + g->length ||
			      g->cluster_host + g->cluster_bytes < g->cluster_host)))
		return ipc_bad(reason, rlen, "block_write_grant: grant %llu (%s) is not "
			       "consistent", (unsigned long long)g->grant,
			       g->in_place ? "in place" : "allocating");
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
		return check_block_opened(env->block_opened, nfds, reason, reason_len);
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
		if (nfds > 1 || (nfds == 1) != (env->block_open->bounce_bytes != 0) ||
		    env->block_open->bounce_bytes > BLOCK_BOUNCE_MAX)
			return ipc_bad(reason, reason_len,
				       "block_open: %zu fds, bounce buffer of %llu bytes "
				       "(one fd with 1..%d bytes, or none)", nfds,
				       (unsigned long long)env->block_open->bounce_bytes,
				       BLOCK_BOUNCE_MAX);
		return 0;
	case MICA__ENVELOPE__BODY_BLOCK_MAP:
		err = check_block_range("block_map", env->block_map->offset,
					env->block_map->length, reason, reason_len);
		if (err < 0)
			return err;
		break;
	case MICA__ENVELOPE__BODY_BLOCK_MAP_REPLY:
		err = check_block_map_reply(env->block_map_reply, reason, reason_len);
		if (err < 0)
			return err;
		break;
	case MICA__ENVELOPE__BODY_BLOCK_WRITE_PREPARE:
		err = check_block_range("block_write_prepare", env->block_write_prepare->offset,
					env->block_write_prepare->length, reason, reason_len);
		if (err < 0)
			return err;
		break;
	case MICA__ENVELOPE__BODY_BLOCK_WRITE_GRANT:
		err = check_block_grant(env->block_write_grant, reason, reason_len);
		if (err < 0)
			return err;
		break;
	case MICA__ENVELOPE__BODY_BLOCK_OP:
		if (env->block_op->op != MICA__BLOCK_OP_KIND__BLOCK_OP_FLUSH) {
			err = check_block_range("block_op", env->block_op->offset,
						env->block_op->length, reason, reason_len);
			if (err < 0)
				return err;
		}
		if (env->block_op->op == MICA__BLOCK_OP_KIND__BLOCK_OP_READ &&
		    env->block_op->length > BLOCK_BOUNCE_MAX)
			return ipc_bad(reason, reason_len, "block_op: read of %llu bytes, "
				       "at most %d", (unsigned long long)env->block_op->length,
				       BLOCK_BOUNCE_MAX);
		break;
	case MICA__ENVELOPE__BODY_BLOCK_WRITE_DONE:
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
