/* state_file.c — global.state_file (state_file.h), as JSON:
 * {"version":1,"servers":[{"pool":"api","name":"api9","address":"10.1.2.3:8080",
 * "weight":1,"backup":false}, ...]}
 */
#include "daemon/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/addr.h"
#include "util/json.h"
#include "util/strbuf.h"

#define STATE_FILE_MAX (16 * 1024 * 1024)

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory of PATH, synced so that the rename is on disk. */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int state_file_save(const char *path, const struct state_entry *e, size_t n, char *err,
		    size_t errlen)
{
	struct strbuf sb = { 0 };
	char tmp[4096];
	int fd;

	strbuf_adds(&sb, "{\"version\":1,\"servers\":[");
	for (size_t i = 0; i < n; i++) {
		strbuf_adds(&sb, i ? ",\n  {\"pool\":" : "\n  {\"pool\":");
		json_add_string(&sb, e[i].pool);
		strbuf_adds(&sb, ",\"name\":");
		json_add_string(&sb, e[i].name);
		strbuf_adds(&sb, ",\"address\":");
		json_add_string(&sb, e[i].address);
		strbuf_adds(&sb, ",\"weight\":");
		strbuf_add_u64(&sb, e[i].weight);
		strbuf_adds(&sb, e[i].backup ? ",\"backup\":true}" : ",\"backup\":false}");
	}
	strbuf_adds(&sb, "]}\n");
	if (strbuf_failed(&sb) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		strbuf_free(&sb);
		snprintf(err, errlen, "%s: out of memory, or the path is too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || write_all(fd, sb.data, sb.len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		strbuf_free(&sb);
		return -1;
	}
	strbuf_free(&sb);
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	sync_dir(path);
	return 0;
}

void state_file_free(struct state_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++) {
		free(e[i].pool);
		free(e[i].name);
		free(e[i].address);
	}
	free(e);
}

static char *read_file(const char *path, char *err, size_t errlen, bool *missing)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	*missing = false;
	if (!f) {
		*missing = errno == ENOENT;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(STATE_FILE_MAX + 1);
	if (buf)
		len = fread(buf, 1, STATE_FILE_MAX + 1, f);
	if (!buf || ferror(f) || len > STATE_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 !buf                 ? "out of memory" :
			 len > STATE_FILE_MAX ? "larger than 16 MiB" :
						"read error");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* Member KEY of OBJ as a string of at most MAX bytes, or NULL. */
static char *string_of(const char *obj, const char *key, size_t max)
{
	const char *v = json_member(obj, key);
	char *out = malloc(max + 1);

	if (!v || !out || !json_string(v, out, max + 1) || strlen(out) >= max) {
		free(out);
		return NULL;
	}
	return out;
}

static int entry_of(const char *obj, struct state_entry *e)
{
	const char *w = json_member(obj, "weight"), *b = json_member(obj, "backup");
	uint64_t weight;

	e->pool = string_of(obj, "pool", CONFIG_NAME_MAX + 1);
	e->name = string_of(obj, "name", CONFIG_NAME_MAX + 1);
	e->address = string_of(obj, "address", ADDR_TEXT_MAX);
	if (!e->pool || !e->name || !e->address || !w || !json_u64(w, &weight) ||
	    weight > CONFIG_WEIGHT_MAX || !b || (strncmp(b, "true", 4) && strncmp(b, "false", 5)))
		return -1;
	e->weight = (uint32_t)weight;
	e->backup = strncmp(b, "true", 4) == 0;
	return 0;
}

int state_file_load(const char *path, struct state_entry **out, size_t *nout, char *err,
		    size_t errlen)
{
	bool missing;
	char *doc = read_file(path, err, errlen, &missing);
	const char *servers, *it = NULL;
	size_t n = 0, cap = 0;
	struct state_entry *e = NULL;

	*out = NULL;
	*nout = 0;
	if (!doc)
		return missing ? 0 : -1;
	servers = json_member(doc, "servers");
	if (!json_skip(doc) || !servers || *servers != '[') {
		snprintf(err, errlen, "%s: not a state file of lbd (expected {\"servers\":[...]})",
			 path);
		free(doc);
		return -1;
	}
	while (json_array_next(servers, &it)) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : 16;
			struct state_entry *grown = realloc(e, c * sizeof(*e));
			if (!grown)
				goto bad;
			memset(grown + cap, 0, (c - cap) * sizeof(*e));
			e = grown;
			cap = c;
		}
		if (*it != '{' || entry_of(it, &e[n++]) < 0) {
			snprintf(err, errlen,
				 "%s: server %zu: expected pool, name, address, weight (0 to %d) "
				 "and backup",
				 path, n, CONFIG_WEIGHT_MAX);
			goto fail;
		}
	}
	free(doc);
	*out = e;
	*nout = n;
	return 0;
bad:
	snprintf(err, errlen, "%s: out of memory", path);
fail:
	state_file_free(e, n);
	free(doc);
	return -1;
}
