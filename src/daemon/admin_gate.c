/* admin_gate.c — the gate in front of every admin connection. evhttp 2.1
 * answers a request its parser refuses with an HTML page before lbd's
 * handler runs, and has no hook to change that (evhttp_set_errorcb came in
 * 2.2); nor does it take a connection accepted elsewhere, so a gate cannot
 * stand in front of its listener. So the gate sits inside evhttp's own
 * connection: the bufferevent
 * evhttp reads (made by evhttp_set_bevcb) is a filter over the socket, and
 * the filter lets a request's head through only once admin_head_check()
 * took it, then its body, byte for byte.
 *
 * A head the check refuses never reaches evhttp: the gate drops it and all
 * that follows, and gives evhttp in its place a request of its own,
 * "GET / HTTP/1.1" with "Connection: close" (HEAD when the client's was a
 * HEAD). lbd's handler asks admin_gate_refusal() of every request; for that
 * one it gets the refusal and answers it in JSON, and evhttp closes the
 * connection after the answer, in order after any request before it on the
 * connection.
 *
 * Memory stays bounded: the socket's bufferevent reads at most one byte
 * over the head limit while a head is incomplete, and the check refuses
 * then. Time too: while the gate holds an incomplete head evhttp gets no
 * bytes, so its read timeout runs out on a slow or silent client.
 */
#include "daemon/admin_gate.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stdlib.h>

/* The most of a body over the limit read and dropped before the 413. */
#define ADMIN_DISCARD_MAX (1024 * 1024)

struct admin_gate {
	struct admin_gates *gs;
	struct admin_gate *next, **pprev; /* in gs's list */
	struct bufferevent *bev;          /* the filter evhttp reads */
	struct bufferevent *sock;         /* under it, the socket's */
	struct evbuffer_cb_entry *sent;   /* on sock's output */
	size_t body_left;                 /* of the request let through */
	size_t discard;                   /* of a body refused, to drop */
	unsigned passed;                  /* requests given to evhttp */
	unsigned handled;                 /* requests lbd's handler got */
	bool refused;                     /* the last one given is the stand-in */
	struct admin_head refusal;
};

/* Drop what the client sends after a refusal, and give evhttp the
 * stand-in for the refused request. */
static enum bufferevent_filter_result refuse(struct admin_gate *g, struct evbuffer *src,
					     struct evbuffer *dst, const struct admin_head *h)
{
	if (h != &g->refusal)
		g->refusal = *h;
	g->refused = true;
	g->passed++;
	evbuffer_drain(src, evbuffer_get_length(src));
	evbuffer_add_printf(dst, "%s / HTTP/1.1\r\nConnection: close\r\n\r\n",
			    h->is_head ? "HEAD" : "GET");
	return BEV_OK;
}

/* Drop what came of a body too large; once all of it came, refuse. */
static enum bufferevent_filter_result discard(struct admin_gate *g, struct evbuffer *src,
					      struct evbuffer *dst)
{
	size_t have = evbuffer_get_length(src);
	size_t n = have < g->discard ? have : g->discard;

	evbuffer_drain(src, n);
	g->discard -= n;
	return g->discard ? BEV_NEED_MORE : refuse(g, src, dst, &g->refusal);
}

/* The input filter: SRC the socket's bytes, DST what evhttp reads. Each
 * call lets one head or part of a body through (BEV_OK; the filter calls
 * again while SRC has bytes) or waits (BEV_NEED_MORE). */
static enum bufferevent_filter_result gate_in(struct evbuffer *src, struct evbuffer *dst,
					      ev_ssize_t limit, enum bufferevent_flush_mode mode,
					      void *arg)
{
	struct admin_gate *g = arg;
	size_t have = evbuffer_get_length(src), look;
	struct admin_head h;
	const char *p;

	(void)limit;
	(void)mode;
	if (g->refused) {
		evbuffer_drain(src, have);
		return BEV_NEED_MORE;
	}
	if (!have)
		return BEV_NEED_MORE;
	if (g->discard)
		return discard(g, src, dst);
	if (g->body_left) {
		size_t n = have < g->body_left ? have : g->body_left;
		evbuffer_remove_buffer(src, dst, n);
		g->body_left -= n;
		return BEV_OK;
	}
	look = have < g->gs->head_max + 1 ? have : g->gs->head_max + 1;
	p = (const char *)evbuffer_pullup(src, (ev_ssize_t)look);
	if (!p)
		return BEV_ERROR;
	switch (admin_head_check(p, look, g->gs->head_max, g->gs->body_max, &h)) {
	case ADMIN_HEAD_MORE:
		return BEV_NEED_MORE;
	case ADMIN_HEAD_OK:
		evbuffer_remove_buffer(src, dst, h.head_len);
		g->body_left = h.body_len;
		g->passed++;
		return BEV_OK;
	case ADMIN_HEAD_REFUSED:
		break;
	}
	/* A client still sending a body too large reads the answer only if
	 * lbd reads what it sends first: a socket closed with bytes unread
	 * is reset, answer and all. Within reason, and within the read
	 * timeout, as nothing passes meanwhile. */
	if (h.code == 413 && h.body_len && h.body_len <= ADMIN_DISCARD_MAX) {
		g->refusal = h;
		g->discard = h.body_len;
		evbuffer_drain(src, h.head_len);
		return discard(g, src, dst);
	}
	return refuse(g, src, dst, &h);
}

/* The output filter: SRC what evhttp writes, DST the socket's output. It
 * passes everything on, but answers BEV_NEED_MORE so that the filter does
 * not tell evhttp the answer is written: it is not, yet, and evhttp shuts
 * the socket down once it is when the connection is to close. sent()
 * tells evhttp when the socket's bufferevent has written it all. */
static enum bufferevent_filter_result gate_out(struct evbuffer *src, struct evbuffer *dst,
					       ev_ssize_t limit, enum bufferevent_flush_mode mode,
					       void *arg)
{
	(void)limit;
	(void)mode;
	(void)arg;
	return evbuffer_add_buffer(dst, src) == 0 ? BEV_NEED_MORE : BEV_ERROR;
}

/* evhttp wrote to the filter. libevent 2.1's filter runs its output
 * filter only while writing is enabled, and evhttp enables it after it
 * wrote its answer; enabling does not run the filter, so the answer would
 * wait for an event that never comes. Pass it on here instead, and try
 * the socket at once: evhttp also watches for the client's end while it
 * writes, and a client that sent its request and shut its side down
 * would otherwise have its end seen first and its answer dropped. */
static void written(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct admin_gate *g = arg;
	struct evbuffer *out = bufferevent_get_output(g->sock);

	if (!info->n_added || !evbuffer_get_length(buf))
		return;
	evbuffer_add_buffer(out, buf);
	if (bufferevent_get_enabled(g->sock) & EV_WRITE)
		evbuffer_write(out, bufferevent_getfd(g->sock));
}

/* The socket's output changed: once written out, tell evhttp (deferred,
 * as evhttp may free the connection). */
static void sent(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct admin_gate *g = arg;

	if (info->n_deleted && evbuffer_get_length(buf) == 0)
		bufferevent_trigger(g->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
}

/* The filter is finalized (evhttp freed its connection a moment ago); the
 * socket's bufferevent goes with it. */
static void gate_free(void *arg)
{
	struct admin_gate *g = arg;

	if (g->sent)
		evbuffer_remove_cb_entry(bufferevent_get_output(g->sock), g->sent);
	if (g->pprev) {
		*g->pprev = g->next;
		if (g->next)
			g->next->pprev = g->pprev;
	}
	free(g);
}

struct bufferevent *admin_gate_new(struct event_base *base, void *arg)
{
	struct admin_gates *gs = arg;
	struct admin_gate *g = calloc(1, sizeof(*g));
	struct bufferevent *sock;
	struct evbuffer_cb_entry *cb;

	if (!g)
		return NULL;
	g->gs = gs;
	/* The filter frees the socket's bufferevent, which closes the socket:
	 * both are finalized only after evhttp let go of the connection, so
	 * the socket stays open until its events are gone and its number
	 * cannot be reused under them. (evhttp shuts it down, and would close
	 * it itself, too early, were it not for BEV_OPT_CLOSE_ON_FREE.) */
	sock = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!sock) {
		free(g);
		return NULL;
	}
	bufferevent_setwatermark(sock, EV_READ, 0, gs->head_max + 1);
	cb = evbuffer_add_cb(bufferevent_get_output(sock), sent, g);
	g->bev = cb ? bufferevent_filter_new(sock, gate_in, gate_out, BEV_OPT_CLOSE_ON_FREE,
					     gate_free, g) :
		      NULL;
	if (!g->bev) {
		if (cb)
			evbuffer_remove_cb_entry(bufferevent_get_output(sock), cb);
		bufferevent_free(sock);
		free(g);
		return NULL;
	}
	g->sock = sock;
	g->sent = cb;
	if (!evbuffer_add_cb(bufferevent_get_output(g->bev), written, g)) {
		bufferevent_free(g->bev);
		return NULL;
	}
	g->next = gs->first;
	if (g->next)
		g->next->pprev = &g->next;
	g->pprev = &gs->first;
	gs->first = g;
	return g->bev;
}

/* evhttp frees the connection. The filter, and the socket's bufferevent
 * under it, are finalized a loop later; until then the socket's events
 * must not fire: evhttp has shut the socket down, and what its answer left
 * unwritten (the client went away) would be written into it. */
static void gate_closed(struct evhttp_connection *conn, void *arg)
{
	struct admin_gate *g = arg;

	struct evbuffer *out = bufferevent_get_output(g->sock);

	(void)conn;
	evbuffer_remove_cb_entry(out, g->sent);
	g->sent = NULL;
	bufferevent_disable(g->sock, EV_READ | EV_WRITE);
	evbuffer_drain(out, evbuffer_get_length(out));
}

const struct admin_head *admin_gate_refusal(struct admin_gates *gs, struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;

	for (struct admin_gate *g = gs->first; g && bev; g = g->next) {
		if (g->bev != bev)
			continue;
		/* Only an answer leaves bytes to write: from the first
		 * request on, the close matters. */
		if (g->handled++ == 0)
			evhttp_connection_set_closecb(conn, gate_closed, g);
		return g->refused && g->handled == g->passed ? &g->refusal : NULL;
	}
	return NULL;
}

void admin_gates_detach(struct admin_gates *gs)
{
	for (struct admin_gate *g = gs->first; g; g = g->next)
		g->pprev = NULL;
	gs->first = NULL;
}
