/* config_check.c — what `lbd -t` checks beyond the file itself: the places
 * a start would write to (the admin socket's directory, the access log's
 * file or directory) exist and are writable by the user running the check.
 * Nothing is bound or created; a reload does not run these checks (the
 * settings they cover change only with a restart).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

/* DIR (a path's directory) must be a directory this process can create
 * files in. */
static void check_dir(const struct config *cfg, const char *key, const char *what, const char *dir,
		      struct config_errors *errs)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		config_errors_add(errs, cfg->path, 0, 0, key, "the directory %s for %s: %s", dir,
				  what, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		config_errors_add(errs, cfg->path, 0, 0, key, "%s for %s is not a directory", dir,
				  what);
	else if (access(dir, W_OK | X_OK) < 0)
		config_errors_add(errs, cfg->path, 0, 0, key,
				  "the directory %s for %s is not writable: %s", dir, what,
				  strerror(errno));
}

/* The directory part of PATH (absolute: the schema requires it). */
static void check_parent(const struct config *cfg, const char *key, const char *what,
			 const char *path, struct config_errors *errs)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	size_t len = slash && slash != path ? (size_t)(slash - path) : 1;

	if (len >= sizeof(dir))
		return; /* too long for a path anyway: the start says so */
	memcpy(dir, path, len);
	dir[len] = '\0';
	check_dir(cfg, key, what, dir, errs);
}

int config_check_environment(const struct config *cfg, struct config_errors *errs)
{
	size_t before = errs->count;
	const char *log = cfg->global.log.access;

	if (cfg->global.admin.socket)
		check_parent(cfg, "global.admin.socket", "the admin socket",
			     cfg->global.admin.socket, errs);
	if (strcmp(log, "stdout") != 0 && strcmp(log, "off") != 0) {
		/* An existing file is appended to; a missing one is created,
		 * and made again after a rotation. */
		if (access(log, F_OK) == 0 && access(log, W_OK) < 0)
			config_errors_add(errs, cfg->path, 0, 0, "global.log.access",
					  "the access log %s is not writable: %s", log,
					  strerror(errno));
		else
			check_parent(cfg, "global.log.access", "the access log", log, errs);
	}
	return errs->count == before ? 0 : -1;
}

bool config_server_followed(const struct server_conf *s, char *host, size_t len, unsigned *port)
{
	return addr_host_name(s->addr.text, host, len, port) && strchr(host, '.') && host[0] != '_';
}

size_t config_unresolved_servers(const struct config *cfg, void (*fn)(void *arg, const char *msg),
				 void *arg)
{
	char msg[CONFIG_NAME_MAX * 2 + ADDR_TEXT_MAX + 128], host[ADDR_TEXT_MAX];
	unsigned port;
	size_t n = 0;

	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_conf *p = &cfg->pools[i];
		for (size_t j = 0; j < p->nservers; j++) {
			const struct server_conf *s = &p->servers[j];
			if (!s->unresolved)
				continue;
			snprintf(msg, sizeof(msg),
				 "pool %s: server %s: %s does not resolve; the server stays "
				 "down until %s",
				 p->name, s->name, s->addr.text,
				 config_server_followed(s, host, sizeof(host), &port) ?
					 "its name resolves" :
					 "a reload resolves it");
			fn(arg, msg);
			n++;
		}
	}
	return n;
}
