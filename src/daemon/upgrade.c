/* upgrade.c — the old process's side of a binary upgrade (daemon.h:
 * daemon_upgrade; the new process's side is handover.c).
 *
 * lbd starts the new binary as its own child, with the same arguments and
 * one end of a SOCK_SEQPACKET pair, and goes on serving. The new process
 * loads and checks its configuration, then says HELLO; the old one sends
 * every listening socket with its address and bind lock, the admin
 * sockets and the runtime state (server state, health and when it last
 * changed, slow starts, TLS ticket secret, rate limit and retry budgets,
 * the generation), then END. The new process adopts the sockets (by
 * address, as a reload does), opens what is new, starts its workers and
 * says READY. Only then does the old one tell systemd the new main pid,
 * stop accepting (closing its copies of the sockets, which stay open in
 * the new process: no listening socket is ever closed) and drain.
 *
 * A new process that fails (a bad configuration, a binary that exits at
 * once, one that never says READY within UPGRADE_TIMEOUT_MS) changes
 * nothing: the old one goes on serving and the caller hears why.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balance/balance.h"
#include "config/config.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/rate_limit.h"
#include "core/retry_budget.h"
#include "core/runtime.h"
#include "daemon/admin.h"
#include "daemon/daemon_private.h"
#include "daemon/handover.h"
#include "daemon/membership.h"
#include "daemon/slow_start.h"
#include "daemon/state_file.h"
#include "discovery/discovery.h"
#include "tls/tls_tickets.h"
#include "util/clock.h"

extern char **environ;

/* From the start of the new process to its READY. */
#define UPGRADE_TIMEOUT_MS 30000
/* How long a new process that closed its end may take to exit. */
#define UPGRADE_REAP_MS 2000
#define UPGRADE_REAP_STEP_MS 10

struct upgrade {
	struct daemon *d;
	pid_t pid;
	int sock;
	struct event *read_ev;
	struct event *timer; /* the deadline, then the wait for the exit */
	upgrade_done_fn done;
	void *arg;
	char binary[1024];
	char why[HANDOVER_TEXT_MAX + 128]; /* what the new process said */
	bool closed;                       /* it closed its end */
	unsigned reap_waits;
	struct handover_msg msg;
};

static void ms_timeval(unsigned ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

static void upgrade_free(struct upgrade *u)
{
	if (u->read_ev)
		event_free(u->read_ev);
	if (u->timer)
		event_free(u->timer);
	if (u->sock >= 0)
		close(u->sock);
	u->d->upgrade = NULL;
	free(u);
}

static void fail(struct upgrade *u, const char *why)
{
	struct upgrade_result r = { .ok = false, .why = why };

	log_error("upgrade to %s failed: %s; this lbd (pid %ld) goes on serving", u->binary, why,
		  (long)getpid());
	if (u->done)
		u->done(u->arg, &r);
	upgrade_free(u);
}

/* --- what the old process sends ---------------------------------------------- */

static int send_socket(struct upgrade *u, enum handover_socket_kind kind, const char *addr,
		       bool per_worker, const int *fds, unsigned total, int lock_fd, char *err,
		       size_t errlen)
{
	struct handover_msg *m = &u->msg;
	int attach[HANDOVER_FDS_MAX + 1];

	for (unsigned first = 0; first < total; first += HANDOVER_FDS_MAX) {
		unsigned n = total - first < HANDOVER_FDS_MAX ? total - first : HANDOVER_FDS_MAX;
		memset(m, 0, sizeof(*m));
		*m = (struct handover_msg){ .type = HANDOVER_SOCKET,
					    .kind = kind,
					    .per_worker = per_worker,
					    .has_lock = first == 0 && lock_fd >= 0,
					    .total = (uint16_t)total,
					    .first = (uint16_t)first,
					    .nsockets = (uint16_t)n };
		snprintf(m->text, sizeof(m->text), "%s", addr);
		memcpy(attach, fds + first, n * sizeof(int));
		if (m->has_lock)
			attach[n] = lock_fd;
		if (handover_send(u->sock, m, attach, n + (m->has_lock ? 1 : 0), err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int send_sockets(struct upgrade *u, char *err, size_t errlen)
{
	const struct bind_table *t = &u->d->binds;
	const struct lbd_addr *addr[HANDOVER_SOCKET_KINDS];
	int fd[HANDOVER_SOCKET_KINDS];

	for (size_t i = 0; i < t->n; i++) {
		const struct bind_socket *b = &t->items[i];
		if (send_socket(u, HANDOVER_BIND, b->addr.text, b->per_worker, b->fds,
				b->per_worker ? t->nworkers : 1, b->lock_fd, err, errlen) < 0)
			return -1;
	}
	admin_sockets(u->d->admin, fd, addr);
	for (int k = 0; k < HANDOVER_SOCKET_KINDS; k++)
		if (fd[k] >= 0 && send_socket(u, (enum handover_socket_kind)k, addr[k]->text, false,
					      &fd[k], 1, -1, err, errlen) < 0)
			return -1;
	return 0;
}

static int send_state(struct upgrade *u, const char *key, const char *value, char *err,
		      size_t errlen)
{
	struct handover_msg *m = &u->msg;

	memset(m, 0, sizeof(*m));
	m->type = HANDOVER_STATE;
	snprintf(m->key, sizeof(m->key), "%s", key);
	snprintf(m->text, sizeof(m->text), "%s", value);
	return handover_send(u->sock, m, NULL, 0, err, errlen);
}

/* When the checks last moved RT's server, if they ever did. */
static int send_changed(struct upgrade *u, const struct server_rt *rt, char *err, size_t errlen)
{
	struct handover_changed c;
	char line[sizeof(c.pool) + sizeof(c.name) + 32];

	memset(&c, 0, sizeof(c));
	c.changed_ms = atomic_load(&rt->health.changed_ms);
	if (!c.changed_ms)
		return 0;
	snprintf(c.pool, sizeof(c.pool), "%s", rt->pool_name);
	snprintf(c.name, sizeof(c.name), "%s", rt->server_name);
	if (handover_changed_format(&c, line, sizeof(line)) < 0)
		return 0;
	return send_state(u, "health_changed", line, err, errlen);
}

/* RT's slow start, in a pool that has it. */
static int send_ramp(struct upgrade *u, const struct server_rt *rt, char *err, size_t errlen)
{
	struct handover_ramp r;
	char line[sizeof(r.pool) + sizeof(r.name) + 48];

	memset(&r, 0, sizeof(r));
	snprintf(r.pool, sizeof(r.pool), "%s", rt->pool_name);
	snprintf(r.name, sizeof(r.name), "%s", rt->server_name);
	r.permille = atomic_load(&rt->ramp_permille);
	r.since_ms = slow_start_since(u->d->slow_start, rt);
	if (handover_ramp_format(&r, line, sizeof(line)) < 0)
		return 0;
	return send_state(u, "slow_start", line, err, errlen);
}

/* Admin state, weight override and active health of every server of the
 * newest generation (runtime members and found ones included). */
static int send_servers(struct upgrade *u, char *err, size_t errlen)
{
	const struct config *cfg = u->d->cfg;
	struct handover_server s;
	char line[sizeof(s.pool) + sizeof(s.name) + 64];

	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_members *pm = balance_members(&cfg->pools[i]);
		for (size_t j = 0; j < pm->n; j++) {
			const struct server_rt *rt = pm->servers[j]->rt;
			memset(&s, 0, sizeof(s));
			snprintf(s.pool, sizeof(s.pool), "%s", rt->pool_name);
			snprintf(s.name, sizeof(s.name), "%s", rt->server_name);
			s.state = atomic_load(&rt->state);
			s.weight = atomic_load(&rt->weight_override);
			s.checked = atomic_load(&rt->health.checked);
			s.down = atomic_load(&rt->health.down);
			s.ok_run = atomic_load(&rt->health.ok_run);
			s.fail_run = atomic_load(&rt->health.fail_run);
			s.passive_until_ms = atomic_load(&rt->health.passive_until_ms);
			if (handover_server_format(&s, line, sizeof(line)) == 0 &&
			    send_state(u, "server", line, err, errlen) < 0)
				return -1;
			if (send_changed(u, rt, err, errlen) < 0 ||
			    (cfg->pools[i].slow_start_ms && send_ramp(u, rt, err, errlen) < 0))
				return -1;
		}
	}
	return 0;
}

/* What each pool's retry budget has spent, for the pools that spent some. */
static int send_retry_budgets(struct upgrade *u, char *err, size_t errlen)
{
	const struct config *cfg = u->d->cfg;
	struct handover_budget b;
	char line[sizeof(b.pool) + 32];

	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_rt *rt = cfg->pools[i].rt;
		memset(&b, 0, sizeof(b));
		snprintf(b.pool, sizeof(b.pool), "%s", rt->name);
		b.spent = retry_budget_spent(&rt->retry_budget);
		if (b.spent && handover_budget_format(&b, line, sizeof(line)) == 0 &&
		    send_state(u, "retry_budget", line, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The servers the admin API added, when no global.state_file brings them
 * back to the new process. */
static int send_members(struct upgrade *u, char *err, size_t errlen)
{
	struct handover_member mb;
	char line[sizeof(mb.pool) + sizeof(mb.name) + sizeof(mb.address) + 32];
	size_t n;
	int rc = 0;

	if (u->d->cfg->global.state_file)
		return 0;
	struct state_entry *e = membership_export(u->d->membership, &n);
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		memset(&mb, 0, sizeof(mb));
		snprintf(mb.pool, sizeof(mb.pool), "%s", e[i].pool);
		snprintf(mb.name, sizeof(mb.name), "%s", e[i].name);
		snprintf(mb.address, sizeof(mb.address), "%s", e[i].address);
		mb.weight = e[i].weight;
		mb.backup = e[i].backup;
		if (handover_member_format(&mb, line, sizeof(line)) == 0)
			rc = send_state(u, "member", line, err, errlen);
	}
	free(e);
	return rc;
}

struct found_sender {
	struct upgrade *u;
	char *err;
	size_t errlen;
	int rc;
};

static void send_found(void *arg, const char *pool, const struct discovered *m)
{
	struct found_sender *fs = arg;
	struct handover_found f;
	char line[sizeof(f.pool) + sizeof(f.identity) + sizeof(f.address) + 8];

	if (fs->rc < 0)
		return;
	memset(&f, 0, sizeof(f));
	snprintf(f.pool, sizeof(f.pool), "%s", pool);
	snprintf(f.identity, sizeof(f.identity), "%s", m->identity);
	snprintf(f.address, sizeof(f.address), "%s", m->addr.text);
	if (handover_found_format(&f, line, sizeof(line)) == 0)
		fs->rc = send_state(fs->u, "found", line, fs->err, fs->errlen);
}

/* Rate limit budgets, HANDOVER_SLOTS_MAX slots a message. */
struct rate_sender {
	struct upgrade *u;
	struct handover_rate r;
	char *err;
	size_t errlen;
	int rc;
};

static void flush_rate(struct rate_sender *rs)
{
	static char line[HANDOVER_TEXT_MAX];

	if (rs->rc == 0 && rs->r.n && handover_rate_format(&rs->r, line, sizeof(line)) == 0)
		rs->rc = send_state(rs->u, "rate_limit", line, rs->err, rs->errlen);
	rs->r.n = 0;
}

static void send_slot(void *arg, uint32_t index, uint64_t tag, uint64_t tat)
{
	struct rate_sender *rs = arg;

	rs->r.slots[rs->r.n++] = (struct handover_slot){ index, tag, tat };
	if (rs->r.n == HANDOVER_SLOTS_MAX)
		flush_rate(rs);
}

static int send_rate_limits(struct upgrade *u, char *err, size_t errlen)
{
	const struct config *cfg = u->d->cfg;
	struct rate_sender *rs = calloc(1, sizeof(*rs));
	uint64_t now = monotonic_ns();

	if (!rs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*rs = (struct rate_sender){ .u = u, .err = err, .errlen = errlen };
	for (size_t i = 0; i < cfg->nlisteners && rs->rc == 0; i++)
		for (size_t j = 0; j < cfg->listeners[i].nroutes && rs->rc == 0; j++) {
			const struct rate_limit_rt *rl = cfg->listeners[i].routes[j].limiter;
			if (!rl)
				continue;
			rs->r.id = handover_rate_id(rl->identity);
			rs->r.seed = rl->table->seed;
			rate_limit_export(rl->table, now, send_slot, rs);
			flush_rate(rs);
		}
	int rc = rs->rc;
	free(rs);
	return rc;
}

static int send_everything(struct upgrade *u, char *err, size_t errlen)
{
	unsigned char secret[TLS_TICKET_SECRET_LEN];
	char text[2 * TLS_TICKET_SECRET_LEN + 1];
	struct handover_msg end = { .type = HANDOVER_END };

	if (send_sockets(u, err, errlen) < 0)
		return -1;
	snprintf(text, sizeof(text), "%llu", (unsigned long long)u->d->cfg->generation);
	if (send_state(u, "generation", text, err, errlen) < 0)
		return -1;
	if (tls_tickets_export(secret) == 0) {
		for (size_t i = 0; i < sizeof(secret); i++)
			snprintf(text + 2 * i, 3, "%02x", secret[i]);
		if (send_state(u, "tickets", text, err, errlen) < 0)
			return -1;
	}
	struct found_sender fs = { .u = u, .err = err, .errlen = errlen };
	if (send_servers(u, err, errlen) < 0 || send_members(u, err, errlen) < 0 ||
	    send_rate_limits(u, err, errlen) < 0 || send_retry_budgets(u, err, errlen) < 0)
		return -1;
	discovery_each(u->d->discovery, send_found, &fs);
	if (fs.rc < 0)
		return -1;
	return handover_send(u->sock, &end, NULL, 0, err, errlen);
}

/* --- the new process serves ------------------------------------------------- */

static void succeed(struct upgrade *u)
{
	struct daemon *d = u->d;
	struct upgrade_result r = { .ok = true,
				    .pid = (long)u->pid,
				    .generation = d->cfg->generation + 1 };
	char msg[160];

	/* Under NotifyAccess=main only the main process is heard: the old
	 * one names its successor, which speaks for itself from then on. */
	snprintf(msg, sizeof(msg), "MAINPID=%ld\nREADY=1\nSTATUS=upgraded: pid %ld serves",
		 (long)u->pid, (long)u->pid);
	notify_send(msg);
	log_info("upgrade: pid %ld (%s) serves; handing over and draining", (long)u->pid,
		 u->binary);
	if (u->done)
		u->done(u->arg, &r);
	admin_retire(d->admin);
	d->binds.keep_files = true;
	daemon_retire(d, "upgrade");
	upgrade_free(u);
}

/* --- the exchange ------------------------------------------------------------ */

/* Why a new process that closed its end did not serve, once it exited. */
static void report_exit(struct upgrade *u, int status)
{
	char why[sizeof(u->why) + 96];

	if (u->why[0])
		snprintf(why, sizeof(why), "%s", u->why);
	else if (WIFEXITED(status))
		snprintf(why, sizeof(why), "%s (pid %ld) exited with status %d before it served",
			 u->binary, (long)u->pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "%s (pid %ld) was killed by signal %d before it served",
			 u->binary, (long)u->pid, WTERMSIG(status));
	else
		snprintf(why, sizeof(why), "%s (pid %ld) ended before it served", u->binary,
			 (long)u->pid);
	fail(u, why);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct upgrade *u = arg;
	struct timeval tv;
	int status = 0;
	pid_t got = waitpid(u->pid, &status, WNOHANG);

	if (got == u->pid || (got < 0 && errno == ECHILD)) {
		report_exit(u, got == u->pid ? status : 0);
		return;
	}
	if (!u->closed || ++u->reap_waits * UPGRADE_REAP_STEP_MS >= UPGRADE_REAP_MS) {
		/* Not ready in time, or alive without its end of the pair. */
		kill(u->pid, SIGKILL);
		waitpid(u->pid, &status, 0);
		if (!u->why[0])
			snprintf(u->why, sizeof(u->why),
				 "%s (pid %ld) did not serve within %d ms; it was stopped",
				 u->binary, (long)u->pid, UPGRADE_TIMEOUT_MS);
		report_exit(u, status);
		return;
	}
	ms_timeval(UPGRADE_REAP_STEP_MS, &tv);
	evtimer_add(u->timer, &tv);
}

/* The new process has closed its end: wait for its exit to say why. */
static void closed(struct upgrade *u)
{
	struct timeval tv = { 0, 0 };

	u->closed = true;
	event_del(u->read_ev);
	evtimer_add(u->timer, &tv);
}

static void on_message(evutil_socket_t fd, short what, void *arg)
{
	struct upgrade *u = arg;
	int fds[HANDOVER_FDS_MAX + 1];
	size_t nfds;
	char err[256];
	int got = handover_recv(u->sock, &u->msg, fds, HANDOVER_FDS_MAX + 1, &nfds, 0, err,
				sizeof(err));

	for (size_t i = 0; i < nfds; i++)
		close(fds[i]); /* the new process sends none */
	if (got < 0 && !u->why[0])
		snprintf(u->why, sizeof(u->why), "%s", err);
	if (got <= 0) {
		closed(u);
		return;
	}
	switch (u->msg.type) {
	case HANDOVER_HELLO:
		log_info("upgrade: pid %u loaded its configuration; handing over the sockets",
			 (unsigned)u->msg.pid);
		if (send_everything(u, err, sizeof(err)) < 0) {
			snprintf(u->why, sizeof(u->why), "%s", err);
			kill(u->pid, SIGKILL);
			closed(u);
		}
		break;
	case HANDOVER_READY:
		succeed(u);
		break;
	case HANDOVER_FAILED:
		snprintf(u->why, sizeof(u->why), "%.1000s (pid %ld): %.6000s", u->binary,
			 (long)u->pid, u->msg.text);
		break;
	default:
		snprintf(u->why, sizeof(u->why), "unexpected message from the new process");
		kill(u->pid, SIGKILL);
		closed(u);
	}
}

/* --- starting the new process ------------------------------------------------- */

/* The environment of the new process: lbd's, and where its end is. */
static char **child_env(int fd)
{
	size_t n = 0, k = 0;
	static char var[64];

	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], HANDOVER_FD_ENV "=", sizeof(HANDOVER_FD_ENV)) != 0)
			env[k++] = environ[i];
	snprintf(var, sizeof(var), HANDOVER_FD_ENV "=%d", fd);
	env[k] = var;
	return env;
}

static int spawn(struct upgrade *u, int child_end, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int target = child_end == 3 ? 4 : 3; /* dup2 onto itself would keep CLOEXEC */
	char **env = child_env(target);
	int rc;

	if (!env) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sigemptyset(&none);
	sigfillset(&defaults);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, child_end, target);
	/* Not every descriptor of a running lbd is close-on-exec (libevent
	 * connects to servers without it): the new process would hold the
	 * old one's connections open for good. It gets stdio and its end. */
	posix_spawn_file_actions_addclosefrom_np(&fa, target + 1);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	rc = posix_spawn(&u->pid, u->binary, &fa, &attr, u->d->argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start %.400s: %s", u->binary, strerror(rc));
		return -1;
	}
	return 0;
}

static int start(struct upgrade *u, char *err, size_t errlen)
{
	struct timeval tv = { 5, 0 };
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	u->sock = sp[0];
	/* Sends block, briefly: the new process reads them in a loop. */
	setsockopt(u->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc = spawn(u, sp[1], err, errlen);
	close(sp[1]);
	if (rc < 0)
		return -1;
	u->read_ev = event_new(u->d->base, u->sock, EV_READ | EV_PERSIST, on_message, u);
	u->timer = evtimer_new(u->d->base, on_timer, u);
	if (!u->read_ev || !u->timer) {
		snprintf(err, errlen, "out of memory");
		kill(u->pid, SIGKILL);
		waitpid(u->pid, NULL, 0);
		return -1;
	}
	event_add(u->read_ev, NULL);
	ms_timeval(UPGRADE_TIMEOUT_MS, &tv);
	evtimer_add(u->timer, &tv);
	return 0;
}

int daemon_upgrade(struct daemon *d, const char *binary, upgrade_done_fn done, void *arg,
		   const char **why)
{
	static char err[512];
	struct upgrade *u;

	if (d->stopping) {
		*why = "lbd is stopping";
		return -1;
	}
	if (d->upgrade) {
		*why = "an upgrade is already under way";
		return -1;
	}
	if (d->pending) {
		*why = "a reload is under way; try again when it ends";
		return -1;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		*why = "out of memory";
		return -1;
	}
	u->d = d;
	u->sock = -1;
	u->done = done;
	u->arg = arg;
	snprintf(u->binary, sizeof(u->binary), "%s", binary ? binary : d->exe);
	d->upgrade = u;
	if (start(u, err, sizeof(err)) < 0) {
		log_error("upgrade: %s", err);
		u->done = NULL;
		upgrade_free(u);
		*why = err;
		return -1;
	}
	log_info("upgrade: started %s as pid %ld", u->binary, (long)u->pid);
	return 0;
}

void daemon_upgrade_cancel(struct daemon *d)
{
	struct upgrade *u = d->upgrade;

	if (!u)
		return;
	kill(u->pid, SIGKILL);
	waitpid(u->pid, NULL, 0);
	fail(u, "lbd stopped before the new process served");
}
