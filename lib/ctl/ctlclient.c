/* Blocking control-socket client with timeouts. */
#include "pl_ctlclient.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pl_util.h"

int pl_ctl_connect(pl_ctl_client_t *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	pl_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    pl_reader_init(&c->rd, PL_PROTO_MAX_FRAME) < 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		errno = e;
		return -1;
	}
	pl_set_nonblock(c->fd);
	return 0;
}

void pl_ctl_close(pl_ctl_client_t *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		pl_reader_free(&c->rd);
	}
	c->fd = -1;
}

uint32_t pl_ctl_next_seq(pl_ctl_client_t *c)
{
	return ++c->seq;
}

int pl_ctl_call(pl_ctl_client_t *c, const pl_msg_t *m, pl_frame_t *reply,
	     int timeout_ms)
{
	int rc = pl_send_frame(c->fd, m, PL_CTL_TIMEOUT_MS);
	while (rc == 0) {
		rc = pl_recv_frame(c->fd, &c->rd, reply, timeout_ms);
		if (rc == 0 && reply->seq == c->seq)
			return 0;
		if (rc == 0 && reply->fd >= 0)
			close(reply->fd);
	}
	return rc;
}

int pl_ctl_request(pl_ctl_client_t *c, uint16_t type, const char *name,
		pl_frame_t *reply)
{
	pl_msg_t m;
	int rc = pl_msg_init(&m, type, 0, pl_ctl_next_seq(c));
	if (rc < 0)
		return rc;
	if (name)
		pl_msg_add_str(&m, PL_TAG_NAME, name);
	rc = pl_msg_finish(&m);
	if (rc == 0)
		rc = pl_ctl_call(c, &m, reply, PL_CTL_TIMEOUT_MS);
	pl_msg_free(&m);
	return rc;
}
