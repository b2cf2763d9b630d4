/* pl_util: small helpers shared by every binary. */
#ifndef PL_UTIL_H
#define PL_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#define PL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

int pl_set_nonblock(int fd);
int pl_set_cloexec(int fd, int on);
/* Copy with truncation; returns strlen(src) like strlcpy. */
size_t pl_strlcpy(char *dst, const char *src, size_t sz);
/* snprintf that reports truncation: 0 ok, -1 truncated. */
int pl_fmt(char *dst, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* mkdir -p with mode for created components. */
int pl_mkdir_p(const char *path, mode_t mode);
/* Read a whole file (max bytes), NUL-terminated. Caller frees. */
char *pl_read_file(const char *path, size_t max, size_t *len);
/* Durable replace: tmp file in the same dir, write, fsync, rename, fsync
 * the directory. 0 or -1 with errno. */
int pl_write_file_atomic(const char *path, const void *data, size_t len,
			 mode_t mode);
int pl_fsync_dir_of(const char *path);
/* Write all bytes (blocking fd), retrying on EINTR and short writes. */
int pl_write_all(int fd, const void *p, size_t n);
/* Where the last n lines of fd's bytes [floor, end) start: end when n is
 * 0, floor when there are fewer lines (or a read fails). A newline
 * ending the last line does not start another. */
off_t pl_tail_start(int fd, off_t end, unsigned long n, off_t floor);
/* Parse "host:port" / "[v6]:port" / ":port" / "port". 0 or -1. */
int pl_parse_hostport(const char *s, char *host, size_t hostsz, int *port);
/* A server as a user writes it: "host", "host:port", "1.2.3.4:port",
 * "[v6]", "[v6]:port" or a bare "v6"; the port defaults to defport and
 * must be 1..65535. 0 or -1. */
int pl_parse_server(const char *s, int defport, char *host, size_t hostsz, int *port);
/* Bind a listening TCP socket (SO_REUSEADDR, non-blocking, cloexec). On
 * error returns -1 with errno and a message in err (if not NULL). */
int pl_listen_tcp(const char *hostport, int backlog, char *err, size_t errsz);
/* Is name a valid service name: [A-Za-z0-9_.-]{1,63}, not starting with '.'. */
int pl_valid_name(const char *name);
/* The value of a hex digit in either case, or -1. */
int pl_hex_digit(int c);
/* Human duration "3d 04:05:06" / "04:05" into buf. */
const char *pl_fmt_duration(char *buf, size_t sz, unsigned long long ms);

#endif
