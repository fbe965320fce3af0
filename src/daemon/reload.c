/* reload.c — switching to a new configuration generation without dropping
 * a connection.
 *
 * The new file is read and validated completely, its runtime state bound
 * (by identity: health, counters and drain flags carry over) and its
 * listening sockets prepared (kept where the address stays, opened where it
 * is new) before anything changes. Then every worker adopts it: new
 * requests, including new requests on old keep-alive connections, use it;
 * requests in flight finish on the generation they started with, which is
 * freed when the last of them ends. When every worker has adopted it, the
 * sockets no longer bound are closed and the caller hears of it.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "config/config.h"
#include "config/config_runtime.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/runtime.h"
#include "daemon/daemon_private.h"
#include "daemon/handover.h"
#include "daemon/health.h"
#include "daemon/membership.h"
#include "daemon/slow_start.h"
#include "daemon/watch.h"
#include "discovery/discovery.h"

int daemon_prepare(const struct config *old, struct config *cfg, uint64_t generation)
{
	if (config_attach_runtime(cfg) < 0 || slow_start_join(old, cfg) < 0 ||
	    balance_build(cfg) < 0)
		return -1;
	config_publish(cfg, generation);
	return 0;
}

static int hand_out_listeners(struct daemon *d, struct config *cfg, bool adopt)
{
	for (unsigned w = 0; w < d->nworkers; w++) {
		struct listen_spec *specs;
		size_t n;
		int rc;
		if (binds_specs(&d->binds, w, &specs, &n) < 0)
			return -1;
		rc = adopt ? worker_adopt(&d->workers[w], cfg, specs, n) :
			     worker_set_listen(&d->workers[w], specs, n);
		free(specs);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int daemon_open_listeners(struct daemon *d)
{
	struct bind_table none = { 0 };
	/* After an upgrade, the old lbd's sockets are matched by address as a
	 * reload matches the previous generation's. */
	struct bind_table *old = d->inherit ? &d->inherit->binds : &none;

	if (binds_update(old, &d->binds, d->cfg, d->nworkers, d->start_error,
			 sizeof(d->start_error)) < 0) {
		log_error("%s", d->start_error);
		return -1;
	}
	return hand_out_listeners(d, d->cfg, false);
}

static void finish(struct daemon *d, bool ok, const char *errors)
{
	struct strbuf *warnings = &d->reload_warnings;
	struct reload_result result = {
		.ok = ok,
		.generation = d->cfg->generation,
		.errors = errors,
	};
	reload_done_fn done = d->reload_done;

	if (ok && warnings->len) {
		strbuf_add(warnings, "", 1); /* NUL-terminated for the caller */
		if (!strbuf_failed(warnings))
			result.warnings = warnings->data;
	}

	d->reload_done = NULL;
	if (ok)
		d->reloads_ok++;
	else
		d->reloads_rejected++;
	d->last_reload_rejected = !ok;
	notify_ready((unsigned long long)d->cfg->generation);
	if (done)
		done(d->reload_arg, &result);
	strbuf_free(warnings);
}

static uint64_t ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000 +
	       (uint64_t)((now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* A setting the reload cannot apply: in the log, and in the reload's
 * answer (lbctl reload prints it). */
static void reload_warn(struct daemon *d, const char *msg)
{
	log_warn("reload: %s", msg);
	if (d->reload_warnings.len)
		strbuf_adds(&d->reload_warnings, "\n");
	strbuf_adds(&d->reload_warnings, msg);
}

/* A weight set at run time holds across reloads until it is cleared: say
 * so where the file now asks for another. */
static void warn_runtime_weights(struct daemon *d, const struct config *cfg)
{
	char msg[CONFIG_NAME_MAX * 4 + 160];

	for (size_t i = 0; i < cfg->npools; i++) {
		for (size_t j = 0; j < cfg->pools[i].nservers; j++) {
			const struct server_conf *s = &cfg->pools[i].servers[j];
			int w = atomic_load(&s->rt->weight_override);
			if (w < 0 || (uint32_t)w == s->weight)
				continue;
			snprintf(
				msg, sizeof(msg),
				"pool %s: server %s: the weight %d set at run time stays (the file "
				"says %u; lbctl weight %s %s --reset takes the file's)",
				cfg->pools[i].name, s->name, w, s->weight, cfg->pools[i].name,
				s->name);
			reload_warn(d, msg);
		}
	}
}

/* A worker adopted the pending generation; the last one completes the
 * reload. */
static void on_adopted(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (!d->pending || atomic_load_explicit(&d->adoption.pending, memory_order_acquire) != 0)
		return;
	binds_release(&d->retired);
	if (config_forget_runtime(d->cfg, d->pending) < 0)
		log_error("reload: out of memory: servers removed keep their runtime settings");
	warn_runtime_weights(d, d->pending);
	/* the old generation keeps only its file's servers from now on */
	if (membership_apply(d->membership, d->pending, d->cfg) < 0)
		log_error("reload: out of memory publishing the servers added at run time");
	config_unref(d->cfg);
	d->cfg = d->pending;
	d->pending = NULL;
	if (discovery_follow(d->discovery, d->cfg) < 0)
		log_error("reload: out of memory: discovery does not follow every pool");
	if (health_apply(d->health, d->cfg) < 0)
		log_error("reload: out of memory: some servers are not health-checked");
	if (slow_start_apply(d->slow_start, d->cfg) < 0)
		log_error("reload: out of memory: slow start does not follow this generation");
	watch_apply(d->watch, d->cfg);
	log_info("reload: generation %llu serving (%llu ms), %u generation%s live",
		 (unsigned long long)d->cfg->generation,
		 (unsigned long long)ms_since(&d->reload_started), config_live_generations(),
		 config_live_generations() == 1 ? "" : "s");
	finish(d, true, NULL);
}

int daemon_reload_init(struct daemon *d)
{
	d->adoption.done_ev = event_new(d->base, -1, EV_PERSIST, on_adopted, d);
	return d->adoption.done_ev ? 0 : -1;
}

void daemon_reload_cleanup(struct daemon *d)
{
	if (d->pending)
		config_unref(d->pending);
	d->pending = NULL;
	binds_release(&d->retired);
	strbuf_free(&d->reload_warnings);
	if (d->adoption.done_ev)
		event_free(d->adoption.done_ev);
	d->adoption.done_ev = NULL;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Settings that belong to the process, not to a generation: what a reload
 * can apply at once, and what needs a restart (a warning). */
static void warn_as_reload(void *d, const char *msg)
{
	reload_warn(d, msg);
}

static void apply_process_settings(struct daemon *d, const struct config *cfg)
{
	const struct global_conf *old = &d->cfg->global, *new = &cfg->global;
	char msg[128];

	log_set_level(new->log.level);
	atomic_store(&d->conns.max, new->max_connections);
	if (new->workers != d->nworkers) {
		snprintf(msg, sizeof(msg), "global.workers changes with a restart; %u workers stay",
			 d->nworkers);
		reload_warn(d, msg);
	}
	if (!same_str(old->admin.socket, new->admin.socket) ||
	    old->admin.has_listen != new->admin.has_listen ||
	    (new->admin.has_listen && !addr_equal(&old->admin.listen, &new->admin.listen)) ||
	    old->metrics.has_listen != new->metrics.has_listen ||
	    (new->metrics.has_listen && !addr_equal(&old->metrics.listen, &new->metrics.listen)) ||
	    !same_str(old->user, new->user) || !same_str(old->group, new->group))
		reload_warn(d, "global.admin's socket and listen, global.metrics, global.user and "
			       "global.group change with a restart; the admin API and the "
			       "process's user stay as they are");
	if (strcmp(old->log.access, new->log.access) != 0 || old->log.format != new->log.format)
		reload_warn(d, "global.log.access and global.log.format change with a "
			       "restart; the access log stays as it is");
	config_unresolved_servers(cfg, warn_as_reload, d);
}

static char *errors_text(const struct config_errors *errs)
{
	size_t cap = 1, len = 0;

	for (size_t i = 0; i < errs->count; i++)
		cap += (size_t)config_error_format(&errs->items[i], NULL, 0) + 1;
	char *text = malloc(cap);
	if (!text)
		return NULL;
	text[0] = '\0';
	for (size_t i = 0; i < errs->count; i++) {
		len += (size_t)config_error_format(&errs->items[i], text + len, cap - len);
		text[len++] = '\n';
		text[len] = '\0';
	}
	if (len)
		text[len - 1] = '\0'; /* no newline after the last one */
	return text;
}

static int reject(struct daemon *d, const char *errors)
{
	const char *line = errors;

	log_error("reload rejected; generation %llu keeps serving",
		  (unsigned long long)d->cfg->generation);
	while (*line) {
		size_t len = strcspn(line, "\n");
		log_error("reload: %.*s", (int)len, line);
		line += len + (line[len] == '\n');
	}
	finish(d, false, errors);
	return 0;
}

int daemon_reload(struct daemon *d, reload_done_fn done, void *arg)
{
	struct config_errors errs;
	char err[512];

	/* During an upgrade the sockets and state being handed over stay as
	 * they are: the new process reads the file anyway. */
	if (d->stopping || d->pending || d->reload_done || d->upgrade)
		return -1;
	d->reload_done = done;
	d->reload_arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &d->reload_started);
	strbuf_free(&d->reload_warnings);
	notify_reloading();
	log_info("reload: reading %s", d->path);

	config_errors_init(&errs);
	struct config *cfg = config_load(d->path, &errs);
	if (!cfg) {
		char *text = errors_text(&errs);
		config_errors_free(&errs);
		reject(d, text ? text : "out of memory");
		free(text);
		return 0;
	}
	config_errors_free(&errs);

	if (daemon_prepare(d->cfg, cfg, d->cfg->generation + 1) < 0 ||
	    membership_apply(d->membership, cfg, NULL) < 0) {
		membership_forget(d->membership, cfg);
		config_unref(cfg);
		return reject(d, "out of memory");
	}
	struct bind_table binds;
	struct bind_table old = d->binds;
	if (binds_update(&old, &binds, cfg, d->nworkers, err, sizeof(err)) < 0) {
		membership_forget(d->membership, cfg);
		config_unref(cfg);
		return reject(d, err);
	}
	apply_process_settings(d, cfg);
	d->retired = old; /* what CFG no longer binds */
	d->binds = binds;
	d->pending = cfg;
	atomic_store(&d->adoption.pending, d->nworkers);
	if (hand_out_listeners(d, cfg, true) < 0)
		log_error("reload: out of memory handing the generation to the workers");
	return 0;
}
