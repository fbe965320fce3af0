/* config_error_pages.c — listeners[].errors: custom bodies for the answers
 * lbd gives itself. The files are read at load, so that a missing or
 * oversized one fails `lbd -t` and a reload picks up a changed one; the
 * request path only looks the status up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_schema.h"

/* The statuses lbd answers itself (lbd(8) STATUS CODES): a page for any
 * other would never be served, which is likely a typo. */
static const int own_statuses[] = { 400, 403, 404, 405, 408, 413, 417, 429,
				    431, 500, 501, 502, 503, 504, 505 };

static bool own_status(int status)
{
	for (size_t i = 0; i < sizeof(own_statuses) / sizeof(own_statuses[0]); i++)
		if (own_statuses[i] == status)
			return true;
	return false;
}

/* By the name's extension: a page written in HTML, or anything else as
 * text. */
static const char *page_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot && strchr(dot, '/') == NULL &&
	    (strcasecmp(dot, ".html") == 0 || strcasecmp(dot, ".htm") == 0))
		return "text/html";
	return "text/plain";
}

/* The whole file at PATH, at most ERROR_PAGE_MAX bytes. */
static int read_page(const char *path, struct error_page *p, char *why, size_t whylen)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		snprintf(why, whylen, "cannot read the error page %s: %s", path, strerror(errno));
		return -1;
	}
	p->body = malloc(ERROR_PAGE_MAX + 1);
	if (!p->body) {
		fclose(f);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	n = fread(p->body, 1, ERROR_PAGE_MAX + 1, f);
	if (ferror(f) || n > ERROR_PAGE_MAX) {
		if (ferror(f))
			snprintf(why, whylen, "cannot read the error page %s: %s", path,
				 strerror(errno));
		else
			snprintf(why, whylen, "the error page %s holds more than %d bytes", path,
				 ERROR_PAGE_MAX);
		fclose(f);
		free(p->body);
		p->body = NULL;
		return -1;
	}
	fclose(f);
	p->len = n;
	p->type = page_type(path);
	return 0;
}

/* The file named at V, relative to the configuration file as TLS files
 * and the admin token are. */
static int load_page(struct walk *w, const struct cnode *v, struct error_page *p)
{
	const char *base = w->cfg->path, *slash = strrchr(base, '/');
	size_t dir = v->str[0] != '/' && slash ? (size_t)(slash - base) + 1 : 0;
	char why[512], *path = malloc(dir + strlen(v->str) + 1);
	int rc;

	if (!path) {
		cerr_at(w->errs, v, "out of memory");
		return -1;
	}
	memcpy(path, base, dir);
	strcpy(path + dir, v->str);
	rc = read_page(path, p, why, sizeof(why));
	if (rc < 0)
		cerr_at(w->errs, v, "%s", why);
	free(path);
	return rc;
}

static int status_of(const char *s)
{
	if (strlen(s) != 3 || strspn(s, "0123456789") != 3)
		return -1;
	return atoi(s);
}

void field_error_pages(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct listener_conf *l = obj;

	(void)f;
	if (v->kind != CNODE_MAP || v->n == 0) {
		walk_expected(w, v, "a mapping of statuses to files (503: /etc/lbd/503.html)");
		return;
	}
	l->errors = walk_calloc(w, v, v->n / 2, sizeof(*l->errors));
	if (!l->errors)
		return;
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct cnode *k = v->items[i], *file = v->items[i + 1];
		int status = status_of(k->str);
		if (!own_status(status)) {
			cerr_at(w->errs, k,
				"expected a status lbd answers itself (400, 403, 404, 405, 408, "
				"413, 417, 429, 431, 500, 501, 502, 503, 504, 505), got \"%s\"",
				k->str);
			continue;
		}
		if (!walk_scalar(w, file, "a file path"))
			continue;
		struct error_page *p = &l->errors[l->nerrors];
		p->status = status;
		if (load_page(w, file, p) == 0)
			l->nerrors++;
	}
}

const struct error_page *listener_error_page(const struct listener_conf *l, int status)
{
	if (!l)
		return NULL;
	for (size_t i = 0; i < l->nerrors; i++)
		if (l->errors[i].status == status)
			return &l->errors[i];
	return NULL;
}

void error_pages_free(struct listener_conf *l)
{
	for (size_t i = 0; i < l->nerrors; i++)
		free(l->errors[i].body);
	free(l->errors);
}
