/* worker.c — a worker thread: accepting (handing each connection to its
 * listening socket's protocol), connection bookkeeping, housekeeping,
 * adopting a new generation, stopping.
 *
 * Accepting stops for a short while (ACCEPT_PAUSE_MS) when
 * global.max_connections is reached or the process runs out of descriptors,
 * the way nginx does: the pending connections wait in the kernel's backlog
 * instead of being accepted and dropped, and a full descriptor table never
 * makes the loop spin.
 */
#include "event/worker.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/runtime.h"
#include "event/grace.h"
#include "event/peer.h"
#include "util/clock.h"

#define ACCEPT_PAUSE_MS 100
#define ACCEPT_BATCH 64

static void set_accepting(struct worker *w, bool on)
{
	for (size_t i = 0; i < w->nsocks; i++) {
		if (!w->socks[i]->ev)
			continue;
		if (on)
			event_add(w->socks[i]->ev, NULL);
		else
			event_del(w->socks[i]->ev);
	}
}

static void pause_accepting(struct worker *w)
{
	struct timeval tv;

	if (w->accept_paused || w->stopping)
		return;
	w->accept_paused = true;
	set_accepting(w, false);
	ms_to_timeval(ACCEPT_PAUSE_MS, &tv);
	event_add(w->resume_ev, &tv);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	w->accept_paused = false;
	if (!w->stopping)
		set_accepting(w, true);
}

static bool take_connection_slot(struct conn_limit *limit)
{
	unsigned n = atomic_fetch_add_explicit(&limit->open, 1, memory_order_relaxed);
	if (n < atomic_load_explicit(&limit->max, memory_order_relaxed))
		return true;
	atomic_fetch_sub_explicit(&limit->open, 1, memory_order_relaxed);
	return false;
}

static void give_connection_slot(struct conn_limit *limit)
{
	atomic_fetch_sub_explicit(&limit->open, 1, memory_order_relaxed);
}

/* Out of descriptors is logged at most once a second per worker. */
static void log_accept_error(int err)
{
	static _Thread_local time_t last;
	time_t now = time(NULL);

	if (now == last)
		return;
	last = now;
	log_error("accept: %s; pausing new connections for %d ms", strerror(err), ACCEPT_PAUSE_MS);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct listen_sock *ls = arg;
	struct worker *w = ls->w;

	for (int i = 0; i < ACCEPT_BATCH && !w->stopping; i++) {
		if (!take_connection_slot(w->env.conns)) {
			pause_accepting(w);
			return;
		}
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int cfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			int err = errno;
			give_connection_slot(w->env.conns);
			if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
				log_accept_error(err);
				pause_accepting(w);
			} else if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR &&
				   err != ECONNABORTED) {
				log_error("accept: %s", strerror(err));
			}
			return;
		}
		if (ls->proto->p->accept(ls->proto->ctx, ls->listener_index, cfd,
					 (struct sockaddr *)&peer, len) < 0) {
			close(cfd);
			give_connection_slot(w->env.conns);
		}
	}
}

/* The worker's housekeeping tick: the access log, and each protocol's
 * (HTTP closes pooled connections to servers that went down: the pool is
 * the worker's own, so it frees them itself, never another thread). */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	access_log_flush(w->env.access_log);
	if (w->env.grace)
		grace_quiescent(w->env.grace, w->index);
	peer_queue_tick(w->queue);
	for (size_t i = 0; i < w->env.nprotocols; i++)
		if (w->protos[i].p->tick)
			w->protos[i].p->tick(w->protos[i].ctx);
}

static void listen_sock_free(struct listen_sock *ls)
{
	if (ls->ev)
		event_free(ls->ev);
	if (ls->owns_fd && ls->fd >= 0)
		close(ls->fd);
	free(ls);
}

/* The protocol of listener INDEX of CFG, as this worker runs it. */
static const struct worker_proto *protocol_of(const struct worker *w, const struct config *cfg,
					      size_t index)
{
	unsigned proto = (unsigned)cfg->listeners[index].protocol;

	return proto < w->env.nprotocols ? &w->protos[proto] : NULL;
}

static struct listen_sock *listen_sock_new(struct worker *w, const struct listen_spec *spec)
{
	struct listen_sock *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return NULL;
	ls->w = w;
	ls->fd = spec->fd;
	ls->owns_fd = spec->owns_fd;
	ls->listener_index = spec->listener_index;
	ls->ev = event_new(w->base, ls->fd, EV_READ | EV_PERSIST, on_accept, ls);
	if (!ls->ev) {
		free(ls);
		return NULL;
	}
	return ls;
}

/* Replace the polled sockets by those of SPECS, listeners of CFG: a socket
 * that stays keeps its event (and whatever waits in its backlog), a new
 * one gets one, a removed one is released (closed when this worker owns
 * it). Each takes the protocol of its listener in CFG. */
static int apply_listen(struct worker *w, const struct config *cfg, const struct listen_spec *specs,
			size_t n)
{
	struct listen_sock **socks = calloc(n ? n : 1, sizeof(*socks));

	if (!socks)
		return -1;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < w->nsocks; j++) {
			if (w->socks[j] && w->socks[j]->fd == specs[i].fd) {
				socks[i] = w->socks[j];
				w->socks[j] = NULL;
				break;
			}
		}
		const struct worker_proto *proto = protocol_of(w, cfg, specs[i].listener_index);
		if (!proto) {
			log_error("worker %u: listener %s has no protocol", w->index,
				  cfg->listeners[specs[i].listener_index].name);
			if (socks[i])
				listen_sock_free(socks[i]);
			socks[i] = NULL;
			continue;
		}
		if (!socks[i]) {
			socks[i] = listen_sock_new(w, &specs[i]);
			if (!socks[i]) {
				log_error("worker %u: cannot watch a listening socket", w->index);
				continue;
			}
			if (!w->accept_paused && !w->stopping && w->thread_running)
				event_add(socks[i]->ev, NULL);
		}
		socks[i]->listener_index = specs[i].listener_index;
		socks[i]->owns_fd = specs[i].owns_fd;
		socks[i]->proto = proto;
	}
	for (size_t j = 0; j < w->nsocks; j++)
		if (w->socks[j])
			listen_sock_free(w->socks[j]);
	free(w->socks);
	/* Keep only the sockets that could be watched. */
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (socks[i])
			socks[k++] = socks[i];
	w->socks = socks;
	w->nsocks = k;
	return 0;
}

/* --- the doorbell: what other threads ask of the worker -------------------- */

enum {
	BELL_ADOPT = 1 << 0, /* a new generation in the mail */
	BELL_STOP = 1 << 1,
	BELL_ABORT = 1 << 2,
	BELL_QUEUE = 1 << 3, /* a server slot freed for a waiter */
};

static _Thread_local const struct worker *current;

/* The eventfd is written only by the ring that finds no bit set: the
 * worker reads it before taking the bits, so a bit set after the take
 * rings again and none is left unseen. */
static void ring(struct worker *w, unsigned bit)
{
	uint64_t one = 1;

	if (atomic_fetch_or_explicit(&w->bell, bit, memory_order_acq_rel) == 0 &&
	    write(w->bell_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("worker %u: doorbell: %s", w->index, strerror(errno));
}

static void on_adopt(struct worker *w);
static void on_stop(struct worker *w);

static void on_bell(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_error("worker %u: doorbell: %s", w->index, strerror(errno));
	unsigned bits = atomic_exchange_explicit(&w->bell, 0, memory_order_acq_rel);
	if (bits & BELL_ABORT) {
		event_base_loopbreak(w->base);
		return;
	}
	if (bits & BELL_ADOPT)
		on_adopt(w);
	if (bits & BELL_STOP)
		on_stop(w);
	if (bits & BELL_QUEUE)
		peer_queue_wake(w->queue);
}

bool worker_is_current(const struct worker *w)
{
	return current == w;
}

void worker_wake_queue(struct worker *w)
{
	if (worker_is_current(w))
		peer_queue_wake(w->queue);
	else
		ring(w, BELL_QUEUE);
}

bool worker_exited(struct worker *w)
{
	return atomic_load(&w->exited);
}

static void on_adopt(struct worker *w)
{
	struct worker_mail mail;

	pthread_mutex_lock(&w->mail_lock);
	mail = w->mail;
	memset(&w->mail, 0, sizeof(w->mail));
	pthread_mutex_unlock(&w->mail_lock);
	if (mail.cfg) {
		if (!w->stopping)
			apply_listen(w, mail.cfg, mail.specs, mail.nspecs);
		config_unref(w->cfg);
		w->cfg = mail.cfg;
	}
	free(mail.specs);
	atomic_fetch_sub_explicit(&w->env.adoption->pending, 1, memory_order_acq_rel);
	event_active(w->env.adoption->done_ev, EV_READ, 0);
}

int worker_adopt(struct worker *w, struct config *cfg, const struct listen_spec *specs, size_t n)
{
	struct listen_spec *copy = malloc((n ? n : 1) * sizeof(*copy));

	if (!copy)
		return -1;
	memcpy(copy, specs, n * sizeof(*copy));
	pthread_mutex_lock(&w->mail_lock);
	if (w->mail.cfg) { /* an adoption not yet picked up: this one replaces it */
		config_unref(w->mail.cfg);
		free(w->mail.specs);
		atomic_fetch_sub_explicit(&w->env.adoption->pending, 1, memory_order_acq_rel);
	}
	w->mail = (struct worker_mail){ .cfg = config_ref(cfg), .specs = copy, .nspecs = n };
	pthread_mutex_unlock(&w->mail_lock);
	ring(w, BELL_ADOPT);
	return 0;
}

static void maybe_finish_stop(struct worker *w)
{
	if (w->stopping && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

static void on_stop(struct worker *w)
{
	if (w->stopping)
		return;
	w->stopping = true;
	w->keeps_idle = atomic_load(&w->retire_asked);
	event_del(w->resume_ev);
	for (size_t i = 0; i < w->nsocks; i++)
		listen_sock_free(w->socks[i]);
	w->nsocks = 0;
	for (size_t i = 0; i < w->env.nprotocols; i++)
		if (w->protos[i].p->stop)
			w->protos[i].p->stop(w->protos[i].ctx);
	struct conn_link *link, *next;
	for (link = TAILQ_FIRST(&w->conns); link; link = next) {
		next = TAILQ_NEXT(link, entry);
		link->stop(link);
	}
	maybe_finish_stop(w);
}

int worker_init(struct worker *w, unsigned index, const struct worker_env *env, struct config *cfg)
{
	struct timeval tv;

	memset(w, 0, sizeof(*w));
	w->bell_fd = -1;
	w->index = index;
	w->env = *env;
	TAILQ_INIT(&w->conns);
	/* With the changelist, epoll learns of interest changes once per loop
	 * pass, so write interest added and dropped again in one pass (a TLS
	 * response written at once, see io.c) costs no epoll_ctl() at all.
	 * Its one hazard, descriptors shared through dup(), does not arise:
	 * a worker's sockets are its own. */
	struct event_config *ecfg = event_config_new();
	if (!ecfg)
		return -1;
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	/* Only the worker's thread touches its base (others ring its
	 * doorbell): no lock for every event_add() and event_del(). */
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK);
	w->base = event_base_new_with_config(ecfg);
	event_config_free(ecfg);
	if (!w->base)
		return -1;
	w->bell_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->bell_fd < 0)
		return -1;
	w->bell_ev = event_new(w->base, w->bell_fd, EV_READ | EV_PERSIST, on_bell, w);
	w->resume_ev = evtimer_new(w->base, on_resume, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, on_tick, w);
	pthread_mutex_init(&w->mail_lock, NULL);
	w->queue = peer_queue_new(w);
	if (!w->bell_ev || event_add(w->bell_ev, NULL) < 0 || !w->resume_ev || !w->tick_ev ||
	    !w->queue || deadlines_init(&w->deadlines, w->base) < 0)
		return -1;
	ms_to_timeval(WORKER_TICK_MS, &tv);
	event_add(w->tick_ev, &tv);
	w->cfg = config_ref(cfg);
	w->protos = calloc(env->nprotocols ? env->nprotocols : 1, sizeof(*w->protos));
	if (!w->protos)
		return -1;
	for (size_t i = 0; i < env->nprotocols; i++) {
		w->protos[i].p = env->protocols[i];
		w->protos[i].ctx = env->protocols[i]->init(w);
		if (!w->protos[i].ctx)
			return -1;
	}
	return 0;
}

int worker_set_listen(struct worker *w, const struct listen_spec *specs, size_t n)
{
	return apply_listen(w, w->cfg, specs, n);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->thread_running = true;
	current = w;
	runtime_set_shard(w->index);
	set_accepting(w, true);
	event_base_dispatch(w->base);
	access_log_flush(w->env.access_log);
	atomic_store(&w->exited, true);
	return NULL;
}

int worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

void worker_stop(struct worker *w)
{
	ring(w, BELL_STOP);
}

void worker_retire(struct worker *w)
{
	atomic_store(&w->retire_asked, true);
	ring(w, BELL_STOP);
}

void worker_abort(struct worker *w)
{
	ring(w, BELL_ABORT);
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
	for (size_t i = 0; w->protos && i < w->env.nprotocols; i++)
		if (w->protos[i].ctx)
			w->protos[i].p->free(w->protos[i].ctx);
	free(w->protos);
	peer_queue_free(w->queue);
	for (size_t i = 0; i < w->nsocks; i++)
		listen_sock_free(w->socks[i]);
	free(w->socks);
	if (w->mail.cfg)
		config_unref(w->mail.cfg);
	free(w->mail.specs);
	pthread_mutex_destroy(&w->mail_lock);
	if (w->bell_ev)
		event_free(w->bell_ev);
	if (w->base && w->bell_fd >= 0) /* a worker never made is all zero */
		close(w->bell_fd);
	if (w->resume_ev)
		event_free(w->resume_ev);
	if (w->tick_ev)
		event_free(w->tick_ev);
	bev_spares_free(&w->bev_spares);
	deadlines_free(&w->deadlines);
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
	give_connection_slot(w->env.conns);
	maybe_finish_stop(w);
}

void worker_conn_replace(struct worker *w, struct conn_link *old, struct conn_link *new)
{
	TAILQ_INSERT_BEFORE(old, new, entry);
	TAILQ_REMOVE(&w->conns, old, entry);
}
