/* discovery.c — following DNS for the pools that ask for it
 * (discovery.h).
 *
 * Each pool has its own schedule: a lookup of its name, then the next one
 * after refresh (sooner when an A/AAAA TTL says so, never under a second,
 * with jitter so that instances and pools do not ask in step), or after a
 * back-off when the resolver failed. Between answers a timer ends the
 * hold of members a valid answer stopped naming. A resolver that fails
 * changes nothing: the last answer stands (members.h).
 */
#include "discovery/discovery.h"

#include <event2/event.h>
#include <stdbool.h>
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

struct followed {
	struct followed *next;
	struct discovery *d;
	char *pool;
	struct discovery_conf conf; /* dns and resolver owned */
	struct discovery_rules rules;
	struct discovery_state st;
	struct resolver_ref *res;
	struct event *timer;
	uint64_t seed;           /* for the jitter */
	uint64_t next_lookup_ms; /* monotonic */
	uint64_t last_answer_ms; /* 0: none yet */
	unsigned failures;       /* in a row */
	bool in_flight;
	bool dead; /* freed when its lookup comes back */
	bool used;
};

struct discovery {
	struct event_base *base;
	const struct discovery_ops *ops;
	void *arg;
	struct followed *pools;
	struct resolver_ref *resolvers;
};

static uint64_t now_ms(void)
{
	return monotonic_us() / 1000;
}

/* The timer for whichever comes first: the next lookup, or the end of a
 * member's hold. */
static void arm(struct followed *f)
{
	struct timeval tv;
	uint64_t now = now_ms(), at = f->next_lookup_ms;
	uint64_t hold = discovery_next_hold_end_ms(&f->st, &f->rules);

	if (hold && hold < at)
		at = hold;
	ms_to_timeval(at > now ? at - now : 0, &tv);
	evtimer_add(f->timer, &tv);
}

static void schedule(struct followed *f, uint64_t ms)
{
	f->next_lookup_ms = now_ms() + ms;
	arm(f);
}

static void on_change(void *arg, const struct discovered *m, enum member_change c)
{
	struct followed *f = arg;
	struct discovery *d = f->d;

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

static void followed_free(struct followed *f)
{
	if (f->timer)
		event_free(f->timer);
	discovery_state_free(&f->st);
	free(f->conf.dns);
	free(f->conf.resolver);
	free(f->pool);
	free(f);
}

static void on_answer(void *arg, const struct dns_answer *a)
{
	struct followed *f = arg;
	uint64_t now = now_ms();
	bool was_stale = f->st.stale;

	f->in_flight = false;
	if (f->dead) {
		followed_free(f);
		return;
	}
	if (a->status == DNS_CANCELLED)
		return; /* its resolver went with a reload: the next lookup uses the new one */
	if (discovery_apply(&f->st, &f->rules, a, now, on_change, f) < 0)
		log_error("pool %s: discovery of %s: out of memory; the answer is not applied",
			  f->pool, f->conf.dns);
	if (a->status == DNS_FAILED) {
		f->failures++;
		if (!was_stale)
			log_warn("pool %s: discovery of %s: the resolver failed (%s); the last "
				 "answer stands (%zu servers)",
				 f->pool, f->conf.dns, a->why ? a->why : "error", f->st.n);
		schedule(f, discovery_retry_ms(f->conf.refresh_ms, f->failures, f->seed++));
		return;
	}
	f->last_answer_ms = now;
	if (was_stale)
		log_info("pool %s: discovery of %s: the resolver answers again", f->pool,
			 f->conf.dns);
	if (a->status == DNS_EMPTY && f->st.empty_answers == 1)
		log_warn("pool %s: discovery of %s: %s; the servers stay until empty_after has "
			 "passed and a second answer agrees",
			 f->pool, f->conf.dns, a->why ? a->why : "no records");
	f->failures = 0;
	schedule(f,
		 discovery_next_refresh_ms(f->conf.refresh_ms, a->status == DNS_OK ? a->ttl_s : 0,
					   f->conf.srv, f->seed++));
}

static void lookup(struct followed *f)
{
	if (f->in_flight)
		return;
	f->in_flight = true;
	if (resolver_lookup(f->res->r, f->conf.dns, f->conf.srv ? 0 : (uint16_t)f->conf.port,
			    on_answer, f) < 0) {
		f->in_flight = false;
		log_error("pool %s: discovery of %s: out of memory; trying again", f->pool,
			  f->conf.dns);
		schedule(f, discovery_retry_ms(f->conf.refresh_ms, ++f->failures, f->seed++));
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct followed *f = arg;

	if (discovery_tick(&f->st, &f->rules, now_ms(), on_change, f) < 0)
		log_error("pool %s: discovery: out of memory ending a hold", f->pool);
	if (now_ms() >= f->next_lookup_ms)
		lookup(f);
	else
		arm(f); /* a hold ended: the lookup is still to come */
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
	char err[256];

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
		if (ref && !ref->r)
			log_error("discovery: resolver %s: %s", name ? name : "(system)",
				  ref ? err : "out of memory");
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

static struct followed *find(struct discovery *d, const char *pool)
{
	for (struct followed *f = d->pools; f; f = f->next)
		if (strcmp(f->pool, pool) == 0 && !f->dead)
			return f;
	return NULL;
}

/* F is followed no more: its members go, and it with them. */
static void unfollow(struct followed *f)
{
	for (size_t i = 0; i < f->st.n; i++)
		f->d->ops->removed(f->d->arg, f->pool, f->st.members[i].identity);
	evtimer_del(f->timer);
	if (f->in_flight)
		f->dead = true; /* freed when its lookup comes back */
	else
		followed_free(f);
}

static struct followed *follow(struct discovery *d, const struct pool_conf *p,
			       struct resolver_ref *res)
{
	struct followed *f = calloc(1, sizeof(*f));

	if (!f || !(f->pool = strdup(p->name)) || !(f->conf.dns = strdup(p->discovery.dns)) ||
	    (p->discovery.resolver && !(f->conf.resolver = strdup(p->discovery.resolver))) ||
	    !(f->timer = evtimer_new(d->base, on_timer, f))) {
		if (f)
			followed_free(f);
		return NULL;
	}
	char *dns = f->conf.dns, *resolver = f->conf.resolver;
	f->conf = p->discovery;
	f->conf.dns = dns;
	f->conf.resolver = resolver;
	f->rules = (struct discovery_rules){ .hold_ms = p->discovery.hold_ms,
					     .empty_after_ms = p->discovery.empty_after_ms,
					     .srv = p->discovery.srv };
	f->d = d;
	f->res = res;
	f->seed = hash64(p->name, strlen(p->name), (uint64_t)monotonic_us());
	f->next_lookup_ms = now_ms();
	return f;
}

int discovery_follow(struct discovery *d, const struct config *cfg)
{
	struct followed *kept = NULL, *next;
	int rc = 0;

	for (struct followed *f = d->pools; f; f = f->next)
		f->used = false;
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_conf *p = &cfg->pools[i];
		if (!p->discovery.enabled)
			continue;
		struct resolver_ref *res = resolver_for(d, cfg, p->discovery.resolver);
		struct followed *f = find(d, p->name);
		if (f && same_conf(&f->conf, &p->discovery) && f->res == res) {
			f->used = true;
			continue;
		}
		struct followed *nf = res ? follow(d, p, res) : NULL;
		if (!nf) {
			log_error("pool %s: discovery of %s cannot start: out of memory", p->name,
				  p->discovery.dns);
			rc = -1;
			if (f)
				f->used = true; /* keep following as before */
			continue;
		}
		if (f) {
			/* New settings: the servers found so far stay until the
			 * first answer under them, applied as any other (a missing
			 * one is held, then drains). */
			nf->st = f->st;
			nf->last_answer_ms = f->last_answer_ms;
			f->st = (struct discovery_state){ 0 };
		}
		nf->used = true;
		nf->next = kept;
		kept = nf;
	}
	/* What is not followed any more goes; the new ones start now. */
	for (struct followed *f = d->pools; f; f = next) {
		next = f->next;
		if (f->used) {
			f->next = kept;
			kept = f;
		} else if (!f->dead) {
			unfollow(f);
		}
	}
	d->pools = kept;
	for (struct followed *f = d->pools; f; f = f->next)
		if (!f->in_flight && !evtimer_pending(f->timer, NULL))
			lookup(f); /* the first one under these settings starts now */
	/* Resolvers no pool uses any more go (their lookups answer cancelled). */
	for (struct resolver_ref **rp = &d->resolvers; *rp;) {
		struct resolver_ref *r = *rp;
		bool used = false;
		for (struct followed *f = d->pools; f && !used; f = f->next)
			used = f->res == r;
		if (used) {
			rp = &r->next;
			continue;
		}
		*rp = r->next;
		resolver_free(r->r);
		free(r->name);
		free(r);
	}
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
	/* One with a lookup under way is freed by its answer, cancelled by
	 * resolver_free() below. */
	while (d->pools) {
		struct followed *f = d->pools;
		d->pools = f->next;
		if (f->in_flight)
			f->dead = true;
		else
			followed_free(f);
	}
	while (d->resolvers) {
		struct resolver_ref *r = d->resolvers;
		d->resolvers = r->next;
		resolver_free(r->r);
		free(r->name);
		free(r);
	}
	free(d);
}

uint64_t discovery_pool_stale_ms(const struct discovery *d, const char *pool)
{
	for (const struct followed *f = d ? d->pools : NULL; f; f = f->next) {
		if (f->dead || strcmp(f->pool, pool) != 0 || !f->st.stale)
			continue;
		/* Since the last answer; before the first, since the first failure. */
		return f->last_answer_ms ? now_ms() - f->last_answer_ms :
					   discovery_stale_ms(&f->st, now_ms());
	}
	return 0;
}
