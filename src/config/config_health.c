/* config_health.c — the schema of pools[].health_check and passive (also
 * defaults.passive): keys, bounds, defaults, and the checks between keys
 * (timeout within interval, http-only keys on tcp checks).
 *
 * health_check is per pool only: its path, Host and expected status belong
 * to the application behind one pool. passive is generic, so a pool copies
 * defaults.passive and may override it field by field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_schema.h"
#include "core/health_state.h"
#include "util/units.h"

_Static_assert(sizeof(enum health_check_type) == sizeof(int), "enum size");

static const struct enum_name check_types[] = {
	{ "http", HEALTH_CHECK_HTTP },
	{ "tcp", HEALTH_CHECK_TCP },
	{ NULL, 0 },
};

/* A request target: origin form, with a query allowed (health URLs often
 * carry one), nothing that would break the request line. */
static void field_check_path(struct walk *w, const struct field *f, const struct cnode *v,
			     void *obj)
{
	static const char what[] = "a path starting with \"/\" (a query is allowed)";
	struct health_check_conf *hc = obj;
	const char *s = walk_scalar(w, v, what);

	if (!s)
		return;
	if (s[0] != '/' || strlen(s) > HEALTH_PATH_MAX) {
		cerr_at(w->errs, v, "expected %s of at most %d bytes, got \"%.64s\"", what,
			HEALTH_PATH_MAX, s);
		return;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '#') {
			cerr_at(w->errs, v,
				"expected a path without spaces, control characters, "
				"non-ASCII bytes or \"#\", got \"%.64s\"",
				s);
			return;
		}
	}
	free(hc->path);
	hc->path = strdup(s);
	if (!hc->path)
		cerr_at(w->errs, v, "out of memory");
}

/* A Host header value: a name or address, optionally with a port. */
static void field_check_host(struct walk *w, const struct field *f, const struct cnode *v,
			     void *obj)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789.-_:[]";
	struct health_check_conf *hc = obj;
	const char *s = walk_scalar(w, v, "a host name, optionally with :PORT");

	if (!s)
		return;
	if (strlen(s) > 255 || s[strspn(s, ok)] != '\0') {
		cerr_at(w->errs, v,
			"expected a host name, optionally with :PORT "
			"(letters, digits, \".-_:[]\", at most 255), got \"%.64s\"",
			s);
		return;
	}
	hc->host = strdup(s);
	if (!hc->host)
		cerr_at(w->errs, v, "out of memory");
}

static void field_expect(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "a status code or a range of them, from 100 to 599 "
				   "(200, 200-399)";
	struct health_check_conf *hc = obj;
	const char *s = walk_scalar(w, v, what);

	if (s && health_expect_parse(s, &hc->expect_lo, &hc->expect_hi) < 0)
		cerr_at(w->errs, v, "expected %s, got \"%s\"", what, s);
}

#define HDUR(k, member, lo) \
	{ \
		k, field_duration, offsetof(struct health_check_conf, member), lo, 3600000, NULL, \
			false \
	}

static const struct field health_fields[] = {
	{ "type", field_enum, offsetof(struct health_check_conf, type), 0, 0, check_types, false },
	{ "path", field_check_path, 0, 0, 0, NULL, false },
	{ "host", field_check_host, 0, 0, 0, NULL, false },
	HDUR("interval", interval_ms, HEALTH_INTERVAL_MIN_MS),
	HDUR("timeout", timeout_ms, 1),
	{ "rise", field_u32, offsetof(struct health_check_conf, rise), 1, HEALTH_RISE_FALL_MAX,
	  NULL, false },
	{ "fall", field_u32, offsetof(struct health_check_conf, fall), 1, HEALTH_RISE_FALL_MAX,
	  NULL, false },
	{ "expect", field_expect, 0, 0, 0, NULL, false },
};
const struct section health_check_section = SECTION(health_fields);

static void check_health(struct walk *w, const struct health_check_conf *hc, const struct cnode *v)
{
	static const char *const http_only[] = { "path", "host", "expect" };
	const struct cnode *k;

	if (hc->timeout_ms > hc->interval_ms && (k = cnode_get(v, "timeout"))) {
		char t[32], i[32];
		format_duration(hc->timeout_ms, t, sizeof(t));
		format_duration(hc->interval_ms, i, sizeof(i));
		cerr_at(w->errs, k,
			"timeout %s is longer than interval %s; lbd runs one "
			"check at a time per server, so timeout must not exceed interval",
			t, i);
	}
	if (hc->type != HEALTH_CHECK_TCP)
		return;
	for (size_t i = 0; i < sizeof(http_only) / sizeof(http_only[0]); i++)
		if ((k = cnode_get(v, http_only[i])))
			cerr_at(w->errs, k->key, "%s applies only with type: http", http_only[i]);
}

void field_health_check(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct health_check_conf *hc = (void *)((char *)obj + f->off);

	*hc = (struct health_check_conf){
		.enabled = true,
		.type = HEALTH_CHECK_HTTP,
		.interval_ms = 2000,
		.timeout_ms = 1000,
		.rise = 2,
		.fall = 3,
		.expect_lo = 200,
		.expect_hi = 399,
	};
	/* "health_check:" alone: every default. */
	if (!(v->kind == CNODE_SCALAR && v->null))
		walk_section(w, f->arg, v, hc);
	if (v->kind != CNODE_MAP && !(v->kind == CNODE_SCALAR && v->null))
		return;
	/* A shorter interval than the default timeout: the timeout follows. */
	if (!cnode_get(v, "timeout") && hc->timeout_ms > hc->interval_ms)
		hc->timeout_ms = hc->interval_ms;
	if (!hc->path)
		hc->path = strdup("/");
	if (!hc->path)
		cerr_at(w->errs, v, "out of memory");
	check_health(w, hc, v);
}

static const struct field passive_fields[] = {
	{ "max_fails", field_u32, offsetof(struct passive_conf, max_fails), 0,
	  PASSIVE_MAX_FAILS_MAX, NULL, false },
	{ "fail_timeout", field_duration, offsetof(struct passive_conf, fail_timeout_ms),
	  PASSIVE_FAIL_TIMEOUT_MIN_MS, 3600000, NULL, false },
};
const struct section passive_section = SECTION(passive_fields);

void field_passive(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct passive_conf *pc = (void *)((char *)obj + f->off);

	/* Writing the section turns passive checks on, as nginx's max_fails=1
	 * default does; max_fails: 0 turns inherited ones off. */
	if (pc->max_fails == 0)
		pc->max_fails = 1;
	if (!(v->kind == CNODE_SCALAR && v->null))
		walk_section(w, f->arg, v, pc);
}
