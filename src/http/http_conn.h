/* http_conn.h — the two halves of an HTTP exchange and what they tell each
 * other. The client side owns the request: an HTTP/1 client connection
 * (http_client.c, http_client_conn.c: http_client.h) or an HTTP/2 stream
 * (http2/); exchange.c does what both do with a parsed request (routing,
 * balancing inputs, the access-log line). http_upstream.c owns server
 * connections, their pool and the response, and speaks to the client side
 * only through the exchange (struct exchange_ops), so it never knows which
 * protocol the client speaks.
 *
 * An HTTP/1 client connection carries one exchange at a time: pipelined
 * requests wait in its input buffer (the request parser is paused) until
 * the response before them is complete, so answers leave in order.
 */
#ifndef LBD_HTTP_CONN_H
#define LBD_HTTP_CONN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "balance/balance.h"
#include "config/config.h"
#include "core/access_log.h"
#include "core/runtime.h"
#include "event/deadline.h"
#include "event/io.h"
#include "event/peer.h"
#include "event/worker.h"
#include "http/body.h"
#include "http/compress.h"
#include "http/cookie.h"
#include "http/header_rules.h"
#include "http/http_head.h"
#include "http/http_response.h"
#include "http/prefix_rewrite.h"
#include "http/request_parser.h"
#include "stream/inbound.h"
#include "stream/proxy_protocol.h"
#include "util/clock.h"
#include "util/request_id.h"

/* Spare request states a worker keeps for client connections that start
 * or wake (struct client_busy): as many as connections that are busy at
 * once in a burst; beyond, the worker's tick frees them. */
#define CLIENT_SPARES_MAX 64

/* Idle plain keep-alive connections that keep their request state and
 * bufferevent (warm) until this many others went idle after them: a
 * client that sends its next request soon pays neither the park nor the
 * wake, and idle connections past these still cost little. */
#define CLIENT_WARM_MAX 128

/* Bytes queued towards a peer before lbd stops reading the other side. */
#define RELAY_HIGH_WATER (128 * 1024)
#define RELAY_LOW_WATER (32 * 1024)

enum client_state {
	CLIENT_IDLE,    /* between requests */
	CLIENT_HEAD,    /* reading a request head */
	CLIENT_CONNECT, /* head read; waiting for a server connection */
	CLIENT_FORWARD, /* relaying the request body and the response */
	CLIENT_CLOSING, /* flushing the last bytes, then closing */
};

struct exchange;
struct upstream_conn;
struct upstream_pool;
struct h2_upstream_stream;

/* The server side of an exchange, by what the pool's servers speak:
 * HTTP/1.1 (http_upstream.c) or HTTP/2 (http2/h2_upstream.c). The client
 * side calls it through the upstream_*() functions below. */
struct upstream_ops {
	void (*dispatch)(struct exchange *ex);
	void (*detach)(struct exchange *ex, bool reusable);
	void (*client_drained)(struct exchange *ex);
	void (*flush)(struct exchange *ex);
	void (*request_sent)(struct exchange *ex);
	struct evbuffer *(*output)(struct exchange *ex);
};

/* What the server side reports to the client side of an exchange. */
struct exchange_ops {
	/* A server connection is attached: the request body may flow. */
	void (*ready)(struct exchange *ex);
	/* The server side failed with STATUS (502, 503, 504): TERM says how,
	 * for the access log. */
	void (*failed)(struct exchange *ex, int status, enum access_termination term);
	/* The response is complete: SERVER_REUSABLE, its connection may serve
	 * another request; CLOSES_CLIENT, it ends the client connection
	 * (framed by the server's close, or sent before the whole request was
	 * read). */
	void (*done)(struct exchange *ex, bool server_reusable, bool closes_client);
	/* A 101 went to the client: the connection becomes a tunnel. */
	void (*upgraded)(struct exchange *ex, struct bufferevent *server_bev);
	/* The response's trailer fields (an HTTP/2 server's, gRPC status)
	 * for a client that takes them as fields (an HTTP/2 stream); NULL
	 * for a client that reads them in the last chunk. Returns 0 or -1. */
	int (*trailers)(struct exchange *ex, const struct http_head *trailers);
	/* The server connection took the request bytes queued for it. */
	void (*drained)(struct exchange *ex);
	/* Response bytes were queued on the exchange's to_client: send them. */
	void (*flush)(struct exchange *ex);
};

/* What every exchange of one client side shares: set once, kept across
 * exchanges. */
struct exchange_side {
	const struct exchange_ops *ops;
	response_head_fn head_fn; /* NULL: the client reads HTTP/1 bytes;
				   * else the response head goes here
				   * (with the exchange), http_response.h */
	struct http_worker *hw;
	struct listener_rt *lrt;    /* the client's listener, by identity */
	const struct inbound *in;   /* the client's address, TLS or not */
	struct request_parser *req; /* the request being served */
	struct evbuffer *to_client; /* where the response goes */
	const bool *keep_alive;     /* the client connection may stay */
	bool http2;                 /* the client speaks HTTP/2 */
};

struct exchange {
	struct exchange_side side;
	struct config *cfg; /* the generation serving it; one ref */
	const struct listener_conf *listener;
	const struct route_conf *route; /* the route it matched, once routed */
	struct pool_conf *pool;
	struct header_vars vars;             /* for the route's header rules */
	struct prefix_rewrite rewrite;       /* restore_prefix: what responses
					      * get back (prefix NULL: off) */
	char request_id[REQUEST_ID_MAX + 1]; /* its X-Request-Id, once its
					      * head is parsed ("" before) */
	struct peer peer;                    /* the server it is assigned to, and
			   * what the balancer hashes (key,
			   * cookie: in the client's head) */
	const struct upstream_ops *upstream; /* set by upstream_dispatch() */
	struct upstream_conn *up;            /* HTTP/1.1 servers */
	struct h2_upstream_stream *up2;      /* HTTP/2 servers */
	/* pools[].send_proxy: the header naming the client connection (not
	 * a trusted proxy's X-Forwarded-For) that new server connections
	 * start with; also what a pooled connection must have started with
	 * to be reused. */
	unsigned char proxy_header[PP_ENCODED_MAX];
	const char *client;                /* the client address of this request */
	char client_buf[INET6_ADDRSTRLEN]; /* (NULL: the connection's peer_ip) */

	char *head_out;      /* rewritten request head, kept for */
	size_t head_out_len; /* a retry on another server */
	char *location;      /* a route's redirect: lbd's answer goes there */
	size_t host_at;      /* a request without Host (HTTP/1.0): where
			      * the server's address goes in as Host
			      * (after the request line); 0: it has one */
	bool req_sent;       /* a byte of it may have reached a server */
	bool upgrade;
	bool is_head;
	bool replayable;    /* idempotent, no body: safe to resend on a
			     * fresh connection if a pooled one was
			     * stale, or to another server (retry_on) */
	bool stale_retried; /* it was resent once after a stale pooled
			     * connection: not again, and not on a
			     * pooled one */

	struct http_head resp;                /* the response head's storage */
	struct http_head trailers;            /* an HTTP/2 server's trailer fields */
	const struct http_head *req_trailers; /* an HTTP/2 client's, or NULL */
	int status;                           /* what the client got: the server's,
					      * or lbd's own answer */
	bool resp_started;                    /* a response head went to the client */
	enum body_mode resp_body;             /* its framing towards the client
					      * (exchange_response_head()) */
	struct response_compression compress; /* gzip for this client (compress.h) */
	enum access_termination termination;  /* how it ended, for the log */

	struct timespec start_real;
	uint64_t start_us; /* monotonic */
	uint64_t upstream_start_us;
	int64_t upstream_us;    /* first response byte, or -1 */
	uint32_t retry_after_s; /* a 429's Retry-After, in seconds */
	uint64_t server_ms;     /* timeouts.server: the route's, or the pool's */
	uint64_t bytes_in;
	uint64_t bytes_out;
};

/* What a client connection needs only while it carries a request: its
 * bufferevent, the request parser and the exchange. An idle plain
 * keep-alive connection gives it back to its worker (client_park():
 * reading stays on, on the same event, so parking costs no system call)
 * and takes one again when its next bytes arrive, so that many thousands
 * of idle connections cost a few hundred bytes each instead of some
 * three kilobytes. The CLIENT_WARM_MAX connections that went idle last
 * keep theirs a while (the worker's warm list). */
struct client_busy {
	struct client_conn *c;
	struct bufferevent *bev;
	struct request_parser req; /* the request (request_parser.h) */
	struct exchange ex;
	struct client_busy *next_spare; /* in the worker's spares */
};

struct client_conn {
	struct conn_link link; /* first: the worker's list points here */
	struct worker *w;
	struct http_worker *hw;
	struct client_busy *b;   /* NULL while parked */
	struct io_reader rd;     /* reads the socket (io.h) */
	struct listener_rt *lrt; /* its listener's identity; counts it */
	struct inbound in;       /* the start: the client's address,
				  * TLS or not (stream/inbound.h) */
	enum client_state state;
	struct deadline timer; /* header, idle and linger deadlines */
	bool keep_alive;       /* may carry another request (the
				    * response may still end it) */
	bool client_done;      /* the request said the client sends no
				    * other (Connection: close, HTTP/1.0) */
	bool in_process;       /* inside client_process(): no freeing */
	bool free_pending;
	bool read_blocked; /* the server side is full */
	bool served;       /* a request was answered already */
	bool wrote;        /* something was written to the client */
	bool h2_allowed;   /* the listener speaks HTTP/2 too */
	bool h2_sniff;     /* the first bytes may be the h2c preface */
	bool handed_over;  /* the HTTP/2 side has the connection */
	bool warm;         /* idle, keeping its request state: in hw->warm */
	TAILQ_ENTRY(client_conn) warm_link;
	struct client_conn *next_spare; /* in the worker's spares, once ended */
};

/* A client connection that speaks HTTP/2, handed to the HTTP/2 side: its
 * bufferevent (what was read so far still in its input), its start. */
struct client_handover {
	struct http_worker *hw;
	struct bufferevent *bev;
	struct inbound in;
	struct listener_rt *lrt;
	struct conn_link *link; /* the connection's place in its worker: the
				 * HTTP/2 side takes it over (and its slot) */
};

/* The HTTP state of one worker: its worker_protocol context (http.h). */
struct http_worker {
	struct worker *w;
	/* Set when the worker runs the HTTP/2 side (http2/): takes over a
	 * connection (its link, slot and count in lrt) and returns 0, or -1
	 * leaving the bufferevent to the caller. */
	int (*h2_start)(const struct client_handover *ho);
	/* Set by the same: the server side for pools of protocol h2, and its
	 * per-worker state. */
	const struct upstream_ops *h2_upstream;
	struct h2_upstream_pool *h2_pool;
	struct h2_stream *h2_spare; /* freed HTTP/2 streams kept for reuse */
	uint32_t h2_nspare;
	struct upstream_pool *pool; /* idle server connections (http_upstream.c) */
	/* Request state that connections gave back, for the next
	 * (http_client_conn.c; their bufferevents go to the worker's
	 * bev_spares). */
	struct client_busy *busy_spare;
	unsigned nbusy_spare;
	/* Ended connections' storage, for the next ones (glibc's calloc() and
	 * free() cost some 500 instructions a connection). */
	struct client_conn *conn_spare;
	unsigned nconn_spare;
	/* Idle connections still holding their request state, the one that
	 * went idle first at the head (http_client_conn.c). */
	TAILQ_HEAD(, client_conn) warm;
	unsigned nwarm;
	struct strbuf scratch; /* for rendering heads, reused */
	struct http_head_cache head_cache;
};

/* http_upstream.c: the worker's pool of idle server connections. */
struct upstream_pool *upstream_pool_new(struct http_worker *hw);
/* Close every idle connection (the worker stops). */
void upstream_pool_close_idle(struct upstream_pool *pool);
/* Close the idle connections to servers that can no longer take requests
 * (down by health, drained, disabled), once after each time a server went
 * down (health_down_epoch()). Cheap when nothing changed. */
void upstream_pool_close_unavailable(struct upstream_pool *pool);
void upstream_pool_free(struct upstream_pool *pool);

/* The exchange whose peer P is (the peer's callbacks get the peer). */
static inline struct exchange *exchange_of_peer(struct peer *p)
{
	return (struct exchange *)((char *)p - offsetof(struct exchange, peer));
}

/* Whether the exchange has a server side attached (of either kind). */
static inline bool exchange_attached(const struct exchange *ex)
{
	return ex->up || ex->up2;
}

/* Called by the client side; http_upstream.c. */

/* Reach a server of the exchange's pool and send the request: with
 * HTTP/1.1, or HTTP/2 for a pool of protocol h2. */
void upstream_dispatch(struct exchange *ex);
/* Done with the server side (its connection kept for others when
 * REUSABLE). */
void upstream_detach(struct exchange *ex, bool reusable);
/* The client took response bytes: the server side may read on. */
void upstream_client_drained(struct exchange *ex);
/* Request body bytes were queued on upstream_output(): send them. */
void upstream_flush(struct exchange *ex);
/* The whole request was queued. */
void upstream_request_sent(struct exchange *ex);
/* Where the request body goes, framed as the request parser frames it. */
struct evbuffer *upstream_output(struct exchange *ex);
/* The HTTP/1.1 server side. */
extern const struct upstream_ops http1_upstream_ops;

/* exchange.c: a response from a server that does not speak HTTP/1 (an
 * HTTP/2 server), given to the client as its side takes it. */

/* The final head, in ex->resp (STATUS, CONTENT_LENGTH or -1); WHOLE: it
 * is the whole response (no body follows: HTTP/2's END_STREAM on it, as in
 * gRPC's trailers-only answers). Returns 0, or -1 when it cannot be sent
 * (a 502 is due). */
int exchange_response_head(struct exchange *ex, int status, int64_t content_length, bool whole);
/* LEN bytes of the body. */
int exchange_response_body(struct exchange *ex, const void *data, size_t len);
/* The end of the body, with ex->trailers (possibly empty). */
int exchange_response_end(struct exchange *ex);
/* The route's response_headers (*RULES, NULL for none), with the server
 * that answers named in ex->vars. */
void exchange_response_rules(struct exchange *ex, const struct header_rules **rules);
/* The route's restore_prefix rewriting of the response head, with the
 * server that answers (its address is the one lbd replaces), or NULL when
 * the route has none. */
const struct prefix_rewrite *exchange_rewrite(struct exchange *ex);
/* The sticky cookie the response carries (a sticky pool's client without
 * a valid one), in SC with its value in VALUE; or NULL. */
const struct set_cookie *exchange_sticky_cookie(const struct exchange *ex, struct set_cookie *sc,
						char *value);

/* exchange.c: retries by status (routes[].retry_on), for either server
 * side. */

/* Whether the exchange's server failing with STATUS (its answer, or lbd's
 * own for a close or a timeout before any answer) sends the request to
 * another server: a status of the route's retry_on, a request that is
 * idempotent and has no body, nothing sent to the client yet, a retry
 * left and a server to take it, and a retry taken from the pool's budget
 * (a spent budget is counted, and the answer goes through). */
bool exchange_retry_allowed(struct exchange *ex, int status);
/* After exchange_retry_allowed(), once the server side let go of the
 * server's connection or stream: REASON counted, the server left out
 * (WHY: its failure, for its counters; NULL for an answer), and another
 * one reached. Should none be left by then (taken out meanwhile, or its
 * connect failed), the client gets STATUS from lbd. */
void exchange_retry(struct exchange *ex, enum retry_reason reason, int status, const char *why);

/* exchange.c: what every client side does with an exchange. */

/* A request's first byte: the exchange starts under generation CFG. */
void exchange_begin(struct exchange *ex, struct config *cfg);
/* The head is parsed: route it, check its body against the pool's limit
 * (IN holds body bytes received but not parsed yet, or is NULL), render
 * the head for the server and dispatch. Returns 0, or the status to
 * answer with *WHY for the log: a route's redirect status too, with
 * ex->location set. */
int exchange_route(struct exchange *ex, struct evbuffer *in, const char **why);
/* The server side could not reach a server (peer_ops.failed with
 * STATUS): the termination for the access log; a 503 of the pool's queue
 * gets a Retry-After, one of no server a line in the error log. */
enum access_termination exchange_peer_failure(struct exchange *ex, int status);
/* One info line (error for a 500) in the error log for a refused request;
 * none for a redirect, which is an answer. */
void exchange_log_refusal(const struct exchange *ex, int status, const char *why);
/* One access-log line and the request counters. */
void exchange_log(struct exchange *ex, const struct config *fallback);
/* Forget the exchange (its server connection kept in the idle pool when
 * UPSTREAM_REUSABLE, its generation, its buffers); its side stays. */
void exchange_end(struct exchange *ex, bool upstream_reusable);

#endif
