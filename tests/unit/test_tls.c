/* test_tls.c — choosing a certificate by server name (tls_sni.c) and the
 * session-ticket keys of each period (tls_tickets.c). */
#include <check.h>

#include "check_main.h"
#include <string.h>

#include "tls/tls_sni.h"
#include "tls/tls_tickets.h"

static void add(struct tls_sni *t, const char *name, size_t index)
{
	ck_assert_int_eq(tls_sni_add(t, name, strlen(name), index), 0);
}

START_TEST(exact_names_and_default)
{
	struct tls_sni t = { 0 };

	add(&t, "a.example.com", 0);
	add(&t, "www.a.example.com", 0);
	add(&t, "B.Example.COM", 1);
	add(&t, "c.example.com.", 2);
	tls_sni_finish(&t);
	ck_assert_uint_eq(tls_sni_pick(&t, "a.example.com"), 0);
	ck_assert_uint_eq(tls_sni_pick(&t, "www.a.example.com"), 0);
	ck_assert_uint_eq(tls_sni_pick(&t, "b.example.com"), 1);
	ck_assert_uint_eq(tls_sni_pick(&t, "B.EXAMPLE.com."), 1);
	ck_assert_uint_eq(tls_sni_pick(&t, "c.example.com"), 2);
	ck_assert_uint_eq(tls_sni_pick(&t, "unknown.example.com"), 0);
	ck_assert_uint_eq(tls_sni_pick(&t, NULL), 0);
	ck_assert_uint_eq(tls_sni_pick(&t, ""), 0);
	tls_sni_free(&t);
}
END_TEST

START_TEST(wildcards_cover_one_label)
{
	struct tls_sni t = { 0 };

	add(&t, "default.test", 0);
	add(&t, "*.b.test", 1);
	add(&t, "exact.b.test", 2);
	tls_sni_finish(&t);
	ck_assert_uint_eq(tls_sni_pick(&t, "x.b.test"), 1);
	ck_assert_uint_eq(tls_sni_pick(&t, "X.B.TEST"), 1);
	ck_assert_uint_eq(tls_sni_pick(&t, "exact.b.test"), 2); /* exact before wildcard */
	ck_assert_uint_eq(tls_sni_pick(&t, "b.test"), 0);
	ck_assert_uint_eq(tls_sni_pick(&t, "y.x.b.test"), 0);
	ck_assert_uint_eq(tls_sni_pick(&t, "*.b.test"), 0); /* a client's "*" is no wildcard */
	tls_sni_free(&t);
}
END_TEST

START_TEST(first_certificate_wins_and_bad_names_skip)
{
	struct tls_sni t = { 0 };
	char longname[300];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	add(&t, "dup.test", 3);
	add(&t, "dup.test", 1);
	add(&t, "f*.test", 2);
	add(&t, "a.*.test", 2);
	add(&t, "*", 2);
	add(&t, longname, 2);
	ck_assert_int_eq(tls_sni_add(&t, "nul\0.test", 9, 2), 0);
	ck_assert_uint_eq(t.n, 2);
	tls_sni_finish(&t);
	ck_assert_uint_eq(tls_sni_pick(&t, "dup.test"), 1);
	ck_assert_uint_eq(tls_sni_pick(&t, "fo.test"), 0);
	ck_assert_uint_eq(tls_sni_pick(&t, longname), 0);
	tls_sni_free(&t);
}
END_TEST

START_TEST(ticket_keys_per_period)
{
	struct tls_ticket_key a, b, c, found;

	ck_assert_int_eq(tls_ticket_key(1000, &a), 0);
	ck_assert_int_eq(tls_ticket_key(1000, &b), 0);
	ck_assert_int_eq(tls_ticket_key(1001, &c), 0);
	ck_assert_mem_eq(&a, &b, sizeof(a)); /* every thread derives the same key */
	ck_assert_int_ne(memcmp(a.name, c.name, sizeof(a.name)), 0);
	ck_assert_int_ne(memcmp(a.aes, c.aes, sizeof(a.aes)), 0);
	ck_assert_int_ne(memcmp(a.aes, a.mac, sizeof(a.aes)), 0);
	/* issued in 1000: good in 1000, renewed in 1001, refused from 1002 */
	ck_assert_int_eq(tls_ticket_find(a.name, 1000, &found), 1);
	ck_assert_mem_eq(&found, &a, sizeof(a));
	ck_assert_int_eq(tls_ticket_find(a.name, 1001, &found), 2);
	ck_assert_mem_eq(found.aes, a.aes, sizeof(a.aes));
	ck_assert_int_eq(tls_ticket_find(a.name, 1002, &found), 0);
	ck_assert_int_eq(tls_ticket_find(c.name, 1000, &found), 0); /* not yet */
	unsigned char junk[16] = { 1, 2, 3 };
	ck_assert_int_eq(tls_ticket_find(junk, 1000, &found), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, exact_names_and_default);
	tcase_add_test(tc, wildcards_cover_one_label);
	tcase_add_test(tc, first_certificate_wins_and_bad_names_skip);
	tcase_add_test(tc, ticket_keys_per_period);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
