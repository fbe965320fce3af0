/* config_rate_limit.c — a route's rate_limit as the schema walks it
 * (config_schema.c holds the table): the key, "N/s" or "N/m", and the
 * defaults that depend on the rate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_schema.h"
#include "core/rate_limit.h"

#define RATE_MAX 1000000000u

void field_rate_limit(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct rate_limit_conf *rl = walk_slot(obj, f->off);

	if (v->kind != CNODE_MAP) {
		walk_expected(w, v, "a mapping with rate (and key, burst, table_size)");
		return;
	}
	rl->enabled = true;
	rl->table_size = RATE_LIMIT_SLOTS_DEFAULT;
	walk_section(w, f->arg, v, rl);
	/* A burst of one second's (or minute's) requests: a client may
	 * spend a period's budget at once, as a per-period count suggests. */
	if (!rl->burst)
		rl->burst = (uint32_t)rl->count;
}

void field_rate_key(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "client_ip or header:NAME (NAME an HTTP header name)";
	static const char tchar[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789!#$%&'*+-.^_`|~";
	struct rate_limit_conf *rl = obj;
	const char *s = walk_scalar(w, v, what);

	if (!s || strcmp(s, "client_ip") == 0)
		return;
	if (strncmp(s, "header:", 7) == 0) {
		size_t n = strspn(s + 7, tchar);
		if (n > 0 && n <= CONFIG_NAME_MAX && s[7 + n] == '\0') {
			rl->header = strdup(s + 7);
			if (!rl->header)
				cerr_at(w->errs, v, "out of memory");
			return;
		}
	}
	cerr_at(w->errs, v, "expected %s, got \"%s\"", what, s);
}

void field_rate(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "a rate N/s or N/m, N from 1 to 1000000000";
	struct rate_limit_conf *rl = obj;
	const char *s = walk_scalar(w, v, what);
	unsigned long long n;
	char unit, end;

	if (!s)
		return;
	if (s[0] < '0' || s[0] > '9' || sscanf(s, "%llu/%c%c", &n, &unit, &end) != 2 || n == 0 ||
	    n > RATE_MAX || (unit != 's' && unit != 'm')) {
		walk_expected(w, v, what);
		return;
	}
	rl->count = n;
	rl->period_ms = unit == 's' ? 1000 : 60000;
}
