/* plsc-recprinter: a fake raw (AppSocket, port 9100 style) printer that
 * records the bytes it receives, for tests and benchmarks.
 *
 *   plsc-recprinter -d DIR [-p PORT] [-m MODE] [-n BYTES]
 *
 * Listens on 127.0.0.1:PORT (0 = any free port; the port is written to
 * DIR/port). Every connection is one job: its bytes go to
 * DIR/job-N.part, renamed to DIR/job-N.bin when the sender has finished
 * (EOF), after which we close our side: the "clean close" that tells a
 * sender every byte arrived. DIR/job-N.first holds the CLOCK_REALTIME time
 * (ns) of the job's first byte (release-latency benchmarks).
 * Modes: normal; close-early (close after -n BYTES, job is incomplete);
 * stall (accept, never read); refuse (close at once, record nothing);
 * slow (read at most -n BYTES every 10 ms: a printer that takes its time,
 * so that a test can kill the sender in the middle of a job). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REC_MAX_CONN 512

typedef struct {
	int fd;
	int out;
	int n;
	long long got;
	int first_done;
} rec_conn_t;

typedef struct {
	const char *dir;
	const char *mode;
	long long limit;
	int seq;
} rec_t;

static void usage(FILE *f)
{
	fprintf(f, "Usage: plsc-recprinter -d DIR [-p PORT] [-m normal|close-early|stall|refuse|slow] [-n BYTES]\n"
		   "A fake raw printer on 127.0.0.1 that records each job in DIR (see source).\n");
}

static void stamp_first(const rec_t *r, int n)
{
	char path[4096], buf[32];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(path, sizeof(path), "%s/job-%d.first", r->dir, n);
	int len = snprintf(buf, sizeof(buf), "%lld\n",
			   (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)len) < 0)
			perror("write");
		close(fd);
	}
}

static void finish(const rec_t *r, rec_conn_t *c, int complete)
{
	char from[4096], to[4096];
	close(c->out);
	snprintf(from, sizeof(from), "%s/job-%d.part", r->dir, c->n);
	snprintf(to, sizeof(to), "%s/job-%d.%s", r->dir, c->n,
		 complete ? "bin" : "incomplete");
	if (rename(from, to) < 0)
		perror("rename");
	close(c->fd);
	c->fd = -1;
}

/* 1 = keep polling this connection, 0 = done. */
static int on_data(const rec_t *r, rec_conn_t *c)
{
	static char buf[1 << 16];
	size_t want = sizeof(buf);
	int slow = strcmp(r->mode, "slow") == 0;
	if (slow && r->limit > 0 && (size_t)r->limit < want)
		want = (size_t)r->limit;
	if (slow) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	ssize_t n = read(c->fd, buf, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0) {
		finish(r, c, n == 0);
		return 0;
	}
	if (!c->first_done) {
		stamp_first(r, c->n);
		c->first_done = 1;
	}
	if (strcmp(r->mode, "close-early") == 0 && c->got + n > r->limit)
		n = (ssize_t)(r->limit - c->got);
	if (n > 0 && write(c->out, buf, (size_t)n) != n) {
		perror("write");
		exit(1);
	}
	c->got += n;
	if (strcmp(r->mode, "close-early") == 0 && c->got >= r->limit) {
		finish(r, c, 0);
		return 0;
	}
	return 1;
}

static int open_job(rec_t *r, rec_conn_t *c, int fd)
{
	char path[4096];
	c->fd = fd;
	c->n = ++r->seq;
	c->got = 0;
	c->first_done = 0;
	snprintf(path, sizeof(path), "%s/job-%d.part", r->dir, c->n);
	c->out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	return c->out < 0 ? -1 : 0;
}

static int listen_on(int port, const char *dir)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("listen");
		return -1;
	}
	char path[4096], buf[16];
	snprintf(path, sizeof(path), "%s/port.tmp", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	snprintf(buf, sizeof(buf), "%d", ntohs(sa.sin_port));
	fprintf(f, "%s\n", buf);
	fclose(f);
	char final[4096];
	snprintf(final, sizeof(final), "%s/port", dir);
	rename(path, final);
	return fd;
}

int main(int argc, char **argv)
{
	static rec_conn_t conns[REC_MAX_CONN];
	static struct pollfd pfd[REC_MAX_CONN + 1];
	rec_t r = { .dir = NULL, .mode = "normal", .limit = 0, .seq = 0 };
	int port = 0, c;

	while ((c = getopt(argc, argv, "d:p:m:n:h")) != -1) {
		switch (c) {
		case 'd': r.dir = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'm': r.mode = optarg; break;
		case 'n': r.limit = atoll(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!r.dir) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int lfd = listen_on(port, r.dir);
	if (lfd < 0)
		return 1;
	if (strcmp(r.mode, "slow") == 0) {
		/* A small window (inherited by accepted sockets), so a sender
		 * cannot park a whole job in our buffers: it is still sending
		 * when it is killed, as with a real printer. */
		int sz = 32768;
		setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	for (int i = 0; i < REC_MAX_CONN; i++)
		conns[i].fd = -1;
	for (;;) {
		int n = 0;
		pfd[n++] = (struct pollfd){ lfd, POLLIN, 0 };
		for (int i = 0; i < REC_MAX_CONN; i++)
			if (conns[i].fd >= 0 && strcmp(r.mode, "stall") != 0)
				pfd[n++] = (struct pollfd){ conns[i].fd, POLLIN, 0 };
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd >= 0 && strcmp(r.mode, "refuse") == 0) {
				close(fd);
			} else if (fd >= 0) {
				int slot = -1;
				for (int i = 0; i < REC_MAX_CONN && slot < 0; i++)
					if (conns[i].fd < 0)
						slot = i;
				if (slot < 0 || open_job(&r, &conns[slot], fd) < 0)
					close(fd);
			}
		}
		for (int k = 1; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			for (int i = 0; i < REC_MAX_CONN; i++)
				if (conns[i].fd == pfd[k].fd)
					on_data(&r, &conns[i]);
		}
	}
}
