/* test_units.c — durations and sizes: every unit, every boundary, every
 * malformed form. */
#include <check.h>

#include "check_main.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/request_id.h"
#include "util/units.h"

struct dur_case {
	const char *in;
	int rc;
	uint64_t ms;
};

static const struct dur_case dur_cases[] = {
	{ "250ms", 0, 250 },
	{ "0ms", 0, 0 },
	{ "0s", 0, 0 },
	{ "1ms", 0, 1 },
	{ "2s", 0, 2000 },
	{ "5m", 0, 300000 },
	{ "1h", 0, 3600000 },
	{ "1d", 0, 86400000 },
	{ "30d", 0, DURATION_MAX_MS },
	{ "720h", 0, DURATION_MAX_MS },
	{ "2592000000ms", 0, DURATION_MAX_MS },
	{ "2592000s", 0, DURATION_MAX_MS },
	{ "007s", 0, 7000 },
	{ "2592000001ms", -1, 0 },
	{ "31d", -1, 0 },
	{ "721h", -1, 0 },
	{ "99999999999999999999999s", -1, 0 },
	{ "18446744073709551615ms", -1, 0 },
	{ "18446744073709551616ms", -1, 0 },
	{ "30", -1, 0 },
	{ "0", -1, 0 },
	{ "", -1, 0 },
	{ "s", -1, 0 },
	{ "ms", -1, 0 },
	{ "-1s", -1, 0 },
	{ "+1s", -1, 0 },
	{ "1.5s", -1, 0 },
	{ " 1s", -1, 0 },
	{ "1s ", -1, 0 },
	{ "1 s", -1, 0 },
	{ "1S", -1, 0 },
	{ "1sec", -1, 0 },
	{ "1h30m", -1, 0 },
	{ "1us", -1, 0 },
	{ "0x10s", -1, 0 },
};

START_TEST(test_durations)
{
	const struct dur_case *c = &dur_cases[_i];
	uint64_t ms = 12345;
	int rc = parse_duration_ms(c->in, &ms);

	ck_assert_msg(rc == c->rc, "\"%s\": rc %d, expected %d", c->in, rc, c->rc);
	if (c->rc == 0)
		ck_assert_msg(ms == c->ms, "\"%s\": %llu ms", c->in, (unsigned long long)ms);
	else
		ck_assert_msg(ms == 12345, "\"%s\": output written on error", c->in);
}
END_TEST

START_TEST(test_duration_null)
{
	uint64_t ms;
	ck_assert_int_eq(parse_duration_ms(NULL, &ms), -1);
	ck_assert_int_eq(parse_size(NULL, &ms), -1);
}
END_TEST

struct size_case {
	const char *in;
	int rc;
	uint64_t bytes;
};

static const struct size_case size_cases[] = {
	{ "0", 0, 0 },
	{ "512", 0, 512 },
	{ "1k", 0, 1024 },
	{ "16k", 0, 16384 },
	{ "16K", 0, 16384 },
	{ "1m", 0, 1048576 },
	{ "1M", 0, 1048576 },
	{ "1g", 0, 1073741824 },
	{ "2G", 0, 2147483648ULL },
	{ "1024g", 0, SIZE_MAX_BYTES },
	{ "1048576m", 0, SIZE_MAX_BYTES },
	{ "1099511627776", 0, SIZE_MAX_BYTES },
	{ "1099511627777", -1, 0 },
	{ "1025g", -1, 0 },
	{ "1t", -1, 0 },
	{ "16kb", -1, 0 },
	{ "16 k", -1, 0 },
	{ "", -1, 0 },
	{ "k", -1, 0 },
	{ "-1", -1, 0 },
	{ "+1", -1, 0 },
	{ "1.5k", -1, 0 },
	{ "99999999999999999999999", -1, 0 },
	{ "18446744073709551616k", -1, 0 },
	{ "0x10", -1, 0 },
};

START_TEST(test_sizes)
{
	const struct size_case *c = &size_cases[_i];
	uint64_t n = 777;
	int rc = parse_size(c->in, &n);

	ck_assert_msg(rc == c->rc, "\"%s\": rc %d, expected %d", c->in, rc, c->rc);
	if (c->rc == 0)
		ck_assert_msg(n == c->bytes, "\"%s\": %llu", c->in, (unsigned long long)n);
	else
		ck_assert_msg(n == 777, "\"%s\": output written on error", c->in);
}
END_TEST

START_TEST(test_format_duration)
{
	static const struct {
		uint64_t ms;
		const char *out;
	} cases[] = {
		{ 0, "0s" },
		{ 1, "1ms" },
		{ 250, "250ms" },
		{ 1500, "1500ms" },
		{ 2000, "2s" },
		{ 90000, "90s" },
		{ 300000, "5m" },
		{ 3600000, "1h" },
		{ 5400000, "90m" },
		{ 86400000, "1d" },
		{ DURATION_MAX_MS, "30d" },
		{ 90061001, "90061001ms" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		format_duration(cases[i].ms, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].out);
	}
	/* Round trip: what we print, we parse back. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms;
		format_duration(cases[i].ms, buf, sizeof(buf));
		ck_assert_int_eq(parse_duration_ms(buf, &ms), 0);
		ck_assert_uint_eq(ms, cases[i].ms);
	}
	format_duration(1500, buf, 4);
	ck_assert_str_eq(buf, "150");
}
END_TEST

/* 128 bits as 32 hex digits, never twice the same. */
START_TEST(test_request_ids)
{
	char a[REQUEST_ID_LEN + 1], b[REQUEST_ID_LEN + 1];

	request_id_new(a);
	ck_assert_uint_eq(strlen(a), 32);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 32);
	for (int i = 0; i < 1000; i++) {
		request_id_new(b);
		ck_assert_str_ne(a, b);
	}
	ck_assert(request_id_acceptable("abc-123", 7));
	ck_assert(request_id_acceptable(a, 32));
	ck_assert(!request_id_acceptable("", 0));
	ck_assert(!request_id_acceptable("a b", 3));
	ck_assert(!request_id_acceptable("a\x80", 2));
	char big[REQUEST_ID_MAX + 1];
	memset(big, 'x', sizeof(big));
	ck_assert(request_id_acceptable(big, REQUEST_ID_MAX));
	ck_assert(!request_id_acceptable(big, REQUEST_ID_MAX + 1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_durations, 0, sizeof(dur_cases) / sizeof(dur_cases[0]));
	tcase_add_test(tc, test_duration_null);
	tcase_add_loop_test(tc, test_sizes, 0, sizeof(size_cases) / sizeof(size_cases[0]));
	tcase_add_test(tc, test_format_duration);
	tcase_add_test(tc, test_request_ids);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
