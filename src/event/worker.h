/* worker.h — one event loop per thread: its listening sockets, its client
 * connections, and the per-worker state of each protocol.
 *
 * The worker knows no protocol. Each listening socket carries the protocol
 * that takes its connections (as nginx's listening socket carries its
 * handler), and each protocol keeps its own per-worker state (HTTP: the
 * pool of idle server connections) behind an opaque context.
 *
 * Nothing here is shared between workers except the connection limit,
 * the access log and the adoption handshake (each its own object, owned by
 * the daemon) and the configuration generations, which are immutable and
 * reference-counted.
 */
#ifndef LBD_WORKER_H
#define LBD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "event/bev_spare.h"
#include "event/deadline.h"
#include <sys/socket.h>

#include "config/config.h"
#include "core/access_log.h"
#include "event/binds.h"

struct event;
struct event_base;
struct grace;
struct peer_queue;
struct worker;

/* Client connections of every worker together, against
 * global.max_connections. */
struct conn_limit {
	atomic_uint open;
	atomic_uint max;
};

/* A reload's handshake: each worker that adopted the new generation
 * decrements PENDING and activates DONE_EV (the main thread's). */
struct worker_adoption {
	atomic_uint pending;
	struct event *done_ev;
};

/* What a worker calls a protocol for. INIT makes the protocol's state for
 * one worker (NULL when out of memory), on any thread before the worker
 * runs; the other calls run on the worker's thread. */
struct worker_protocol {
	const char *name;
	void *(*init)(struct worker *w);
	/* Take over the accepted descriptor FD of listener LISTENER_INDEX of
	 * the worker's configuration. Returns 0, or -1 when the caller must
	 * close FD. */
	int (*accept)(void *ctx, size_t listener_index, int fd, const struct sockaddr *peer,
		      socklen_t peer_len);
	void (*tick)(void *ctx); /* housekeeping, every WORKER_TICK_MS */
	void (*stop)(void *ctx); /* the worker stops: drop what is idle */
	void (*free)(void *ctx); /* after every connection was freed */
};

#define WORKER_TICK_MS 100

/* What every worker is given: the protocols by enum listener_protocol
 * (a listening socket's protocol indexes it), and the shared objects. */
struct worker_env {
	const struct worker_protocol *const *protocols;
	size_t nprotocols;
	struct conn_limit *conns;
	struct access_log *access_log;
	struct worker_adoption *adoption;
	struct grace *grace; /* the worker is one of its readers, by index */
};

struct worker_proto {
	const struct worker_protocol *p;
	void *ctx;
};

struct listen_sock {
	struct worker *w;
	int fd;
	bool owns_fd;                     /* false when all workers poll one fd */
	size_t listener_index;            /* into w->cfg->listeners */
	const struct worker_proto *proto; /* who takes its connections */
	struct event *ev;
};

/* A new generation for a worker, handed over by the main thread. */
struct worker_mail {
	struct config *cfg; /* one reference, for the worker */
	struct listen_spec *specs;
	size_t nspecs;
};

TAILQ_HEAD(conn_list, conn_link);
struct conn_link {
	TAILQ_ENTRY(conn_link) entry;
	void (*stop)(struct conn_link *link);    /* graceful stop of this connection */
	void (*destroy)(struct conn_link *link); /* free it now (worker teardown) */
};

struct worker {
	unsigned index;
	pthread_t thread;
	struct event_base *base;
	struct worker_env env;
	struct worker_proto *protos; /* env.nprotocols, by listener protocol */
	struct config *cfg;          /* generation for new requests; one ref */
	struct listen_sock **socks;  /* each allocated: events point at them */
	size_t nsocks;
	/* Other threads reach the worker by its doorbell: bits of what they
	 * ask (worker.c) and an eventfd, written when the first bit is set.
	 * Its event_base has no lock (no thread but its own touches it). */
	atomic_uint bell;
	int bell_fd;
	struct event *bell_ev;
	atomic_bool exited; /* its loop is over (set by its thread) */
	pthread_mutex_t mail_lock;
	struct worker_mail mail;      /* under mail_lock */
	struct event *tick_ev;        /* housekeeping timer */
	struct event *resume_ev;      /* re-enables accepting after a pause */
	struct deadlines deadlines;   /* its connections' (deadline.h) */
	struct bev_spares bev_spares; /* plain bufferevents for reuse */
	struct peer_queue *queue;     /* requests waiting for a server slot */
	struct conn_list conns;       /* client connections and tunnels */
	unsigned nconns;
	bool stopping;
	/* Stopping for a binary upgrade: connections idle between requests
	 * stay open for one more request (worker_retire). */
	bool keeps_idle;
	atomic_bool retire_asked; /* set by worker_retire, read by the stop */
	bool accept_paused;
	bool thread_running; /* set by the worker's thread */
};

/* Prepare W (its event_base, timers and protocol states) with a reference
 * to CFG. ENV is copied; what it points at must outlive W. */
int worker_init(struct worker *w, unsigned index, const struct worker_env *env, struct config *cfg);

/* Poll the sockets of SPECS (before the worker starts). */
int worker_set_listen(struct worker *w, const struct listen_spec *specs, size_t n);

/* Switch W to configuration CFG (a reference for the worker is taken) and
 * the sockets of SPECS (copied), from any thread. The worker then
 * decrements env.adoption->pending and activates its done_ev. */
int worker_adopt(struct worker *w, struct config *cfg, const struct listen_spec *specs, size_t n);

int worker_start(struct worker *w);

/* Ask W to stop gracefully (any thread): stop accepting, close idle
 * connections, finish the others, then leave its loop. */
void worker_stop(struct worker *w);

/* Stop as worker_stop does, but for a binary upgrade: the new process
 * accepts on the same sockets meanwhile, and a client whose keep-alive
 * connection is idle may be sending its next request right now. Closing
 * it would fail that request, so an idle connection stays open and its
 * next request is answered with Connection: close (or it closes at its
 * idle timeout, or at the drain timeout). Any thread. */
void worker_retire(struct worker *w);

/* Leave the loop now, whatever is still open (any thread). */
void worker_abort(struct worker *w);

/* Whether W's loop is over (any thread). */
bool worker_exited(struct worker *w);

/* Whether the calling thread is W's. */
bool worker_is_current(const struct worker *w);

/* Have W serve its queue of requests waiting for a server slot
 * (peer_queue.c), from any thread. */
void worker_wake_queue(struct worker *w);

void worker_join(struct worker *w);
void worker_free(struct worker *w);

/* Connection bookkeeping, on W's thread. A connection accepted by W holds
 * one place of the connection limit from accept on; it is given back when
 * the link that stands for the connection last is removed. */
void worker_conn_add(struct worker *w, struct conn_link *link);
void worker_conn_remove(struct worker *w, struct conn_link *link);
/* NEW stands for the connection OLD stood for (a TCP connection becoming a
 * tunnel, an accepted socket handed to its protocol): the connection keeps
 * its place. */
void worker_conn_replace(struct worker *w, struct conn_link *old, struct conn_link *new);

#endif
