/* pl_proto: the TLV framing shared by the supervisor channel, the control
 * socket and the job-submission protocol. The byte layout is documented in
 * proto/PROTOCOL.md; keep the two in step. */
#ifndef PL_PROTO_H
#define PL_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PL_PROTO_MAGIC 0x504cu /* "PL" */
#define PL_PROTO_VERSION 1u
#define PL_PROTO_HDR_LEN 16u
#define PL_FIELD_HDR_LEN 6u
/* The hard ceiling for any frame; each connection sets its own lower max. */
#define PL_PROTO_MAX_FRAME (16u * 1024u * 1024u)
#define PL_PROTO_DEFAULT_MAX (256u * 1024u)
#define PL_PROTO_MAX_DEPTH 4

/* Header flags. */
#define PL_FLAG_FD 0x01u    /* one file descriptor rides with this frame */
#define PL_FLAG_REPLY 0x02u /* answers the request with the same seq */
#define PL_FLAG_ERROR 0x04u /* a reply that reports failure */
#define PL_FLAG_MASK 0x07u

/* Message types: one enum for every channel, so a log line can name any of
 * them (pl_msg_type_name). Numbers are wire format: never renumber. */
typedef enum {
	/* supervisor <-> service channel */
	PL_MSG_HELLO = 0x0001,
	PL_MSG_READY = 0x0002,
	PL_MSG_PING = 0x0003,
	PL_MSG_PONG = 0x0004,
	PL_MSG_CONFIG = 0x0005,
	PL_MSG_SHUTDOWN = 0x0006,
	PL_MSG_RESULT = 0x0007,
	PL_MSG_SVC_STATUS = 0x0008, /* service -> sup: DETAIL, shown in status */
	/* control socket (plsc, console) -> supervisor */
	PL_MSG_CTL_STATUS = 0x0100,
	PL_MSG_CTL_ENABLE = 0x0101,
	PL_MSG_CTL_DISABLE = 0x0102,
	PL_MSG_CTL_RESTART = 0x0103,
	PL_MSG_CTL_RELOAD = 0x0104,
	PL_MSG_CTL_STOP = 0x0105,
	PL_MSG_CTL_JOBS = 0x0106,    /* USER?, LIMIT?, AFTER?: a page of held jobs across all holders */
	PL_MSG_CTL_RELEASE = 0x0107, /* USER, PRINTER, MODE, ANY_PRINTER? */
	PL_MSG_CTL_DELETE = 0x0108,  /* JOB_ID: delete one held job */
	PL_MSG_CTL_LOGS = 0x0109,    /* NAME, COUNT | FILE_ID+OFFSET: read a log */
	PL_MSG_CTL_SYNC = 0x010a,    /* NAME?, DRY_RUN?: a sync now, relayed to IdentitySync */
	/* routed between services by the supervisor (PL_TAG_TO / PL_TAG_FROM) */
	PL_MSG_ECHO = 0x0200,
	PL_MSG_RELEASE = 0x0201,
	PL_MSG_JOB_EVENT = 0x0202,    /* EVENT, TIME_MS, job fields: PROTOCOL.md §9 */
	/* supervisor -> job holders, during a release or a listing */
	PL_MSG_JOBS_QUERY = 0x0210,   /* USER?, FULL?, RELEASE_AT?, LIMIT?, AFTER?, NEWEST?, JOB_ID?: reply RESULT with nested JOBs */
	PL_MSG_RELEASE_JOBS = 0x0211, /* PRINTER, ANY_PRINTER?, JOB_ID...: reply per job */
	PL_MSG_DELETE_JOBS = 0x0212,  /* JOB_ID...: reply per job */

	PL_MSG_DIR_WRITE = 0x0220, /* OP, ...: a change to the directory */
	PL_MSG_SYNC_NOW = 0x0230,  /* supervisor -> identity: DRY_RUN?; reply RESULT */
	/* job submission over TLS on port 31989 */
	PL_MSG_SUBMIT_BEGIN = 0x0300,
	PL_MSG_SUBMIT_DATA = 0x0301,
	PL_MSG_SUBMIT_END = 0x0302,
} pl_msg_type_t;

/* Field tags. Numbers are wire format: never renumber. Unknown tags are
 * skipped by readers, so new tags can be added freely. */
typedef enum {
	PL_TAG_NAME = 0x0001,	  /* str: service name */
	PL_TAG_PID = 0x0002,	  /* u32 */
	PL_TAG_VERSION = 0x0003,  /* str */
	PL_TAG_CAPS = 0x0004,	  /* u32: PL_CAP_* */
	PL_TAG_STATUS = 0x0005,	  /* u32: 0 ok, else PL_STATUS_* */
	PL_TAG_MESSAGE = 0x0006,  /* str: human-readable */
	PL_TAG_CONFIG = 0x0007,	  /* str: JSON */
	PL_TAG_TO = 0x0008,	  /* str: destination service or "*holders" */
	PL_TAG_FROM = 0x0009,	  /* str: set by the supervisor when routing */
	PL_TAG_GRACE_MS = 0x000a, /* u32 */
	PL_TAG_SERVICE = 0x0010,  /* nested: one service in a status reply */
	PL_TAG_ENABLED = 0x0011,  /* u8 */
	PL_TAG_STATE = 0x0012,	  /* str */
	PL_TAG_RESTARTS = 0x0013, /* u32 */
	PL_TAG_UPTIME_MS = 0x0014,  /* u64 */
	PL_TAG_LAST_EXIT = 0x0015,  /* str */
	PL_TAG_PATH = 0x0016,	    /* str */
	PL_TAG_SUPERVISOR = 0x0017, /* nested: supervisor facts */
	PL_TAG_DETAIL = 0x0018,	    /* str: a service's own one-line status */
	PL_TAG_PAYLOAD = 0x0020,    /* bytes: opaque data (echo, job data) */
	/* jobs and submission */
	PL_TAG_TOKEN = 0x0030,	     /* str: workstation token (secret) */
	PL_TAG_USER = 0x0031,	     /* str */
	PL_TAG_WORKSTATION = 0x0032, /* str */
	PL_TAG_TITLE = 0x0033,	     /* str */
	PL_TAG_PRINTER = 0x0034,     /* str: printer name ("" = pull) */
	PL_TAG_PAGES = 0x0035,	     /* u32 */
	PL_TAG_PAGE_SIZE = 0x0036,   /* str */
	PL_TAG_FORMAT = 0x0037,	     /* str: MIME document-format */
	PL_TAG_SIZE = 0x0038,	     /* u64: bytes */
	PL_TAG_SHA256 = 0x0039,	     /* bytes[32] */
	PL_TAG_JOB_ID = 0x003a,	     /* str */
	PL_TAG_JOB = 0x003b,	     /* nested: one job's metadata */
	PL_TAG_CREATED_MS = 0x003c,  /* u64: unix epoch ms */
	PL_TAG_EXPIRES_MS = 0x003d,  /* u64 */
	PL_TAG_MODE = 0x003e,	     /* str: "most-recent" | "all" */
	PL_TAG_COUNT = 0x003f,	     /* u32 */
	PL_TAG_SOURCE = 0x0040,	     /* str: service that holds the job */
	PL_TAG_EVENT = 0x0041,	     /* str: a job event's name ("printed") */
	PL_TAG_TEXT = 0x0042,	     /* bytes: log text */
	PL_TAG_FILE_ID = 0x0043,     /* u64: a log file's identity (inode) */
	PL_TAG_OFFSET = 0x0044,	     /* u64: a byte offset in that file */
	PL_TAG_ROTATED = 0x0045,     /* u8: the file changed since FILE_ID */
	PL_TAG_FULL = 0x0046,	     /* u8: 1 = JOBS_QUERY wants the full listing */
	PL_TAG_TIME_MS = 0x0047,     /* u64: when a job event happened, unix ms */
	/* listings a page at a time (pl_jobpage.h, PROTOCOL.md §8) */
	PL_TAG_LIMIT = 0x0048,	     /* u32: JOBS_QUERY, CTL_JOBS: at most this many jobs */
	PL_TAG_AFTER = 0x0049,	     /* nested CREATED_MS, JOB_ID: the cursor (request: start after it; reply: the next page's) */
	PL_TAG_MORE = 0x004a,	     /* u8: 1 = jobs follow this page */
	PL_TAG_TOTAL = 0x004b,	     /* u32: jobs in the whole listing, every page */
	PL_TAG_NEWEST = 0x004c,	     /* u8: 1 = JOBS_QUERY wants only the newest job that may be released */
	PL_TAG_MAYBE_COUNT = 0x004d, /* u32: maybe-printed jobs NEWEST passed over */
	PL_TAG_DENIED = 0x0050,	     /* u64: frames the allow-list dropped */
	PL_TAG_ROLE = 0x0051,	     /* str: a service's role (policy) */
	PL_TAG_RUN_USER = 0x0052,    /* str: the system user it runs as */
	PL_TAG_OP = 0x0053,	     /* str: which change (DIR_WRITE) */
	PL_TAG_LINE = 0x0054,	     /* u32: first line of a CSV part (DIR_WRITE) */
	PL_TAG_UNAVAILABLE = 0x0055, /* str: a holder that did not answer (CTL_JOBS) */
	PL_TAG_ASKED_BY = 0x0056,    /* str: the person behind a control request */
	/* secure print (a job for one printer) vs pull print: PROTOCOL.md §8 */
	PL_TAG_ANY_PRINTER = 0x0060, /* u8: 1 = admin override: a secure job may print elsewhere */
	PL_TAG_RELEASE_AT = 0x0061,  /* str: JOBS_QUERY lists only jobs releasable here */
	PL_TAG_ELSEWHERE = 0x0062,   /* u32: jobs RELEASE_AT left out (secure, other printer) */
	/* submission retried without a second copy: PROTOCOL.md §7.6 */
	PL_TAG_IDEMPOTENCY_KEY = 0x0070, /* str: names one submission across attempts */
	/* exactly-once release (#11) */
	PL_TAG_MAYBE_PRINTED = 0x0071, /* u64: a job's release was cut off then (unix ms): it may have printed */
	PL_TAG_REPRINT = 0x0072,       /* u8: 1 = RELEASE may print a maybe-printed job again */
	PL_TAG_DRY_RUN = 0x0080,       /* u8: 1 = SYNC_NOW reports what it would change, changes nothing */
	/* off-network printing (#17): PROTOCOL.md §12 */
	PL_TAG_OFFNET_HOLD = 0x00b0,   /* u8: 1 = a secure/pull job, held for release; 0 = print at once */
	PL_TAG_OFFNET_BODY = 0x00b1,   /* u8: 1 = no SUBMIT_DATA: the router GETs the body over HTTPS (§12.2) */
	PL_TAG_OFFNET_SEQ = 0x00b8,    /* u64: a JOB_EVENT's number on the WebSocket, echoed in its ack (§12.1) */
} pl_tag_t;

#define PL_CAP_HOLDS_JOBS 0x01u
/* A holder that takes RELEASE_JOBS with NEWEST and USER: it chooses the
 * user's newest job that may print and releases it in the same step
 * (PROTOCOL.md §8, "Release"). Only with PL_CAP_HOLDS_JOBS. */
#define PL_CAP_RELEASE_NEWEST 0x02u

/* RESULT status codes (PL_TAG_STATUS). */
typedef enum {
	PL_STATUS_OK = 0,
	PL_STATUS_ERROR = 1,	 /* generic failure; see MESSAGE */
	PL_STATUS_AUTH = 2,	 /* missing, wrong or revoked credentials */
	PL_STATUS_QUOTA = 3,	 /* quota exceeded or disk full */
	PL_STATUS_BADREQ = 4,	 /* malformed or out-of-order request */
	PL_STATUS_BUSY = 5,	 /* try again later */
	PL_STATUS_INTEGRITY = 6, /* SHA-256 mismatch, corrupt job */
	PL_STATUS_NOTFOUND = 7,	 /* no such job, printer, user */
	PL_STATUS_PRINTER = 8,	 /* the printer did not take the job */
	PL_STATUS_CONFLICT = 9,	 /* not in this state (restart a disabled service) */
} pl_status_t;

/* Error codes of the framing layer (negative returns carry -code). */
typedef enum {
	PL_PROTO_OK = 0,
	PL_PROTO_EMAGIC,     /* bad magic */
	PL_PROTO_EVERSION,   /* unsupported version */
	PL_PROTO_EFLAGS,     /* unknown flag bits */
	PL_PROTO_ETOOBIG,    /* frame larger than allowed */
	PL_PROTO_ETRUNC,     /* bytes end inside a header or field */
	PL_PROTO_EFIELD,     /* field runs past its container */
	PL_PROTO_ELEFTOVER,  /* bytes left over after the last field */
	PL_PROTO_ETYPE,      /* field has the wrong size for its type */
	PL_PROTO_EDEPTH,     /* nesting too deep */
	PL_PROTO_ENOMEM,
	PL_PROTO_EFD,        /* fd flag without fd, or fd without flag */
	PL_PROTO_EIO,        /* read/write error: see errno */
	PL_PROTO_EOF,        /* peer closed */
	PL_PROTO_EQUEUE,     /* send queue over its bound */
	PL_PROTO_ESTR,       /* string too long for buffer or contains NUL */
	PL_PROTO_EMISSING,   /* a required field is absent */
} pl_proto_err_t;

const char *pl_proto_strerror(int err);
const char *pl_msg_type_name(uint16_t type);

/* A decoded frame: a view into someone else's buffer. */
typedef struct {
	uint16_t type;
	uint8_t flags;
	uint32_t seq;
	const uint8_t *payload;
	uint32_t len;
	int fd; /* -1 unless PL_FLAG_FD; the receiver owns it */
} pl_frame_t;

/* A field inside a payload or nested field. */
typedef struct {
	uint16_t tag;
	uint32_t len;
	const uint8_t *val;
} pl_field_t;

typedef struct {
	const uint8_t *p;
	size_t len;
	size_t off;
} pl_iter_t;

/* Parse and validate a complete frame at buf[0..len). Checks the header,
 * the size against max, and that the fields tile the payload exactly
 * (recursively for nested fields is the caller's business). Returns 0 and
 * sets *consumed, -PL_PROTO_ETRUNC when more bytes are needed, or another
 * negative error. */
int pl_frame_parse(const uint8_t *buf, size_t len, size_t max, pl_frame_t *out,
		   size_t *consumed);
/* Header only: fills type/flags/seq/len; 0, -ETRUNC or another error. */
int pl_frame_parse_header(const uint8_t *buf, size_t len, size_t max,
			  pl_frame_t *out);

/* Check that a TLV sequence is well formed: fields tile it exactly. */
int pl_fields_validate(const uint8_t *p, size_t len);

void pl_iter_init(pl_iter_t *it, const uint8_t *p, size_t len);
void pl_iter_frame(pl_iter_t *it, const pl_frame_t *f);
/* 1 = a field in *f, 0 = end, negative = malformed. */
int pl_iter_next(pl_iter_t *it, pl_field_t *f);
/* Iterate a nested field's contents. */
int pl_iter_nested(pl_iter_t *it, const pl_field_t *f);
/* Find the first field with this tag: 1 found, 0 absent, <0 malformed. */
int pl_find(const uint8_t *p, size_t len, uint16_t tag, pl_field_t *f);
int pl_frame_find(const pl_frame_t *fr, uint16_t tag, pl_field_t *f);

/* Typed accessors: fail with -PL_PROTO_ETYPE on a length mismatch. */
int pl_field_u8(const pl_field_t *f, uint8_t *v);
int pl_field_u32(const pl_field_t *f, uint32_t *v);
int pl_field_u64(const pl_field_t *f, uint64_t *v);
/* Copies a string, NUL-terminated; fails on embedded NUL or overflow. */
int pl_field_str(const pl_field_t *f, char *dst, size_t dstsz);

/* Convenience: find tag in frame and decode. Missing -> -PL_PROTO_EMISSING. */
int pl_frame_get_u32(const pl_frame_t *fr, uint16_t tag, uint32_t *v);
int pl_frame_get_u64(const pl_frame_t *fr, uint16_t tag, uint64_t *v);
int pl_frame_get_str(const pl_frame_t *fr, uint16_t tag, char *dst,
		     size_t dstsz);

/* Building a message. The buffer holds the header too, so encoding is a
 * matter of patching the length. Errors are sticky (m->err) so a sequence
 * of adds can be checked once at the end. */
typedef struct {
	uint8_t *buf; /* header + payload */
	size_t len;
	size_t cap;
	size_t max; /* payload bound */
	int fd;
	int err;
	size_t nest[PL_PROTO_MAX_DEPTH];
	int depth;
} pl_msg_t;

int pl_msg_init(pl_msg_t *m, uint16_t type, uint8_t flags, uint32_t seq);
void pl_msg_free(pl_msg_t *m);
void pl_msg_reset(pl_msg_t *m, uint16_t type, uint8_t flags, uint32_t seq);
/* Set the sequence number of a message built before it was known (an
 * asynchronous client numbers a request when it sends it). */
void pl_msg_set_seq(pl_msg_t *m, uint32_t seq);
int pl_msg_add(pl_msg_t *m, uint16_t tag, const void *val, size_t len);
int pl_msg_add_u8(pl_msg_t *m, uint16_t tag, uint8_t v);
int pl_msg_add_u32(pl_msg_t *m, uint16_t tag, uint32_t v);
int pl_msg_add_u64(pl_msg_t *m, uint16_t tag, uint64_t v);
int pl_msg_add_str(pl_msg_t *m, uint16_t tag, const char *s);
/* Append already-encoded fields (e.g. a nested field's content received
 * from a peer); they are validated first. */
int pl_msg_append_fields(pl_msg_t *m, const void *fields, size_t len);
int pl_msg_nest_begin(pl_msg_t *m, uint16_t tag);
int pl_msg_nest_end(pl_msg_t *m);
/* Attach an fd (sets PL_FLAG_FD). The message does not own it. */
void pl_msg_set_fd(pl_msg_t *m, int fd);
/* Finish: patch length; returns 0 or -err. m->buf[0..m->len) is the frame. */
int pl_msg_finish(pl_msg_t *m);

/* Streaming reader for non-blocking sockets and byte streams (TLS). */
#define PL_READER_MAX_FDS 8
typedef struct {
	uint8_t *buf;
	size_t start, end, cap;
	size_t max; /* frame payload bound */
	int fds[PL_READER_MAX_FDS];
	int nfds;
	int err;
} pl_reader_t;

int pl_reader_init(pl_reader_t *r, size_t max_payload);
void pl_reader_free(pl_reader_t *r); /* closes queued fds */
/* Append bytes obtained elsewhere (TLS). 0 or -PL_PROTO_ENOMEM. */
int pl_reader_feed(pl_reader_t *r, const void *p, size_t n);
/* Room for a byte stream (TLS) to be read into the reader's own buffer,
 * with no copy: *p and *n say where and how much, never past the end of
 * the frame being received, so the reader holds at most one frame and is
 * empty once pl_reader_next has handed it out (its bytes stay as they are
 * until the next pl_reader_space: a caller may lend them meanwhile). *n
 * is 0 when a whole frame waits to be taken. 0, or <0 (a bad or too
 * large header: close). */
int pl_reader_space(pl_reader_t *r, uint8_t **p, size_t *n);
/* n bytes were written at the place pl_reader_space gave. */
void pl_reader_commit(pl_reader_t *r, size_t n);
/* One recvmsg() on sock, collecting passed fds. >0 bytes read, 0 would
 * block, -PL_PROTO_EOF on orderly close, -PL_PROTO_EIO with errno set. */
ssize_t pl_reader_fill(pl_reader_t *r, int sock);
/* 1 = frame in *f (valid until the next reader call; if it carries an fd the
 * caller now owns f->fd), 0 = need more bytes, <0 = fatal error: close. */
int pl_reader_next(pl_reader_t *r, pl_frame_t *f);

/* Send side: a bounded queue of encoded frames for a non-blocking socket. */
typedef struct pl_wq_item pl_wq_item_t;
typedef struct {
	pl_wq_item_t *head, *tail;
	size_t queued; /* bytes */
	size_t max_queued;
} pl_wq_t;

void pl_wq_init(pl_wq_t *q, size_t max_queued);
void pl_wq_free(pl_wq_t *q);
/* Copies the finished frame (and dups its fd). */
int pl_wq_push(pl_wq_t *q, const pl_msg_t *m);
/* sendmsg() as much as the socket takes. 1 = all flushed, 0 = more left
 * (wait for EPOLLOUT), <0 = error. */
int pl_wq_flush(pl_wq_t *q, int sock);
int pl_wq_empty(const pl_wq_t *q);

/* Blocking helpers for simple clients (plsc, tests): send one frame and
 * read one frame with a timeout. The reader keeps leftover bytes. */
int pl_send_frame(int sock, const pl_msg_t *m, int timeout_ms);
int pl_recv_frame(int sock, pl_reader_t *r, pl_frame_t *f, int timeout_ms);

#endif
