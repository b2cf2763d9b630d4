/* A workstation token's last use (plsc token list, the console's
 * Workstations page). We verify tokens on a read-only directory, since we
 * face the network; the last use is recorded by plsc-directory, the
 * directory's one writer, which takes from us this one operation and no
 * other (DIR_WRITE token-used: the token's id, never the token).
 *
 * A busy workstation submits many jobs a minute and each write there is
 * an fsync, so a token is reported at most once a minute (plsc-directory
 * records at most that often anyway). The table of recent reports is
 * bounded: when every slot holds a token reported within the minute, a
 * new one waits for the next job after a slot frees, so a flood of
 * submissions, even with many tokens, costs at most OP_TOUCH_SLOTS writes
 * a minute. */
#include "op.h"

#include <string.h>

#include "pl_log.h"
#include "pl_util.h"

#define OP_TOUCH_TO "plsc-directory"
#define OP_TOUCH_OP "token-used"

/* The slot to report id in now, or NULL: reported within the minute, or
 * no slot free. */
static op_touch_slot_t *touch_slot(op_t *op, const char *id, uint64_t now)
{
	op_touch_slot_t *free_slot = NULL;
	for (size_t i = 0; i < OP_TOUCH_SLOTS; i++) {
		op_touch_slot_t *s = &op->touch[i];
		int fresh = s->id[0] && now - s->sent_ms < OP_TOUCH_EVERY_MS;
		if (s->id[0] && strcmp(s->id, id) == 0)
			return fresh ? NULL : s;
		if (!fresh && !free_slot)
			free_slot = s;
	}
	return free_slot;
}

static int touch_send(op_t *op, const char *id)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_DIR_WRITE, 0, 0) < 0)
		return -1;
	pl_msg_add_str(&m, PL_TAG_TO, OP_TOUCH_TO);
	pl_msg_add_str(&m, PL_TAG_OP, OP_TOUCH_OP);
	pl_msg_add_str(&m, PL_TAG_NAME, id);
	int rc = pl_msg_finish(&m);
	if (rc == 0)
		rc = pl_service_send(op->svc, &m);
	pl_msg_free(&m);
	return rc;
}

void op_token_used(op_t *op, const char *token)
{
	char id[PL_DIR_TOKEN_ID_LEN + 1];
	/* With --foreground there is no plsc-directory to ask. */
	if (!pl_service_supervised(op->svc) || pl_dir_token_id(token, id) < 0)
		return;
	uint64_t now = pl_now_ms();
	op_touch_slot_t *s = touch_slot(op, id, now);
	if (!s)
		return;
	pl_strlcpy(s->id, id, sizeof(s->id));
	s->sent_ms = now;
	/* Lost (a full channel queue): the next job after the minute tries
	 * again. Nothing else depends on it. */
	if (touch_send(op, id) < 0)
		pl_debug("token %s: its last use not sent to %s", id, OP_TOUCH_TO);
}

int op_touch_answer(const pl_frame_t *f)
{
	char msg[256] = "", from[64] = "";
	uint32_t st = 0;
	if (f->type != PL_MSG_RESULT || !(f->flags & PL_FLAG_REPLY))
		return 0;
	/* plsc-directory's answer, or the supervisor's (no FROM). */
	if (pl_frame_get_str(f, PL_TAG_FROM, from, sizeof(from)) == 0 &&
	    strcmp(from, OP_TOUCH_TO) != 0)
		return 0;
	/* plsc-directory logs its refusals itself; the supervisor's "not
	 * running" is worth no more than a debug line either. */
	pl_frame_get_u32(f, PL_TAG_STATUS, &st);
	pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
	if (st != 0 || (f->flags & PL_FLAG_ERROR))
		pl_debug("token-used: %s", msg[0] ? msg : "refused");
	return 1;
}
