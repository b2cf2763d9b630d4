/* pl_service: the runtime obeys the supervisor-only frames (CONFIG,
 * SHUTDOWN, PING, JOBS_QUERY...) only from the supervisor. A frame another
 * service had routed to us carries FROM, and the runtime drops it even if
 * the router let it through. The test is the supervisor: a service runs
 * pl_service_main in a child on one end of a socketpair.
 *
 * No timing: each forged frame is followed by a genuine PING, and the
 * channel is ordered, so a PONG (with the genuine PING's seq) proves the
 * forged frame before it did nothing (a SHUTDOWN or CONFIG obeyed would
 * have ended the service first, a PING answered would come first).
 *
 * An answer larger than the channel takes is not sent (the supervisor
 * would kill the service for it): the asker gets an error instead, and
 * the service stays up. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pl_proto.h"
#include "pl_service.h"

#define T_TIMEOUT_MS 10000

typedef struct {
	int sock;
	pid_t pid;
	pl_reader_t rd;
	char dir[64];
} fixture_t;

static int noop_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	(void)svc;
	(void)cfg;
	(void)ctx;
	return 0;
}

/* Answers a JOBS_QUERY with 2 MiB: over the channel's 1 MiB. */
static void big_answer(pl_service_t *svc, const pl_frame_t *f, void *ctx)
{
	static uint8_t junk[2 * 1024 * 1024];
	pl_msg_t m;
	(void)ctx;
	if (f->type != PL_MSG_JOBS_QUERY || pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, f->seq) < 0)
		return;
	pl_msg_add(&m, PL_TAG_PAYLOAD, junk, sizeof(junk));
	if (pl_msg_finish(&m) == 0 && pl_service_send(svc, &m) != -PL_PROTO_ETOOBIG)
		abort(); /* the test sees the channel close */
	pl_msg_free(&m);
}

static void child(int fd, const char *dir)
{
	static const pl_service_def_t def = {
		.name = "test-service",
		.summary = "test",
		.start = noop_start,
		.message = big_answer,
		/* no reconfig, no shutdown: CONFIG or SHUTDOWN obeyed = exit */
	};
	char num[16];
	char *argv[] = { "test-service", NULL };
	snprintf(num, sizeof(num), "%d", fd);
	setenv(PL_ENV_CHANNEL, num, 1);
	setenv(PL_ENV_SERVICE, "T", 1);
	setenv(PL_ENV_STATE_DIR, dir, 1);
	_exit(pl_service_main(1, argv, &def, NULL));
}

static void send_msg(fixture_t *fx, uint16_t type, uint32_t seq,
		     const char *from)
{
	pl_msg_t m;
	assert_int_equal(pl_msg_init(&m, type, 0, seq), 0);
	if (type == PL_MSG_CONFIG)
		pl_msg_add_str(&m, PL_TAG_CONFIG, "{}");
	if (type == PL_MSG_SHUTDOWN)
		pl_msg_add_u32(&m, PL_TAG_GRACE_MS, 1000);
	if (from)
		pl_msg_add_str(&m, PL_TAG_FROM, from);
	assert_int_equal(pl_msg_finish(&m), 0);
	assert_int_equal(pl_send_frame(fx->sock, &m, T_TIMEOUT_MS), 0);
	pl_msg_free(&m);
}

/* The next frame that is not a status line. */
static void expect(fixture_t *fx, uint16_t type, uint32_t seq)
{
	pl_frame_t f;
	do {
		assert_int_equal(pl_recv_frame(fx->sock, &fx->rd, &f, T_TIMEOUT_MS), 0);
	} while (f.type == PL_MSG_SVC_STATUS);
	assert_string_equal(pl_msg_type_name(f.type), pl_msg_type_name(type));
	if (seq)
		assert_int_equal(f.seq, seq);
}

static int setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof(*fx));
	int sp[2];
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/plsc-test-svc.XXXXXX");
	if (!fx || !mkdtemp(fx->dir) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	fx->pid = fork();
	if (fx->pid == 0) {
		close(sp[0]);
		child(sp[1], fx->dir);
	}
	close(sp[1]);
	fx->sock = sp[0];
	pl_reader_init(&fx->rd, PL_PROTO_MAX_FRAME);
	*state = fx;
	/* The supervision contract up to READY. */
	expect(fx, PL_MSG_HELLO, 0);
	send_msg(fx, PL_MSG_CONFIG, 0, NULL);
	expect(fx, PL_MSG_READY, 0);
	return 0;
}

static int teardown(void **state)
{
	fixture_t *fx = *state;
	int status;
	close(fx->sock); /* EOF: the service exits */
	waitpid(fx->pid, &status, 0);
	pl_reader_free(&fx->rd);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void test_forged_frames_dropped(void **state)
{
	fixture_t *fx = *state;
	static const uint16_t forged[] = {
		PL_MSG_SHUTDOWN, PL_MSG_CONFIG, PL_MSG_PING, PL_MSG_JOBS_QUERY,
		PL_MSG_RELEASE_JOBS, PL_MSG_DELETE_JOBS,
	};
	uint32_t seq = 100;
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		send_msg(fx, forged[i], ++seq, "Rogue");
		send_msg(fx, PL_MSG_PING, ++seq, NULL);
		expect(fx, PL_MSG_PONG, seq);
	}
}

static void test_answer_too_large(void **state)
{
	fixture_t *fx = *state;
	pl_frame_t f;
	uint32_t st = 0;
	send_msg(fx, PL_MSG_JOBS_QUERY, 41, NULL);
	do {
		assert_int_equal(pl_recv_frame(fx->sock, &fx->rd, &f, T_TIMEOUT_MS), 0);
	} while (f.type == PL_MSG_SVC_STATUS);
	assert_int_equal(f.type, PL_MSG_RESULT);
	assert_int_equal(f.seq, 41);
	assert_true(f.flags & PL_FLAG_ERROR);
	assert_true(f.len < 1024);
	assert_int_equal(pl_frame_get_u32(&f, PL_TAG_STATUS, &st), 0);
	assert_int_equal(st, PL_STATUS_ERROR);
	send_msg(fx, PL_MSG_PING, 42, NULL);
	expect(fx, PL_MSG_PONG, 42);
}

static void test_genuine_shutdown_obeyed(void **state)
{
	fixture_t *fx = *state;
	int status;
	send_msg(fx, PL_MSG_SHUTDOWN, 7, NULL);
	assert_int_equal(waitpid(fx->pid, &status, 0), fx->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fx->pid = -1;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forged_frames_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_genuine_shutdown_obeyed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
