/* config.c — loading a configuration generation, and its lifetime.
 *
 * Loading reads the file whole (bounded), builds the node tree
 * (config_yaml.c), puts environment variables into its values
 * (config_env.c) and the included files into it (config_include.c), fills
 * a struct config that starts from the built-in defaults (config_schema.c),
 * and returns it only when no error was found.
 * Errors are reported in file order, at most CONFIG_ERRORS_SHOWN of them.
 */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_node.h"
#include "config/config_runtime.h"
#include "config/config_schema.h"
#include "tls/tls_listener.h"
#include "tls/tls_upstream.h"
#include "util/cpus.h"

#define CONFIG_ERRORS_SHOWN 100

/* Generations published and not yet freed (requests in flight hold old
 * ones). */
static atomic_uint live_generations;

/* workers: auto — the CPUs lbd may use (affinity, container quota), not
 * the node's: a 500m sidecar on a 64-core node runs one worker. */
static uint32_t auto_workers(void)
{
	unsigned n = cpus_usable();

	return n > CONFIG_WORKERS_MAX ? CONFIG_WORKERS_MAX : (uint32_t)n;
}

static struct config *config_new(const char *file)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	atomic_init(&cfg->refs, 1);
	cfg->path = strdup(file);
	cfg->global.log.access = strdup("stdout");
	cfg->global.admin.socket = strdup(CONFIG_ADMIN_SOCKET_DEFAULT);
	if (!cfg->path || !cfg->global.log.access || !cfg->global.admin.socket) {
		config_unref(cfg);
		return NULL;
	}
	cfg->global.workers = auto_workers();
	cfg->global.max_connections = 100000;
	cfg->global.log.level = LOG_LEVEL_INFO;
	cfg->global.log.format = ACCESS_FORMAT_JSON;
	cfg->timeouts = (struct timeouts_conf){
		.connect_ms = 2000,
		.header_ms = 10000,
		.client_idle_ms = 60000,
		.server_ms = 60000,
		.tunnel_ms = 3600000,
		.drain_ms = 30000,
	};
	cfg->retries = 2;
	cfg->passive = (struct passive_conf){ .max_fails = 0, .fail_timeout_ms = 10000 };
	cfg->limits = (struct limits_conf){ .header_size = 16384,
					    .headers = 100,
					    .body_size = 0,
					    .h2_max_streams = 100,
					    .h2_max_requests = 10000 };
	return cfg;
}

static void access_rules_free(struct access_rules *a)
{
	free(a->allow);
	free(a->deny);
}

static void config_free(struct config *cfg)
{
	if (cfg->generation)
		atomic_fetch_sub(&live_generations, 1);
	config_detach_runtime(cfg);
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		struct listener_conf *l = &cfg->listeners[i];
		for (size_t j = 0; j < l->nroutes; j++) {
			free(l->routes[j].host);
			free(l->routes[j].path_prefix);
			route_match_free(&l->routes[j]);
			free(l->routes[j].split.sides);
			free(l->routes[j].split.key.name);
			free(l->routes[j].rate_limit.header);
			free(l->routes[j].redirect.to);
			header_rules_free(&l->routes[j].request_headers);
			header_rules_free(&l->routes[j].response_headers);
			access_rules_free(&l->routes[j].access);
		}
		free(l->routes);
		free(l->binds);
		if (l->tls) {
			tls_listener_free(l->tls->ctx);
			for (size_t j = 0; j < l->tls->ncerts; j++) {
				free(l->tls->certs[j].cert);
				free(l->tls->certs[j].key);
			}
			free(l->tls->certs);
			free(l->tls->ciphers);
			free(l->tls->ciphersuites);
			free(l->tls->client_ca);
			free(l->tls);
		}
		free(l->trusted);
		access_rules_free(&l->access);
		error_pages_free(l);
		compression_conf_free(&l->compression);
		free(l->name);
	}
	for (size_t i = 0; i < cfg->nresolvers; i++) {
		free(cfg->resolvers[i].name);
		free(cfg->resolvers[i].nameservers);
	}
	free(cfg->resolvers);
	free(cfg->listeners);
	for (size_t i = 0; i < cfg->npools; i++) {
		struct pool_conf *p = &cfg->pools[i];
		pool_members_free(p->members);
		for (size_t j = 0; j < p->nservers; j++)
			free(p->servers[j].name);
		free(p->servers);
		free(p->discovery.dns);
		free(p->discovery.resolver);
		free(p->hash_key.name);
		free(p->sticky.cookie);
		config_secret_clear(&p->sticky.secret);
		config_secret_clear(&p->sticky.previous_secret);
		free(p->health_check.path);
		free(p->health_check.host);
		tls_upstream_free(p->tls.ctx);
		free(p->tls.ca);
		free(p->tls.sni);
		free(p->tls.verify_name);
		free(p->tls.cert);
		free(p->tls.key);
		free(p->name);
	}
	free(cfg->pools);
	free(cfg->global.log.access);
	free(cfg->global.admin.socket);
	free(cfg->global.admin.token_file);
	free(cfg->global.admin.token);
	free(cfg->global.user);
	free(cfg->global.group);
	free(cfg->global.state_file);
	for (size_t i = 0; i < cfg->nsources; i++)
		free(cfg->sources[i]);
	free(cfg->sources);
	free(cfg->path);
	free(cfg);
}

void config_publish(struct config *cfg, uint64_t generation)
{
	cfg->generation = generation;
	atomic_fetch_add(&live_generations, 1);
}

unsigned config_live_generations(void)
{
	return atomic_load(&live_generations);
}

struct config *config_ref(struct config *cfg)
{
	atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
	return cfg;
}

void config_unref(struct config *cfg)
{
	if (!cfg)
		return;
	/* acq_rel: the thread that frees must see every write made by the
	 * threads that dropped their references before it. */
	if (atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) == 1)
		config_free(cfg);
}

struct pool_conf *config_find_pool(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->npools; i++)
		if (cfg->pools[i].name && strcmp(cfg->pools[i].name, name) == 0)
			return &cfg->pools[i];
	return NULL;
}

struct error_ref {
	const struct config_error *e;
	size_t file; /* 0: the main file; 1...: the included ones, in reading order */
	size_t order;
};

static size_t file_rank(const struct cerrs *ce, const char *file)
{
	for (size_t i = 0; i < ce->nincluded; i++)
		if (strcmp(ce->included[i], file) == 0)
			return i + 1;
	return 0;
}

static int error_cmp(const void *a, const void *b)
{
	const struct error_ref *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->e->line != y->e->line)
		return x->e->line < y->e->line ? -1 : 1;
	if (x->e->column != y->e->column)
		return x->e->column < y->e->column ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Hand the collected errors to the caller in file order: the main file's,
 * then each included file's (errors without a position, such as an
 * unreadable file, first in theirs). */
static void deliver_errors(struct cerrs *ce, struct config_errors *out)
{
	size_t n = ce->list.count;
	struct error_ref *refs = calloc(n ? n : 1, sizeof(*refs));

	for (size_t i = 0; refs && i < n; i++)
		refs[i] = (struct error_ref){ &ce->list.items[i],
					      file_rank(ce, ce->list.items[i].file), i };
	if (refs)
		qsort(refs, n, sizeof(*refs), error_cmp);
	for (size_t i = 0; i < n && i < CONFIG_ERRORS_SHOWN; i++) {
		const struct config_error *e = refs ? refs[i].e : &ce->list.items[i];
		config_errors_add(out, e->file, e->line, e->column, e->path, "%s", e->message);
	}
	if (n > CONFIG_ERRORS_SHOWN)
		config_errors_add(out, ce->file, 0, 0, NULL, "%zu more errors not shown",
				  n - CONFIG_ERRORS_SHOWN);
	free(refs);
	config_errors_free(&ce->list);
}

/* The main file, the include patterns and the included files, for
 * global.watch_config. Returns 0 or -1 (out of memory). */
static int keep_sources(struct config *cfg, const struct cerrs *ce)
{
	size_t n = 1 + ce->npatterns + ce->nincluded;

	cfg->sources = calloc(n, sizeof(*cfg->sources));
	if (!cfg->sources)
		return -1;
	cfg->sources[cfg->nsources++] = strdup(cfg->path);
	for (size_t i = 0; i < ce->npatterns; i++)
		cfg->sources[cfg->nsources++] = strdup(ce->patterns[i]);
	for (size_t i = 0; i < ce->nincluded; i++)
		cfg->sources[cfg->nsources++] = strdup(ce->included[i]);
	for (size_t i = 0; i < n; i++)
		if (!cfg->sources[i])
			return -1;
	return 0;
}

struct config *config_load_buffer(const char *file_name, const char *data, size_t len,
				  struct config_errors *errs)
{
	struct cerrs ce = { .file = file_name };
	struct config *cfg = NULL;
	struct cnode *root;

	config_errors_init(&ce.list);
	if (len > CONFIG_FILE_MAX) {
		cerr_doc(&ce, 0, 0, "file too large (more than 16 MiB)");
		goto out;
	}
	root = cnode_parse(data, len, &ce, false);
	if (root) {
		size_t before = ce.list.count;
		config_env_substitute(root, &ce);
		config_include(root, file_name, &ce);
		/* A missing file or variable would only echo through the walk
		 * as missing pools or malformed values. */
		if (ce.list.count > before) {
			cnode_free(root);
			root = NULL;
		}
	}
	if (root) {
		cfg = config_new(file_name);
		if (cfg && keep_sources(cfg, &ce) == 0) {
			struct walk w = { .cfg = cfg, .errs = &ce };
			config_schema_apply(&w, root);
		} else {
			cerr_doc(&ce, 0, 0, "out of memory");
		}
		cnode_free(root);
	}
	/* Duplicate keys leave a usable tree, so errors may exist even though
	 * the walk ran: any error at all rejects the configuration. */
	if (ce.list.count > 0) {
		config_unref(cfg);
		cfg = NULL;
	}
out:
	deliver_errors(&ce, errs);
	config_include_free(&ce);
	return cfg;
}

/* Why FD cannot be a configuration file, or NULL. FIFOs and devices could
 * block or never end; more than 16 MiB is surely not a configuration. */
static const char *unsuitable(int fd, struct stat *st)
{
	if (fstat(fd, st) != 0)
		return strerror(errno);
	if (S_ISDIR(st->st_mode))
		return strerror(EISDIR);
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	return NULL;
}

char *config_read_file(const char *path, size_t *len, char *why, size_t whylen)
{
	struct stat st;
	const char *bad;
	char *buf;
	size_t have = 0, size;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return NULL;
	}
	bad = unsuitable(fd, &st);
	if (bad || (uint64_t)st.st_size > CONFIG_FILE_MAX) {
		if (bad)
			snprintf(why, whylen, "cannot read: %s", bad);
		else
			snprintf(why, whylen, "file too large (more than 16 MiB)");
		close(fd);
		return NULL;
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (!buf) {
		snprintf(why, whylen, "out of memory");
		close(fd);
		return NULL;
	}
	/* A file that grows while we read is cut at the size stat saw. */
	while (have < size) {
		ssize_t r = read(fd, buf + have, size - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, whylen, "cannot read: %s", strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	close(fd);
	*len = have;
	return buf;
}

struct config *config_load(const char *path, struct config_errors *errs)
{
	struct cerrs ce = { .file = path };
	struct config *cfg;
	size_t len = 0;
	char *data;

	char why[256];

	config_errors_init(&ce.list);
	data = config_read_file(path, &len, why, sizeof(why));
	if (!data) {
		cerr_doc(&ce, 0, 0, "%s", why);
		deliver_errors(&ce, errs);
		return NULL;
	}
	config_errors_free(&ce.list);
	cfg = config_load_buffer(path, data, len, errs);
	free(data);
	return cfg;
}

void pool_members_free(void *members)
{
	struct pool_members *m = members;

	if (!m)
		return;
	if (m->balancer_free)
		m->balancer_free(m->balancer);
	free(m->servers);
	free(m);
}
