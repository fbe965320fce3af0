/* prefix_rewrite.c — Location and Set-Cookie of a strip_prefix route's
 * responses (prefix_rewrite.h). */
#include "http/prefix_rewrite.h"

#include <string.h>
#include <strings.h>

/* The prefix as it goes before a path: "/api/" and "/api" both give
 * "/api", which then takes the path's own "/". */
static size_t prefix_len(const char *prefix)
{
	size_t n = strlen(prefix);

	while (n > 0 && prefix[n - 1] == '/')
		n--;
	return n;
}

static bool same_ci(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && strncasecmp(a, b, alen) == 0;
}

/* PATH (LEN bytes, "" or starting with '/', '?' or '#') after the prefix. */
static void add_prefixed(struct strbuf *out, const char *prefix, const char *path, size_t len)
{
	strbuf_add(out, prefix, prefix_len(prefix));
	if (len == 0 || path[0] != '/')
		strbuf_add(out, "/", 1);
	strbuf_add(out, path, len);
}

/* "scheme://" at the start of V: the scheme's length, else 0. */
static size_t scheme_len(const char *v, size_t len)
{
	size_t i = 0;

	while (i < len && ((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
			   (i > 0 && ((v[i] >= '0' && v[i] <= '9') || v[i] == '+' || v[i] == '-' ||
				      v[i] == '.'))))
		i++;
	return i > 0 && len - i >= 3 && memcmp(v + i, "://", 3) == 0 ? i : 0;
}

int prefix_rewrite_location(const struct prefix_rewrite *rw, const char *v, size_t len,
			    struct strbuf *out)
{
	if (!rw->prefix)
		return 0;
	if (len >= 1 && v[0] == '/' && !(len >= 2 && v[1] == '/')) {
		add_prefixed(out, rw->prefix, v, len);
		return strbuf_failed(out) ? -1 : 1;
	}
	size_t scheme = scheme_len(v, len);
	if (!scheme)
		return 0;
	const char *auth = v + scheme + 3, *end = v + len, *path = auth;
	while (path < end && *path != '/' && *path != '?' && *path != '#')
		path++;
	size_t auth_len = (size_t)(path - auth);
	if (rw->host && same_ci(auth, auth_len, rw->host, rw->host_len)) {
		strbuf_add(out, v, (size_t)(path - v)); /* as the server wrote it */
	} else if (rw->host && rw->server &&
		   same_ci(auth, auth_len, rw->server, strlen(rw->server))) {
		strbuf_adds(out, rw->scheme);
		strbuf_add(out, "://", 3);
		strbuf_add(out, rw->host, rw->host_len);
	} else {
		return 0;
	}
	add_prefixed(out, rw->prefix, path, (size_t)(end - path));
	return strbuf_failed(out) ? -1 : 1;
}

/* The host of the server's address: "10.0.0.1:8080" gives "10.0.0.1",
 * "[2001:db8::1]:80" gives "2001:db8::1". */
static void server_host(const char *server, const char **host, size_t *len)
{
	const char *colon = strrchr(server, ':');

	*host = server;
	*len = colon ? (size_t)(colon - server) : strlen(server);
	if (*len >= 2 && server[0] == '[' && server[*len - 1] == ']') {
		*host = server + 1;
		*len -= 2;
	}
}

/* One attribute of a Set-Cookie value (AT, LEN bytes, blanks around it
 * trimmed), as it goes out; true when it changed. */
static bool cookie_attr(const struct prefix_rewrite *rw, const char *at, size_t len,
			struct strbuf *out)
{
	const char *eq = memchr(at, '=', len);
	size_t name_len = eq ? (size_t)(eq - at) : len;

	while (name_len > 0 && (at[name_len - 1] == ' ' || at[name_len - 1] == '\t'))
		name_len--;
	const char *val = eq ? eq + 1 : at + len;
	size_t val_len = (size_t)(at + len - val);
	while (val_len > 0 && (*val == ' ' || *val == '\t'))
		val++, val_len--;

	if (same_ci(at, name_len, "path", 4) && val_len >= 1 && val[0] == '/') {
		strbuf_add(out, "; ", 2);
		strbuf_add(out, at, (size_t)(val - at));
		if (val_len == 1)
			strbuf_add(out, rw->prefix, prefix_len(rw->prefix));
		else
			add_prefixed(out, rw->prefix, val, val_len);
		return true;
	}
	if (same_ci(at, name_len, "domain", 6) && rw->server) {
		const char *host, *d = val;
		size_t host_len, d_len = val_len;
		server_host(rw->server, &host, &host_len);
		if (d_len > 0 && d[0] == '.')
			d++, d_len--;
		if (same_ci(d, d_len, host, host_len))
			return true; /* dropped */
	}
	strbuf_add(out, "; ", 2);
	strbuf_add(out, at, len);
	return false;
}

int prefix_rewrite_set_cookie(const struct prefix_rewrite *rw, const char *v, size_t len,
			      struct strbuf *out)
{
	const char *end = v + len, *semi = memchr(v, ';', len);
	size_t start = out->len;
	bool changed = false;

	if (!rw->prefix || !semi)
		return 0;
	strbuf_add(out, v, (size_t)(semi - v)); /* name=value */
	for (const char *at = semi + 1; at < end;) {
		const char *next = memchr(at, ';', (size_t)(end - at));
		const char *stop = next ? next : end;
		while (at < stop && (*at == ' ' || *at == '\t'))
			at++;
		const char *e = stop;
		while (e > at && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > at && cookie_attr(rw, at, (size_t)(e - at), out))
			changed = true;
		at = next ? next + 1 : end;
	}
	if (strbuf_failed(out))
		return -1;
	if (!changed)
		out->len = start; /* as it came */
	return changed ? 1 : 0;
}

int prefix_rewrite_head(const struct prefix_rewrite *rw, struct http_head *h,
			struct strbuf *scratch)
{
	if (!rw->prefix)
		return 0;
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		bool location = f->name_id == HN_LOCATION;
		if (!location && f->name_id != HN_SET_COOKIE)
			continue;
		scratch->len = 0;
		int rc = location ? prefix_rewrite_location(rw, http_field_value(h, f),
							    f->value_len, scratch) :
				    prefix_rewrite_set_cookie(rw, http_field_value(h, f),
							      f->value_len, scratch);
		if (rc < 0 ||
		    (rc > 0 && http_head_set_value(h, i, scratch->data, scratch->len) < 0)) {
			scratch->failed = false;
			return -1;
		}
	}
	return 0;
}
