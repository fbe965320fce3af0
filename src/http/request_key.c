/* request_key.c — the value a request is keyed by (request_key.h). */
#include "http/request_key.h"

#include <string.h>

#include "http/cookie.h"
#include "http/route.h"

/* The value of cookie NAME in any Cookie field of H. */
static const char *cookie_value(const struct http_head *h, const char *name, size_t *len)
{
	const char *value;

	uint32_t nfields = http_head_may_have(h, HN_COOKIE) ? h->nfields : 0;

	for (uint32_t i = 0; i < nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (f->name_id == HN_COOKIE &&
		    cookie_find(http_field_value(h, f), f->value_len, name, &value, len))
			return value;
	}
	return NULL;
}

static const char *header_value(const struct http_head *h, const char *name, size_t *len)
{
	const struct http_field *f = http_head_find(h, name, NULL);

	if (!f)
		return NULL;
	*len = f->value_len;
	return http_field_value(h, f);
}

/* What follows the "?" of the target (origin-form, or the absolute form a
 * proxy request has). */
static const char *query_value(const struct http_head *h, const char *name, size_t *len)
{
	const char *target = h->buf + h->url_off;
	const char *q = memchr(target, '?', h->url_len);
	const char *value;

	if (!q)
		return NULL;
	q++;
	size_t qlen = h->url_len - (size_t)(q - target);
	const char *hash = memchr(q, '#', qlen);
	if (hash)
		qlen = (size_t)(hash - q);
	return route_query_find(q, qlen, name, &value, len) ? value : NULL;
}

const char *request_key_value(const struct request_key *key, const struct http_head *h,
			      const char *client, size_t *len)
{
	const char *value = NULL;

	*len = 0;
	switch (key->kind) {
	case REQUEST_KEY_NONE:
		return NULL;
	case REQUEST_KEY_CLIENT_IP:
		value = client;
		*len = strlen(client);
		break;
	case REQUEST_KEY_URI:
		value = h->buf + h->url_off;
		*len = h->url_len;
		break;
	case REQUEST_KEY_HEADER:
		value = header_value(h, key->name, len);
		break;
	case REQUEST_KEY_COOKIE:
		value = cookie_value(h, key->name, len);
		break;
	case REQUEST_KEY_QUERY:
		value = query_value(h, key->name, len);
		break;
	}
	if (!value || !*len) {
		*len = 0;
		return NULL;
	}
	return value;
}
