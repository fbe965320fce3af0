/* test_health.c — the pure rules of server health: expect ranges, status
 * lines, rise/fall, the passive window, and the status texts. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/x509_vfy.h>

#include "balance/balance.h"
#include "config/config.h"
#include "config/config_runtime.h"
#include "core/runtime.h"
#include "daemon/health.h"
#include "tls/tls_upstream.h"

START_TEST(expect_ranges)
{
	uint16_t lo = 0, hi = 0;

	ck_assert_int_eq(health_expect_parse("200-399", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 200);
	ck_assert_uint_eq(hi, 399);
	ck_assert_int_eq(health_expect_parse("204", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 204);
	ck_assert_uint_eq(hi, 204);
	ck_assert_int_eq(health_expect_parse("100-599", &lo, &hi), 0);
	ck_assert_int_eq(health_expect_parse("200-200", &lo, &hi), 0);

	static const char *const bad[] = {
		"",     "2",         "20",       "2000", "099",     "600",     "399-200", "200-",
		"-399", "200 - 399", "200-3999", "2xx",  "200,300", "200-600", " 200",    "200-39a",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(health_expect_parse(bad[i], &lo, &hi) == -1, "accepted \"%s\"",
			      bad[i]);
}
END_TEST

static int status(const char *s, int *code)
{
	return health_status_line(s, strlen(s), code);
}

START_TEST(status_lines)
{
	int code = 0;

	ck_assert_int_eq(status("HTTP/1.1 200 OK\r\n", &code), 1);
	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(status("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n", &code),
			 1);
	ck_assert_int_eq(code, 503);
	ck_assert_int_eq(status("HTTP/1.1 204\r\n", &code), 1); /* empty reason */
	ck_assert_int_eq(code, 204);
	ck_assert_int_eq(status("HTTP/1.1 301 Moved\n", &code), 1); /* bare LF */
	ck_assert_int_eq(code, 301);

	/* more bytes needed */
	ck_assert_int_eq(status("", &code), 0);
	ck_assert_int_eq(status("HTT", &code), 0);
	ck_assert_int_eq(status("HTTP/1.1 200 O", &code), 0);

	/* not HTTP/1.x: refused as soon as the bytes show it */
	ck_assert_int_eq(status("SSH-2.0-OpenSSH\r\n", &code), -1);
	ck_assert_int_eq(status("X", &code), -1);
	ck_assert_int_eq(status("HTTP/2 200\r\n", &code), -1);
	ck_assert_int_eq(status("HTTP/1.1 20\r\n", &code), -1);
	ck_assert_int_eq(status("HTTP/1.1 2000\r\n", &code), -1);
	ck_assert_int_eq(status("HTTP/1.1 099 x\r\n", &code), -1);
	ck_assert_int_eq(status("HTTP/1.1 abc x\r\n", &code), -1);
	ck_assert_int_eq(status("HTTP/1.x 200 x\r\n", &code), -1);

	/* no line end within the bound */
	char big[HEALTH_STATUS_LINE_MAX];
	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP/1.1 200 ", 13);
	ck_assert_int_eq(health_status_line(big, sizeof(big), &code), -1);
	ck_assert_int_eq(health_status_line(big, sizeof(big) - 1, &code), 0);
}
END_TEST

START_TEST(rise_and_fall)
{
	struct health_sm sm = { 0 };

	/* up at start; two failures of three do not take it down */
	ck_assert_int_eq(health_sm_step(&sm, false, 2, 3), HEALTH_STAY);
	ck_assert_int_eq(health_sm_step(&sm, false, 2, 3), HEALTH_STAY);
	ck_assert_int_eq(health_sm_step(&sm, true, 2, 3), HEALTH_STAY);
	ck_assert_uint_eq(sm.fail_run, 0);
	ck_assert_int_eq(health_sm_step(&sm, false, 2, 3), HEALTH_STAY);
	ck_assert_int_eq(health_sm_step(&sm, false, 2, 3), HEALTH_STAY);
	ck_assert_int_eq(health_sm_step(&sm, false, 2, 3), HEALTH_WENT_DOWN);
	ck_assert(sm.down);
	ck_assert_uint_eq(sm.fail_run, 3);
	ck_assert_int_eq(health_sm_step(&sm, false, 2, 3), HEALTH_STAY);
	/* one pass then a failure: the rise count starts again */
	ck_assert_int_eq(health_sm_step(&sm, true, 2, 3), HEALTH_STAY);
	ck_assert_int_eq(health_sm_step(&sm, false, 2, 3), HEALTH_STAY);
	ck_assert_int_eq(health_sm_step(&sm, true, 2, 3), HEALTH_STAY);
	ck_assert_int_eq(health_sm_step(&sm, true, 2, 3), HEALTH_WENT_UP);
	ck_assert(!sm.down);
	ck_assert_int_eq(health_sm_step(&sm, true, 2, 3), HEALTH_STAY);

	/* rise 1, fall 1: every check decides */
	struct health_sm one = { 0 };
	ck_assert_int_eq(health_sm_step(&one, false, 1, 1), HEALTH_WENT_DOWN);
	ck_assert_int_eq(health_sm_step(&one, true, 1, 1), HEALTH_WENT_UP);
}
END_TEST

START_TEST(passive_window)
{
	struct health_rt h;

	memset(&h, 0, sizeof(h));
	/* 3 failures within 10 s take it out */
	ck_assert(!health_passive_note(&h, 3, 10000, 1000));
	ck_assert(!health_passive_note(&h, 3, 10000, 2000));
	ck_assert(health_passive_note(&h, 3, 10000, 3000));
	ck_assert_uint_eq(atomic_load(&h.passive_until_ms), 13000);
	ck_assert_uint_eq(atomic_load(&h.passive_trips), 1);
	/* while out, failures do not count or extend it */
	ck_assert(!health_passive_note(&h, 3, 10000, 4000));
	ck_assert_uint_eq(atomic_load(&h.passive_until_ms), 13000);
	/* back once the time has passed */
	ck_assert(!health_passive_clear(&h, 12999));
	ck_assert(health_passive_clear(&h, 13000));
	ck_assert(!health_passive_clear(&h, 13000));
	ck_assert_uint_eq(atomic_load(&h.passive_until_ms), 0);

	/* failures spread wider than the window never add up */
	ck_assert(!health_passive_note(&h, 3, 10000, 20000));
	ck_assert(!health_passive_note(&h, 3, 10000, 26000));
	ck_assert(!health_passive_note(&h, 3, 10000, 31000)); /* new window at 31 s */
	ck_assert(!health_passive_note(&h, 3, 10000, 35000));
	ck_assert(health_passive_note(&h, 3, 10000, 40000));
	/* a passing check brings it back early */
	ck_assert(health_passive_clear(&h, 0));

	/* max_fails 0: off */
	ck_assert(!health_passive_note(&h, 0, 10000, 50000));
	/* max_fails 1: the first failure */
	uint64_t epoch = health_down_epoch();
	ck_assert(health_passive_note(&h, 1, 500, 60000));
	ck_assert_uint_gt(health_down_epoch(), epoch);
}
END_TEST

struct racer {
	struct health_rt *h;
	atomic_uint *trips;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < 1000; i++)
		if (health_passive_note(r->h, 5, 1000000, 1000 + (uint64_t)i))
			atomic_fetch_add(r->trips, 1);
	return NULL;
}

/* Several workers failing at once: exactly one of them takes it out. */
START_TEST(passive_is_one_trip_under_contention)
{
	struct health_rt h;
	atomic_uint trips = 0;
	pthread_t t[4];
	struct racer r = { &h, &trips };

	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, race, &r);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(atomic_load(&trips), 1);
	ck_assert_uint_eq(atomic_load(&h.passive_trips), 1);
}
END_TEST

START_TEST(availability_combines_admin_and_health)
{
	struct server_rt rt;

	memset(&rt, 0, sizeof(rt));
	atomic_store(&rt.state, SERVER_UP);
	ck_assert(server_rt_available(&rt));
	atomic_store(&rt.health.down, true);
	ck_assert(!server_rt_available(&rt));
	/* enable (admin state up) does not override a failing check */
	atomic_store(&rt.state, SERVER_UP);
	ck_assert(!server_rt_available(&rt));
	atomic_store(&rt.health.down, false);
	atomic_store(&rt.health.passive_until_ms, health_now_ms() + 60000);
	ck_assert(!server_rt_available(&rt));
	atomic_store(&rt.health.passive_until_ms, health_now_ms() - 1);
	ck_assert(server_rt_available(&rt)); /* its time passed */
	atomic_store(&rt.state, SERVER_DRAINING);
	ck_assert(!server_rt_available(&rt));
}
END_TEST

static const char *last_text(enum health_result r, int code, unsigned ms, bool ok)
{
	static char buf[128];
	struct health_info hi = { .last_result = r,
				  .last_code = code,
				  .last_ms = ms,
				  .last_ok = ok };

	health_last_text(&hi, buf, sizeof(buf));
	return buf;
}

START_TEST(texts)
{
	ck_assert_str_eq(last_text(HEALTH_RESULT_NONE, 0, 0, false), "");
	ck_assert_str_eq(last_text(HEALTH_RESULT_STATUS, 200, 3, true), "200 in 3ms");
	ck_assert_str_eq(last_text(HEALTH_RESULT_STATUS, 500, 2, false), "status 500 in 2ms");
	ck_assert_str_eq(last_text(HEALTH_RESULT_CONNECTED, 0, 1, true), "connected in 1ms");
	ck_assert_str_eq(last_text(HEALTH_RESULT_TIMEOUT, 0, 1000, false), "timeout after 1s");
	ck_assert_str_eq(last_text(HEALTH_RESULT_ERROR, ECONNREFUSED, 0, false),
			 "connect: Connection refused");
	ck_assert_str_eq(last_text(HEALTH_RESULT_ERROR, -ECONNRESET, 0, false),
			 "Connection reset by peer after the connect");
	ck_assert_str_eq(last_text(HEALTH_RESULT_CLOSED, 0, 4, false),
			 "closed before the status line (4ms)");
	ck_assert_str_eq(last_text(HEALTH_RESULT_BAD, 0, 4, false), "not an HTTP response (4ms)");
	ck_assert_str_eq(health_check_status_name(HEALTH_CHECK_PASSING), "passing");
	ck_assert_str_eq(health_check_status_name(HEALTH_CHECK_FAILING), "failing");
	ck_assert_str_eq(health_check_status_name(HEALTH_CHECK_NONE), "none");
	ck_assert_str_eq(health_result_name(HEALTH_RESULT_STATUS), "status");
	ck_assert_str_eq(health_result_name(HEALTH_RESULT_TIMEOUT), "timeout");
	ck_assert_str_eq(health_result_name(HEALTH_RESULT_NONE), "none");
	ck_assert_str_eq(health_result_name(HEALTH_RESULT_TLS), "tls");

	/* a TLS failure keeps its kind and number; the words are tls_upstream's */
	struct health_info hi = { .last_result = HEALTH_RESULT_TLS,
				  .last_code = TLS_FAIL_VERIFY,
				  .last_detail = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT };
	char buf[160];
	health_last_text(&hi, buf, sizeof(buf));
	ck_assert_str_eq(buf, "TLS handshake failed: certificate verify failed: self-signed "
			      "certificate");
	hi.last_code = TLS_FAIL_CLOSED;
	health_last_text(&hi, buf, sizeof(buf));
	ck_assert_str_eq(buf, "TLS handshake failed: the server closed the connection");
}
END_TEST

static struct config *load(const char *yaml)
{
	struct config_errors errs;
	struct config *cfg;

	config_errors_init(&errs);
	cfg = config_load_buffer("t.yaml", yaml, strlen(yaml), &errs);
	ck_assert_msg(cfg != NULL, "config rejected");
	config_errors_free(&errs);
	ck_assert_int_eq(config_attach_runtime(cfg), 0);
	ck_assert_int_eq(balance_build(cfg), 0);
	return cfg;
}

#define LISTENER "listeners: [ { name: web, bind: 127.0.0.1:8080, routes: [ { pool: p } ] } ]\n"

/* A reload keeps the health of the servers that stay, marks servers that
 * lost their checks as unchecked (and no longer down by them), and starts
 * new servers up. No check runs: the loop is never dispatched. */
START_TEST(apply_keeps_state_by_identity)
{
	struct event_base *base = event_base_new();
	struct health *h = health_new(base);
	struct config *one = load(
		LISTENER
		"pools:\n"
		"  - name: p\n"
		"    health_check: { interval: 1s }\n"
		"    servers: [ { name: a, address: 127.0.0.1:1 }, { name: b, address: 127.0.0.1:2 } ]\n");
	struct server_rt *a = one->pools[0].servers[0].rt, *b = one->pools[0].servers[1].rt;
	struct health_info hi;

	ck_assert_int_eq(health_apply(h, one), 0);
	ck_assert(atomic_load(&a->health.checked));
	health_server_info(a, &hi);
	ck_assert_int_eq(hi.status, HEALTH_CHECK_PASSING);
	ck_assert(hi.up);
	atomic_store(&a->health.down, true); /* as after `fall` failed checks */
	atomic_store(&a->health.fail_run, 3);

	/* same checks, one more server, other settings: a stays down */
	struct config *two = load(
		LISTENER
		"pools:\n"
		"  - name: p\n"
		"    health_check: { interval: 2s, fall: 5 }\n"
		"    servers: [ { name: a, address: 127.0.0.1:1 }, { name: b, address: 127.0.0.1:2 },\n"
		"               { name: c, address: 127.0.0.1:3 } ]\n");
	ck_assert_ptr_eq(two->pools[0].servers[0].rt, a);
	ck_assert_int_eq(health_apply(h, two), 0);
	health_server_info(a, &hi);
	ck_assert_int_eq(hi.status, HEALTH_CHECK_FAILING);
	ck_assert(!hi.up);
	ck_assert_uint_eq(hi.fail_run, 3);
	ck_assert(!server_rt_available(a));
	ck_assert(server_rt_available(two->pools[0].servers[2].rt)); /* new: starts up */

	/* checks removed: not down by checks any more */
	struct config *three = load(
		LISTENER
		"pools:\n"
		"  - name: p\n"
		"    servers: [ { name: a, address: 127.0.0.1:1 }, { name: b, address: 127.0.0.1:2 } ]\n");
	ck_assert_int_eq(health_apply(h, three), 0);
	health_server_info(a, &hi);
	ck_assert_int_eq(hi.status, HEALTH_CHECK_NONE);
	ck_assert(hi.up);
	ck_assert(server_rt_available(a));
	ck_assert(!atomic_load(&b->health.checked));

	health_free(h);
	config_unref(one);
	config_unref(two);
	config_unref(three);
	event_base_free(base);
	runtime_shutdown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, expect_ranges);
	tcase_add_test(tc, status_lines);
	tcase_add_test(tc, rise_and_fall);
	tcase_add_test(tc, passive_window);
	tcase_add_test(tc, passive_is_one_trip_under_contention);
	tcase_add_test(tc, availability_combines_admin_and_health);
	tcase_add_test(tc, texts);
	tcase_add_test(tc, apply_keeps_state_by_identity);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
