/* http_client.h — what the two files of the client side tell each other.
 * http_client_conn.c owns a client connection's socket from accept to
 * close: the bufferevent (plain or TLS), the PROXY header, the events of
 * the socket and of its timer, the lingering close and freeing.
 * http_client.c owns the requests on it: parsing, routing, relaying and
 * the end of each exchange.
 */
#ifndef LBD_HTTP_CLIENT_H
#define LBD_HTTP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http/http_conn.h"

/* http_client.c, called by http_client_conn.c. */

/* The request side of C's request state c->b (a new connection's, or a
 * parked one's that woke): no exchange yet, the request parser, head
 * storage from the worker's cache. */
void client_requests_init(struct client_conn *c);
/* Parse and act on what the input buffer holds. */
void client_process(struct client_conn *c);
/* Answer STATUS (lbd's own answer), or close when a response started;
 * TERM is how the exchange ended, for the access log. */
void client_error(struct client_conn *c, int status, enum access_termination term);
/* Refuse the request with STATUS (4xx, 500, 501, 505): one info line in the
 * error log with the client and WHY, then client_error(). */
void client_refuse(struct client_conn *c, int status, const char *why);
/* The connection ends under an exchange that was not logged yet (the
 * client left, was too slow, or lbd stops): it is logged with TERM (499
 * when the client closed before any response), then C is freed. */
void client_abort(struct client_conn *c, enum access_termination term);
/* One access-log line and the request counters for the exchange. */
void client_log_exchange(struct client_conn *c);
/* Forget the exchange: its server connection (kept in the idle pool when
 * UPSTREAM_REUSABLE), its generation, its buffers. */
void client_exchange_end(struct client_conn *c, bool upstream_reusable);
/* Write what the output holds (TCP_NODELAY on first where it matters).
 * Returns true when all of it went out. */
bool client_write(struct client_conn *c);
/* (Re)arm the connection's timer to fire in MS milliseconds. */
void client_arm_timer(struct client_conn *c, uint64_t ms);

/* http_client_conn.c, called by http_worker.c. */

/* Free the spare request states and connections past KEEP (the tick:
 * CLIENT_SPARES_MAX; the end: 0). */
void http_worker_trim_spares(struct http_worker *hw, unsigned keep);

/* Take over FD, accepted on listener LISTENER_INDEX of HW's worker's
 * configuration. Returns 0, or -1 when the caller must close FD. */
int client_accept(struct http_worker *hw, size_t listener_index, int fd,
		  const struct sockaddr *peer);

/* http_client_conn.c, called by http_client.c. */

/* Free C and all it holds, or mark it to be freed once client_process()
 * returns. */
void client_free(struct client_conn *c);
/* Between requests, when nothing is buffered either way and the
 * connection is plain HTTP/1: C joins the worker's warm list, and the
 * connection idle the longest past CLIENT_WARM_MAX gives its request
 * state back to the worker (struct client_busy); its next bytes take one
 * again. */
void client_park(struct client_conn *c);
/* Everything was sent: stop writing, discard input for a moment, close. */
void client_start_linger(struct client_conn *c);
/* Before the first request of a plain connection: whether its first
 * bytes are (or may still become) the HTTP/2 connection preface, h2c with
 * prior knowledge (RFC 9113 §3.3). True means C is not the HTTP/1 side's
 * to parse: it was handed to the HTTP/2 side (and freed), or the rest of
 * the preface is awaited. */
bool client_h2_preface(struct client_conn *c);

#endif
