/* Frame and field parsing, message building. No I/O here. */
#include "pl_proto.h"

#include <stdlib.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

const char *pl_proto_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case PL_PROTO_OK: return "ok";
	case PL_PROTO_EMAGIC: return "bad frame magic";
	case PL_PROTO_EVERSION: return "unsupported protocol version";
	case PL_PROTO_EFLAGS: return "unknown frame flags";
	case PL_PROTO_ETOOBIG: return "frame too large";
	case PL_PROTO_ETRUNC: return "truncated frame";
	case PL_PROTO_EFIELD: return "field runs past its container";
	case PL_PROTO_ELEFTOVER: return "leftover bytes after last field";
	case PL_PROTO_ETYPE: return "field has the wrong size for its type";
	case PL_PROTO_EDEPTH: return "nesting too deep";
	case PL_PROTO_ENOMEM: return "out of memory";
	case PL_PROTO_EFD: return "file descriptor missing or unexpected";
	case PL_PROTO_EIO: return "i/o error";
	case PL_PROTO_EOF: return "connection closed by peer";
	case PL_PROTO_EQUEUE: return "send queue full";
	case PL_PROTO_ESTR: return "string too long or contains NUL";
	case PL_PROTO_EMISSING: return "required field missing";
	}
	return "unknown protocol error";
}

const char *pl_msg_type_name(uint16_t type)
{
	switch ((pl_msg_type_t)type) {
	case PL_MSG_HELLO: return "HELLO";
	case PL_MSG_READY: return "READY";
	case PL_MSG_PING: return "PING";
	case PL_MSG_PONG: return "PONG";
	case PL_MSG_CONFIG: return "CONFIG";
	case PL_MSG_SHUTDOWN: return "SHUTDOWN";
	case PL_MSG_RESULT: return "RESULT";
	case PL_MSG_SVC_STATUS: return "SVC_STATUS";
	case PL_MSG_CTL_STATUS: return "CTL_STATUS";
	case PL_MSG_CTL_ENABLE: return "CTL_ENABLE";
	case PL_MSG_CTL_DISABLE: return "CTL_DISABLE";
	case PL_MSG_CTL_RESTART: return "CTL_RESTART";
	case PL_MSG_CTL_RELOAD: return "CTL_RELOAD";
	case PL_MSG_CTL_STOP: return "CTL_STOP";
	case PL_MSG_CTL_JOBS: return "CTL_JOBS";
	case PL_MSG_CTL_RELEASE: return "CTL_RELEASE";
	case PL_MSG_CTL_DELETE: return "CTL_DELETE";
	case PL_MSG_CTL_LOGS: return "CTL_LOGS";
	case PL_MSG_CTL_SYNC: return "CTL_SYNC";
	case PL_MSG_SYNC_NOW: return "SYNC_NOW";
	case PL_MSG_JOBS_QUERY: return "JOBS_QUERY";
	case PL_MSG_RELEASE_JOBS: return "RELEASE_JOBS";
	case PL_MSG_DELETE_JOBS: return "DELETE_JOBS";
	case PL_MSG_DIR_WRITE: return "DIR_WRITE";
	case PL_MSG_ECHO: return "ECHO";
	case PL_MSG_RELEASE: return "RELEASE";
	case PL_MSG_JOB_EVENT: return "JOB_EVENT";
	case PL_MSG_SUBMIT_BEGIN: return "SUBMIT_BEGIN";
	case PL_MSG_SUBMIT_DATA: return "SUBMIT_DATA";
	case PL_MSG_SUBMIT_END: return "SUBMIT_END";
	}
	return "UNKNOWN";
}

int pl_frame_parse_header(const uint8_t *buf, size_t len, size_t max,
			  pl_frame_t *out)
{
	if (len < PL_PROTO_HDR_LEN)
		return -PL_PROTO_ETRUNC;
	if (get16(buf) != PL_PROTO_MAGIC)
		return -PL_PROTO_EMAGIC;
	if (buf[2] != PL_PROTO_VERSION)
		return -PL_PROTO_EVERSION;
	if (buf[3] & ~PL_FLAG_MASK)
		return -PL_PROTO_EFLAGS;
	if (max > PL_PROTO_MAX_FRAME)
		max = PL_PROTO_MAX_FRAME;
	uint32_t plen = get32(buf + 12);
	/* Checked before anyone allocates room for the payload. */
	if (plen > max)
		return -PL_PROTO_ETOOBIG;
	out->flags = buf[3];
	out->type = get16(buf + 4);
	out->seq = get32(buf + 8);
	out->len = plen;
	out->payload = NULL;
	out->fd = -1;
	return 0;
}

int pl_fields_validate(const uint8_t *p, size_t len)
{
	pl_iter_t it;
	pl_field_t f;
	int rc;

	pl_iter_init(&it, p, len);
	while ((rc = pl_iter_next(&it, &f)) == 1)
		;
	return rc;
}

int pl_frame_parse(const uint8_t *buf, size_t len, size_t max, pl_frame_t *out,
		   size_t *consumed)
{
	int rc = pl_frame_parse_header(buf, len, max, out);
	if (rc < 0)
		return rc;
	if (len - PL_PROTO_HDR_LEN < out->len)
		return -PL_PROTO_ETRUNC;
	out->payload = buf + PL_PROTO_HDR_LEN;
	rc = pl_fields_validate(out->payload, out->len);
	if (rc < 0)
		return rc;
	*consumed = PL_PROTO_HDR_LEN + (size_t)out->len;
	return 0;
}

void pl_iter_init(pl_iter_t *it, const uint8_t *p, size_t len)
{
	it->p = p;
	it->len = len;
	it->off = 0;
}

void pl_iter_frame(pl_iter_t *it, const pl_frame_t *f)
{
	pl_iter_init(it, f->payload, f->len);
}

int pl_iter_next(pl_iter_t *it, pl_field_t *f)
{
	size_t left = it->len - it->off;

	if (left == 0)
		return 0;
	if (left < PL_FIELD_HDR_LEN)
		return -PL_PROTO_ELEFTOVER;
	const uint8_t *h = it->p + it->off;
	uint32_t flen = get32(h + 2);
	if (flen > left - PL_FIELD_HDR_LEN)
		return -PL_PROTO_EFIELD;
	f->tag = get16(h);
	f->len = flen;
	f->val = h + PL_FIELD_HDR_LEN;
	it->off += PL_FIELD_HDR_LEN + (size_t)flen;
	return 1;
}

int pl_iter_nested(pl_iter_t *it, const pl_field_t *f)
{
	int rc = pl_fields_validate(f->val, f->len);
	if (rc < 0)
		return rc;
	pl_iter_init(it, f->val, f->len);
	return 0;
}

int pl_find(const uint8_t *p, size_t len, uint16_t tag, pl_field_t *f)
{
	pl_iter_t it;
	int rc;

	pl_iter_init(&it, p, len);
	while ((rc = pl_iter_next(&it, f)) == 1)
		if (f->tag == tag)
			return 1;
	return rc;
}

int pl_frame_find(const pl_frame_t *fr, uint16_t tag, pl_field_t *f)
{
	return pl_find(fr->payload, fr->len, tag, f);
}

int pl_field_u8(const pl_field_t *f, uint8_t *v)
{
	if (f->len != 1)
		return -PL_PROTO_ETYPE;
	*v = f->val[0];
	return 0;
}

int pl_field_u32(const pl_field_t *f, uint32_t *v)
{
	if (f->len != 4)
		return -PL_PROTO_ETYPE;
	*v = get32(f->val);
	return 0;
}

int pl_field_u64(const pl_field_t *f, uint64_t *v)
{
	if (f->len != 8)
		return -PL_PROTO_ETYPE;
	*v = (uint64_t)get32(f->val) << 32 | get32(f->val + 4);
	return 0;
}

int pl_field_str(const pl_field_t *f, char *dst, size_t dstsz)
{
	if (dstsz == 0 || f->len > dstsz - 1)
		return -PL_PROTO_ESTR;
	if (f->len && memchr(f->val, 0, f->len))
		return -PL_PROTO_ESTR;
	memcpy(dst, f->val, f->len);
	dst[f->len] = '\0';
	return 0;
}

static int frame_get(const pl_frame_t *fr, uint16_t tag, pl_field_t *f)
{
	int rc = pl_frame_find(fr, tag, f);
	if (rc == 0)
		return -PL_PROTO_EMISSING;
	return rc < 0 ? rc : 0;
}

int pl_frame_get_u32(const pl_frame_t *fr, uint16_t tag, uint32_t *v)
{
	pl_field_t f;
	int rc = frame_get(fr, tag, &f);
	return rc < 0 ? rc : pl_field_u32(&f, v);
}

int pl_frame_get_u64(const pl_frame_t *fr, uint16_t tag, uint64_t *v)
{
	pl_field_t f;
	int rc = frame_get(fr, tag, &f);
	return rc < 0 ? rc : pl_field_u64(&f, v);
}

int pl_frame_get_str(const pl_frame_t *fr, uint16_t tag, char *dst,
		     size_t dstsz)
{
	pl_field_t f;
	int rc = frame_get(fr, tag, &f);
	return rc < 0 ? rc : pl_field_str(&f, dst, dstsz);
}

/* ---- building ---- */

static void msg_header(pl_msg_t *m, uint16_t type, uint8_t flags, uint32_t seq)
{
	put16(m->buf, PL_PROTO_MAGIC);
	m->buf[2] = PL_PROTO_VERSION;
	m->buf[3] = flags & PL_FLAG_MASK;
	put16(m->buf + 4, type);
	put16(m->buf + 6, 0);
	put32(m->buf + 8, seq);
	put32(m->buf + 12, 0);
	m->len = PL_PROTO_HDR_LEN;
	m->fd = -1;
	m->err = 0;
	m->depth = 0;
}

int pl_msg_init(pl_msg_t *m, uint16_t type, uint8_t flags, uint32_t seq)
{
	memset(m, 0, sizeof(*m));
	m->cap = 256;
	m->max = PL_PROTO_MAX_FRAME;
	m->buf = malloc(m->cap);
	if (!m->buf) {
		m->err = PL_PROTO_ENOMEM;
		return -PL_PROTO_ENOMEM;
	}
	msg_header(m, type, flags, seq);
	return 0;
}

void pl_msg_set_seq(pl_msg_t *m, uint32_t seq)
{
	if (m->buf)
		put32(m->buf + 8, seq);
}

void pl_msg_reset(pl_msg_t *m, uint16_t type, uint8_t flags, uint32_t seq)
{
	if (!m->buf) {
		pl_msg_init(m, type, flags, seq);
		return;
	}
	msg_header(m, type, flags, seq);
}

void pl_msg_free(pl_msg_t *m)
{
	free(m->buf);
	m->buf = NULL;
	m->len = m->cap = 0;
}

static int msg_reserve(pl_msg_t *m, size_t more)
{
	if (m->err)
		return -m->err;
	if (!m->buf)
		return -(m->err = PL_PROTO_ENOMEM);
	if (more > m->max || m->len - PL_PROTO_HDR_LEN > m->max - more)
		return -(m->err = PL_PROTO_ETOOBIG);
	if (m->len + more <= m->cap)
		return 0;
	size_t ncap = m->cap;
	while (ncap < m->len + more)
		ncap *= 2;
	uint8_t *nb = realloc(m->buf, ncap);
	if (!nb)
		return -(m->err = PL_PROTO_ENOMEM);
	m->buf = nb;
	m->cap = ncap;
	return 0;
}

int pl_msg_add(pl_msg_t *m, uint16_t tag, const void *val, size_t len)
{
	if (len > UINT32_MAX)
		return -(m->err = PL_PROTO_ETOOBIG);
	int rc = msg_reserve(m, PL_FIELD_HDR_LEN + len);
	if (rc < 0)
		return rc;
	put16(m->buf + m->len, tag);
	put32(m->buf + m->len + 2, (uint32_t)len);
	if (len)
		memcpy(m->buf + m->len + PL_FIELD_HDR_LEN, val, len);
	m->len += PL_FIELD_HDR_LEN + len;
	return 0;
}

int pl_msg_add_u8(pl_msg_t *m, uint16_t tag, uint8_t v)
{
	return pl_msg_add(m, tag, &v, 1);
}

int pl_msg_add_u32(pl_msg_t *m, uint16_t tag, uint32_t v)
{
	uint8_t b[4];
	put32(b, v);
	return pl_msg_add(m, tag, b, 4);
}

int pl_msg_add_u64(pl_msg_t *m, uint16_t tag, uint64_t v)
{
	uint8_t b[8];
	put32(b, (uint32_t)(v >> 32));
	put32(b + 4, (uint32_t)v);
	return pl_msg_add(m, tag, b, 8);
}

int pl_msg_add_str(pl_msg_t *m, uint16_t tag, const char *s)
{
	return pl_msg_add(m, tag, s, s ? strlen(s) : 0);
}

int pl_msg_append_fields(pl_msg_t *m, const void *fields, size_t len)
{
	int rc = pl_fields_validate(fields, len);
	if (rc < 0)
		return -(m->err = -rc);
	rc = msg_reserve(m, len);
	if (rc < 0)
		return rc;
	if (len)
		memcpy(m->buf + m->len, fields, len);
	m->len += len;
	return 0;
}

int pl_msg_nest_begin(pl_msg_t *m, uint16_t tag)
{
	if (m->depth >= PL_PROTO_MAX_DEPTH)
		return -(m->err = PL_PROTO_EDEPTH);
	int rc = pl_msg_add(m, tag, NULL, 0);
	if (rc < 0)
		return rc;
	m->nest[m->depth++] = m->len - PL_FIELD_HDR_LEN;
	return 0;
}

int pl_msg_nest_end(pl_msg_t *m)
{
	if (m->err)
		return -m->err;
	if (m->depth == 0)
		return -(m->err = PL_PROTO_EDEPTH);
	size_t at = m->nest[--m->depth];
	put32(m->buf + at + 2, (uint32_t)(m->len - at - PL_FIELD_HDR_LEN));
	return 0;
}

void pl_msg_set_fd(pl_msg_t *m, int fd)
{
	m->fd = fd;
	if (fd >= 0)
		m->buf[3] |= PL_FLAG_FD;
	else
		m->buf[3] &= (uint8_t)~PL_FLAG_FD;
}

int pl_msg_finish(pl_msg_t *m)
{
	if (m->err)
		return -m->err;
	if (m->depth != 0)
		return -(m->err = PL_PROTO_EDEPTH);
	put32(m->buf + 12, (uint32_t)(m->len - PL_PROTO_HDR_LEN));
	return 0;
}
