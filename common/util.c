/* Small helpers: fds, files, strings, sockets. */
#include "pl_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int pl_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int pl_set_cloexec(int fd, int on)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0)
		return -1;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl);
}

size_t pl_strlcpy(char *dst, const char *src, size_t sz)
{
	size_t n = strlen(src);
	if (sz) {
		size_t c = n < sz - 1 ? n : sz - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int pl_fmt(char *dst, size_t sz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, sz, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= sz) ? -1 : 0;
}

int pl_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (pl_fmt(buf, sizeof(buf), "%s", path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

char *pl_read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > max) {
		if (errno == 0 || (size_t)st.st_size > max)
			errno = EFBIG;
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max) {
				free(buf);
				close(fd);
				errno = EFBIG;
				return NULL;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int pl_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int pl_fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	if (pl_fmt(dir, sizeof(dir), "%s", path) < 0)
		return -1;
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int pl_write_file_atomic(const char *path, const void *data, size_t len,
			 mode_t mode)
{
	char tmp[PATH_MAX];
	if (pl_fmt(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (pl_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return pl_fsync_dir_of(path);
}

int pl_parse_hostport(const char *s, char *host, size_t hostsz, int *port)
{
	const char *p;
	char *end;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= hostsz)
			return -1;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		p = rb + 2;
	} else if ((p = strrchr(s, ':')) != NULL) {
		if ((size_t)(p - s) >= hostsz)
			return -1;
		memcpy(host, s, (size_t)(p - s));
		host[p - s] = '\0';
		p++;
	} else {
		host[0] = '\0';
		p = s;
	}
	errno = 0;
	long v = strtol(p, &end, 10);
	if (errno || *p == '\0' || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

off_t pl_tail_start(int fd, off_t end, unsigned long n, off_t floor)
{
	char buf[8192];
	off_t pos = end;
	unsigned long seen = 0;

	if (n == 0)
		return end;
	/* Walk back from the end; the newline ending the last line does not
	 * count. The n-th newline before it marks where to start. */
	while (pos > floor) {
		size_t chunk = pos - floor > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)(pos - floor);
		pos -= (off_t)chunk;
		ssize_t r = pread(fd, buf, chunk, pos);
		if (r != (ssize_t)chunk)
			return floor;
		for (ssize_t i = r - 1; i >= 0; i--) {
			if (buf[i] != '\n' || pos + i == end - 1)
				continue;
			if (++seen == n)
				return pos + i + 1;
		}
	}
	return floor;
}

int pl_parse_server(const char *s, int defport, char *host, size_t hostsz, int *port)
{
	const char *p = NULL, *h = s;
	size_t n;
	char *end;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || (rb[1] != '\0' && rb[1] != ':'))
			return -1;
		h = s + 1;
		n = (size_t)(rb - h);
		p = rb[1] == ':' ? rb + 2 : NULL;
	} else if ((p = strchr(s, ':')) != NULL && strchr(p + 1, ':') == NULL) {
		n = (size_t)(p - s);
		p++;
	} else {
		n = strlen(s); /* a name, IPv4, or a bare IPv6 address */
		p = NULL;
	}
	if (n == 0 || n >= hostsz)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = defport;
	if (p) {
		errno = 0;
		long v = strtol(p, &end, 10);
		if (errno || *p == '\0' || *end != '\0' || v < 1 || v > 65535)
			return -1;
		*port = (int)v;
	}
	return 0;
}

int pl_listen_tcp(const char *hostport, int backlog, char *err, size_t errsz)
{
	char host[256], portstr[16];
	int port;
	struct addrinfo hints = { 0 }, *res = NULL;

	if (pl_parse_hostport(hostport, host, sizeof(host), &port) < 0) {
		if (err)
			snprintf(err, errsz, "%s: expected host:port", hostport);
		errno = EINVAL;
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%d", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	int gai = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
	if (gai != 0) {
		if (err)
			snprintf(err, errsz, "%s: %s", hostport, gai_strerror(gai));
		errno = EINVAL;
		return -1;
	}
	int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
						SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, backlog) < 0) {
		int e = errno;
		if (err)
			snprintf(err, errsz, "%s: %s", hostport, strerror(e));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		errno = e;
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int pl_valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 63 || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

const char *pl_fmt_duration(char *buf, size_t sz, unsigned long long ms)
{
	unsigned long long s = ms / 1000;
	unsigned long long d = s / 86400, h = (s / 3600) % 24, m = (s / 60) % 60;
	if (d)
		snprintf(buf, sz, "%llud %02llu:%02llu:%02llu", d, h, m, s % 60);
	else if (h)
		snprintf(buf, sz, "%02llu:%02llu:%02llu", h, m, s % 60);
	else
		snprintf(buf, sz, "%02llu:%02llu", m, s % 60);
	return buf;
}

int pl_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
