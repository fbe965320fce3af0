/* header_rules.c — a route's header rules on a head being written. */
#include "http/header_rules.h"

#include <string.h>
#include <strings.h>

static bool name_is(const char *rule, const char *name, size_t len)
{
	return strlen(rule) == len && strncasecmp(rule, name, len) == 0;
}

bool header_rules_lists(const struct header_rules *rules, const char *name, size_t len)
{
	for (size_t i = 0; i < rules->nset; i++)
		if (name_is(rules->set[i].name, name, len))
			return true;
	for (size_t i = 0; i < rules->nremove; i++)
		if (name_is(rules->remove[i], name, len))
			return true;
	return false;
}

/* The value of the variable at P ("${name}..."), and its length in *LEN;
 * NULL when P starts no variable (the loader let only known ones in). */
static const char *variable(const char *p, const struct header_vars *vars, size_t *len)
{
	static const struct {
		const char *text;
		size_t off;
	} known[] = {
		{ "${client_ip}", offsetof(struct header_vars, client_ip) },
		{ "${request_id}", offsetof(struct header_vars, request_id) },
		{ "${server}", offsetof(struct header_vars, server) },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		*len = strlen(known[i].text);
		if (strncmp(p, known[i].text, *len) == 0) {
			const char *v = *(const char *const *)((const char *)vars + known[i].off);
			return v ? v : "";
		}
	}
	return NULL;
}

void header_value_write(struct strbuf *out, const char *value, const struct header_vars *vars)
{
	const char *p = value;

	for (const char *d; (d = strstr(p, "${"));) {
		size_t len;
		const char *v = variable(d, vars, &len);
		if (!v) {
			strbuf_add(out, p, (size_t)(d - p) + 2);
			p = d + 2;
			continue;
		}
		strbuf_add(out, p, (size_t)(d - p));
		strbuf_adds(out, v);
		p = d + len;
	}
	strbuf_adds(out, p);
}

void header_rules_write(struct strbuf *out, const struct header_rules *rules,
			const struct header_vars *vars)
{
	if (!rules)
		return;
	for (size_t i = 0; i < rules->nset; i++) {
		strbuf_adds(out, rules->set[i].name);
		strbuf_add(out, ": ", 2);
		header_value_write(out, rules->set[i].value, vars);
		strbuf_add(out, "\r\n", 2);
	}
}
