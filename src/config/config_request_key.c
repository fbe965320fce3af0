/* config_request_key.c — what a request is keyed by, as pools[].hash_key
 * and routes[].split_key name it: client_ip, uri, header:NAME,
 * cookie:NAME or query:NAME.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_schema.h"

enum name_form {
	NO_NAME,
	TOKEN_NAME, /* a header or cookie name (RFC 9110 §5.6.2) */
	QUERY_NAME, /* a query parameter's name, compared as sent */
};

static const struct {
	const char *text; /* the whole word, or the prefix of NAME */
	enum request_key_kind kind;
	enum name_form name;
} forms[] = {
	{ "client_ip", REQUEST_KEY_CLIENT_IP, NO_NAME },
	{ "uri", REQUEST_KEY_URI, NO_NAME },
	{ "header:", REQUEST_KEY_HEADER, TOKEN_NAME },
	{ "cookie:", REQUEST_KEY_COOKIE, TOKEN_NAME },
	{ "query:", REQUEST_KEY_QUERY, QUERY_NAME },
};

/* A query parameter's name may hold any visible character but the ones
 * that end it. */
static bool name_ok(const char *name, enum name_form form)
{
	static const char tchar[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789!#$%&'*+-.^_`|~";
	size_t n = 0;

	if (form == TOKEN_NAME) {
		n = strspn(name, tchar);
	} else {
		while (name[n] > 0x20 && name[n] < 0x7f && !strchr("&=#", name[n]))
			n++;
	}
	return n > 0 && n <= CONFIG_NAME_MAX && name[n] == '\0';
}

void config_request_key(struct walk *w, const struct cnode *v, struct request_key *key)
{
	static const char what[] = "client_ip, uri, header:NAME, cookie:NAME or query:NAME";
	const char *s = walk_scalar(w, v, what);

	if (!s)
		return;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t n = strlen(forms[i].text);
		if (forms[i].name == NO_NAME) {
			if (strcmp(s, forms[i].text) != 0)
				continue;
			key->kind = forms[i].kind;
			return;
		}
		if (strncmp(s, forms[i].text, n) != 0)
			continue;
		if (!name_ok(s + n, forms[i].name))
			break;
		key->kind = forms[i].kind;
		key->name = strdup(s + n);
		if (!key->name)
			cerr_at(w->errs, v, "out of memory");
		return;
	}
	cerr_at(w->errs, v,
		"expected %s (NAME a header or cookie name, or a query parameter name as sent), "
		"got \"%s\"",
		what, s);
}

const char *config_request_key_text(const struct request_key *key, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (forms[i].kind == key->kind) {
			snprintf(buf, len, "%s%s", forms[i].text, key->name ? key->name : "");
			return buf;
		}
	snprintf(buf, len, "client_ip");
	return buf;
}
