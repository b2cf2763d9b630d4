/* A job writer's SHA-256 on a thread of its own (pl_jobw_write_lent).
 *
 * Intake of a large job is CPU-bound on the connection's thread: TLS
 * decryption, the hash of the plaintext, sealing and the writes. SHA-256
 * alone is about as costly as the rest together, and it depends on
 * nothing but the bytes, so it runs beside them: the writer queues each
 * piece the caller lent it, and this thread hashes the pieces in order.
 * The caller reuses a lent buffer only after its ticket is settled; the
 * writer seals from the same buffer meanwhile (both only read it). The
 * thread also starts the writeback of what the writer wrote, which can
 * wait for a busy disk. */
#include "jobstore-private.h"

#include <fcntl.h>
#include <string.h>

/* Advisory (errors show up at the fsync). Called without the lock. */
static void hash_writeback(int fd, uint64_t off, uint64_t len)
{
	sync_file_range(fd, (off64_t)off, (off64_t)len, SYNC_FILE_RANGE_WRITE);
}

static void *hash_main(void *arg)
{
	pl_jsh_t *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->len == 0 && h->wb_len == 0 && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->wb_len != 0 && !h->stop) {
			int fd = h->wb_fd;
			uint64_t off = h->wb_off, len = h->wb_len;
			h->wb_len = 0;
			pthread_mutex_unlock(&h->mu);
			hash_writeback(fd, off, len);
			pthread_mutex_lock(&h->mu);
			continue;
		}
		/* Stopping with work queued: a drain finishes it, an abort
		 * leaves it (the job is being thrown away). */
		if (h->len == 0 || (h->stop && !h->drain))
			break;
		const uint8_t *p = h->q[h->head].p;
		size_t n = h->q[h->head].n;
		pthread_mutex_unlock(&h->mu);
		int ok = EVP_DigestUpdate(h->md, p, n) == 1;
		pthread_mutex_lock(&h->mu);
		h->failed |= !ok;
		h->head = (h->head + 1) % PL_JSH_QUEUE;
		h->len--;
		h->done++;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int pl_jsh_start(pl_jsh_t *h, EVP_MD_CTX *md)
{
	memset(h, 0, sizeof(*h));
	h->md = md;
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&h->cv, NULL) != 0) {
		pthread_mutex_destroy(&h->mu);
		return -1;
	}
	/* No thread (a task limit reached): the caller hashes inline. */
	if (pthread_create(&h->th, NULL, hash_main, h) != 0) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		return -1;
	}
	h->running = 1;
	return 0;
}

uint64_t pl_jsh_push(pl_jsh_t *h, const uint8_t *p, size_t n)
{
	uint64_t ticket;

	pthread_mutex_lock(&h->mu);
	/* Back-pressure: the caller is ahead by a whole queue. */
	while (h->len == PL_JSH_QUEUE)
		pthread_cond_wait(&h->cv, &h->mu);
	h->q[(h->head + h->len) % PL_JSH_QUEUE].p = p;
	h->q[(h->head + h->len) % PL_JSH_QUEUE].n = n;
	h->len++;
	ticket = ++h->queued;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return ticket;
}

void pl_jsh_writeback(pl_jsh_t *h, int fd, uint64_t off, uint64_t len)
{
	pthread_mutex_lock(&h->mu);
	if (h->wb_len == 0) {
		h->wb_fd = fd;
		h->wb_off = off;
	}
	h->wb_len = off + len - h->wb_off;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void pl_jsh_settle(pl_jsh_t *h, uint64_t ticket)
{
	pthread_mutex_lock(&h->mu);
	while (h->done < ticket && h->running)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

int pl_jsh_stop(pl_jsh_t *h, int drain)
{
	int failed;

	if (!h->running)
		return 0;
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	h->drain = drain;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	/* After the join no piece is being read: every lent buffer is the
	 * caller's again. */
	pthread_join(h->th, NULL);
	h->running = 0;
	failed = h->failed || (drain && h->done != h->queued);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	return failed ? -1 : 0;
}
