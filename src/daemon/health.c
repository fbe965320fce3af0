/* health.c — active checks on the main loop and the passive sweep (what
 * they show is health_info.c's).
 *
 * One checker per checked server, keyed by its runtime state (identity),
 * so a reload keeps a server's schedule and state when its settings stay.
 * A checker runs one check at a time (timeout <= interval is validated):
 * connect (and for a pool with tls, the handshake), for http send one
 * request and read only the status line, then close. The timeout covers it
 * all. Checks are spread with jitter so that servers of a pool (and
 * several lbd instances) do not check in step.
 */
#include "daemon/health.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "balance/balance.h"
#include "config/config.h"
#include "core/log.h"
#include "core/runtime.h"
#include "event/peer.h"
#include "stream/proxy_protocol.h"
#include "tls/tls_listener.h"
#include "tls/tls_upstream.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/units.h"

/* How often servers out after passive failures are looked at, to log their
 * return (they take requests again at their time without it). */
#define PASSIVE_SWEEP_MS 100

/* Checks start in [interval - 10%, interval + 10%] after the previous. */
#define JITTER_PERCENT 10

struct checker {
	struct health *h;
	struct server_rt *rt; /* outlives the checker (runtime registry) */
	struct lbd_addr addr;
	struct health_check_conf conf; /* path and host owned */
	struct tls_upstream_peer *tls; /* the pool's tls of the newest generation */
	char *request;                 /* http: the whole request */
	size_t request_len;
	/* pools[].send_proxy: a check starts with a LOCAL header (v2; v1
	 * says UNKNOWN), so that servers that require one answer it. */
	enum send_proxy send_proxy;
	unsigned char proxy_header[PP_ENCODED_MAX];
	size_t proxy_len;
	struct event *timer;     /* the next check */
	struct event *deadline;  /* the running check's timeout */
	struct bufferevent *bev; /* while a check runs */
	uint64_t started_us;
	char line[HEALTH_STATUS_LINE_MAX];
	size_t line_len;
	bool connected; /* and the TLS handshake done */
	bool keep;      /* health_apply: still configured */
	struct checker *next;
};

struct passive_watch {
	struct server_rt *rt;
	uint64_t fail_timeout_ms;
};

struct health {
	struct event_base *base;
	struct checker *checkers;
	struct passive_watch *watch;
	size_t nwatch;
	struct event *sweep;
	uint64_t rand_state;
};

/* xorshift64: jitter needs no quality, only no shared state. */
static uint64_t next_rand(struct health *h)
{
	uint64_t x = h->rand_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	h->rand_state = x;
	return x;
}

static void schedule(struct checker *c, uint64_t ms)
{
	struct timeval tv;

	ms_to_timeval(ms, &tv);
	evtimer_add(c->timer, &tv);
}

static void schedule_next(struct checker *c)
{
	uint64_t iv = c->conf.interval_ms, spread = iv * 2 * JITTER_PERCENT / 100;
	uint64_t ms = iv - iv * JITTER_PERCENT / 100 +
		      (spread ? next_rand(c->h) % (spread + 1) : 0);

	schedule(c, ms ? ms : 1);
}

static void stop_check(struct checker *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	c->bev = NULL;
	evtimer_del(c->deadline);
}

static void log_transition(const struct checker *c, enum health_transition t, unsigned run)
{
	struct health_info info;
	char last[128];

	health_server_info(c->rt, &info);
	health_last_text(&info, last, sizeof(last));
	if (t == HEALTH_WENT_DOWN)
		log_warn("pool %s: server %s is down: %u failed check%s, last: %s",
			 c->rt->pool_name, c->rt->server_name, run, run == 1 ? "" : "s", last);
	else
		log_info("pool %s: server %s is up: %u passing check%s, last: %s", c->rt->pool_name,
			 c->rt->server_name, run, run == 1 ? "" : "s", last);
}

static void finish(struct checker *c, enum health_result result, int code, int detail)
{
	struct health_rt *hr = &c->rt->health;
	uint64_t us = monotonic_us() - c->started_us;
	unsigned ms = result == HEALTH_RESULT_TIMEOUT ? (unsigned)c->conf.timeout_ms :
							(unsigned)(us / 1000);
	bool ok = result == HEALTH_RESULT_CONNECTED ||
		  (result == HEALTH_RESULT_STATUS && code >= c->conf.expect_lo &&
		   code <= c->conf.expect_hi);

	/* A TLS server should see a clean end, not a cut connection, in its
	 * log: the check is over, whatever it found. */
	if (c->tls && c->connected && c->bev)
		tls_close_notify(c->bev);
	stop_check(c);
	atomic_store(&hr->last_result, result);
	atomic_store(&hr->last_code, code);
	atomic_store(&hr->last_detail, detail);
	atomic_store(&hr->last_ms, ms);
	atomic_store(&hr->last_ok, ok);
	atomic_fetch_add(&hr->checks, 1);
	if (!ok)
		atomic_fetch_add(&hr->checks_failed, 1);

	struct health_sm sm = {
		.down = atomic_load(&hr->down),
		.ok_run = atomic_load(&hr->ok_run),
		.fail_run = atomic_load(&hr->fail_run),
	};
	enum health_transition t = health_sm_step(&sm, ok, c->conf.rise, c->conf.fall);
	atomic_store(&hr->ok_run, sm.ok_run);
	atomic_store(&hr->fail_run, sm.fail_run);
	if (t == HEALTH_WENT_DOWN) {
		atomic_store(&hr->down, true);
		health_down_epoch_bump();
	} else if (t == HEALTH_WENT_UP) {
		atomic_store(&hr->down, false);
	}
	if (t != HEALTH_STAY) {
		atomic_store(&hr->changed_ms, health_now_ms());
		log_transition(c, t, ok ? sm.ok_run : sm.fail_run);
	}
	if (ok && health_passive_clear(hr, 0))
		log_info("pool %s: server %s is back after passive failures: a check passed",
			 c->rt->pool_name, c->rt->server_name);
	schedule_next(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct checker *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int code;

	int n = evbuffer_remove(in, c->line + c->line_len, sizeof(c->line) - c->line_len);
	if (n <= 0)
		return;
	c->line_len += (size_t)n;
	int rc = health_status_line(c->line, c->line_len, &code);
	if (rc > 0)
		finish(c, HEALTH_RESULT_STATUS, code, 0);
	else if (rc < 0)
		finish(c, HEALTH_RESULT_BAD, 0, 0);
}

/* A TLS connection failed: a failed TCP connect reads as in a plain check,
 * anything OpenSSL explains as a TLS result. False when it is neither (an
 * end of stream or socket error after the handshake). */
static bool tls_failed(struct checker *c, struct bufferevent *bev, short what)
{
	struct tls_failure f;

	tls_upstream_failure(bev, what, c->connected, &f);
	if (f.kind == TLS_FAIL_CONNECT)
		finish(c, HEALTH_RESULT_ERROR, f.code, 0);
	else if (!c->connected || f.kind == TLS_FAIL_LATER)
		finish(c, HEALTH_RESULT_TLS, (int)f.kind, f.code);
	else
		return false;
	return true;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct checker *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		c->connected = true;
		if (c->conf.type == HEALTH_CHECK_TCP) {
			/* Sent before the close, not queued: a few bytes on a
			 * fresh connection always fit its socket buffer. */
			if (c->proxy_len)
				(void)!send(bufferevent_getfd(bev), c->proxy_header, c->proxy_len,
					    MSG_NOSIGNAL);
			finish(c, HEALTH_RESULT_CONNECTED, 0, 0);
			return;
		}
		if (c->proxy_len)
			bufferevent_write(bev, c->proxy_header, c->proxy_len);
		bufferevent_write(bev, c->request, c->request_len);
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (c->tls && (what & (BEV_EVENT_ERROR | (c->connected ? 0 : BEV_EVENT_EOF))) &&
	    tls_failed(c, bev, what))
		return;
	if (what & BEV_EVENT_ERROR) {
		int err = EVUTIL_SOCKET_ERROR();
		/* errno, negated once connected: the text says which step failed */
		finish(c, HEALTH_RESULT_ERROR, (err ? err : EIO) * (c->connected ? -1 : 1), 0);
		return;
	}
	finish(c, HEALTH_RESULT_CLOSED, 0, 0);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	finish(arg, HEALTH_RESULT_TIMEOUT, 0, 0);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct checker *c = arg;
	struct timeval tv;

	c->started_us = monotonic_us();
	c->line_len = 0;
	c->connected = false;
	ms_to_timeval(c->conf.timeout_ms, &tv);
	evtimer_add(c->deadline, &tv);
	c->bev = peer_open_addr(c->h->base, &c->addr, c->tls);
	if (!c->bev) {
		finish(c, HEALTH_RESULT_ERROR, errno, 0);
		return;
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
}

static void conf_free(struct health_check_conf *hc)
{
	free(hc->path);
	free(hc->host);
	hc->path = hc->host = NULL;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_check(const struct checker *c, const struct pool_conf *p,
		       const struct lbd_addr *addr)
{
	const struct health_check_conf *o = &c->conf, *hc = &p->health_check;

	return (c->tls != NULL) == p->tls.enabled && o->type == hc->type &&
	       c->send_proxy == p->send_proxy && same_str(o->path, hc->path) &&
	       same_str(o->host, hc->host) && o->interval_ms == hc->interval_ms &&
	       o->timeout_ms == hc->timeout_ms && o->rise == hc->rise && o->fall == hc->fall &&
	       o->expect_lo == hc->expect_lo && o->expect_hi == hc->expect_hi &&
	       addr_equal(&c->addr, addr) && strcmp(c->addr.text, addr->text) == 0;
}

/* Copy the settings of P's check and ADDR into C and render its request. */
static int checker_set(struct checker *c, const struct pool_conf *p, const struct lbd_addr *addr)
{
	const struct health_check_conf *hc = &p->health_check;
	struct health_check_conf copy = *hc;
	struct strbuf sb = { 0 };
	const char *host = hc->host;

	copy.path = hc->path ? strdup(hc->path) : NULL;
	copy.host = hc->host ? strdup(hc->host) : NULL;
	if ((hc->path && !copy.path) || (hc->host && !copy.host)) {
		conf_free(&copy);
		return -1;
	}
	/* Without host:, the Host header names the server as configured (a
	 * unix: server has no host part: "localhost"). */
	if (!host)
		host = addr->sa.ss_family == AF_UNIX ? "localhost" : addr->text;
	strbuf_adds(&sb, "GET ");
	strbuf_adds(&sb, copy.path ? copy.path : "/");
	strbuf_adds(&sb, " HTTP/1.1\r\nHost: ");
	strbuf_adds(&sb, host);
	strbuf_adds(&sb, "\r\nUser-Agent: lbd-health-check\r\nAccept: */*\r\n"
			 "Connection: close\r\n\r\n");
	if (sb.failed) {
		strbuf_free(&sb);
		conf_free(&copy);
		return -1;
	}
	conf_free(&c->conf);
	free(c->request);
	c->conf = copy;
	c->addr = *addr;
	c->request = sb.data;
	c->request_len = sb.len;
	c->send_proxy = p->send_proxy;
	c->proxy_len = p->send_proxy == SEND_PROXY_OFF ?
			       0 :
			       pp_encode((int)p->send_proxy, NULL, NULL, c->proxy_header);
	return 0;
}

static void checker_free(struct checker *c)
{
	stop_check(c);
	if (c->timer)
		event_free(c->timer);
	if (c->deadline)
		event_free(c->deadline);
	conf_free(&c->conf);
	free(c->request);
	tls_upstream_peer_free(c->tls);
	free(c);
}

static struct checker *checker_new(struct health *h, struct server_rt *rt)
{
	struct checker *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->h = h;
	c->rt = rt;
	c->timer = evtimer_new(h->base, on_timer, c);
	c->deadline = evtimer_new(h->base, on_deadline, c);
	if (!c->timer || !c->deadline) {
		checker_free(c);
		return NULL;
	}
	return c;
}

/* The checkers by server id while health_apply() runs, so that a reload
 * of many servers stays linear; NULL (out of memory) falls back to a scan. */
struct checker_index {
	struct checker **by_id;
	uint32_t n;
};

static struct checker *find_checker(const struct health *h, const struct checker_index *ix,
				    const struct server_rt *rt)
{
	if (ix->by_id)
		return rt->id < ix->n ? ix->by_id[rt->id] : NULL;
	for (struct checker *c = h->checkers; c; c = c->next)
		if (c->rt == rt)
			return c;
	return NULL;
}

/* C's checks follow the tls of P as built for the generation being
 * applied: a reload's new context takes over from the next check on (a
 * running one finishes on its own connection). */
static int set_tls(struct checker *c, const struct pool_conf *p, const struct server_conf *s)
{
	struct tls_upstream_peer *peer = NULL;

	if (p->tls.enabled &&
	    !(peer = s->origin == ORIGIN_CONFIG ?
			     tls_upstream_peer_new(&p->tls, config_server_index(p, s)) :
			     tls_upstream_peer_for(&p->tls, s->name, &s->addr)))
		return -1;
	tls_upstream_peer_free(c->tls);
	c->tls = peer;
	return 0;
}

/* Bring S's checker in line with its pool's settings. A checker left
 * without keep is freed by the caller (the server is not checked). */
static int apply_server(struct health *h, const struct checker_index *ix, const struct pool_conf *p,
			const struct server_conf *s)
{
	struct checker *c = find_checker(h, ix, s->rt);

	if (c && same_check(c, p, &s->addr)) {
		if (set_tls(c, p, s) < 0)
			return -1;
		c->keep = true;
		return 0;
	}
	bool fresh = !c;
	if (fresh) {
		c = checker_new(h, s->rt);
		if (!c)
			return -1;
	}
	if (checker_set(c, p, &s->addr) < 0 || set_tls(c, p, s) < 0) {
		if (fresh)
			checker_free(c);
		return -1;
	}
	if (fresh) {
		c->next = h->checkers;
		h->checkers = c;
	}
	c->keep = true;
	stop_check(c);
	/* The first check comes anywhere within one interval: checks of a
	 * pool started together spread out from the start. */
	schedule(c, 1 + next_rand(h) % c->conf.interval_ms);
	atomic_store(&s->rt->health.checked, true);
	return 0;
}

/* A server no longer checked: its checks' verdict no longer holds. */
static void unchecked(struct server_rt *rt)
{
	struct health_rt *hr = &rt->health;

	atomic_store(&hr->checked, false);
	atomic_store(&hr->ok_run, 0);
	atomic_store(&hr->fail_run, 0);
	if (atomic_exchange(&hr->down, false))
		log_info("pool %s: server %s: health checks removed; it takes requests again",
			 rt->pool_name, rt->server_name);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct health *h = arg;
	uint64_t now = health_now_ms();

	for (size_t i = 0; i < h->nwatch; i++) {
		struct server_rt *rt = h->watch[i].rt;
		if (health_passive_clear(&rt->health, now)) {
			char d[32];
			format_duration(h->watch[i].fail_timeout_ms, d, sizeof(d));
			log_info("pool %s: server %s is back after passive failures: "
				 "fail_timeout %s passed",
				 rt->pool_name, rt->server_name, d);
		}
	}
}

static int apply_passive(struct health *h, const struct config *cfg)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < cfg->npools; i++)
		if (cfg->pools[i].passive.max_fails)
			n += balance_members(&cfg->pools[i])->n;
	struct passive_watch *watch = calloc(n ? n : 1, sizeof(*watch));
	if (!watch)
		return -1;
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_conf *p = &cfg->pools[i];
		const struct pool_members *m = balance_members(p);
		for (size_t j = 0; j < m->n; j++) {
			if (p->passive.max_fails)
				watch[k++] = (struct passive_watch){ m->servers[j]->rt,
								     p->passive.fail_timeout_ms };
			else
				health_passive_clear(&m->servers[j]->rt->health, 0);
		}
	}
	free(h->watch);
	h->watch = watch;
	h->nwatch = k;
	/* No wake-ups for a configuration without passive checks. */
	if (k) {
		struct timeval tv;
		ms_to_timeval(PASSIVE_SWEEP_MS, &tv);
		if (!event_pending(h->sweep, EV_TIMEOUT, NULL))
			event_add(h->sweep, &tv);
	} else {
		event_del(h->sweep);
	}
	return 0;
}

int health_apply(struct health *h, const struct config *cfg)
{
	struct checker_index ix = { .n = runtime_server_count() };
	int rc = 0;

	ix.by_id = calloc(ix.n ? ix.n : 1, sizeof(*ix.by_id));
	for (struct checker *c = h->checkers; c; c = c->next) {
		c->keep = false;
		if (ix.by_id && c->rt->id < ix.n)
			ix.by_id[c->rt->id] = c;
	}
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_conf *p = &cfg->pools[i];
		const struct pool_members *m = balance_members(p);
		if (!p->health_check.enabled) {
			/* its servers' checkers, if any, go below */
			for (size_t j = 0; j < m->n; j++)
				unchecked(m->servers[j]->rt);
			continue;
		}
		for (size_t j = 0; j < m->n; j++) {
			if (m->servers[j]->unresolved) {
				unchecked(m->servers[j]->rt); /* nothing to connect to */
				continue;
			}
			if (apply_server(h, &ix, p, m->servers[j]) == 0)
				continue;
			log_error("pool %s: server %s: out of memory; it is not checked", p->name,
				  m->servers[j]->name);
			rc = -1;
		}
	}
	for (struct checker **pc = &h->checkers; *pc;) {
		struct checker *c = *pc;
		if (c->keep) {
			pc = &c->next;
			continue;
		}
		*pc = c->next;
		unchecked(c->rt);
		checker_free(c);
	}
	free(ix.by_id);
	if (apply_passive(h, cfg) < 0) {
		log_error("out of memory: the return of passively failed servers is not logged");
		rc = -1;
	}
	return rc;
}

struct health *health_new(struct event_base *base)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->base = base;
	h->rand_state = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ monotonic_us();
	if (h->rand_state == 0)
		h->rand_state = 1;
	h->sweep = event_new(base, -1, EV_PERSIST, on_sweep, h);
	if (!h->sweep) {
		free(h);
		return NULL;
	}
	return h;
}

void health_free(struct health *h)
{
	if (!h)
		return;
	while (h->checkers) {
		struct checker *c = h->checkers;
		h->checkers = c->next;
		checker_free(c);
	}
	event_free(h->sweep);
	free(h->watch);
	free(h);
}

/* --- passive ------------------------------------------------------------- */
