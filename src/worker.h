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

#include "access_log.h"
#include "config.h"
#include "http_head.h"
#include "util/strbuf.h"

struct event;
struct event_base;
struct client_conn;
struct upstream_conn;
struct server_rt;

/* Process-wide state every worker reads. */
struct lbd_shared {
	atomic_uint connections;      /* client connections, all workers */
	uint32_t max_connections;
	struct access_log *access_log;
};

struct listen_sock {
	struct worker *w;
	int fd;
	bool owns_fd;                 /* false when all workers poll one fd */
	size_t listener_index;        /* into w->cfg->listeners */
	struct event *ev;
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
	struct listen_sock *socks;
	size_t nsocks;
	struct event *stop_ev;        /* activated from the main thread */
	struct event *flush_ev;       /* access-log flush timer */
	struct event *resume_ev;      /* re-enables accepting after a pause */
	struct conn_list conns;       /* client connections and tunnels */
	unsigned nconns;
	struct upstream_list *idle;   /* idle server connections by server id */
	uint32_t nidle_lists;
	struct strbuf scratch;        /* for rendering heads, reused */
	struct http_head_cache head_cache;
	bool stopping;
	bool accept_paused;
};

/* Prepare W (its event_base and timers) with a reference to CFG. */
int worker_init(struct worker *w, unsigned index, struct lbd_shared *shared,
		struct config *cfg);

/* Poll FD for connections to listener LISTENER_INDEX of the configuration. */
int worker_add_listen(struct worker *w, int fd, bool owns_fd, size_t listener_index);

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
