/* The workstation side of the submission protocol (proto/PROTOCOL.md,
 * "Job submission"), shared by plsc-submit and the CUPS backend. */
#ifndef SUBMIT_H
#define SUBMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	const char *host;
	int port;		/* default 31989 */
	const char *token;	/* the workstation token */
	const char *user, *title, *printer, *format, *page_size;
	uint32_t pages;
	const char *ca;		/* verify the server against this PEM file */
	const char *fingerprint; /* or pin its SHA-256 ("AB:CD:...") */
	int insecure;		/* or neither (development only) */
	int timeout_ms;		/* connect and each read/write; default 30000 */
	/* Names this submission across attempts: the server answers a
	 * repeated key (same workstation and user) with the job it already
	 * holds instead of holding a second copy. NULL: none sent. */
	const char *idem_key;
	/* 1: OFFNET_HOLD 1 on SUBMIT_BEGIN, for an off-network gateway: held
	 * for release at the remote site instead of printed at once
	 * (OfflinePrint holds every job anyway and ignores it). */
	int hold;
} sub_opts_t;

/* An idempotency key: 1 to SUB_KEY_MAX of [A-Za-z0-9._:-]. */
#define SUB_KEY_MAX 64

/* What went wrong, by what the caller should do about it: ECONNECT,
 * ELOST, EUNKNOWN and EBUSY pass (try the same job later); ETLS, EPEER,
 * EAUTH and EUSAGE need an administrator; EREFUSED, ENOPRINTER and EEMPTY are about this
 * job; EIO is local. */
typedef enum {
	SUB_OK = 0,
	SUB_ECONNECT, /* could not reach the server: try later */
	SUB_ETLS,     /* TLS could not be agreed (versions, suites) */
	SUB_EPEER,    /* the server's identity did not check out: its
			 certificate against the CA, or its fingerprint */
	SUB_EAUTH,    /* token refused */
	SUB_EREFUSED, /* job refused (quota, size, ...) */
	SUB_ENOPRINTER, /* the server knows no printer of that name */
	SUB_EEMPTY,   /* the document is empty: refused before connecting */
	SUB_EBUSY,    /* server busy, short of space, shutting down, or a
			 server error: later */
	SUB_EIO,      /* the local document could not be read */
	SUB_EUSAGE,   /* bad options: no way to check the server, ... */
	SUB_ELOST,    /* the server closed or reset the connection, or did
			 not answer in time, without saying why: later */
	SUB_EUNKNOWN, /* as ELOST, but after the whole job was sent: it may
			 be held (a retry with the same key is safe) */
} sub_err_t;

/* Send the file open on fd (a regular file; see sub_spool for pipes).
 * On success job_id holds the id. On failure msg says why. */
int sub_send(const sub_opts_t *o, int fd, char *job_id, size_t idsz,
	     char *msg, size_t msgsz);
/* Copy a pipe (stdin) to an unlinked temp file, so the size is known
 * before the upload starts. Returns the new fd or -1. */
int sub_spool(int in, char *msg, size_t msgsz);
/* The document's MIME type from its first bytes (pl_docinfo_sniff), read
 * with pread so the file offset stays; "application/octet-stream" when
 * not recognised. */
const char *sub_detect_format(int fd);
/* A SHA-256 fingerprint as people write it: 64 hex digits in either case,
 * with or without colons. 0, or -1 when malformed. */
int sub_fingerprint_parse(const char *text, unsigned char out[32]);
/* 1 when key is a well-formed idempotency key, else 0. */
int sub_key_valid(const char *key);
/* A fresh random key (128 bits as 32 hex digits) into out[33]: 0 or -1. */
int sub_key_random(char *out, size_t sz);
/* Run fn(arg) with SIGPIPE held off this thread: a server that closes
 * while we write must be an error we report, not a signal that kills the
 * process (OpenSSL writes with write(2), which has no MSG_NOSIGNAL). */
int sub_nosigpipe(int (*fn)(void *), void *arg);
/* Read a token from a file that must not be readable by group/others. */
int sub_read_token(const char *path, char *tok, size_t sz, char *msg,
		   size_t msgsz);

/* ---- the session underneath, for benchmarks that keep one SSL_CTX for
 * many jobs (the bytes on the wire stay those of plsc-submit) ---- */
#include <openssl/ssl.h>
#include "pl_proto.h"

#define SUB_CHUNK (256u * 1024u) /* well under the server's 1 MiB frame limit */

typedef struct {
	const sub_opts_t *o;
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	pl_reader_t rd;
	uint32_t seq;
	char *msg;
	size_t msgsz;
	int uploading;	 /* a write may stop early: the server spoke first */
	char known_id[64]; /* SUBMIT_BEGIN answered with a held job's id */
} sub_t;

int sub_fail(sub_t *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Connect to o->host:o->port within the timeout; SUB_OK or an error. */
int sub_tcp_connect(sub_t *s);
/* New SSL on s->fd from ctx, then the handshake and the peer check. */
int sub_tls_start(sub_t *s, SSL_CTX *ctx);
int sub_tls_handshake(sub_t *s);
int sub_send_msg(sub_t *s, pl_msg_t *m);
int sub_recv_result(sub_t *s, char *job_id, size_t idsz);
/* SUBMIT_BEGIN and its answer. SUB_OK with known_id set: the server
 * already holds this submission (the same idempotency key): send nothing
 * more. */
int sub_send_begin(sub_t *s, uint64_t size);

#endif
