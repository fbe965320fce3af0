/* config_retry.c — retries by status: the statuses of a route that send a
 * request to another server (routes[].retry_on), and the share of a
 * pool's requests that may be retried (pools[].retry_budget).
 */
#include <stdio.h>
#include <string.h>

#include "config/config_schema.h"

void field_retry_on(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "a server status from 500 to 599";
	struct retry_on_conf *r = &((struct route_conf *)obj)->retry_on;

	if (!walk_list(w, v, "server statuses (500 to 599)"))
		return;
	for (size_t i = 0; i < v->n; i++) {
		const char *s = walk_scalar(w, v->items[i], what);
		if (!s)
			continue;
		if (strlen(s) != 3 || s[0] != '5' || strspn(s, "0123456789") != 3) {
			walk_expected(w, v->items[i], what);
			continue;
		}
		unsigned bit = (unsigned)((s[1] - '0') * 10 + (s[2] - '0'));
		r->bits[bit / 64] |= (uint64_t)1 << (bit % 64);
	}
}

/* "20%": a whole percentage from 0 to 100. */
void field_percent(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "a percentage from 0% to 100% (like 20%)";
	const char *s = walk_scalar(w, v, what);
	size_t n;
	unsigned pct = 0;

	if (!s)
		return;
	n = strspn(s, "0123456789");
	if (n == 0 || n > 3 || strcmp(s + n, "%") != 0 || (n > 1 && s[0] == '0')) {
		walk_expected(w, v, what);
		return;
	}
	for (size_t i = 0; i < n; i++)
		pct = pct * 10 + (unsigned)(s[i] - '0');
	if (pct > 100) {
		walk_expected(w, v, what);
		return;
	}
	*(uint32_t *)walk_slot(obj, f->off) = pct;
}
