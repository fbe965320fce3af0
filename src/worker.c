/* worker.c — a worker thread: accepting, connection bookkeeping, stopping.
 *
 * Accepting stops for a short while (ACCEPT_PAUSE_MS) when
 * global.max_connections is reached or the process runs out of descriptors,
 * the way nginx does: the pending connections wait in the kernel's backlog
 * instead of being accepted and dropped, and a full descriptor table never
 * makes the loop spin.
 */
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proxy.h"
#include "runtime.h"

#define ACCEPT_PAUSE_MS 100
#define ACCEPT_BATCH 64
#define ACCESS_FLUSH_MS 100

static void ms_to_tv(uint64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static void set_accepting(struct worker *w, bool on)
{
	for (size_t i = 0; i < w->nsocks; i++) {
		if (!w->socks[i].ev)
			continue;
		if (on)
			event_add(w->socks[i].ev, NULL);
		else
			event_del(w->socks[i].ev);
	}
}

static void pause_accepting(struct worker *w)
{
	struct timeval tv;

	if (w->accept_paused || w->stopping)
		return;
	w->accept_paused = true;
	set_accepting(w, false);
	ms_to_tv(ACCEPT_PAUSE_MS, &tv);
	event_add(w->resume_ev, &tv);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	w->accept_paused = false;
	if (!w->stopping)
		set_accepting(w, true);
}

static bool take_connection_slot(struct lbd_shared *shared)
{
	unsigned n = atomic_fetch_add_explicit(&shared->connections, 1, memory_order_relaxed);
	if (n < shared->max_connections)
		return true;
	atomic_fetch_sub_explicit(&shared->connections, 1, memory_order_relaxed);
	return false;
}

/* Out of descriptors is logged at most once a second per worker. */
static void log_accept_error(int err)
{
	static _Thread_local time_t last;
	time_t now = time(NULL);

	if (now == last)
		return;
	last = now;
	log_error("accept: %s; pausing new connections for %d ms", strerror(err),
		  ACCEPT_PAUSE_MS);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct listen_sock *ls = arg;
	struct worker *w = ls->w;

	for (int i = 0; i < ACCEPT_BATCH && !w->stopping; i++) {
		if (!take_connection_slot(w->shared)) {
			pause_accepting(w);
			return;
		}
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int cfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			int err = errno;
			atomic_fetch_sub_explicit(&w->shared->connections, 1, memory_order_relaxed);
			if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
				log_accept_error(err);
				pause_accepting(w);
			} else if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR &&
				   err != ECONNABORTED) {
				log_error("accept: %s", strerror(err));
			}
			return;
		}
		if (proxy_accept(w, ls->listener_index, cfd, (struct sockaddr *)&peer, len) < 0) {
			close(cfd);
			atomic_fetch_sub_explicit(&w->shared->connections, 1, memory_order_relaxed);
		}
	}
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	access_log_flush(w->shared->access_log);
}

static void maybe_finish_stop(struct worker *w)
{
	if (w->stopping && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (w->stopping)
		return;
	w->stopping = true;
	event_del(w->resume_ev);
	for (size_t i = 0; i < w->nsocks; i++) {
		struct listen_sock *ls = &w->socks[i];
		if (ls->ev) {
			event_free(ls->ev);
			ls->ev = NULL;
		}
		if (ls->owns_fd && ls->fd >= 0)
			close(ls->fd);
		ls->fd = -1;
	}
	upstream_close_idle(w);
	struct conn_link *link, *next;
	for (link = TAILQ_FIRST(&w->conns); link; link = next) {
		next = TAILQ_NEXT(link, entry);
		link->stop(link);
	}
	maybe_finish_stop(w);
}

int worker_init(struct worker *w, unsigned index, struct lbd_shared *shared,
		struct config *cfg)
{
	struct timeval tv;

	memset(w, 0, sizeof(*w));
	w->index = index;
	w->shared = shared;
	TAILQ_INIT(&w->conns);
	w->base = event_base_new();
	if (!w->base)
		return -1;
	w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
	w->resume_ev = evtimer_new(w->base, on_resume, w);
	w->flush_ev = event_new(w->base, -1, EV_PERSIST, on_flush, w);
	if (!w->stop_ev || !w->resume_ev || !w->flush_ev)
		return -1;
	ms_to_tv(ACCESS_FLUSH_MS, &tv);
	event_add(w->flush_ev, &tv);
	w->cfg = config_ref(cfg);
	return 0;
}

int worker_add_listen(struct worker *w, int fd, bool owns_fd, size_t listener_index)
{
	struct listen_sock *socks = realloc(w->socks, (w->nsocks + 1) * sizeof(*socks));

	if (!socks)
		return -1;
	w->socks = socks;
	struct listen_sock *ls = &w->socks[w->nsocks];
	memset(ls, 0, sizeof(*ls));
	ls->w = w;
	ls->fd = fd;
	ls->owns_fd = owns_fd;
	ls->listener_index = listener_index;
	w->nsocks++;
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	/* The listen_sock array is final now: events may point into it. */
	for (size_t i = 0; i < w->nsocks; i++) {
		struct listen_sock *ls = &w->socks[i];
		ls->ev = event_new(w->base, ls->fd, EV_READ | EV_PERSIST, on_accept, ls);
		if (ls->ev)
			event_add(ls->ev, NULL);
		else
			log_error("worker %u: cannot watch a listening socket", w->index);
	}
	event_base_dispatch(w->base);
	access_log_flush(w->shared->access_log);
	return NULL;
}

int worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

void worker_stop(struct worker *w)
{
	event_active(w->stop_ev, EV_READ, 0);
}

void worker_abort(struct worker *w)
{
	event_base_loopbreak(w->base);
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
}

void worker_free(struct worker *w)
{
	struct conn_link *link;

	while ((link = TAILQ_FIRST(&w->conns)) != NULL)
		link->destroy(link);
	upstream_close_idle(w);
	for (size_t i = 0; i < w->nsocks; i++) {
		if (w->socks[i].ev)
			event_free(w->socks[i].ev);
		if (w->socks[i].owns_fd && w->socks[i].fd >= 0)
			close(w->socks[i].fd);
	}
	free(w->socks);
	free(w->idle);
	strbuf_free(&w->scratch);
	http_head_cache_free(&w->head_cache);
	if (w->stop_ev)
		event_free(w->stop_ev);
	if (w->resume_ev)
		event_free(w->resume_ev);
	if (w->flush_ev)
		event_free(w->flush_ev);
	if (w->base)
		event_base_free(w->base);
	if (w->cfg)
		config_unref(w->cfg);
	memset(w, 0, sizeof(*w));
}

void worker_conn_add(struct worker *w, struct conn_link *link)
{
	TAILQ_INSERT_TAIL(&w->conns, link, entry);
	w->nconns++;
}

void worker_conn_remove(struct worker *w, struct conn_link *link)
{
	TAILQ_REMOVE(&w->conns, link, entry);
	w->nconns--;
	atomic_fetch_sub_explicit(&w->shared->connections, 1, memory_order_relaxed);
	maybe_finish_stop(w);
}
