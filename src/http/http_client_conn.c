/* http_client_conn.c — a client connection's socket from accept to close:
 * its start (PROXY header, TLS handshake: stream/inbound.h; a plain HTTP
 * request on a TLS port is answered 400), the events of the socket and of
 * the connection's timer, the worker's stop, the lingering close and
 * freeing. What arrives is handed to http_client.c, which owns the
 * requests (http_client.h).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/runtime.h"
#include "event/io.h"
#include "http/http_client.h"
#include "http/http_error.h"
#include "stream/inbound.h"
#include "tls/tls_listener.h"

/* After lbd's last answer, how long it keeps reading (and discarding) what
 * the client still sends, so that closing does not reset the connection
 * before the client has read the answer (nginx's lingering close). */
#define LINGER_MS 2000

/* --- request state, given back while idle (struct client_busy) ---------- */

/* Take request state for C: a spare one, or a new one. Returns it (also
 * in c->b), or NULL without memory. */
static struct client_busy *busy_get(struct client_conn *c)
{
	struct http_worker *hw = c->hw;
	struct client_busy *b = hw->busy_spare;

	if (b) {
		hw->busy_spare = b->next_spare;
		hw->nbusy_spare--;
		memset(b, 0, sizeof(*b));
	} else if (!(b = calloc(1, sizeof(*b)))) {
		return NULL;
	}
	b->c = c;
	c->b = b;
	client_requests_init(c);
	return b;
}

/* B's storage goes; B itself waits for the next connection that needs
 * one. It is never freed here, only by the worker's tick past
 * CLIENT_SPARES_MAX (http_worker_trim_spares()): the server side may still
 * read the exchange after the call that ended it. */
static void busy_put(struct http_worker *hw, struct client_busy *b)
{
	request_parser_free(&b->req);
	http_head_free(&b->ex.resp);
	http_head_free(&b->ex.trailers);
	b->c = NULL;
	b->next_spare = hw->busy_spare;
	hw->busy_spare = b;
	hw->nbusy_spare++;
}

void http_worker_trim_spares(struct http_worker *hw, unsigned keep)
{
	while (hw->nbusy_spare > keep) {
		struct client_busy *b = hw->busy_spare;
		hw->busy_spare = b->next_spare;
		hw->nbusy_spare--;
		free(b);
	}
	while (hw->nconn_spare > keep) {
		struct client_conn *c = hw->conn_spare;
		hw->conn_spare = c->next_spare;
		hw->nconn_spare--;
		free(c);
	}
}

/* A zeroed connection: a spare one, or a new one (NULL without memory). */
static struct client_conn *conn_get(struct http_worker *hw)
{
	struct client_conn *c = hw->conn_spare;

	if (!c)
		return calloc(1, sizeof(*c));
	hw->conn_spare = c->next_spare;
	hw->nconn_spare--;
	memset(c, 0, sizeof(*c));
	return c;
}

/* C's storage waits for the next connection (past CLIENT_SPARES_MAX, the
 * worker's tick frees it). */
static void conn_put(struct http_worker *hw, struct client_conn *c)
{
	c->next_spare = hw->conn_spare;
	hw->conn_spare = c;
	hw->nconn_spare++;
}

static void client_bev_attach(struct client_conn *c, struct bufferevent *bev);

/* The next bytes of a parked connection arrived: it takes request state
 * and a bufferevent again. Returns 0, or -1 when C is gone (no memory). */
static int client_wake(void *arg)
{
	struct client_conn *c = arg;
	struct bufferevent *bev;

	if (!busy_get(c)) {
		client_free(c);
		return -1;
	}
	bev = bev_spare_get(&c->w->bev_spares, c->w->base, inbound_fd(&c->in));
	if (!bev) {
		busy_put(c->hw, c->b);
		c->b = NULL; /* parked again: freeing it closes the socket */
		client_free(c);
		return -1;
	}
	client_bev_attach(c, bev);
	io_reader_wake(&c->rd, bev);
	return 0;
}

/* Nothing is buffered either way, no exchange is under way, and the
 * connection reads on. TLS keeps its bufferevent (the SSL is in it), and
 * so does a connection whose first bytes may still be the HTTP/2
 * preface. */
static bool parkable(const struct client_conn *c)
{
	const struct client_busy *b = c->b;

	return b && c->state == CLIENT_IDLE && !c->in.tls && !c->h2_sniff && !c->in_process &&
	       !c->free_pending && !c->read_blocked && c->rd.on && !c->rd.full && !b->ex.cfg &&
	       !b->req.discarding && b->bev &&
	       evbuffer_get_length(bufferevent_get_input(b->bev)) == 0 &&
	       evbuffer_get_length(bufferevent_get_output(b->bev)) == 0 &&
	       !(bufferevent_get_enabled(b->bev) & EV_WRITE);
}

/* The state goes back to the worker. Reading stays on, on the reader's
 * event, so parking and waking cost no system call. */
static void park(struct client_conn *c)
{
	io_reader_park(&c->rd, client_wake);
	bev_spare_put(&c->w->bev_spares, c->b->bev);
	busy_put(c->hw, c->b);
	c->b = NULL;
}

/* C leaves the warm list: its next bytes came, or it ends. */
static void warm_leave(struct client_conn *c)
{
	if (!c->warm)
		return;
	TAILQ_REMOVE(&c->hw->warm, c, warm_link);
	c->hw->nwarm--;
	c->warm = false;
}

/* C joins the warm list, keeping its state for now; the connection idle
 * the longest parks when the list is over its bound. Nothing happens to a
 * warm connection but its next bytes (warm_leave() first), a timeout or
 * its end (client_free()): the oldest is as parkable as when it came. */
void client_park(struct client_conn *c)
{
	struct http_worker *hw = c->hw;

	if (c->warm || !parkable(c))
		return;
	TAILQ_INSERT_TAIL(&hw->warm, c, warm_link);
	c->warm = true;
	if (++hw->nwarm <= CLIENT_WARM_MAX)
		return;
	struct client_conn *oldest = TAILQ_FIRST(&hw->warm);
	warm_leave(oldest);
	if (parkable(oldest))
		park(oldest);
}

/* --- the end of a connection ------------------------------------------- */

void client_free(struct client_conn *c)
{
	struct client_busy *b = c->b;

	if (c->in_process) {
		c->free_pending = true;
		return;
	}
	warm_leave(c);
	if (b)
		client_exchange_end(c, false);
	deadline_clear(&c->timer);
	inbound_free(&c->in);
	io_reader_free(&c->rd);
	if (b && b->bev && !c->in.tls)
		bev_spare_close(&c->w->bev_spares, b->bev); /* closes the socket */
	else if (b && b->bev)
		bufferevent_free(b->bev); /* and its socket */
	else if (!b && !c->handed_over)
		close(inbound_fd(&c->in)); /* parked: the socket was left to C */
	if (b)
		busy_put(c->hw, b);
	if (!c->handed_over) {
		atomic_fetch_sub_explicit(&c->lrt->connections, 1, memory_order_relaxed);
		worker_conn_remove(c->w, &c->link);
	}
	conn_put(c->hw, c);
}

static void linger_on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static void linger_on_event(struct bufferevent *bev, short what, void *arg)
{
	client_free(arg);
}

/* Whether closing at once cannot reset the answer away: the client said
 * it sends nothing after its request (Connection: close, or HTTP/1.0), and
 * all of the request was read, so nothing unread is left to make close()
 * send a reset (nginx closes such connections at once too). This saves a
 * connection closed by the client five system calls and a loop pass: the
 * shutdown(), turning reading on, the wait for the client's end, reading
 * it, and the event removal after close(). TLS keeps its close_notify and
 * the linger. */
static bool may_close_at_once(struct client_conn *c)
{
	return c->client_done && c->b->req.complete && !c->in.tls &&
	       evbuffer_get_length(bufferevent_get_input(c->b->bev)) == 0;
}

/* Stop writing, discard input for a moment, close. */
void client_start_linger(struct client_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->b->bev);

	if (may_close_at_once(c)) {
		client_free(c);
		return;
	}
	if (c->in.tls)
		tls_close_notify(c->b->bev);
	shutdown(bufferevent_getfd(c->b->bev), SHUT_WR);
	io_reader_set(&c->rd, false); /* the bufferevent reads from now on */
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setcb(c->b->bev, linger_on_read, NULL, linger_on_event, c);
	bufferevent_set_timeouts(c->b->bev, NULL, NULL);
	bufferevent_setwatermark(c->b->bev, EV_READ, 0, 0);
	bufferevent_enable(c->b->bev, EV_READ);
	client_arm_timer(c, LINGER_MS);
}

/* --- connection events ----------------------------------------------------- */

static void on_readable(void *arg)
{
	struct client_conn *c = arg;

	warm_leave(c);
	client_process(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct client_conn *c = arg;
	bool empty = io_written(bev);

	if (c->state == CLIENT_CLOSING) {
		if (empty)
			client_start_linger(c);
		return;
	}
	if (exchange_attached(&c->b->ex))
		upstream_client_drained(&c->b->ex);
}

/* A plain HTTP request on a TLS port (OpenSSL recognises one by its first
 * bytes and writes nothing): answer 400 in the clear, as nginx does, so the
 * client learns why instead of seeing the connection drop (one access-log
 * line, as for every answer of lbd's own). What the client
 * sent is read first so that closing does not reset the answer away; the
 * answer is small enough for an empty socket buffer. */
static void answer_plain_http(struct client_conn *c)
{
	int fd = inbound_fd(&c->in);
	struct evbuffer *out = evbuffer_new();
	char discard[4096];

	for (int i = 0; i < 16 && recv(fd, discard, sizeof(discard), MSG_DONTWAIT) > 0; i++)
		;
	if (!out)
		return;
	log_info("listener %s: client %s: 400: plain HTTP on a TLS port", c->lrt->name,
		 c->in.peer_ip);
	c->b->ex.start_us = monotonic_us();
	clock_gettime(CLOCK_REALTIME, &c->b->ex.start_real);
	c->b->ex.status = 400;
	c->b->ex.termination = ACCESS_TERM_REFUSED;
	c->b->ex.bytes_out = http_error_write(out, 400, true, 0, NULL, NULL);
	evbuffer_write(out, fd);
	evbuffer_free(out);
	shutdown(fd, SHUT_WR);
	client_log_exchange(c);
}

static void on_tls_read(struct bufferevent *bev, void *arg)
{
	struct client_conn *c = arg;

	io_reader_tls_readable(&c->rd);
}

/* The client's end of the socket closed, failed or timed out. */
static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client_conn *c = arg;

	if ((what & BEV_EVENT_EOF) && c->state == CLIENT_FORWARD && c->b->req.complete &&
	    c->b->ex.resp_started) {
		/* The end of the client's sending while the response streams:
		 * perhaps a half-close, perhaps gone; writing tells which. */
		c->keep_alive = false;
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    c->state == CLIENT_FORWARD && !c->b->ex.resp_started) {
		client_refuse(c, 408, "the request body stalled for timeouts.client_idle");
		return;
	}
	/* Before any response, the end of the client's sending is taken as
	 * the client leaving (nginx does the same): 499, and the server's
	 * request is abandoned by closing its connection. */
	client_abort(c, (what & BEV_EVENT_TIMEOUT) ? ACCESS_TERM_CLIENT_TIMEOUT :
						     ACCESS_TERM_CLIENT_CLOSED);
}

static void on_read_event(short what, void *arg)
{
	struct client_conn *c = arg;

	on_event(NULL, what, c); /* C may be parked: no bufferevent */
}

static void on_timer(void *arg)
{
	struct client_conn *c = arg;

	if (c->state == CLIENT_HEAD) {
		client_refuse(c, 408, "the request head was not complete within timeouts.header");
		return;
	}
	client_free(c); /* idle keep-alive, or the end of a lingering close */
}

static void client_stop(struct conn_link *link)
{
	struct client_conn *c = (struct client_conn *)link;

	/* Retiring for an upgrade, every connection carries on: its next
	 * request head, read while stopping, is answered with Connection:
	 * close (http_client.c), so no client meets a connection closed under
	 * a request it sent. */
	if (c->w->keeps_idle)
		return;
	if (c->state == CLIENT_IDLE)
		client_free(c);
	else
		c->keep_alive = false;
}

static void client_destroy(struct conn_link *link)
{
	client_abort((struct client_conn *)link, ACCESS_TERM_SHUTDOWN);
}

/* --- set-up ----------------------------------------------------------------- */

/* BEV becomes the bufferevent of C's request state. */
static void client_bev_attach(struct client_conn *c, struct bufferevent *bev)
{
	c->b->bev = bev;
	c->b->ex.side.to_client = bufferevent_get_output(bev);
	bufferevent_setcb(bev, c->in.tls ? on_tls_read : NULL, on_write, on_event, c);
	bufferevent_setwatermark(bev, EV_WRITE, RELAY_LOW_WATER, 0);
	if (bufferevent_get_enabled(bev) & EV_WRITE)
		bufferevent_disable(bev, EV_WRITE); /* on when new; see io.h */
}

/* Give C its bufferevent and start reading. Returns 0, or -1 with BEV
 * left to the caller. */
static int client_attach(struct client_conn *c, struct bufferevent *bev)
{
	if (!c->in.tls)
		io_bev_quiet(bev); /* written the io.h way, here and by HTTP/2 */
	if (io_reader_init(&c->rd, c->w->base, bev, RELAY_HIGH_WATER, on_readable, on_read_event,
			   c) < 0) {
		io_reader_free(&c->rd);
		return -1;
	}
	client_bev_attach(c, bev);
	io_reader_set(&c->rd, true);
	return 0;
}

/* The client speaks HTTP/2: the connection goes to the HTTP/2 side with
 * BEV and what it has read. */
static void client_hand_over(struct client_conn *c, struct bufferevent *bev)
{
	struct client_handover ho;

	inbound_nodelay(&c->in); /* the HTTP/2 side writes frames as they come */
	ho = (struct client_handover){ .hw = c->hw,
				       .bev = bev,
				       .in = c->in,
				       .lrt = c->lrt,
				       .link = &c->link };
	io_reader_free(&c->rd);
	c->b->bev = NULL;
	c->in.cert_subject = NULL; /* the HTTP/2 side's, with its copy */
	if (c->hw->h2_start(&ho) == 0)
		c->handed_over = true;
	else
		bufferevent_free(bev);
	client_free(c);
}

bool client_h2_preface(struct client_conn *c)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct evbuffer *in = bufferevent_get_input(c->b->bev);
	char buf[sizeof(preface) - 1];
	size_t n = evbuffer_get_length(in);

	if (n > sizeof(buf))
		n = sizeof(buf);
	evbuffer_copyout(in, buf, n);
	if (memcmp(buf, preface, n) != 0) {
		c->h2_sniff = false; /* HTTP/1, as ever */
		return false;
	}
	if (n < sizeof(buf))
		return true;
	c->h2_sniff = false;
	client_hand_over(c, c->b->bev);
	return true;
}

/* The connection's start is over (inbound.h): requests may come. */
static void on_ready(void *arg, struct bufferevent *bev)
{
	struct client_conn *c = arg;

	if (c->h2_allowed && c->in.tls && tls_selected_h2(bev)) {
		client_hand_over(c, bev);
		return;
	}
	c->h2_sniff = c->h2_allowed && !c->in.tls;
	if (client_attach(c, bev) < 0) {
		bufferevent_free(bev);
		client_free(c);
	}
}

static void on_start_failed(void *arg, enum inbound_failure why)
{
	struct client_conn *c = arg;

	if (why == INBOUND_PLAIN_HTTP)
		answer_plain_http(c);
	client_free(c);
}

static const struct inbound_ops client_start_ops = {
	.ready = on_ready,
	.failed = on_start_failed,
};

int client_accept(struct http_worker *hw, size_t listener_index, int fd,
		  const struct sockaddr *peer)
{
	struct worker *w = hw->w;
	struct client_conn *c = conn_get(hw);
	const struct listener_conf *l = &w->cfg->listeners[listener_index];

	if (!c)
		return -1;
	c->w = w;
	c->hw = hw;
	c->lrt = l->rt;
	c->h2_allowed = l->http2 && hw->h2_start;
	deadline_init(&c->timer, &w->deadlines, on_timer, c);
	if (!busy_get(c) || inbound_init(&c->in, w, l, fd, peer) < 0) {
		if (c->b)
			busy_put(hw, c->b);
		conn_put(hw, c);
		return -1;
	}
	c->link.stop = client_stop;
	c->link.destroy = client_destroy;
	listener_rt_opened(c->lrt);
	worker_conn_add(w, &c->link);
	/* The first request must start arriving within the header timeout,
	 * counted from accept: it bounds the PROXY header and the TLS
	 * handshake too. */
	client_arm_timer(c, w->cfg->timeouts.header_ms);
	inbound_start(&c->in, &client_start_ops, c);
	return 0;
}
