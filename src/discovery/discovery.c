/* discovery.c — following DNS for the pools that ask for it, and for the
 * servers of the file written as host:port (discovery.h).
 *
 * A query is one name (and port, for A/AAAA) asked of one resolver; pools
 * that follow the same name through the same resolver share it, so a name
 * costs one lookup per refresh however many pools follow it. A query has
 * its own schedule: a lookup, then the next one after the shortest refresh
 * of its pools (sooner when an A/AAAA TTL says so, never under a second,
 * with jitter so that instances do not ask in step), or after a back-off
 * when the resolver failed. Each answer goes to every pool of the query,
 * which applies it by its own rules (members.h): hold and empty_after are
 * the pool's. A pool's timer ends the holds of the members an answer
 * stopped naming. A resolver that fails changes nothing: the last answer
 * stands.
 *
 * A server of the file written as host:port is followed the same way, as
 * a pool of one member whose identity is the server's name
 * (discovery_rules.identity): the same queries (shared with a pool that
 * follows the same name and port), schedule and rules, with a hold and an
 * empty_after that never end, so that only an answer with an address
 * changes it, and a move is told as one (discovery_ops.resolved).
 */
#include "discovery/discovery.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "discovery/members.h"
#include "discovery/resolver.h"
#include "util/clock.h"
#include "util/hash.h"

struct resolver_ref {
	struct resolver_ref *next;
	char *name; /* NULL: the system's */
	struct resolver *r;
	uint64_t fingerprint; /* of its settings */
};

/* One name asked of one resolver, for the pools that follow it. */
struct query {
	struct query *next;
	struct discovery *d;
	struct resolver_ref *res;
	char *dns;
	uint16_t port; /* 0 for an SRV name */
	struct event *timer;
	uint64_t seed;           /* for the jitter */
	uint64_t next_lookup_ms; /* monotonic */
	uint64_t last_answer_ms; /* 0: none yet */
	unsigned failures;       /* in a row */
	bool in_flight;
	bool dead; /* out of the list; freed when its lookup comes back */
};

/* One pool that follows a name, or one server of a pool's file. */
struct followed {
	struct followed *next;
	struct discovery *d;
	char *pool;
	char *server;  /* the file's server written as host:port; NULL: the pool's discovery */
	char *written; /* that server's address as written */
	struct discovery_conf conf; /* dns and resolver owned */
	struct discovery_rules rules;
	struct discovery_state st;
	struct query *q;
	struct event *hold_timer;
	bool used;
};

struct discovery {
	struct event_base *base;
	const struct discovery_ops *ops;
	void *arg;
	struct followed *pools;
	struct query *queries;
	struct resolver_ref *resolvers;
};

static uint64_t now_ms(void)
{
	return monotonic_us() / 1000;
}

static void on_change(void *arg, const struct discovered *m, enum member_change c)
{
	struct followed *f = arg;
	struct discovery *d = f->d;

	if (f->server) {
		if (c != MEMBER_REMOVED) /* never: the hold does not end */
			d->ops->resolved(d->arg, f->pool, f->server, &m->addr);
		return;
	}
	switch (c) {
	case MEMBER_ADDED:
		d->ops->added(d->arg, f->pool, m->identity, &m->addr);
		break;
	case MEMBER_MOVED:
		d->ops->moved(d->arg, f->pool, m->identity, &m->addr);
		break;
	case MEMBER_REMOVED:
		d->ops->removed(d->arg, f->pool, m->identity);
		break;
	}
}

/* --- a pool's members --------------------------------------------------------- */

/* F's timer for the end of the next hold, if a member is held. */
static void arm_hold(struct followed *f)
{
	struct timeval tv;
	uint64_t now = now_ms(), at = discovery_next_hold_end_ms(&f->st, &f->rules);

	if (at == UINT64_MAX) {
		evtimer_del(f->hold_timer);
		return;
	}
	ms_to_timeval(at > now ? at - now : 0, &tv);
	evtimer_add(f->hold_timer, &tv);
}

static void on_hold_timer(evutil_socket_t fd, short what, void *arg)
{
	struct followed *f = arg;

	if (discovery_tick(&f->st, &f->rules, now_ms(), on_change, f) < 0)
		log_error("pool %s: discovery: out of memory ending a hold", f->pool);
	arm_hold(f);
}

static void followed_free(struct followed *f)
{
	if (f->hold_timer)
		event_free(f->hold_timer);
	discovery_state_free(&f->st);
	free(f->conf.dns);
	free(f->conf.resolver);
	free(f->pool);
	free(f->server);
	free(f->written);
	free(f);
}

/* What F follows, for the log: "pool P: discovery of NAME", or "pool P:
 * server S (HOST:PORT)". */
static const char *subject(const struct followed *f, char *buf, size_t len)
{
	if (f->server)
		snprintf(buf, len, "pool %s: server %s (%s)", f->pool, f->server, f->written);
	else
		snprintf(buf, len, "pool %s: discovery of %s", f->pool, f->conf.dns);
	return buf;
}

/* The answer A, received at NOW, applied to F's members by F's rules. */
static void apply(struct followed *f, const struct dns_answer *a, uint64_t now)
{
	bool was_stale = f->st.stale;
	char who[CONFIG_NAME_MAX * 2 + DISCOVERY_IDENTITY_MAX + 64];

	subject(f, who, sizeof(who));
	if (discovery_apply(&f->st, &f->rules, a, now, on_change, f) < 0)
		log_error("%s: out of memory; the answer is not applied", who);
	arm_hold(f);
	if (a->status == DNS_FAILED) {
		if (was_stale)
			return;
		if (f->server)
			log_warn("%s: the resolver failed (%s); its address stays as it is", who,
				 a->why ? a->why : "error");
		else
			log_warn("%s: the resolver failed (%s); the last answer stands (%zu "
				 "servers)",
				 who, a->why ? a->why : "error", f->st.n);
		return;
	}
	if (was_stale)
		log_info("%s: the resolver answers again", who);
	if (a->status != DNS_EMPTY || f->st.empty_answers != 1)
		return;
	if (f->server)
		log_warn("%s: %s; its address stays as it is", who, a->why ? a->why : "no records");
	else
		log_warn("%s: %s; the servers stay until empty_after has passed and a second "
			 "answer agrees",
			 who, a->why ? a->why : "no records");
}

/* --- queries ------------------------------------------------------------------ */

static void query_free(struct query *q)
{
	if (q->timer)
		event_free(q->timer);
	free(q->dns);
	free(q);
}

/* The shortest refresh of the pools that follow Q (never 0: a query
 * without pools is not scheduled). */
static uint64_t refresh_of(const struct query *q)
{
	uint64_t ms = 0;

	for (const struct followed *f = q->d->pools; f; f = f->next)
		if (f->q == q && (!ms || f->conf.refresh_ms < ms))
			ms = f->conf.refresh_ms;
	return ms ? ms : 1000;
}

static void schedule(struct query *q, uint64_t ms)
{
	struct timeval tv;

	q->next_lookup_ms = now_ms() + ms;
	ms_to_timeval(ms, &tv);
	evtimer_add(q->timer, &tv);
}

static void on_answer(void *arg, const struct dns_answer *a)
{
	struct query *q = arg;
	uint64_t now = now_ms();

	q->in_flight = false;
	if (q->dead) {
		query_free(q);
		return;
	}
	if (a->status == DNS_CANCELLED)
		return; /* only a dead query's resolver goes */
	for (struct followed *f = q->d->pools; f; f = f->next)
		if (f->q == q)
			apply(f, a, now);
	if (a->status == DNS_FAILED) {
		q->failures++;
		schedule(q, discovery_retry_ms(refresh_of(q), q->failures, q->seed++));
		return;
	}
	q->last_answer_ms = now;
	q->failures = 0;
	schedule(q, discovery_next_refresh_ms(refresh_of(q), a->status == DNS_OK ? a->ttl_s : 0,
					      q->port == 0, q->seed++));
}

static void lookup(struct query *q)
{
	if (q->in_flight)
		return;
	evtimer_del(q->timer);
	q->in_flight = true;
	if (resolver_lookup(q->res->r, q->dns, q->port, on_answer, q) < 0) {
		q->in_flight = false;
		log_error("discovery of %s: out of memory; trying again", q->dns);
		schedule(q, discovery_retry_ms(refresh_of(q), ++q->failures, q->seed++));
	}
}

static void on_query_timer(evutil_socket_t fd, short what, void *arg)
{
	lookup(arg);
}

/* The query of DNS (PORT, 0 for SRV) through RES: the one some pool
 * already follows, or a new one, not asked yet. */
static struct query *query_for(struct discovery *d, struct resolver_ref *res, const char *dns,
			       uint16_t port)
{
	struct query *q;

	for (q = d->queries; q; q = q->next)
		if (q->res == res && q->port == port && strcmp(q->dns, dns) == 0)
			return q;
	if (!(q = calloc(1, sizeof(*q))) || !(q->dns = strdup(dns)) ||
	    !(q->timer = evtimer_new(d->base, on_query_timer, q))) {
		if (q)
			query_free(q);
		return NULL;
	}
	q->d = d;
	q->res = res;
	q->port = port;
	q->seed = hash64(dns, strlen(dns), (uint64_t)monotonic_us());
	q->next = d->queries;
	d->queries = q;
	return q;
}

/* --- resolvers ------------------------------------------------------------ */

static uint64_t fingerprint(const struct resolver_conf *rc)
{
	uint64_t h = 0;

	if (!rc)
		return 1;
	for (size_t i = 0; i < rc->nnameservers; i++)
		h = hash64(rc->nameservers[i].text, strlen(rc->nameservers[i].text), h);
	h = hash64(&rc->timeout_ms, sizeof(rc->timeout_ms), h);
	return hash64(&rc->attempts, sizeof(rc->attempts), h);
}

static const struct resolver_conf *resolver_conf_of(const struct config *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->nresolvers; i++)
		if (strcmp(cfg->resolvers[i].name, name) == 0)
			return &cfg->resolvers[i];
	return NULL;
}

static bool same_name(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The resolver NAME (NULL: the system's) as CFG sets it up. */
static struct resolver_ref *resolver_for(struct discovery *d, const struct config *cfg,
					 const char *name)
{
	const struct resolver_conf *rc = resolver_conf_of(cfg, name);
	uint64_t fp = fingerprint(rc);
	struct resolver_ref *ref;
	char err[256] = "out of memory";

	for (ref = d->resolvers; ref; ref = ref->next)
		if (same_name(ref->name, name) && ref->fingerprint == fp)
			return ref;
	struct resolver_options o = { 0 };
	if (rc)
		o = (struct resolver_options){ .nameservers = rc->nameservers,
					       .nnameservers = rc->nnameservers,
					       .timeout_ms = rc->timeout_ms,
					       .attempts = rc->attempts };
	if (!(ref = calloc(1, sizeof(*ref))) || (name && !(ref->name = strdup(name))) ||
	    !(ref->r = resolver_new(d->base, &o, err, sizeof(err)))) {
		log_error("discovery: resolver %s: %s", name ? name : "(system)", err);
		if (ref)
			free(ref->name);
		free(ref);
		return NULL;
	}
	ref->fingerprint = fp;
	ref->next = d->resolvers;
	d->resolvers = ref;
	return ref;
}

/* --- following ------------------------------------------------------------- */

static bool same_conf(const struct discovery_conf *a, const struct discovery_conf *b)
{
	return strcmp(a->dns, b->dns) == 0 && a->port == b->port &&
	       same_name(a->resolver, b->resolver) && a->refresh_ms == b->refresh_ms &&
	       a->hold_ms == b->hold_ms && a->empty_after_ms == b->empty_after_ms;
}

/* What one follower follows: POOL's discovery (SERVER NULL), or the
 * server SERVER of its file, written WRITTEN. */
struct target {
	const char *pool;
	const char *server;
	const char *written;
	struct discovery_conf conf;
};

/* The follower of POOL's discovery (SERVER NULL) or of its server SERVER. */
static struct followed *find(const struct discovery *d, const char *pool, const char *server)
{
	for (struct followed *f = d->pools; f; f = f->next)
		if (strcmp(f->pool, pool) == 0 && same_name(f->server, server))
			return f;
	return NULL;
}

/* F is followed no more: its members go, and it with them. A server of the
 * file has no member to remove: it is the file's, and goes with it. */
static void unfollow(struct followed *f)
{
	for (size_t i = 0; !f->server && i < f->st.n; i++)
		f->d->ops->removed(f->d->arg, f->pool, f->st.members[i].identity);
	followed_free(f);
}

static struct followed *follow(struct discovery *d, const struct target *t, struct query *q)
{
	struct followed *f = calloc(1, sizeof(*f));

	if (!f || !(f->pool = strdup(t->pool)) || !(f->conf.dns = strdup(t->conf.dns)) ||
	    (t->conf.resolver && !(f->conf.resolver = strdup(t->conf.resolver))) ||
	    (t->server &&
	     (!(f->server = strdup(t->server)) || !(f->written = strdup(t->written)))) ||
	    !(f->hold_timer = evtimer_new(d->base, on_hold_timer, f))) {
		if (f)
			followed_free(f);
		return NULL;
	}
	char *dns = f->conf.dns, *resolver = f->conf.resolver;
	f->conf = t->conf;
	f->conf.dns = dns;
	f->conf.resolver = resolver;
	f->rules = (struct discovery_rules){ .hold_ms = t->conf.hold_ms,
					     .empty_after_ms = t->conf.empty_after_ms,
					     .srv = t->conf.srv,
					     .identity = f->server };
	f->d = d;
	f->q = q;
	return f;
}

/* T under its new settings: F (NULL for a target new to discovery) makes
 * way for a new follower of query Q. Returns the new one, or NULL when out
 * of memory (F then follows on as before). */
static struct followed *refollow(struct discovery *d, const struct target *t, struct followed *f,
				 struct query *q)
{
	struct followed *nf = q ? follow(d, t, q) : NULL;

	if (!nf)
		return NULL;
	/* A server starts afresh: its first answer is told whatever it says,
	 * as the owner may have let go of the address it had. */
	if (f && !f->server) {
		/* The servers found so far stay until the first answer under
		 * the new settings, applied as any other (a missing one is
		 * held, then drains). */
		nf->st = f->st;
		f->st = (struct discovery_state){ 0 };
		arm_hold(nf);
	}
	if (!q->in_flight)
		q->next_lookup_ms = 0; /* asked now, for the new follower */
	return nf;
}

/* The queries and resolvers no pool uses any more go. A query with a
 * lookup under way is freed by its answer (cancelled when its resolver
 * goes). */
static void prune(struct discovery *d)
{
	for (struct query **qp = &d->queries; *qp;) {
		struct query *q = *qp;
		bool used = false;
		for (struct followed *f = d->pools; f && !used; f = f->next)
			used = f->q == q;
		if (used) {
			qp = &q->next;
			continue;
		}
		*qp = q->next;
		evtimer_del(q->timer);
		if (q->in_flight)
			q->dead = true;
		else
			query_free(q);
	}
	for (struct resolver_ref **rp = &d->resolvers; *rp;) {
		struct resolver_ref *r = *rp;
		bool used = false;
		for (struct query *q = d->queries; q && !used; q = q->next)
			used = q->res == r;
		if (used) {
			rp = &r->next;
			continue;
		}
		*rp = r->next;
		resolver_free(r->r);
		free(r->name);
		free(r);
	}
}

/* The resolver of a lookup that names none: RESOLVER_DEFAULT, when CFG
 * has it, else the system's (NULL). */
static const char *default_resolver(const struct config *cfg)
{
	return resolver_conf_of(cfg, RESOLVER_DEFAULT) ? RESOLVER_DEFAULT : NULL;
}

/* Follow T under CFG; a new follower goes on KEPT. Returns -1 when out of
 * memory (the follower T had, if any, follows on as before). */
static int follow_target(struct discovery *d, const struct config *cfg, const struct target *t,
			 struct followed **kept)
{
	const char *rname = t->conf.resolver ? t->conf.resolver : default_resolver(cfg);
	struct resolver_ref *res = resolver_for(d, cfg, rname);
	struct query *q = res ? query_for(d, res, t->conf.dns,
					  t->conf.srv ? 0 : (uint16_t)t->conf.port) :
				NULL;
	struct followed *f = find(d, t->pool, t->server);

	if (f && same_conf(&f->conf, &t->conf) && same_name(f->written, t->written) && f->q == q) {
		f->used = true;
		return 0;
	}
	struct followed *nf = refollow(d, t, f, q);
	if (!nf) {
		log_error("pool %s: %s %s cannot be followed: out of memory", t->pool,
			  t->server ? "server" : "discovery of",
			  t->server ? t->server : t->conf.dns);
		if (f)
			f->used = true; /* followed as before */
		return -1;
	}
	nf->used = true;
	nf->next = *kept;
	*kept = nf;
	return 0;
}

/* S, a server of P's file, as a target, when lbd follows its name. */
static bool server_target(const struct pool_conf *p, const struct server_conf *s, char *host,
			  size_t len, struct target *t)
{
	unsigned port;

	if (!config_server_followed(s, host, len, &port))
		return false;
	*t = (struct target){ .pool = p->name,
			      .server = s->name,
			      .written = s->addr.text,
			      .conf = { .enabled = true,
					.dns = host,
					.port = port,
					.refresh_ms = DISCOVERY_REFRESH_DEFAULT_MS,
					.hold_ms = UINT64_MAX,
					.empty_after_ms = UINT64_MAX } };
	return true;
}

int discovery_follow(struct discovery *d, const struct config *cfg)
{
	struct followed *kept = NULL, *next;
	char host[ADDR_TEXT_MAX];
	struct target t;
	int rc = 0;

	for (struct followed *f = d->pools; f; f = f->next)
		f->used = false;
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_conf *p = &cfg->pools[i];
		t = (struct target){ .pool = p->name, .conf = p->discovery };
		if (p->discovery.enabled && follow_target(d, cfg, &t, &kept) < 0)
			rc = -1;
		for (size_t j = 0; j < p->nservers; j++)
			if (server_target(p, &p->servers[j], host, sizeof(host), &t) &&
			    follow_target(d, cfg, &t, &kept) < 0)
				rc = -1;
	}
	/* What is not followed any more goes; the new queries start now. */
	for (struct followed *f = d->pools; f; f = next) {
		next = f->next;
		if (f->used) {
			f->next = kept;
			kept = f;
		} else {
			unfollow(f);
		}
	}
	d->pools = kept;
	prune(d);
	for (struct query *q = d->queries; q; q = q->next)
		if (!q->in_flight && (!q->next_lookup_ms || !evtimer_pending(q->timer, NULL)))
			lookup(q);
	return rc;
}

struct discovery *discovery_new(struct event_base *base, const struct discovery_ops *ops, void *arg)
{
	struct discovery *d = calloc(1, sizeof(*d));

	if (d)
		*d = (struct discovery){ .base = base, .ops = ops, .arg = arg };
	return d;
}

void discovery_free(struct discovery *d)
{
	if (!d)
		return;
	while (d->pools) {
		struct followed *f = d->pools;
		d->pools = f->next;
		followed_free(f);
	}
	prune(d); /* every query and resolver, as no pool is left */
	free(d);
}

void discovery_each(const struct discovery *d, discovery_each_fn *fn, void *arg)
{
	for (const struct followed *f = d ? d->pools : NULL; f; f = f->next)
		for (size_t i = 0; !f->server && i < f->st.n; i++)
			fn(arg, f->pool, &f->st.members[i]);
}

static int by_identity(const void *a, const void *b)
{
	return strcmp(((const struct discovered *)a)->identity,
		      ((const struct discovered *)b)->identity);
}

int discovery_seed(struct discovery *d, const char *pool, const struct discovered *m, size_t n)
{
	struct followed *f = find(d, pool, NULL);

	if (!f || f->st.answered || f->st.n || n == 0 || n > DISCOVERY_MAX_MEMBERS)
		return 0;
	struct discovered *copy = calloc(n, sizeof(*copy));
	if (!copy)
		return -1;
	memcpy(copy, m, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), by_identity);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && strcmp(copy[k - 1].identity, copy[i].identity) == 0)
			continue; /* told twice: once is enough */
		copy[k] = copy[i];
		copy[k].missing = false;
		copy[k++].missing_since_ms = 0;
	}
	f->st.members = copy;
	f->st.n = k;
	f->st.answered = true;
	for (size_t i = 0; i < k; i++)
		on_change(f, &copy[i], MEMBER_ADDED);
	return 0;
}

uint64_t discovery_pool_stale_ms(const struct discovery *d, const char *pool)
{
	const struct followed *f = d ? find(d, pool, NULL) : NULL;

	if (!f || !f->st.stale)
		return 0;
	/* Since the last answer; before the first, since the first failure. */
	return f->q->last_answer_ms ? now_ms() - f->q->last_answer_ms :
				      discovery_stale_ms(&f->st, now_ms());
}
