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
 */
#ifndef LBD_PEER_H
#define LBD_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct bufferevent;
struct event_base;
struct peer;
struct tls_upstream_peer;

struct peer_ops {
	/* P->server was picked and counted: take a connection to it that is
	 * open already (true), or let the peer connect (false). May be NULL. */
	bool (*reuse)(struct peer *p);
	/* A new connection BEV to p->server is up (TLS: handshaken); BEV is
	 * the caller's from now on. */
	void (*connected)(struct peer *p, struct bufferevent *bev);
	/* No server could be reached: STATUS is 503 when none was available
	 * (the caller logs it, with what it knows of the client), else 502,
	 * or 504 when every try timed out. p->server is NULL. */
	void (*failed)(struct peer *p, int status);
};

struct peer {
	/* Set by the caller before peer_connect(). */
	struct event_base *base;
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
};

/* Pick a server of p->pool that was not tried yet and reach it: through
 * ops->reuse, or a new connection (ops->connected once it is up). A
 * connect that fails is retried on another server, up to the pool's
 * retries; then, or when no server is left, ops->failed. Any of the ops
 * may be called before this returns. */
void peer_connect(struct peer *p);

/* Done with p->server (it is no longer counted active); a connect under
 * way is abandoned. A later peer_connect() picks again, with the servers
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

#endif
