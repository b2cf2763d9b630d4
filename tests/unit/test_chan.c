/* pl_chan: frames both ways over a socketpair on one loop, a queue that
 * waits for a slow reader, the bound on that queue, the bound on what is
 * sent (refused at the sender, the channel up), EOF and a garbled frame
 * reported once, and freeing the channel from inside its own frame
 * callback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pl_chan.h"

typedef struct {
	int frames;
	uint32_t last_seq;
	int closed;
	int close_rc;
	int free_on_frame;
	pl_chan_t *ch;
} peer_t;

static void on_frame(pl_chan_t *ch, pl_frame_t *f, void *arg)
{
	peer_t *p = arg;
	p->frames++;
	p->last_seq = f->seq;
	if (p->free_on_frame) {
		pl_chan_free(ch);
		p->ch = NULL;
	}
}

static void on_closed(pl_chan_t *ch, int rc, void *arg)
{
	peer_t *p = arg;
	(void)ch;
	p->closed++;
	p->close_rc = rc;
}

static const pl_chan_ops_t ops = { on_frame, on_closed };

static void send_ping(pl_chan_t *ch, uint32_t seq, size_t pad)
{
	pl_msg_t m;
	static uint8_t junk[64 * 1024];
	assert_int_equal(pl_msg_init(&m, PL_MSG_PING, 0, seq), 0);
	if (pad)
		pl_msg_add(&m, PL_TAG_PAYLOAD, junk, pad);
	assert_int_equal(pl_msg_finish(&m), 0);
	int rc = pl_chan_send(ch, &m);
	pl_msg_free(&m);
	assert_true(rc == 0 || rc == -PL_PROTO_EQUEUE);
}

static void run_until(pl_loop_t *loop, const int *flag, int want)
{
	for (int i = 0; i < 1000 && *flag < want; i++)
		pl_loop_run_once(loop, 1000);
	assert_true(*flag >= want);
}

static void test_both_ways(void **state)
{
	(void)state;
	int sp[2];
	peer_t a = { 0 }, b = { 0 };
	pl_loop_t *loop = pl_loop_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pl_chan_t *ca = pl_chan_new(loop, sp[0], 1 << 20, 1 << 20, &ops, &a);
	pl_chan_t *cb = pl_chan_new(loop, sp[1], 1 << 20, 1 << 20, &ops, &b);
	assert_non_null(ca);
	assert_non_null(cb);
	for (uint32_t i = 1; i <= 50; i++)
		send_ping(ca, i, 0);
	send_ping(cb, 7, 0);
	run_until(loop, &b.frames, 50);
	run_until(loop, &a.frames, 1);
	assert_int_equal(b.last_seq, 50);
	assert_int_equal(a.last_seq, 7);
	/* EOF: reported once, as EOF. */
	pl_chan_free(cb);
	run_until(loop, &a.closed, 1);
	assert_int_equal(a.close_rc, -PL_PROTO_EOF);
	assert_int_equal(pl_chan_fd(ca), -1);
	assert_int_equal(pl_chan_send(ca, NULL), -PL_PROTO_EIO);
	pl_chan_free(ca);
	pl_loop_free(loop);
}

static void test_queue_bound(void **state)
{
	(void)state;
	int sp[2];
	peer_t a = { 0 };
	pl_loop_t *loop = pl_loop_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	/* A peer that never reads: the socket buffer fills, then our queue
	 * up to its bound, then sends are refused (the caller decides). */
	pl_chan_t *ca = pl_chan_new(loop, sp[0], 1 << 20, 256 * 1024, &ops, &a);
	pl_msg_t m;
	static uint8_t junk[60 * 1024];
	int refused = 0;
	for (int i = 0; i < 200 && !refused; i++) {
		pl_msg_init(&m, PL_MSG_ECHO, 0, (uint32_t)i);
		pl_msg_add(&m, PL_TAG_PAYLOAD, junk, sizeof(junk));
		pl_msg_finish(&m);
		refused = pl_chan_send(ca, &m) == -PL_PROTO_EQUEUE;
		pl_msg_free(&m);
	}
	assert_true(refused);
	assert_true(pl_chan_queued(ca));
	pl_chan_free(ca);
	close(sp[1]);
	pl_loop_free(loop);
}

/* A frame over what the peer accepts would break the connection there
 * (the supervisor kills a service for it): refused at the sender, which
 * stays connected and sends the next one. */
static void test_send_bound(void **state)
{
	(void)state;
	int sp[2];
	peer_t a = { 0 }, b = { 0 };
	pl_loop_t *loop = pl_loop_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pl_chan_t *ca = pl_chan_new(loop, sp[0], 64 * 1024, 1 << 20, &ops, &a);
	pl_chan_t *cb = pl_chan_new(loop, sp[1], 64 * 1024, 1 << 20, &ops, &b);
	pl_chan_set_send_max(ca, 64 * 1024);
	static uint8_t junk[64 * 1024];
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_ECHO, 0, 1);
	pl_msg_add(&m, PL_TAG_PAYLOAD, junk, sizeof(junk)); /* 64 KiB + a field header */
	pl_msg_finish(&m);
	assert_int_equal(pl_chan_send(ca, &m), -PL_PROTO_ETOOBIG);
	pl_msg_free(&m);
	assert_false(pl_chan_queued(ca));
	send_ping(ca, 2, 64 * 1024 - 6); /* exactly the bound */
	run_until(loop, &b.frames, 1);
	assert_int_equal(b.last_seq, 2);
	assert_int_equal(a.closed + b.closed, 0);
	pl_chan_free(ca);
	pl_chan_free(cb);
	pl_loop_free(loop);
}

static void test_garbled(void **state)
{
	(void)state;
	int sp[2];
	peer_t a = { 0 };
	pl_loop_t *loop = pl_loop_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pl_chan_t *ca = pl_chan_new(loop, sp[0], 1 << 20, 1 << 20, &ops, &a);
	static const char junk[32] = "this is not a TLV frame at all!";
	assert_int_equal(write(sp[1], junk, sizeof(junk)), (ssize_t)sizeof(junk));
	run_until(loop, &a.closed, 1);
	assert_int_equal(a.frames, 0);
	assert_true(a.close_rc != -PL_PROTO_EOF && a.close_rc < 0);
	pl_chan_free(ca);
	close(sp[1]);
	pl_loop_free(loop);
}

static void test_free_inside_callback(void **state)
{
	(void)state;
	int sp[2];
	peer_t a = { 0 }, b = { .free_on_frame = 1 };
	pl_loop_t *loop = pl_loop_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pl_chan_t *ca = pl_chan_new(loop, sp[0], 1 << 20, 1 << 20, &ops, &a);
	b.ch = pl_chan_new(loop, sp[1], 1 << 20, 1 << 20, &ops, &b);
	/* Several frames in one read: the first frees the channel, the rest
	 * are never delivered, nothing is touched after the free (ASan). */
	for (uint32_t i = 1; i <= 5; i++)
		send_ping(ca, i, 0);
	run_until(loop, &b.frames, 1);
	pl_loop_run_once(loop, 0);
	assert_int_equal(b.frames, 1);
	assert_int_equal(b.closed, 0);
	assert_null(b.ch);
	run_until(loop, &a.closed, 1);
	pl_chan_free(ca);
	pl_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_ways),
		cmocka_unit_test(test_queue_bound),
		cmocka_unit_test(test_send_bound),
		cmocka_unit_test(test_garbled),
		cmocka_unit_test(test_free_inside_callback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
