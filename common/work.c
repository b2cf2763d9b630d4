/* Worker pool: a mutex-protected FIFO in, a FIFO of finished items out,
 * an eventfd to wake the loop. */
#include "pl_work.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pl_loop.h"
#include "pl_util.h"

#define WORK_MAX_THREADS 64

typedef struct work_item {
	pl_work_fn fn, done;
	void *arg;
	uint64_t submitted; /* pl_now_ms(), for the age of stuck work */
	struct work_item *next;
	struct work_item *next_running;
} work_item_t;

struct pl_work {
	pl_loop_t *loop;
	pl_watch_t *watch;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	work_item_t *todo, *todo_tail;
	work_item_t *done, *done_tail;
	work_item_t *running; /* at most nthreads long */
	size_t pending;
	int stopping;
	int nice;
	char name[16]; /* the threads' name (ps -L, top -H): 15 bytes at most */
	int nthreads;
	pthread_t threads[WORK_MAX_THREADS];
};

static void push(work_item_t **head, work_item_t **tail, work_item_t *it)
{
	it->next = NULL;
	if (*tail)
		(*tail)->next = it;
	else
		*head = it;
	*tail = it;
}

static work_item_t *pop(work_item_t **head, work_item_t **tail)
{
	work_item_t *it = *head;
	if (it) {
		*head = it->next;
		if (!*head)
			*tail = NULL;
	}
	return it;
}

static void running_unlink(pl_work_t *w, work_item_t *it)
{
	work_item_t **pp = &w->running;
	while (*pp && *pp != it)
		pp = &(*pp)->next_running;
	if (*pp)
		*pp = it->next_running;
}

static void *worker(void *arg)
{
	pl_work_t *w = arg;
	uint64_t one = 1;
	/* Linux gives each thread its own nice value. Lowering our own
	 * priority needs no privilege; a failure leaves the default. */
	if (w->nice > 0)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), w->nice);
	if (w->name[0])
		(void)pthread_setname_np(pthread_self(), w->name);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->todo && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		work_item_t *it = pop(&w->todo, &w->todo_tail);
		if (!it)
			break; /* stopping and nothing left */
		it->next_running = w->running;
		w->running = it;
		pthread_mutex_unlock(&w->mu);
		it->fn(it->arg);
		pthread_mutex_lock(&w->mu);
		running_unlink(w, it);
		push(&w->done, &w->done_tail, it);
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* eventfd counter overflow is impossible in practice */
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void reap(pl_work_t *w)
{
	uint64_t n;
	if (read(w->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: already drained */
	}
	for (;;) {
		pthread_mutex_lock(&w->mu);
		work_item_t *it = pop(&w->done, &w->done_tail);
		if (it)
			w->pending--;
		pthread_mutex_unlock(&w->mu);
		if (!it)
			return;
		if (it->done)
			it->done(it->arg);
		free(it);
	}
}

static void on_event(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	(void)loop;
	(void)fd;
	(void)ev;
	reap(arg);
}

pl_work_t *pl_work_new(pl_loop_t *loop, const char *name, int nthreads, int nice)
{
	pl_work_t *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->nice = nice < 0 ? 0 : nice > 19 ? 19 : nice;
	if (name)
		pl_strlcpy(w->name, name, sizeof(w->name));
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > WORK_MAX_THREADS)
		nthreads = WORK_MAX_THREADS;
	w->loop = loop;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0)
		goto fail;
	w->watch = pl_loop_watch(loop, w->efd, EPOLLIN, on_event, w);
	if (!w->watch)
		goto fail;
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&w->threads[i], NULL, worker, w) != 0)
			break;
		w->nthreads++;
	}
	if (w->nthreads == 0)
		goto fail;
	return w;
fail:
	if (w->watch)
		pl_loop_unwatch(loop, w->watch);
	if (w->efd >= 0)
		close(w->efd);
	free(w);
	return NULL;
}

int pl_work_submit(pl_work_t *w, pl_work_fn fn, pl_work_fn done, void *arg)
{
	work_item_t *it = malloc(sizeof(*it));
	if (!it)
		return -1;
	it->fn = fn;
	it->done = done;
	it->arg = arg;
	it->submitted = pl_now_ms();
	pthread_mutex_lock(&w->mu);
	push(&w->todo, &w->todo_tail, it);
	w->pending++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

size_t pl_work_pending(pl_work_t *w)
{
	pthread_mutex_lock(&w->mu);
	size_t n = w->pending;
	pthread_mutex_unlock(&w->mu);
	return n;
}

const char *pl_work_name(const pl_work_t *w)
{
	return w->name;
}

uint64_t pl_work_oldest_ms(pl_work_t *w, size_t *pending)
{
	uint64_t now = pl_now_ms(), oldest = now;
	pthread_mutex_lock(&w->mu);
	/* The queue is FIFO, so its head is its oldest; running jobs were
	 * taken from it earlier but may have been submitted in any order
	 * relative to each other. */
	if (w->todo)
		oldest = w->todo->submitted;
	for (work_item_t *it = w->running; it; it = it->next_running)
		if (it->submitted < oldest)
			oldest = it->submitted;
	if (pending)
		*pending = w->pending;
	pthread_mutex_unlock(&w->mu);
	return now - oldest;
}

int pl_work_describe(pl_work_t *w, uint64_t stuck_ms, char *buf, size_t size)
{
	size_t pending = 0;
	uint64_t age = pl_work_oldest_ms(w, &pending);
	if (age <= stuck_ms)
		return 0;
	if (pl_fmt(buf, size, "pool %s: %zu pending, oldest %llu s",
		   w->name[0] ? w->name : "?", pending,
		   (unsigned long long)(age / 1000)) < 0)
		return 0;
	return 1;
}

void pl_work_free(pl_work_t *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	reap(w);
	pl_loop_unwatch(w->loop, w->watch);
	close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
