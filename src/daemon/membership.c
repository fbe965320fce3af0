/* membership.c — the members of pools that come and go at run time
 * (membership.h), and the servers of the file whose names move
 * (static_names.h).
 *
 * Entries are immutable once published: a change (a weight, an address)
 * makes a new entry and publishes it; a removal publishes the entry marked
 * leaving (it takes no new request, status says draining), and once its
 * last request has ended, publishes the pool without it. An entry that is
 * no longer published is freed when no worker can still be reading the
 * snapshot it was in (grace period) and no request holds it (its server's
 * active count, which outlives it in the runtime state, is zero).
 */
#include "daemon/membership.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "config/config.h"
#include "core/log.h"
#include "core/runtime.h"
#include "daemon/daemon_private.h"
#include "daemon/health.h"
#include "daemon/slow_start.h"
#include "daemon/state_file.h"
#include "daemon/static_names.h"
#include "discovery/discovery.h"
#include "event/grace.h"
#include "util/addr.h"
#include "util/clock.h"

#define MEMBERSHIP_TICK_MS 250

struct member {
	struct member *next;
	char *pool;
	struct server_conf *srv; /* published; replaced whole on a change */
};

struct zombie {
	struct zombie *next;
	struct server_conf *srv;
	bool unseen; /* no snapshot a worker reads has it any more */
};

struct membership {
	struct daemon *d;
	struct member *members;
	struct zombie *zombies;
	struct event *tick;
	char *state_file;
	struct static_names *names; /* the file's servers at their names' addresses now */
};

/* --- entries -------------------------------------------------------------- */

static void entry_free(struct server_conf *srv)
{
	if (!srv)
		return;
	free(srv->name);
	free(srv);
}

static struct server_conf *entry_new(const char *pool, const char *name,
				     const struct lbd_addr *addr, uint32_t weight, bool backup,
				     enum server_origin origin)
{
	struct server_conf *srv = calloc(1, sizeof(*srv));

	if (!srv || !(srv->name = strdup(name))) {
		free(srv);
		return NULL;
	}
	srv->addr = *addr;
	srv->weight = weight;
	srv->backup = backup;
	srv->origin = origin;
	runtime_lock();
	srv->rt = runtime_server_get(pool, name);
	runtime_unlock();
	if (!srv->rt) {
		entry_free(srv);
		return NULL;
	}
	return srv;
}

static void zombie_unseen(void *arg)
{
	((struct zombie *)arg)->unseen = true;
}

static void arm(struct membership *ms)
{
	struct timeval tv;

	if (evtimer_pending(ms->tick, NULL))
		return;
	ms_to_timeval(MEMBERSHIP_TICK_MS, &tv);
	evtimer_add(ms->tick, &tv);
}

/* SRV is published no more: free it once no worker can reach it. */
static void bury(struct membership *ms, struct server_conf *srv)
{
	struct zombie *z = calloc(1, sizeof(*z));
	struct grace_item *item = grace_prepare();

	if (!z || !item) {
		/* Never free what a worker may read: keep it for good. */
		log_error("membership: out of memory: server %s is kept in memory", srv->name);
		free(z);
		free(item);
		return;
	}
	z->srv = srv;
	z->next = ms->zombies;
	ms->zombies = z;
	grace_retire(ms->d->grace, item, zombie_unseen, z);
	arm(ms);
}

static void bury_copy(void *arg, struct server_conf *copy)
{
	bury(arg, copy);
}

/* The members the admin API added (still there), as global.state_file
 * keeps them; the strings are the members'. NULL when out of memory. */
static struct state_entry *api_members(struct membership *ms, size_t *k)
{
	size_t n = 0;

	*k = 0;
	for (struct member *m = ms->members; m; m = m->next)
		n += m->srv->origin == ORIGIN_API;
	struct state_entry *e = calloc(n ? n : 1, sizeof(*e));
	if (!e)
		return NULL;
	for (struct member *m = ms->members; m; m = m->next) {
		if (m->srv->origin != ORIGIN_API || m->srv->leaving)
			continue;
		e[(*k)++] = (struct state_entry){ .pool = m->pool,
						  .name = m->srv->name,
						  .address = m->srv->addr.text,
						  .weight = m->srv->weight,
						  .backup = m->srv->backup };
	}
	return e;
}

struct state_entry *membership_export(struct membership *ms, size_t *n)
{
	return api_members(ms, n);
}

/* The members the admin API added, written to global.state_file. */
static int save(struct membership *ms, char *why, size_t len)
{
	size_t k;
	char err[256];

	if (!ms->state_file)
		return 0;
	struct state_entry *e = api_members(ms, &k);
	if (!e)
		return -1;
	int rc = state_file_save(ms->state_file, e, k, err, sizeof(err));
	free(e);
	if (rc < 0) {
		log_error("state file %s", err);
		if (why)
			snprintf(why, len, "the state file: %s", err);
	}
	return rc;
}

/* --- publishing ------------------------------------------------------------ */

static bool file_has(const struct pool_conf *p, const char *name)
{
	for (size_t i = 0; i < p->nservers; i++)
		if (strcmp(p->servers[i].name, name) == 0)
			return true;
	return false;
}

static int publish_pool(struct membership *ms, struct pool_conf *p, bool with_runtime)
{
	size_t n = p->nservers, k = 0;
	struct grace_item *item = grace_prepare();
	struct pool_members *old;

	for (struct member *m = ms->members; with_runtime && m; m = m->next)
		n += strcmp(m->pool, p->name) == 0 && !file_has(p, m->srv->name);
	struct server_conf **servers = calloc(n ? n : 1, sizeof(*servers));
	if (!item || !servers) {
		free(item);
		free(servers);
		return -1;
	}
	/* the file's servers, those written with a name where it is now */
	for (size_t i = 0; i < p->nservers; i++)
		servers[k++] = with_runtime ? static_names_entry(ms->names, p, &p->servers[i]) :
					      &p->servers[i];
	/* a name the file has is the file's (a generation being adopted) */
	for (struct member *m = ms->members; with_runtime && m; m = m->next)
		if (strcmp(m->pool, p->name) == 0 && !file_has(p, m->srv->name))
			servers[k++] = m->srv;
	int rc = balance_publish(p, servers, k, &old);
	if (rc == 0)
		static_names_published(ms->names, p, servers, k, bury_copy, ms);
	free(servers);
	if (rc < 0) {
		free(item);
		return -1;
	}
	grace_retire(ms->d->grace, item, pool_members_free, old);
	return 0;
}

/* POOL's runtime members, published where lbd serves them; the main
 * thread's readers (checks, slow start) follow. */
static int publish(struct membership *ms, const char *pool)
{
	struct daemon *d = ms->d;
	struct pool_conf *p;
	int rc = 0;

	if ((p = config_find_pool(d->cfg, pool)) != NULL)
		rc |= publish_pool(ms, p, true);
	if (d->pending && (p = config_find_pool(d->pending, pool)) != NULL)
		rc |= publish_pool(ms, p, true);
	if (d->health && health_apply(d->health, d->cfg) < 0)
		log_error("membership: out of memory: some servers are not health-checked");
	if (d->slow_start && slow_start_apply(d->slow_start, d->cfg) < 0)
		log_error("membership: out of memory: slow start does not follow the pool");
	return rc ? -1 : 0;
}

int membership_apply(struct membership *ms, struct config *cfg, struct config *old)
{
	int rc = 0;

	/* Once CFG serves: the file owns a name it now has; a member of a
	 * pool gone goes. */
	for (struct member **mp = old ? &ms->members : NULL; mp && *mp;) {
		struct member *m = *mp;
		struct pool_conf *p = config_find_pool(cfg, m->pool);
		if (p && !file_has(p, m->srv->name)) {
			mp = &m->next;
			continue;
		}
		log_info("pool %s: server %s: %s", m->pool, m->srv->name,
			 p ? "the file names it now: it is the file's" :
			     "its pool is gone with the reload");
		*mp = m->next;
		bury(ms, m->srv);
		free(m->pool);
		free(m);
	}
	for (size_t i = 0; i < cfg->npools; i++)
		rc |= publish_pool(ms, &cfg->pools[i], true);
	for (size_t i = 0; old && i < old->npools; i++)
		rc |= publish_pool(ms, &old->pools[i], false);
	if (old) /* only CFG publishes copies now */
		static_names_keep(ms->names, cfg, bury_copy, ms);
	if (old && save(ms, NULL, 0) < 0)
		log_error("membership: %s: the servers added at run time could not be saved",
			  ms->state_file);
	return rc ? -1 : 0;
}

void membership_forget(struct membership *ms, const struct config *cfg)
{
	for (size_t i = 0; i < cfg->npools; i++)
		static_names_published(ms->names, &cfg->pools[i], NULL, 0, bury_copy, ms);
}

/* --- the admin API's calls ------------------------------------------------- */

static struct member *find(struct membership *ms, const char *pool, const char *name)
{
	for (struct member *m = ms->members; m; m = m->next)
		if (strcmp(m->pool, pool) == 0 && strcmp(m->srv->name, name) == 0)
			return m;
	return NULL;
}

/* An IP address and port, or unix:/path: a name would be resolved on the
 * main loop, which never blocks (names are discovery's). */
static int parse_numeric(const char *text, struct lbd_addr *out, char *why, size_t len)
{
	const char *reason = NULL;

	if (!addr_is_numeric(text)) {
		snprintf(why, len,
			 "address: expected IP:PORT, [IPv6]:PORT or unix:/path (names are "
			 "discovery's: pools[].discovery)");
		return -1;
	}
	if (addr_parse(text, out, &reason) != 0) {
		snprintf(why, len, "address: expected %s", reason ? reason : "IP:PORT");
		return -1;
	}
	return 0;
}

static enum member_result check_spec(const struct member_spec *spec, bool adding, char *why,
				     size_t len)
{
	if (adding && (!spec->name || !*spec->name || strlen(spec->name) > CONFIG_NAME_MAX)) {
		snprintf(why, len, "name: expected 1 to %d characters", CONFIG_NAME_MAX);
		return MEMBER_BAD;
	}
	if (adding && !spec->address) {
		snprintf(why, len, "address: missing");
		return MEMBER_BAD;
	}
	if (spec->weight > CONFIG_WEIGHT_MAX) {
		snprintf(why, len, "weight: expected 0 to %d", CONFIG_WEIGHT_MAX);
		return MEMBER_BAD;
	}
	return MEMBER_OK;
}

static enum member_result add(struct membership *ms, const char *pool, const char *name,
			      const struct lbd_addr *addr, uint32_t weight, bool backup,
			      enum server_origin origin, char *why, size_t len)
{
	struct pool_conf *p = config_find_pool(ms->d->cfg, pool);
	struct member *m;

	if (!p) {
		snprintf(why, len, "no pool named %s", pool);
		return MEMBER_NO_POOL;
	}
	if (file_has(p, name) || find(ms, pool, name)) {
		snprintf(why, len, "pool %s has a server named %s already", pool, name);
		return MEMBER_EXISTS;
	}
	if (!(m = calloc(1, sizeof(*m))) || !(m->pool = strdup(pool)) ||
	    !(m->srv = entry_new(pool, name, addr, weight, backup, origin))) {
		if (m)
			free(m->pool);
		free(m);
		snprintf(why, len, "out of memory");
		return MEMBER_FAILED;
	}
	/* A new server takes its whole share at once unless its pool ramps. */
	atomic_store(&m->srv->rt->ramp_permille, p->slow_start_ms ? SLOW_START_FIRST : 0);
	m->next = ms->members;
	ms->members = m;
	return MEMBER_OK;
}

enum member_result membership_add(struct membership *ms, const char *pool,
				  const struct member_spec *spec, char *why, size_t len)
{
	struct lbd_addr addr;
	enum member_result r = check_spec(spec, true, why, len);

	if (r != MEMBER_OK)
		return r;
	if (parse_numeric(spec->address, &addr, why, len) < 0)
		return MEMBER_BAD;
	r = add(ms, pool, spec->name, &addr, spec->weight >= 0 ? (uint32_t)spec->weight : 1,
		spec->backup > 0, ORIGIN_API, why, len);
	if (r != MEMBER_OK)
		return r;
	if (save(ms, why, len) < 0) {
		struct member *m = ms->members; /* the one just added */
		ms->members = m->next;
		entry_free(m->srv);
		free(m->pool);
		free(m);
		return MEMBER_FAILED;
	}
	if (publish(ms, pool) < 0)
		log_error("pool %s: out of memory publishing server %s", pool, spec->name);
	log_info("pool %s: server %s (%s) added at run time", pool, spec->name, addr.text);
	return MEMBER_OK;
}

/* A member that cannot be changed: why, and the answer. */
static enum member_result not_changeable(struct membership *ms, const char *pool, const char *name,
					 struct member **out, char *why, size_t len)
{
	struct pool_conf *p = config_find_pool(ms->d->cfg, pool);

	*out = NULL;
	if (!p) {
		snprintf(why, len, "no pool named %s", pool);
		return MEMBER_NO_POOL;
	}
	if (file_has(p, name)) {
		snprintf(why, len, "server %s comes from the configuration file", name);
		return MEMBER_NOT_OWNER;
	}
	struct member *m = find(ms, pool, name);
	if (!m || m->srv->leaving) {
		snprintf(why, len, "pool %s has no server named %s", pool, name);
		return MEMBER_NOT_FOUND;
	}
	if (m->srv->origin != ORIGIN_API) {
		snprintf(why, len, "server %s comes from discovery", name);
		return MEMBER_NOT_OWNER;
	}
	*out = m;
	return MEMBER_OK;
}

enum member_result membership_set(struct membership *ms, const char *pool,
				  const struct member_spec *spec, char *why, size_t len)
{
	struct member *m;
	struct lbd_addr addr;
	enum member_result r = check_spec(spec, false, why, len);

	if (r != MEMBER_OK || (r = not_changeable(ms, pool, spec->name, &m, why, len)) != MEMBER_OK)
		return r;
	addr = m->srv->addr;
	if (spec->address && parse_numeric(spec->address, &addr, why, len) < 0)
		return MEMBER_BAD;
	struct server_conf *now = m->srv;
	struct server_conf *next =
		entry_new(pool, now->name, &addr,
			  spec->weight >= 0 ? (uint32_t)spec->weight : now->weight,
			  spec->backup >= 0 ? spec->backup > 0 : now->backup, ORIGIN_API);
	if (!next) {
		snprintf(why, len, "out of memory");
		return MEMBER_FAILED;
	}
	m->srv = next;
	if (save(ms, why, len) < 0) {
		m->srv = now;
		entry_free(next);
		return MEMBER_FAILED;
	}
	if (publish(ms, pool) < 0)
		log_error("pool %s: out of memory publishing server %s", pool, now->name);
	bury(ms, now);
	log_info("pool %s: server %s: weight %u, address %s (set at run time)", pool, next->name,
		 next->weight, next->addr.text);
	return MEMBER_OK;
}

enum member_result membership_remove(struct membership *ms, const char *pool, const char *name,
				     char *why, size_t len)
{
	struct member *m;
	enum member_result r = not_changeable(ms, pool, name, &m, why, len);

	if (r != MEMBER_OK)
		return r;
	struct server_conf *now = m->srv;
	struct server_conf *leaving = entry_new(pool, now->name, &now->addr, now->weight,
						now->backup, ORIGIN_API);
	if (!leaving) {
		snprintf(why, len, "out of memory");
		return MEMBER_FAILED;
	}
	leaving->leaving = true;
	m->srv = leaving;
	if (save(ms, why, len) < 0) {
		m->srv = now;
		entry_free(leaving);
		return MEMBER_FAILED;
	}
	if (publish(ms, pool) < 0)
		log_error("pool %s: out of memory publishing server %s", pool, name);
	bury(ms, now);
	arm(ms);
	log_info("pool %s: server %s removed at run time: it drains", pool, name);
	return MEMBER_OK;
}

/* --- discovery's calls ------------------------------------------------------ */

/* A found server IDENTITY of POOL at ADDR: a new member, or a new entry for
 * one that moved or that comes back while it drains. */
static void dns_found(void *arg, const char *pool, const char *identity,
		      const struct lbd_addr *addr)
{
	struct membership *ms = arg;
	struct pool_conf *p = config_find_pool(ms->d->cfg, pool);
	struct member *m = find(ms, pool, identity);
	char why[160];

	if (!p || file_has(p, identity))
		return; /* the file's own server of that name serves */
	if (m && m->srv->origin != ORIGIN_DNS) {
		log_warn("pool %s: discovery found %s, a name the admin API gave a server: "
			 "that one keeps it",
			 pool, identity);
		return;
	}
	if (!m) {
		if (add(ms, pool, identity, addr, 1, false, ORIGIN_DNS, why, sizeof(why)) !=
		    MEMBER_OK) {
			log_error("pool %s: discovered server %s not added: %s", pool, identity,
				  why);
			return;
		}
		log_info("pool %s: server %s (%s) found by discovery", pool, identity, addr->text);
	} else {
		struct server_conf *now = m->srv;
		struct server_conf *next = entry_new(pool, identity, addr, now->weight, now->backup,
						     ORIGIN_DNS);
		if (!next) {
			log_error("pool %s: discovered server %s: out of memory", pool, identity);
			return;
		}
		m->srv = next;
		bury(ms, now);
		log_info("pool %s: server %s %s (%s)", pool, identity,
			 now->leaving ? "is back in the answers" : "moved", addr->text);
	}
	if (publish(ms, pool) < 0)
		log_error("pool %s: out of memory publishing server %s", pool, identity);
}

static void dns_gone(void *arg, const char *pool, const char *identity)
{
	struct membership *ms = arg;
	struct member *m = find(ms, pool, identity);

	if (!m || m->srv->origin != ORIGIN_DNS || m->srv->leaving)
		return;
	struct server_conf *now = m->srv;
	struct server_conf *leaving = entry_new(pool, identity, &now->addr, now->weight,
						now->backup, ORIGIN_DNS);
	if (!leaving) {
		log_error("pool %s: server %s: out of memory; it stays", pool, identity);
		return;
	}
	leaving->leaving = true;
	m->srv = leaving;
	if (publish(ms, pool) < 0)
		log_error("pool %s: out of memory publishing server %s", pool, identity);
	bury(ms, now);
	arm(ms);
	log_info("pool %s: server %s is gone from discovery's answers: it drains", pool, identity);
}

static const struct server_conf *file_server(const struct pool_conf *p, const char *name)
{
	for (size_t i = 0; i < p->nservers; i++)
		if (strcmp(p->servers[i].name, name) == 0)
			return &p->servers[i];
	return NULL;
}

/* SERVER of POOL's file, written with a name, is at ADDR: the same server
 * (its runtime state goes on), published at the new address, as a moved
 * SRV target is; its pooled connections to the old one close once idle. */
static void dns_resolved(void *arg, const char *pool, const char *server,
			 const struct lbd_addr *addr)
{
	struct membership *ms = arg;
	struct pool_conf *p = config_find_pool(ms->d->cfg, pool);
	const struct server_conf *s = p ? file_server(p, server) : NULL;
	const struct lbd_addr *now = s ? static_names_addr(ms->names, pool, s) : NULL;

	if (!s || (now && addr_equal(now, addr)))
		return;
	if (static_names_set(ms->names, pool, s, addr) < 0) {
		log_error("pool %s: server %s: out of memory; it stays where it is", pool, server);
		return;
	}
	if (now)
		log_info("pool %s: server %s (%s) moved to %s", pool, server, s->addr.text,
			 addr->text);
	else
		log_info("pool %s: server %s: %s resolves now, to %s", pool, server, s->addr.text,
			 addr->text);
	if (publish(ms, pool) < 0)
		log_error("pool %s: out of memory publishing server %s", pool, server);
}

const struct discovery_ops membership_discovery_ops = {
	.added = dns_found,
	.moved = dns_found,
	.removed = dns_gone,
	.resolved = dns_resolved,
};

/* --- the tick: leaving members that drained, entries no one reads ---------- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct membership *ms = arg;
	bool again = false;

	for (struct member **mp = &ms->members; *mp;) {
		struct member *m = *mp;
		if (!m->srv->leaving) {
			mp = &m->next;
			continue;
		}
		if (atomic_load(&m->srv->rt->active) > 0) {
			again = true;
			mp = &m->next;
			continue;
		}
		*mp = m->next;
		log_info("pool %s: server %s drained: it is gone", m->pool, m->srv->name);
		/* its state goes with it: a server added later under the name
		 * starts afresh */
		runtime_server_forget(m->srv->rt);
		if (publish(ms, m->pool) < 0)
			log_error("pool %s: out of memory publishing its servers", m->pool);
		bury(ms, m->srv);
		free(m->pool);
		free(m);
	}
	for (struct zombie **zp = &ms->zombies; *zp;) {
		struct zombie *z = *zp;
		if (!z->unseen || atomic_load(&z->srv->rt->active) > 0) {
			again = true;
			zp = &z->next;
			continue;
		}
		*zp = z->next;
		entry_free(z->srv);
		free(z);
	}
	if (again)
		arm(ms);
}

struct membership *membership_new(struct daemon *d)
{
	struct membership *ms = calloc(1, sizeof(*ms));

	if (!ms)
		return NULL;
	ms->d = d;
	ms->tick = evtimer_new(d->base, on_tick, ms);
	ms->names = static_names_new();
	if (!ms->tick || !ms->names ||
	    (d->cfg->global.state_file && !(ms->state_file = strdup(d->cfg->global.state_file)))) {
		membership_free(ms);
		return NULL;
	}
	return ms;
}

/* At the end every worker has stopped: nothing reads an entry any more. */
void membership_free(struct membership *ms)
{
	if (!ms)
		return;
	while (ms->members) {
		struct member *m = ms->members;
		ms->members = m->next;
		entry_free(m->srv);
		free(m->pool);
		free(m);
	}
	while (ms->zombies) {
		struct zombie *z = ms->zombies;
		ms->zombies = z->next;
		entry_free(z->srv);
		free(z);
	}
	if (ms->tick)
		event_free(ms->tick);
	static_names_free(ms->names);
	free(ms->state_file);
	free(ms);
}

int membership_load(struct membership *ms, const char *path, char *err, size_t errlen)
{
	struct state_entry *e = NULL;
	size_t n = 0;
	char source[4096], why[512];

	if (state_file_load(path, &e, &n, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "state file %s", why);
		return -1;
	}
	snprintf(source, sizeof(source), "state file %s", path);
	int rc = membership_adopt(ms, e, n, source, err, errlen);
	state_file_free(e, n);
	return rc;
}

int membership_adopt(struct membership *ms, const struct state_entry *e, size_t n, const char *path,
		     char *err, size_t errlen)
{
	char why[256];

	for (size_t i = 0; i < n; i++) {
		struct lbd_addr addr;
		enum member_result r = MEMBER_BAD;
		if (parse_numeric(e[i].address, &addr, why, sizeof(why)) == 0)
			r = add(ms, e[i].pool, e[i].name, &addr, e[i].weight, e[i].backup,
				ORIGIN_API, why, sizeof(why));
		if (r == MEMBER_BAD || r == MEMBER_FAILED) {
			snprintf(err, errlen, "%s: server %s of pool %s: %s", path, e[i].name,
				 e[i].pool, why);
			return -1;
		}
		if (r != MEMBER_OK) /* its pool is gone, or the file names it now */
			log_warn("%s: server %s of pool %s left out: %s", path, e[i].name,
				 e[i].pool, why);
		else /* present when lbd starts: its whole share at once */
			atomic_store(&ms->members->srv->rt->ramp_permille, 0);
	}
	return 0;
}

/* --- daemon.h --------------------------------------------------------------- */

int daemon_member_add(struct daemon *d, const char *pool, const struct member_spec *spec, char *why,
		      size_t len)
{
	return membership_add(d->membership, pool, spec, why, len);
}

int daemon_member_set(struct daemon *d, const char *pool, const struct member_spec *spec, char *why,
		      size_t len)
{
	return membership_set(d->membership, pool, spec, why, len);
}

int daemon_member_remove(struct daemon *d, const char *pool, const char *name, char *why,
			 size_t len)
{
	return membership_remove(d->membership, pool, name, why, len);
}
