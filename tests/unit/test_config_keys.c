/* test_config_keys.c — the key list the schema tables give
 * (config_schema_keys), which the man-page coverage check relies on: it
 * holds the keys it must, each once, and the loader accepts every key at
 * the path the list gives (a key the list invented would be reported as
 * unknown). */
#include <check.h>

#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_schema.h"

#define MAX_KEYS 512

struct keys {
	char *path[MAX_KEYS];
	enum config_key_kind kind[MAX_KEYS];
	size_t n, nenum;
};

static void collect(void *ctx, const char *path, enum config_key_kind kind, const char *value)
{
	struct keys *k = ctx;

	if (kind == CONFIG_KEY_ENUM_VALUE) {
		ck_assert_ptr_nonnull(value);
		k->nenum++;
		return;
	}
	ck_assert_ptr_null(value);
	ck_assert_uint_lt(k->n, MAX_KEYS);
	k->path[k->n] = strdup(path);
	k->kind[k->n++] = kind;
}

static void keys_free(struct keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->path[i]);
}

static int find(const struct keys *k, const char *path)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->path[i], path) == 0)
			return (int)i;
	return -1;
}

START_TEST(lists_known_keys_once)
{
	static const struct {
		const char *path;
		enum config_key_kind kind;
	} want[] = {
		{ "global", CONFIG_KEY_SECTION },
		{ "global.workers", CONFIG_KEY_VALUE },
		{ "global.admin.socket", CONFIG_KEY_VALUE },
		{ "global.log.format", CONFIG_KEY_VALUE },
		{ "defaults.timeouts.drain", CONFIG_KEY_VALUE },
		{ "defaults.limits.header_size", CONFIG_KEY_VALUE },
		{ "listeners[]", CONFIG_KEY_LIST },
		{ "listeners[].routes[]", CONFIG_KEY_LIST },
		{ "listeners[].routes[].match", CONFIG_KEY_SECTION },
		{ "listeners[].routes[].match.path_prefix", CONFIG_KEY_VALUE },
		{ "listeners[].trusted_proxies", CONFIG_KEY_VALUE },
		{ "pools[].sticky.fallback", CONFIG_KEY_VALUE },
		{ "pools[].sticky.secret_file", CONFIG_KEY_VALUE },
		{ "pools[].sticky.previous_secret", CONFIG_KEY_VALUE },
		{ "pools[].servers[]", CONFIG_KEY_LIST },
		{ "pools[].servers[].backup", CONFIG_KEY_VALUE },
		{ "pools[].timeouts.tunnel", CONFIG_KEY_VALUE },
	};
	struct keys k = { 0 };

	ck_assert_int_eq(config_schema_keys(collect, &k), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int at = find(&k, want[i].path);
		ck_assert_msg(at >= 0, "%s is not listed", want[i].path);
		ck_assert_int_eq(k.kind[at], want[i].kind);
	}
	for (size_t i = 0; i < k.n; i++)
		ck_assert_msg(find(&k, k.path[i]) == (int)i, "%s is listed twice", k.path[i]);
	/* log levels, formats, protocols, balances and fallbacks */
	ck_assert_uint_ge(k.nenum, 4 + 2 + 2 + 4 + 3);
	keys_free(&k);
}
END_TEST

/* A document that holds PATH with an empty mapping as its value, in flow
 * style: "pools[].servers[].weight" gives
 * {pools: [{servers: [{weight: {}}]}]}. */
static void probe_document(const char *path, char *out, size_t cap)
{
	char close[256] = "";
	size_t len = 0, nclose = 0;
	const char *p = path;

	while (*p) {
		size_t n = strcspn(p, ".[");
		bool list = p[n] == '[';
		ck_assert_uint_lt(len + n + 8, cap);
		len += (size_t)snprintf(out + len, cap - len, "{%.*s: %s", (int)n, p,
					list ? "[" : "");
		close[nclose++] = '}';
		if (list)
			close[nclose++] = ']';
		p += n + (list ? 2 : 0);
		if (*p == '.')
			p++;
	}
	ck_assert_uint_lt(len + nclose + 3, cap);
	len += (size_t)snprintf(out + len, cap - len, "{}");
	while (nclose)
		out[len++] = close[--nclose];
	out[len] = '\0';
}

/* The loader's path for PATH's key: "[]" is the first item, "[0]". */
static void error_path(const char *path, char *out, size_t cap)
{
	size_t len = 0;

	for (const char *p = path; *p; p++) {
		ck_assert_uint_lt(len + 2, cap);
		out[len++] = *p;
		if (*p == '[')
			out[len++] = '0';
	}
	out[len] = '\0';
}

/* Whether loading PATH's probe document reports PATH as an unknown key. */
static bool reported_unknown(const char *path)
{
	char doc[1024], epath[300];
	struct config_errors errs;
	struct config *cfg;
	bool unknown = false;

	probe_document(path, doc, sizeof(doc));
	error_path(path, epath, sizeof(epath));
	config_errors_init(&errs);
	cfg = config_load_buffer("probe.yaml", doc, strlen(doc), &errs);
	if (cfg)
		config_unref(cfg);
	ck_assert_msg(errs.count > 0, "%s: the probe document was accepted", doc);
	for (size_t i = 0; i < errs.count; i++)
		if (errs.items[i].path && strcmp(errs.items[i].path, epath) == 0 &&
		    strncmp(errs.items[i].message, "unknown key", 11) == 0)
			unknown = true;
	config_errors_free(&errs);
	return unknown;
}

START_TEST(loader_accepts_every_listed_key)
{
	struct keys k = { 0 };

	ck_assert_int_eq(config_schema_keys(collect, &k), 0);
	ck_assert_uint_gt(k.n, 40);
	for (size_t i = 0; i < k.n; i++)
		ck_assert_msg(!reported_unknown(k.path[i]), "the loader does not accept %s",
			      k.path[i]);
	keys_free(&k);
}
END_TEST

/* The probe itself tells an invented key from a real one. */
START_TEST(probe_catches_an_invented_key)
{
	ck_assert(reported_unknown("pools[].servers[].wieght"));
	ck_assert(reported_unknown("global.admin.sock"));
	ck_assert(reported_unknown("listeners[].routes[].match.hosts"));
	ck_assert(!reported_unknown("pools[].servers[].weight"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config_keys");
	TCase *tc = tcase_create("keys");

	tcase_add_test(tc, lists_known_keys_once);
	tcase_add_test(tc, loader_accepts_every_listed_key);
	tcase_add_test(tc, probe_catches_an_invented_key);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
