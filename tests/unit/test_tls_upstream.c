/* test_tls_upstream.c — pools[].tls as loaded: defaults, the SNI and the
 * verified name each server gets (names, IP literals, overrides), the
 * OpenSSL context built at load and released with the generation, a
 * server's TLS side that outlives its generation (health checks), and the
 * words for each kind of TLS failure. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>

/* By path: a stale generated config.h at the top of the tree would shadow
 * the model's header through -I$(top_builddir). */
#include "config/config.h"
#include "tls/tls_upstream.h"

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
	ck_assert_ptr_null(tls_upstream_pool_identity(&p->tls));
	ck_assert_ptr_null(tls_upstream_sni(&p->tls, 0));
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
	ck_assert_ptr_nonnull(tls_upstream_pool_identity(&p->tls));
	/* a name is sent as SNI and checked; an IP literal is only checked */
	assert_str_or_null(tls_upstream_sni(&p->tls, 0), "localhost");
	assert_str_or_null(tls_upstream_verify_name(&p->tls, 0), "localhost");
	assert_str_or_null(tls_upstream_sni(&p->tls, 1), NULL);
	assert_str_or_null(tls_upstream_verify_name(&p->tls, 1), "127.0.0.1");
	assert_str_or_null(tls_upstream_sni(&p->tls, 2), NULL);
	assert_str_or_null(tls_upstream_verify_name(&p->tls, 2), "::1");
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

	assert_str_or_null(tls_upstream_sni(&p->tls, 0), "api.internal");
	assert_str_or_null(tls_upstream_verify_name(&p->tls, 0), "api.internal");
	assert_str_or_null(tls_upstream_sni(&q->tls, 0), "front.test");
	assert_str_or_null(tls_upstream_verify_name(&q->tls, 0), "10.1.2.3");
	ck_assert_int_eq(q->tls.min_version, 0x0304);
	ck_assert(!r->tls.verify);
	assert_str_or_null(tls_upstream_sni(&r->tls, 0), "localhost");
	assert_str_or_null(tls_upstream_verify_name(&r->tls, 0), NULL);
	assert_str_or_null(tls_upstream_sni(&r->tls, 1), NULL);
	assert_str_or_null(tls_upstream_sni(&s->tls, 0), NULL);
	assert_str_or_null(tls_upstream_verify_name(&s->tls, 0), "app.internal");
	/* every pool has a context of its own */
	ck_assert_ptr_ne(tls_upstream_pool_identity(&p->tls), tls_upstream_pool_identity(&q->tls));
	config_unref(cfg);
}
END_TEST

START_TEST(test_generations_have_their_own_context)
{
	const char *text =
		"  - name: p\n    tls: {}\n    servers:\n      - address: 127.0.0.1:443\n";
	struct config *a = load(text), *b = load(text);

	ck_assert_ptr_ne(tls_upstream_pool_identity(&a->pools[0].tls),
			 tls_upstream_pool_identity(&b->pools[0].tls));
	config_unref(a);
	config_unref(b);
}
END_TEST

START_TEST(test_peer_outlives_its_generation)
{
	struct config *cfg = load("  - name: p\n    tls: { sni: api.internal }\n    servers:\n"
				  "      - address: 127.0.0.1:443\n"
				  "      - address: localhost:8443\n"
				  "  - name: plain\n    servers:\n      - address: 127.0.0.1:80\n");
	struct tls_upstream_peer *peer = tls_upstream_peer_new(&cfg->pools[0].tls, 1);
	struct event_base *base = event_base_new();

	ck_assert_ptr_nonnull(peer);
	ck_assert_ptr_nonnull(base);
	ck_assert_ptr_null(tls_upstream_peer_new(&cfg->pools[1].tls, 0));
	/* the generation goes; the peer keeps its context and names */
	config_unref(cfg);
	struct bufferevent *bev = tls_upstream_peer_bev(base, peer);
	ck_assert_ptr_nonnull(bev);
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	ck_assert_ptr_nonnull(ssl);
	ck_assert_str_eq(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), "api.internal");
	ck_assert_str_eq(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0), "api.internal");
	ck_assert(SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER);
	tls_upstream_peer_free(peer);
	/* and the connection keeps it past the peer */
	ck_assert_str_eq(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), "api.internal");
	bufferevent_free(bev);
	event_base_free(base);
	tls_upstream_peer_free(NULL);
}
END_TEST

static const char *failure_text(enum tls_failure_kind kind, int code)
{
	static char buf[256];

	tls_upstream_failure_text(&(struct tls_failure){ kind, code }, buf, sizeof(buf));
	return buf;
}

START_TEST(test_failure_texts)
{
	/* the reason strings of libssl are loaded with its first context */
	struct config *cfg = load("  - name: p\n    tls: {}\n    servers:\n"
				  "      - address: 127.0.0.1:443\n");

	ck_assert_str_eq(failure_text(TLS_FAIL_VERIFY,
				      X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
			 "TLS handshake failed: certificate verify failed: unable to get local "
			 "issuer certificate");
	ck_assert_str_eq(failure_text(TLS_FAIL_VERIFY, X509_V_ERR_HOSTNAME_MISMATCH),
			 "TLS handshake failed: certificate verify failed: hostname mismatch");
	ck_assert_str_eq(failure_text(TLS_FAIL_REASON,
				      (int)ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER)),
			 "TLS handshake failed: wrong version number");
	ck_assert_str_eq(failure_text(TLS_FAIL_LATER,
				      (int)ERR_PACK(ERR_LIB_SSL, 0,
						    SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC)),
			 "TLS error after the handshake: decryption failed or bad record mac");
	ck_assert_str_eq(failure_text(TLS_FAIL_REASON, 0x7fffff),
			 "TLS handshake failed: unknown error");
	ck_assert_str_eq(failure_text(TLS_FAIL_CONNECT, ECONNREFUSED),
			 "connect Connection refused");
	ck_assert_str_eq(failure_text(TLS_FAIL_ERRNO, ECONNRESET),
			 "TLS handshake failed: Connection reset by peer");
	ck_assert_str_eq(failure_text(TLS_FAIL_CLOSED, 0),
			 "TLS handshake failed: the server closed the connection");
	ck_assert_str_eq(failure_text(TLS_FAIL_TIMEOUT, 0), "connect or TLS handshake timed out");
	ck_assert_str_eq(failure_text(TLS_FAIL_OTHER, 0), "TLS handshake failed");
	/* a text, not a crash, for numbers that came from nowhere */
	ck_assert_str_eq(failure_text((enum tls_failure_kind)99, 0), "TLS handshake failed");
	config_unref(cfg);
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
	tcase_add_test(tc, test_peer_outlives_its_generation);
	tcase_add_test(tc, test_failure_texts);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
