/* header_rules.h — a route's request_headers and response_headers applied
 * to a head as lbd writes it: the fields a rule names are dropped from
 * what passes (set replaces every field of its name), and the set fields
 * are written last, their ${client_ip}, ${request_id} and ${server} filled
 * in for the request. */
#ifndef LBD_HEADER_RULES_H
#define LBD_HEADER_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "util/strbuf.h"

/* What the variables of a value stand for; NULL ones are written empty. */
struct header_vars {
	const char *client_ip;
	const char *request_id;
	const char *server; /* the server's name (responses) */
};

/* Whether RULES set or remove the field NAME (LEN bytes, any case). */
bool header_rules_lists(const struct header_rules *rules, const char *name, size_t len);

/* The same for RULES that may be NULL or empty (none), as most routes'
 * are: asked for every field, that answer costs no call. */
static inline bool header_rules_names(const struct header_rules *rules, const char *name,
				      size_t len)
{
	return rules && (rules->nset || rules->nremove) && header_rules_lists(rules, name, len);
}

/* Append VALUE with its variables filled in from VARS. */
void header_value_write(struct strbuf *out, const char *value, const struct header_vars *vars);

/* Append "Name: value\r\n" for each field RULES sets (NULL: none). */
void header_rules_write(struct strbuf *out, const struct header_rules *rules,
			const struct header_vars *vars);

#endif
