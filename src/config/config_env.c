/* config_env.c — environment variables in configuration values.
 *
 * ${NAME} is the variable's value and an error when it is not set;
 * ${NAME:-default} falls back to the default when it is unset or empty (as
 * in the shell and docker compose); $$ is a literal $. Only scalar values
 * are rewritten, never keys, and only after YAML parsing, so a value from
 * the environment is never parsed as YAML and quoting works as without
 * it. A $ before a letter or _ is an error, since it is a ${NAME} whose
 * braces were forgotten; any other $ stays as it is.
 *
 * ${client_ip}, ${request_id} and ${server} are not the environment's:
 * they stay as written, for the header rules of routes to fill in per
 * request (config_headers.c).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_node.h"

/* A value, substituted, is at most this long. */
#define ENV_VALUE_MAX (64u * 1024)

struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void out_add(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > ENV_VALUE_MAX) {
		o->failed = true;
		return;
	}
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 64;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->failed = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static bool name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static bool reserved(const char *var)
{
	return strcmp(var, "client_ip") == 0 || strcmp(var, "request_id") == 0 ||
	       strcmp(var, "server") == 0;
}

/* One ${...} at P (just after "${"). Returns the character after the
 * closing brace, or NULL after reporting. */
static const char *expand_one(const char *p, struct out *o, const struct cnode *n,
			      struct cerrs *errs)
{
	const char *end = strchr(p, '}'), *name = p, *def = NULL;
	size_t nlen = 0;
	char var[256];

	if (!end) {
		cerr_at(errs, n, "\"${\" without its closing \"}\" (write $$ for a literal $)");
		return NULL;
	}
	while (name + nlen < end && name_char(name[nlen]))
		nlen++;
	if (name + nlen + 1 < end && name[nlen] == ':' && name[nlen + 1] == '-')
		def = name + nlen + 2;
	if (nlen == 0 || !name_start(name[0]) || nlen >= sizeof(var) ||
	    (!def && name + nlen != end)) {
		cerr_at(errs, n,
			"\"${%.*s}\": expected ${NAME} or ${NAME:-default}, NAME made of letters, "
			"digits and _",
			(int)(end - p > 64 ? 64 : end - p), p);
		return NULL;
	}
	memcpy(var, name, nlen);
	var[nlen] = '\0';
	if (!def && reserved(var)) {
		out_add(o, "${", 2);
		out_add(o, var, nlen);
		out_add(o, "}", 1);
		return end + 1;
	}
	const char *val = getenv(var);
	if (def && (!val || !*val))
		out_add(o, def, (size_t)(end - def));
	else if (val)
		out_add(o, val, strlen(val));
	else {
		cerr_at(errs, n,
			"environment variable %s is not set (write ${%s:-DEFAULT} to give it a "
			"default)",
			var, var);
		return NULL;
	}
	return end + 1;
}

/* N's value with its variables put in; reports and leaves N as it is on
 * an error. */
static void substitute(struct cnode *n, struct cerrs *errs)
{
	struct out o = { 0 };
	const char *p = n->str;

	while (*p) {
		const char *dollar = strchr(p, '$');
		if (!dollar) {
			out_add(&o, p, strlen(p));
			break;
		}
		out_add(&o, p, (size_t)(dollar - p));
		if (dollar[1] == '$') {
			out_add(&o, "$", 1);
			p = dollar + 2;
		} else if (dollar[1] == '{') {
			p = expand_one(dollar + 2, &o, n, errs);
			if (!p) {
				free(o.buf);
				return;
			}
		} else if (name_start(dollar[1])) {
			cerr_at(errs, n,
				"\"$%c...\": write ${NAME} for a variable, $$ for a literal $",
				dollar[1]);
			free(o.buf);
			return;
		} else {
			out_add(&o, "$", 1);
			p = dollar + 1;
		}
	}
	if (o.failed) {
		cerr_at(errs, n,
			"the value is longer than %u bytes with its variables put in, or "
			"memory ran out",
			ENV_VALUE_MAX);
		free(o.buf);
		return;
	}
	if (!o.buf)
		o.buf = strdup("");
	if (!o.buf) {
		cerr_at(errs, n, "out of memory");
		return;
	}
	free(n->str);
	n->str = o.buf;
	n->null = false; /* the value was written, even if it came out empty */
}

void config_env_substitute(struct cnode *root, struct cerrs *errs)
{
	if (!root)
		return;
	if (root->kind == CNODE_SCALAR) {
		if (root->key != root && root->str && strchr(root->str, '$'))
			substitute(root, errs);
		return;
	}
	for (size_t i = 0; i < root->n; i++)
		config_env_substitute(root->items[i], errs);
}
