/* tls_sni.c — server names to certificates: a sorted table, an exact
 * lookup and then the one-label wildcard lookup. */
#include "tls/tls_sni.h"

#include <stdlib.h>
#include <string.h>

/* Lowercase S[0..LEN) into OUT without a trailing dot; 0 when it is not a
 * name that can match (empty, too long, a '*' other than a leading "*."). */
static size_t normalize(const char *s, size_t len, char out[TLS_SNI_NAME_MAX + 1])
{
	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > TLS_SNI_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == '*' && !(i == 0 && len > 2 && s[1] == '.'))
			return 0;
		if (ch == '\0')
			return 0;
		out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	out[len] = '\0';
	return len;
}

int tls_sni_add(struct tls_sni *t, const char *name, size_t len, size_t index)
{
	char buf[TLS_SNI_NAME_MAX + 1];

	if (!normalize(name, len, buf))
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct tls_sni_entry *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n].name = strdup(buf);
	if (!t->v[t->n].name)
		return -1;
	t->v[t->n].index = index;
	t->n++;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct tls_sni_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

void tls_sni_finish(struct tls_sni *t)
{
	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), entry_cmp);
}

/* The lowest index holding NAME exactly, or -1. */
static long find(const struct tls_sni *t, const char *name)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->n && strcmp(t->v[lo].name, name) == 0)
		return (long)t->v[lo].index;
	return -1;
}

size_t tls_sni_pick(const struct tls_sni *t, const char *servername)
{
	char buf[TLS_SNI_NAME_MAX + 3];
	long i;

	if (!servername || t->n == 0)
		return 0;
	size_t len = normalize(servername, strlen(servername), buf + 2);
	if (!len || buf[2] == '*')
		return 0;
	if ((i = find(t, buf + 2)) >= 0)
		return (size_t)i;
	char *dot = strchr(buf + 2, '.');
	if (!dot || !dot[1])
		return 0;
	/* "*" + ".rest": the wildcard for the first label */
	dot[-1] = '*';
	if ((i = find(t, dot - 1)) >= 0)
		return (size_t)i;
	return 0;
}

void tls_sni_free(struct tls_sni *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	*t = (struct tls_sni){ 0 };
}
