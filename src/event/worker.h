/* worker.h — one event loop per thread: its listening sockets, its client
 * connections, its pool of idle server connections.
 *
 * Nothing here is shared between workers except struct lbd_shared (atomics
 * and the access log) and the configuration generations, which are
 * immutable and reference-counted.
 */
#ifndef LBD_WORKER_H
#define LBD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "core/access_log.h"
#include "event/binds.h"
#include "config/config.h"
#include "http/http_head.h"
#include "util/strbuf.h"

struct event;
struct event_base;
struct client_conn;
struct upstream_conn;
struct server_rt;

/* Process-wide state every worker reads. */
struct lbd_shared {
	atomic_uint connections;      /* client connections, all workers */
	atomic_uint max_connections;
	struct access_log *access_log;
	struct event *adopted_ev;     /* main thread: a worker adopted a generation */
	atomic_uint adopt_pending;    /* workers yet to adopt it */
};

struct listen_sock {
	struct worker *w;
	int fd;
	bool owns_fd;                 /* false when all workers poll one fd */
	size_t listener_index;        /* into w->cfg->listeners */
	struct event *ev;
};

/* A new generation for a worker, handed over by the main thread. */
struct worker_mail {
	struct config *cfg;           /* one reference, for the worker */
	struct listen_spec *specs;
	size_t nspecs;
};

TAILQ_HEAD(conn_list, conn_link);
struct conn_link {
	TAILQ_ENTRY(conn_link) entry;
	void (*stop)(struct conn_link *link);    /* graceful stop of this connection */
	void (*destroy)(struct conn_link *link); /* free it now (worker teardown) */
};

TAILQ_HEAD(upstream_list, upstream_conn);

struct worker {
	unsigned index;
	pthread_t thread;
	struct event_base *base;
	struct lbd_shared *shared;
	struct config *cfg;           /* generation for new requests; one ref */
	struct listen_sock **socks;   /* each allocated: events point at them */
	size_t nsocks;
	struct event *stop_ev;        /* activated from the main thread */
	struct event *adopt_ev;       /* activated from the main thread */
	pthread_mutex_t mail_lock;
	struct worker_mail mail;      /* under mail_lock */
	struct event *flush_ev;       /* access-log flush timer */
	struct event *resume_ev;      /* re-enables accepting after a pause */
	struct conn_list conns;       /* client connections and tunnels */
	unsigned nconns;
	struct upstream_list *idle;   /* idle server connections by server id */
	uint32_t nidle_lists;
	uint64_t health_epoch;        /* health_down_epoch() last acted on */
	struct strbuf scratch;        /* for rendering heads, reused */
	struct http_head_cache head_cache;
	bool stopping;
	bool accept_paused;
	bool thread_running;          /* set by the worker's thread */
};

/* Prepare W (its event_base and timers) with a reference to CFG. */
int worker_init(struct worker *w, unsigned index, struct lbd_shared *shared,
		struct config *cfg);

/* Poll the sockets of SPECS (before the worker starts). */
int worker_set_listen(struct worker *w, const struct listen_spec *specs, size_t n);

/* Switch W to configuration CFG (a reference for the worker is taken) and
 * the sockets of SPECS (copied), from any thread. The worker then
 * decrements shared->adopt_pending and activates shared->adopted_ev. */
int worker_adopt(struct worker *w, struct config *cfg, const struct listen_spec *specs,
		 size_t n);

int worker_start(struct worker *w);

/* Ask W to stop gracefully (any thread): stop accepting, close idle
 * connections, finish the others, then leave its loop. */
void worker_stop(struct worker *w);

/* Leave the loop now, whatever is still open (any thread). */
void worker_abort(struct worker *w);

void worker_join(struct worker *w);
void worker_free(struct worker *w);

/* Connection bookkeeping, on W's thread. */
void worker_conn_add(struct worker *w, struct conn_link *link);
void worker_conn_remove(struct worker *w, struct conn_link *link);

#endif
