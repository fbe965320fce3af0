/* peer.c — reaching a server of a pool (peer.h): pick, count, connect,
 * fail, retry.
 *
 * A request is sent to a server only once it is reached, so a failed
 * connect (refused, timed out, a TLS handshake or certificate that fails)
 * can always be retried elsewhere. A TLS bufferevent reports that it
 * connected once its handshake is done, so timeouts.connect covers both.
 */
#include "event/peer.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "balance/balance.h"
#include "core/health_state.h"
#include "core/log.h"
#include "core/runtime.h"
#include "tls/tls_upstream.h"
#include "util/clock.h"
#include "util/units.h"

/* The one connect() to a server. TIMEOUT_MS > 0 bounds it (and a TLS
 * handshake, which waits for reading as often as for writing). */
static int connect_bev(struct bufferevent *bev, const struct lbd_addr *addr, uint64_t timeout_ms,
		       bool tls)
{
	struct timeval tv;

	if (timeout_ms) {
		ms_to_timeval(timeout_ms, &tv);
		bufferevent_set_timeouts(bev, tls ? &tv : NULL, &tv);
	}
	return bufferevent_socket_connect(bev, (const struct sockaddr *)&addr->sa,
					  (int)addr->salen);
}

struct bufferevent *peer_open_addr(struct event_base *base, const struct lbd_addr *addr,
				   const struct tls_upstream_peer *tls)
{
	struct bufferevent *bev = tls ? tls_upstream_peer_bev(base, tls) :
					bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (!bev) {
		errno = ENOMEM;
		return NULL;
	}
	if (connect_bev(bev, addr, 0, tls != NULL) < 0) {
		int err = errno ? errno : EIO;
		bufferevent_free(bev);
		errno = err;
		return NULL;
	}
	return bev;
}

/* --- accounting ---------------------------------------------------------- */

/* SRV, whose slot P holds (its `active` count has P already). */
static void assign(struct peer *p, struct server_conf *srv)
{
	p->server = srv;
	p->served_by = srv->rt;
	p->picks++;
	counter_add(&srv->rt->shard[runtime_shard].requests, 1);
}

void peer_release(struct peer *p)
{
	if (p->connecting) {
		bufferevent_free(p->connecting);
		p->connecting = NULL;
	}
	if (p->waiting)
		peer_queue_leave(p);
	if (!p->server)
		return;
	if (!p->pool->max_requests_per_server) {
		atomic_fetch_sub_explicit(&p->server->rt->active, 1, memory_order_relaxed);
	} else {
		/* Ordered before the length is read (pool_queue.c). */
		atomic_fetch_sub(&p->server->rt->active, 1);
		if (atomic_load(&p->pool->rt->queue.length))
			peer_queue_kick(p->pool->rt);
	}
	p->server = NULL;
}

/* The passive window of the server (pools[].passive); a server taken out
 * is logged once, with the failure that tipped it. */
static void passive_failure(const struct pool_conf *pool, struct server_rt *rt, const char *why)
{
	const struct passive_conf *pc = &pool->passive;
	char d[32];

	if (!pc->max_fails ||
	    !health_passive_note(&rt->health, pc->max_fails, pc->fail_timeout_ms, health_now_ms()))
		return;
	format_duration(pc->fail_timeout_ms, d, sizeof(d));
	log_warn("pool %s: server %s is out for %s: %u failure%s within %s, last: %s",
		 rt->pool_name, rt->server_name, d, pc->max_fails, pc->max_fails == 1 ? "" : "s", d,
		 why);
}

void peer_server_failed(const struct peer *p, const char *why)
{
	atomic_fetch_add_explicit(&p->server->rt->failures, 1, memory_order_relaxed);
	passive_failure(p->pool, p->server->rt, why);
}

/* The try on p->server failed with STATUS: it is left out from now on. */
static void note_failure(struct peer *p, int status)
{
	struct server_conf *srv = p->server;

	atomic_fetch_add_explicit(&srv->rt->failures, 1, memory_order_relaxed);
	peer_release(p);
	p->tried[p->ntried++] = srv;
	/* 504 only when every try timed out; any other failure makes it 502. */
	p->fail_status = (p->ntried == 1 || p->fail_status == 504) && status == 504 ? 504 : 502;
}

/* Whether another server may still be tried (the pool's retries). */
static bool peer_retry_left(const struct peer *p)
{
	return p->ntried + 1 <= p->pool->retries;
}

bool peer_can_retry_elsewhere(const struct peer *p)
{
	struct server_conf *tried[CONFIG_RETRIES_MAX + 2];
	struct balance_ctx ctx = { .tried = tried, .ntried = p->ntried };
	const struct pool_members *m = balance_members(p->pool);

	if (!peer_retry_left(p))
		return false;
	memcpy(tried, p->tried, p->ntried * sizeof(*tried));
	if (p->server)
		tried[ctx.ntried++] = p->server;
	for (size_t i = 0; m && i < m->n; i++)
		if (balance_server_eligible(m->servers[i], &ctx))
			return true;
	return false;
}

void peer_retry_elsewhere(struct peer *p, int status)
{
	struct server_conf *srv = p->server;

	peer_release(p);
	p->tried[p->ntried++] = srv;
	p->fail_status = status;
}

/* --- connecting ---------------------------------------------------------- */

static void on_connected(struct peer *p, struct bufferevent *bev)
{
	const struct server_conf *srv = p->server;
	int one = 1;

	p->connecting = NULL;
	if (srv->addr.sa.ss_family != AF_UNIX)
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (p->pool->tls.enabled)
		tls_upstream_log_connected(p->pool->name, srv->name, srv->addr.text, bev);
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	if (p->send_first_len)
		bufferevent_write(bev, p->send_first, p->send_first_len);
	p->ops->connected(p, bev);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct peer *p = arg;
	int status = (what & BEV_EVENT_TIMEOUT) ? 504 : 502;
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		on_connected(p, bev);
		return;
	}
	if (p->pool->tls.enabled)
		tls_upstream_error(bev, what, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "connect %s",
			 (what & BEV_EVENT_TIMEOUT) ?
				 "timed out" :
				 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	bool last = !peer_retry_left(p);
	log_warn("pool %s: server %s (%s): %s; %s", p->pool->name, p->server->name,
		 p->server->addr.text, why, last ? "no retry left" : "retrying another server");
	passive_failure(p->pool, p->server->rt, why);
	note_failure(p, status);
	if (last) {
		p->ops->failed(p, status);
		return;
	}
	p->connect_retry = true;
	peer_connect(p);
}

/* A bufferevent connecting to p->server, or NULL with errno. */
static struct bufferevent *open_server(struct peer *p)
{
	const struct pool_conf *pool = p->pool;
	bool tls = pool->tls.enabled;
	const struct server_conf *srv = p->server;
	struct bufferevent *bev =
		!tls ? bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE) :
		srv->origin == ORIGIN_CONFIG ?
		       tls_upstream_bev(p->base, &pool->tls, config_server_index(pool, srv)) :
		       tls_upstream_bev_for(p->base, &pool->tls, srv->name, &srv->addr);

	if (!bev) {
		errno = ENOMEM;
		return NULL;
	}
	/* The callback only once connect() is under way: a connect that fails
	 * at once reports its error synchronously, and that is handled by the
	 * caller, not by on_event(). */
	uint64_t ms = p->connect_ms ? p->connect_ms : pool->timeouts.connect_ms;

	if (connect_bev(bev, &p->server->addr, ms, tls) < 0) {
		int err = errno ? errno : EIO;
		bufferevent_free(bev);
		errno = err;
		return NULL;
	}
	bufferevent_setcb(bev, NULL, NULL, on_event, p);
	return bev;
}

static struct balance_ctx ctx_of(const struct peer *p)
{
	return (struct balance_ctx){
		.tried = p->tried,
		.ntried = p->ntried,
		.key = p->key,
		.key_len = p->key_len,
		.cookie = p->cookie,
		.cookie_len = p->cookie_len,
	};
}

enum take {
	TAKE_SERVER, /* a server, its slot taken */
	TAKE_WAIT,   /* every slot taken: wait */
	TAKE_NONE,   /* no server available */
};

/* Whether the pool's balancer sends this request to one server of its
 * own (a hash of its key, or the server its cookie names): then it waits
 * for that server, not for any. */
static bool pick_is_sticky(const struct peer *p)
{
	switch (p->pool->balance) {
	case BALANCE_IP_HASH:
	case BALANCE_MAGLEV:
		return true;
	case BALANCE_STICKY_COOKIE:
		return p->cookie || p->pool->sticky.fallback == BALANCE_IP_HASH;
	default:
		return false;
	}
}

/* Any server with a free slot that the balancer would pick. A backup is
 * taken only when no primary is available, full or not: full primaries
 * make a request wait, as down ones do not. */
static struct server_conf *take_free(struct peer *p, uint32_t cap)
{
	struct balance_ctx ctx = ctx_of(p);

	ctx.slot_cap = cap;
	/* Another worker may take the slot between the pick and the take. */
	for (int tries = 0; tries < 4; tries++) {
		struct server_conf *srv = balance_pick(p->pool, &ctx);
		if (!srv)
			return NULL;
		if (srv->backup) {
			struct balance_ctx any = ctx_of(p);
			struct server_conf *primary = balance_pick(p->pool, &any);
			if (primary && !primary->backup)
				return NULL;
		}
		if (queue_slot_take(&srv->rt->active, cap))
			return srv;
	}
	return NULL;
}

/* Pick a server for P and take its slot (*OUT), or say why not; *WAIT_FOR
 * is the server a sticky request waits for. A request behind others in
 * the pool's queue waits too, so that a freed slot goes to the oldest. */
static enum take take_server(struct peer *p, struct server_conf **out, struct server_rt **wait_for)
{
	uint32_t cap = p->pool->max_requests_per_server;
	struct balance_ctx ctx = ctx_of(p);
	bool behind = cap && !p->queue_turn && atomic_load(&p->pool->rt->queue.length) > 0;
	struct server_conf *srv;

	*wait_for = NULL;
	if (!cap || pick_is_sticky(p)) {
		srv = balance_pick(p->pool, &ctx);
		if (!srv)
			return TAKE_NONE;
		*wait_for = srv->rt;
		if (behind || !queue_slot_take(&srv->rt->active, cap))
			return TAKE_WAIT;
		*out = srv;
		return TAKE_SERVER;
	}
	if (!behind && (*out = take_free(p, cap)) != NULL)
		return TAKE_SERVER;
	return balance_pick(p->pool, &ctx) ? TAKE_WAIT : TAKE_NONE;
}

/* Reach SRV, whose slot P took. Returns false when that failed at once
 * and another server is to be tried. */
static bool connect_to(struct peer *p, struct server_conf *srv)
{
	assign(p, srv);
	if (p->connect_retry && p->pool->rt)
		counter_add(&p->pool->rt->retries[RETRY_CONNECT_FAILURE], 1);
	p->connect_retry = false;
	if (p->ops->reuse && p->ops->reuse(p))
		return true;
	p->connecting = open_server(p);
	if (p->connecting)
		return true;
	bool last = !peer_retry_left(p);
	log_warn("pool %s: server %s: cannot open a connection: %s; %s", p->pool->name, srv->name,
		 strerror(errno), last ? "no retry left" : "retrying another server");
	note_failure(p, 502);
	if (last)
		p->ops->failed(p, 502);
	else
		p->connect_retry = true;
	return last;
}

static void no_server(struct peer *p)
{
	p->ops->failed(p, p->ntried ? p->fail_status : 503);
}

void peer_connect(struct peer *p)
{
	p->queue_rejected = false;
	for (;;) {
		struct server_conf *srv = NULL;
		struct server_rt *wait_for;
		switch (take_server(p, &srv, &wait_for)) {
		case TAKE_NONE:
			no_server(p);
			return;
		case TAKE_WAIT:
			peer_queue_wait(p, pick_is_sticky(p) ? wait_for : NULL);
			return;
		case TAKE_SERVER:
			if (connect_to(p, srv))
				return;
		}
	}
}

bool peer_take_turn(struct peer *p)
{
	struct server_conf *srv = NULL;
	struct server_rt *wait_for;

	p->queue_turn = true;
	enum take t = take_server(p, &srv, &wait_for);
	p->queue_turn = false;
	if (t == TAKE_WAIT) {
		/* A sticky request whose server went away waits for the one the
		 * balancer picks now. */
		if (pick_is_sticky(p))
			peer_queue_retarget(p, wait_for);
		return false;
	}
	peer_queue_leave(p);
	if (t == TAKE_NONE)
		no_server(p);
	else if (!connect_to(p, srv))
		peer_connect(p);
	return true;
}
