/* peer.h — the one way to reach a server: pick one of the pool through its
 * balancer, count it, connect (plain or TLS, bounded by the pool's connect
 * timeout), report a failure (the log, the server's failure counter, the
 * passive health window) and retry on another server. HTTP exchanges, TCP
 * listeners and health checks reach servers through it; every connect()
 * lbd makes to a server is made here.
 *
 * A connection that the caller already has to the picked server (HTTP's
 * pool of idle keep-alive connections) is offered through ops->reuse
 * before a new one is opened.
 *
 * With pools[].max_requests_per_server, picking a server takes one of its
 * slots; when every slot is taken the request waits in the pool's queue
 * (core/pool_queue.h, peer_queue.c) and is picked for once a slot frees.
 * A sticky or hashed request waits for its own server, any other for any
 * server the balancer would pick.
 */
#ifndef LBD_PEER_H
#define LBD_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/pool_queue.h"

struct bufferevent;
struct event_base;
struct peer;
struct peer_queue;
struct pool_rt;
struct server_rt;
struct tls_upstream_peer;
struct worker;

struct peer_ops {
	/* P->server was picked and counted: take a connection to it that is
	 * open already (true), or let the peer connect (false). May be NULL. */
	bool (*reuse)(struct peer *p);
	/* A new connection BEV to p->server is up (TLS: handshaken); BEV is
	 * the caller's from now on. */
	void (*connected)(struct peer *p, struct bufferevent *bev);
	/* No server could be reached: STATUS is 503 when none was available
	 * (the caller logs it, with what it knows of the client) or the
	 * queue turned the request away (p->queue_rejected), else 502, or
	 * 504 when every try timed out. p->server is NULL. */
	void (*failed)(struct peer *p, int status);
};

struct peer {
	/* Set by the caller before peer_connect(). */
	struct event_base *base;
	struct worker *worker; /* whose queue it waits in (NULL: it may not
				* wait: a full server is not available) */
	struct pool_conf *pool;
	const struct peer_ops *ops;
	const char *key;    /* what ip_hash hashes, and the */
	size_t key_len;     /* sticky cookie the client sent */
	const char *cookie; /* (NULL: none) */
	size_t cookie_len;
	uint64_t connect_ms; /* 0: the pool's timeouts.connect */
	/* Bytes every new connection starts with, before the caller's (the
	 * PROXY header of pools[].send_proxy); NULL: none. */
	const unsigned char *send_first;
	size_t send_first_len;

	/* The peer's. */
	struct server_conf *server;  /* picked and counted active, until
				      * peer_release() */
	struct server_rt *served_by; /* the last server tried, for the log: its
				      * identity, which outlives a server
				      * removed at run time */
	struct server_conf *tried[CONFIG_RETRIES_MAX + 1];
	size_t ntried;
	unsigned picks;                 /* servers picked so far: the first,
					 * then one per retry (for the log) */
	int fail_status;                /* 502 or 504 for the failures so far */
	bool connect_retry;             /* the next pick follows a failed
					 * connect (counted when it succeeds) */
	struct bufferevent *connecting; /* a connect under way */
	struct queue_waiter wait;       /* its place in the queue, */
	bool waiting;                   /* while it waits */
	bool queue_turn;                /* picking for a waiter */
	bool queue_rejected;            /* why ops->failed: */
	enum queue_reject reject;       /* the queue turned it away */
};

/* Pick a server of p->pool that was not tried yet and reach it: through
 * ops->reuse, or a new connection (ops->connected once it is up). A
 * connect that fails is retried on another server, up to the pool's
 * retries; then, or when no server is left, ops->failed. Any of the ops
 * may be called before this returns. */
void peer_connect(struct peer *p);

/* Done with p->server (it is no longer counted active, and its slot goes
 * to the oldest waiter); a connect under way is abandoned, a place in the
 * queue given up. A later peer_connect() picks again, with the servers
 * already tried still left out. */
void peer_release(struct peer *p);

/* p->server failed after it was reached (a broken or cut response, a
 * timeout): its failure counter and passive health window learn of it,
 * with WHY for the log line of a server taken out. */
void peer_server_failed(const struct peer *p, const char *why);

/* Whether a retry is left and a server of the pool not tried yet (nor
 * p->server) could take the request now: an answer is dropped for another
 * server's only then. */
bool peer_can_retry_elsewhere(const struct peer *p);

/* p->server answered STATUS and the request goes to another server
 * (routes[].retry_on, after peer_can_retry_elsewhere()): it is left out
 * from now on and released; a peer_connect() then picks another, and when
 * none is left, ops->failed gets STATUS. */
void peer_retry_elsewhere(struct peer *p, int status);

/* Open a connection to ADDR, plain, or TLS with TLS (NULL: plain), for
 * code that checks a server outside any request (health checks): no
 * timeout is set. Returns the connecting bufferevent (BEV_EVENT_CONNECTED
 * once up and, with TLS, handshaken), or NULL with errno set. */
struct bufferevent *peer_open_addr(struct event_base *base, const struct lbd_addr *addr,
				   const struct tls_upstream_peer *tls);

/* A worker's queue (peer_queue.c): made and freed by the worker, which
 * calls the tick every WORKER_TICK_MS (queue timeouts). */
struct peer_queue *peer_queue_new(struct worker *w);
void peer_queue_tick(struct peer_queue *pq);
/* Give PQ's waiters their turn (on its worker's thread). */
void peer_queue_wake(struct peer_queue *pq);
void peer_queue_free(struct peer_queue *pq);

/* Between the peer and its worker's queue; for peer.c and peer_queue.c
 * only. */

/* P found every slot taken: it joins its worker's queue, waiting for
 * TARGET's runtime state (NULL: any server), or, when the queue is full or
 * P may not wait, gets ops->failed(503) with p->queue_rejected. */
void peer_queue_wait(struct peer *p, struct server_rt *target);
/* P leaves the queue (its client went away, or it was given a slot). */
void peer_queue_leave(struct peer *p);
/* P, waiting, now waits for TARGET (the balancer picks another server for
 * it): its place stays. */
void peer_queue_retarget(struct peer *p, struct server_rt *target);
/* A slot of a server of the pool whose runtime state is RT was freed: the
 * worker with the oldest waiter of it is told (worker_wake_queue()). */
void peer_queue_kick(struct pool_rt *rt);
/* A slot may be free for P, which waits: it picks again. Returns false
 * when it still waits, true when it left the queue (served, or failed
 * when no server is left). */
bool peer_take_turn(struct peer *p);

#endif
