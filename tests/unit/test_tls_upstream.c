/* test_tls_upstream.c — pools[].tls as loaded: defaults, the SNI and the
 * verified name each server gets (names, IP literals, overrides), the
 * OpenSSL context built at load and released with the generation. */
#include <check.h>

#include "check_main.h"
#include <stdlib.h>
#include <string.h>

/* By path: a stale generated config.h at the top of the tree would shadow
 * the model's header through -I$(top_builddir). */
#include "../../src/config.h"
#include "tls_upstream.h"

#define LISTENERS \
	"listeners:\n" \
	"  - name: web\n" \
	"    bind: 127.0.0.1:8080\n" \
	"    routes:\n" \
	"      - pool: p\n"

static struct config *load(const char *pools)
{
	char buf[2048];
	struct config_errors errs;
	struct config *cfg;

	snprintf(buf, sizeof(buf), LISTENERS "pools:\n%s", pools);
	config_errors_init(&errs);
	cfg = config_load_buffer("t.yaml", buf, strlen(buf), &errs);
	if (!cfg && errs.count) {
		char line[1024];
		config_error_format(&errs.items[0], line, sizeof(line));
		ck_abort_msg("rejected: %s", line);
	}
	ck_assert_ptr_nonnull(cfg);
	config_errors_free(&errs);
	return cfg;
}

static void assert_str_or_null(const char *got, const char *want)
{
	if (!want)
		ck_assert_ptr_null(got);
	else
		ck_assert_str_eq(got ? got : "(null)", want);
}

START_TEST(test_no_tls)
{
	struct config *cfg = load("  - name: p\n    servers:\n      - address: 127.0.0.1:80\n");
	struct pool_conf *p = &cfg->pools[0];

	ck_assert(!p->tls.enabled);
	ck_assert_ptr_null(p->tls.ctx);
	ck_assert_ptr_null(tls_upstream_pool_identity(p));
	ck_assert_ptr_null(tls_upstream_sni(p, &p->servers[0]));
	config_unref(cfg);
}
END_TEST

START_TEST(test_defaults)
{
	struct config *cfg = load("  - name: p\n    tls: {}\n    servers:\n"
				  "      - address: localhost:443\n"
				  "      - address: 127.0.0.1:443\n"
				  "      - address: \"[::1]:443\"\n");
	struct pool_conf *p = &cfg->pools[0];

	ck_assert(p->tls.enabled);
	ck_assert(p->tls.verify);
	ck_assert_int_eq(p->tls.min_version, 0x0303);
	ck_assert_ptr_null(p->tls.ca);
	ck_assert_ptr_nonnull(p->tls.ctx);
	ck_assert_ptr_nonnull(tls_upstream_pool_identity(p));
	/* a name is sent as SNI and checked; an IP literal is only checked */
	assert_str_or_null(tls_upstream_sni(p, &p->servers[0]), "localhost");
	assert_str_or_null(tls_upstream_verify_name(p, &p->servers[0]), "localhost");
	assert_str_or_null(tls_upstream_sni(p, &p->servers[1]), NULL);
	assert_str_or_null(tls_upstream_verify_name(p, &p->servers[1]), "127.0.0.1");
	assert_str_or_null(tls_upstream_sni(p, &p->servers[2]), NULL);
	assert_str_or_null(tls_upstream_verify_name(p, &p->servers[2]), "::1");
	config_unref(cfg);
}
END_TEST

START_TEST(test_sni_and_verify_name)
{
	struct config *cfg = load(
		"  - name: p\n    tls: { sni: api.internal }\n    servers:\n"
		"      - address: 127.0.0.1:443\n"
		"  - name: q\n    tls: { sni: front.test, verify_name: 10.1.2.3, min_version: \"1.3\" }\n"
		"    servers:\n      - address: localhost:443\n"
		"  - name: r\n    tls: { verify: false }\n    servers:\n"
		"      - address: localhost:443\n      - address: unix:/run/app.sock\n"
		"  - name: s\n    tls: { verify_name: app.internal }\n    servers:\n"
		"      - address: unix:/run/app.sock\n");
	struct pool_conf *p = &cfg->pools[0], *q = &cfg->pools[1], *r = &cfg->pools[2];
	struct pool_conf *s = &cfg->pools[3];

	assert_str_or_null(tls_upstream_sni(p, &p->servers[0]), "api.internal");
	assert_str_or_null(tls_upstream_verify_name(p, &p->servers[0]), "api.internal");
	assert_str_or_null(tls_upstream_sni(q, &q->servers[0]), "front.test");
	assert_str_or_null(tls_upstream_verify_name(q, &q->servers[0]), "10.1.2.3");
	ck_assert_int_eq(q->tls.min_version, 0x0304);
	ck_assert(!r->tls.verify);
	assert_str_or_null(tls_upstream_sni(r, &r->servers[0]), "localhost");
	assert_str_or_null(tls_upstream_verify_name(r, &r->servers[0]), NULL);
	assert_str_or_null(tls_upstream_sni(r, &r->servers[1]), NULL);
	assert_str_or_null(tls_upstream_sni(s, &s->servers[0]), NULL);
	assert_str_or_null(tls_upstream_verify_name(s, &s->servers[0]), "app.internal");
	/* every pool has a context of its own */
	ck_assert_ptr_ne(tls_upstream_pool_identity(p), tls_upstream_pool_identity(q));
	config_unref(cfg);
}
END_TEST

START_TEST(test_generations_have_their_own_context)
{
	const char *text = "  - name: p\n    tls: {}\n    servers:\n      - address: 127.0.0.1:443\n";
	struct config *a = load(text), *b = load(text);

	ck_assert_ptr_ne(tls_upstream_pool_identity(&a->pools[0]),
			 tls_upstream_pool_identity(&b->pools[0]));
	config_unref(a);
	config_unref(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls_upstream");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_no_tls);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_sni_and_verify_name);
	tcase_add_test(tc, test_generations_have_their_own_context);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
